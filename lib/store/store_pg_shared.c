/*
 * store_pg_shared.c: what replicas share through PostgreSQL (shared.h):
 * sealed secrets in the table `sealed`, and the atomic charge of a rate
 * bucket through the function rate_charge (both from schema version 4,
 * store_pg_schema.c).
 *
 * Change notices: a trigger on meta (schema v4) NOTIFYs cds_changes at
 * every commit that logged a change; a listening connection waits for
 * them on its socket.
 *
 * Neither takes the writers' lock (store_pg.h invariant 1): they are not
 * part of the change log, so a key rotation or a charge never waits
 * behind a bulk import.  A charge is serialised with other charges of the
 * same account by that account's row lock only (shared.h invariant 2).
 */
#include "store/store_pg.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

enum cds_err pg_sealed_put(struct cds_store *base, const char *kind,
			   int64_t id, int64_t created_us, const uint8_t *box,
			   size_t len, bool replace, struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc = CDS_OK;
	PGresult *r;

	pg_arg_text(&a, kind);
	pg_arg_i64(&a, id);
	pg_arg_i64(&a, created_us);
	pg_arg_bytes(&a, box, len);
	r = pg_run(pg_of(base), replace ? PG_SEALED_UPSERT : PG_SEALED_INSERT,
		   &a, "store a sealed key", err);
	if (!r)
		return CDS_ERR_STORE;
	if (!replace && strcmp(PQcmdTuples(r), "1") != 0)
		rc = cds_fail(err, CDS_ERR_EXISTS,
			      "the store already holds sealed key %s/%lld", kind,
			      (long long)id);
	PQclear(r);
	return rc;
}

enum cds_err pg_sealed_list(struct cds_store *base, const char *kind,
			    cds_store_sealed_fn fn, void *ctx,
			    struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc = CDS_OK;
	PGresult *r;

	pg_arg_text(&a, kind);
	r = pg_run(pg_of(base), PG_SEALED_LIST, &a, "read the sealed keys", err);
	if (!r)
		return CDS_ERR_STORE;
	for (int i = 0; !rc && i < PQntuples(r); i++)
		rc = fn(ctx, pg_col_i64(r, i, 0), pg_col_i64(r, i, 1),
			(const uint8_t *)PQgetvalue(r, i, 2),
			(size_t)PQgetlength(r, i, 2), err);
	PQclear(r);
	return rc;
}

enum cds_err pg_sealed_delete(struct cds_store *base, const char *kind,
			      int64_t id, struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc = CDS_OK;
	PGresult *r;

	pg_arg_text(&a, kind);
	pg_arg_i64(&a, id);
	r = pg_run(pg_of(base), PG_SEALED_DELETE, &a, "delete a sealed key", err);
	if (!r)
		return CDS_ERR_STORE;
	if (strcmp(PQcmdTuples(r), "1") != 0)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND,
			      "the store holds no sealed key %s/%lld", kind,
			      (long long)id);
	PQclear(r);
	return rc;
}

/* Arguments $1 (the account's number) and $2 (n) of a rate statement. */
static enum cds_err rate_args(struct pg_store *s, const uint8_t *id, double n,
			      struct pg_args *a, struct cds_error *err)
{
	int64_t num = 0;

	if (!pg_account_number(s, id, &num))
		return cds_fail(err, CDS_ERR_NOT_FOUND, "no such account");
	pg_arg_i64(a, num);
	pg_arg_f64(a, n);
	return CDS_OK;
}

enum cds_err pg_rate_charge(struct cds_store *base, const uint8_t *id,
			    const struct cds_rate_bucket *b, double n,
			    int64_t now_us, bool *charged, double *left,
			    struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc = rate_args(s, id, n, &a, err);
	PGresult *r;

	if (rc)
		return rc;
	pg_arg_f64(&a, b->allowance);
	pg_arg_f64(&a, b->capacity);
	pg_arg_f64(&a, b->per_us);
	pg_arg_i64(&a, now_us);
	r = pg_run(s, PG_RATE_CHARGE, &a, "charge the rate limit", err);
	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) == 1) {
		*charged = pg_col_i64(r, 0, 0) != 0;
		*left = pg_col_f64(r, 0, 1);
	} else {
		rc = cds_fail(err, CDS_ERR_STORE, "store: rate charge gave no row");
	}
	PQclear(r);
	return rc;
}

enum cds_err pg_rate_refund(struct cds_store *base, const uint8_t *id,
			    const struct cds_rate_bucket *b, double n,
			    struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc = rate_args(s, id, n, &a, err);
	PGresult *r;

	if (rc)
		return rc;
	pg_arg_f64(&a, b->capacity);
	r = pg_run(s, PG_RATE_REFUND, &a, "refund the rate limit", err);
	PQclear(r);
	return r ? CDS_OK : CDS_ERR_STORE;
}

enum cds_err pg_changes_listen(struct cds_store *base, struct cds_error *err)
{
	return pg_exec(pg_of(base), "LISTEN cds_changes",
		       "listen for change notices", err);
}

/* Take every notice already read; true if there was one. */
static bool drain_notices(PGconn *conn)
{
	PGnotify *n;
	bool any = false;

	while ((n = PQnotifies(conn)) != NULL) {
		any = true;
		PQfreemem(n);
	}
	return any;
}

enum cds_err pg_wait_changes(struct cds_store *base, int timeout_ms,
			     bool *notified, struct cds_error *err)
{
	PGconn *conn = pg_of(base)->conn;
	struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};

	*notified = false;
	if (PQconsumeInput(conn) && (*notified = drain_notices(conn)))
		return CDS_OK;
	if (p.fd < 0 || PQstatus(conn) != CONNECTION_OK)
		return pg_fail(conn, NULL, "wait for change notices", err);
	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		return cds_fail(err, CDS_ERR_STORE,
				"store: cannot wait for change notices: %s",
				strerror(errno));
	if (!PQconsumeInput(conn))
		return pg_fail(conn, NULL, "read change notices", err);
	*notified = drain_notices(conn);
	return CDS_OK;
}
