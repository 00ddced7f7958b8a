/*
 * store_pg_write.c: the PostgreSQL backend's changes to existing accounts:
 * delete, re-key, handles added and removed, rate-limit state.  (Creating
 * accounts, in bulk, is store_pg_create.c.)
 *
 * Invariants (store.h; the same as store_sqlite_write.c's):
 *  1. Each function is one transaction (pg_begin_write .. pg_end_write):
 *     all of it happens or none of it.
 *  2. The change log rows of store.h invariant 2 are inserted by the same
 *     function, in the same transaction, as the change they describe,
 *     numbered from the locked meta counter (store_pg.h invariant 1).
 *  3. Messages about a taken handle never say which account holds it: they
 *     may be shown to the client who asked.
 */
#include "store/store_pg.h"

#include <stdlib.h>
#include <string.h>

#include "core/codec.h"

static enum cds_err not_found(const uint8_t *id, struct cds_error *err)
{
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	cds_hex_encode(hex, id, CDS_ACCOUNT_ID_BYTES);
	return cds_fail(err, CDS_ERR_NOT_FOUND, "no account '%s'", hex);
}

/* Run a statement for its effect; *rows (may be NULL) gets rows touched. */
static enum cds_err run(struct pg_store *s, enum pg_stmt_id id,
			const struct pg_args *a, const char *what, long *rows,
			struct cds_error *err)
{
	PGresult *r = pg_run(s, id, a, what, err);

	if (!r)
		return CDS_ERR_STORE;
	if (rows)
		*rows = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return CDS_OK;
}

/* One change row for every handle account n (id) has now. */
static enum cds_err log_all_handles(struct pg_store *s, const uint8_t *id,
				    int64_t n, struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	long rows = 0;

	pg_arg_i64(&a, s->seq);
	pg_arg_bytes(&a, id, CDS_ACCOUNT_ID_BYTES);
	pg_arg_i64(&a, n);
	rc = run(s, PG_CHANGE_ALL_HANDLES, &a, "append to the change log", &rows,
		 err);
	if (!rc)
		s->seq += rows;
	return rc;
}

/* The row number of existing account id; CDS_ERR_NOT_FOUND naming it. */
static enum cds_err account_n(struct pg_store *s, const uint8_t *id, int64_t *n,
			      struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	PGresult *r;

	if (!pg_account_number(s, id, n))
		return not_found(id, err);
	pg_arg_i64(&a, *n);
	pg_arg_bytes(&a, id, CDS_ACCOUNT_ID_BYTES);
	r = pg_run(s, PG_ACCOUNT_GET, &a, "find an account", err);
	if (!r)
		return CDS_ERR_STORE;
	rc = PQntuples(r) ? CDS_OK : not_found(id, err);
	PQclear(r);
	return rc;
}

enum cds_err pg_account_delete(struct cds_store *base, const uint8_t *id,
			       struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	int64_t n = 0;

	rc = pg_begin_write(s, err);
	if (rc)
		return rc;
	rc = account_n(s, id, &n, err);
	/* Log first: the cascade removes the handles the rows must name. */
	if (!rc)
		rc = log_all_handles(s, id, n, err);
	if (!rc)
		rc = pg_log_change(s, id, NULL, err);
	pg_arg_i64(&a, n);
	if (!rc)
		rc = run(s, PG_ACCOUNT_DELETE, &a, "delete an account", NULL, err);
	return pg_end_write(s, rc, err);
}

enum cds_err pg_account_set_key(struct cds_store *base, const uint8_t *id,
				const uint8_t *key, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	int64_t n = 0;

	rc = pg_begin_write(s, err);
	if (rc)
		return rc;
	rc = account_n(s, id, &n, err);
	pg_arg_i64(&a, n);
	pg_arg_bytes(&a, key, CDS_IDENTITY_KEY_BYTES);
	if (!rc)
		rc = run(s, PG_ACCOUNT_SET_KEY, &a, "change an identity key", NULL,
			 err);
	if (!rc)
		rc = pg_log_change(s, id, NULL, err);
	if (!rc)
		rc = log_all_handles(s, id, n, err);
	return pg_end_write(s, rc, err);
}

static enum cds_err remove_handle(struct pg_store *s, const uint8_t *id,
				  int64_t n, const char *h,
				  struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	long rows = 0;

	pg_arg_text(&a, h);
	pg_arg_i64(&a, n);
	rc = run(s, PG_HANDLE_REMOVE, &a, "remove a handle", &rows, err);
	if (!rc && rows > 0)
		rc = pg_log_change(s, id, h, err);
	return rc;
}

/* Whether handle h belongs to account n (it exists: the add conflicted). */
static enum cds_err owned_by(struct pg_store *s, int64_t n, const char *h,
			     bool *mine, struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	PGresult *r;

	pg_arg_text(&a, h);
	r = pg_run(s, PG_HANDLE_OWNER, &a, "find a handle's account", err);
	if (!r)
		return CDS_ERR_STORE;
	*mine = PQntuples(r) == 1 && pg_col_i64(r, 0, 0) == n;
	PQclear(r);
	return CDS_OK;
}

static enum cds_err add_handle(struct pg_store *s, const uint8_t *id,
			       int64_t n, const char *h, size_t index,
			       struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	bool mine = false;
	long rows = 0;

	pg_arg_text(&a, h);
	pg_arg_i64(&a, n);
	rc = run(s, PG_HANDLE_ADD, &a, "add a handle", &rows, err);
	if (rc)
		return rc;
	if (rows > 0)
		return pg_log_change(s, id, h, err);
	rc = owned_by(s, n, h, &mine, err);
	if (!rc && !mine)
		rc = cds_fail_at(err, CDS_ERR_EXISTS, (long)index,
				 "handle '%.200s' is registered to another account",
				 h);
	return rc;
}

enum cds_err pg_handles_update(struct cds_store *base, const uint8_t *id,
			       const char *const *add, size_t n_add,
			       const char *const *remove, size_t n_remove,
			       struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	enum cds_err rc;
	int64_t n = 0;

	rc = pg_begin_write(s, err);
	if (rc)
		return rc;
	rc = account_n(s, id, &n, err);
	/* Removals first, so that "remove X, add X" leaves X registered. */
	for (size_t i = 0; i < n_remove && !rc; i++)
		rc = remove_handle(s, id, n, remove[i], err);
	for (size_t i = 0; i < n_add && !rc; i++)
		rc = add_handle(s, id, n, add[i], i, err);
	return pg_end_write(s, rc, err);
}

/* Rate states per statement: bounds the size of its four arrays. */
#define RATE_CHUNK 2000

/* The arrays of PG_RATE_SAVE_MANY, as PostgreSQL array literals. */
struct rate_arrays {
	struct cds_buf col[4]; /* hex id, tokens, updated_us, number */
};

static enum cds_err rate_arrays_fill(struct pg_store *s, struct rate_arrays *ra,
				     const struct cds_rate_state *st, size_t n)
{
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];
	enum cds_err rc = CDS_OK;
	const char *sep = "{";
	int64_t num;

	for (int c = 0; c < 4; c++)
		cds_buf_reset(&ra->col[c]);
	for (size_t i = 0; i < n && !rc; i++) {
		if (!pg_account_number(s, st[i].account, &num))
			continue; /* not an account of this store: nothing to save */
		cds_hex_encode(hex, st[i].account, CDS_ACCOUNT_ID_BYTES);
		rc = cds_buf_appendf(&ra->col[0], "%s%s", sep, hex);
		if (!rc)
			rc = cds_buf_appendf(&ra->col[1], "%s%.17g", sep, st[i].tokens);
		if (!rc)
			rc = cds_buf_appendf(&ra->col[2], "%s%lld", sep,
					     (long long)st[i].updated_us);
		if (!rc)
			rc = cds_buf_appendf(&ra->col[3], "%s%lld", sep,
					     (long long)num);
		sep = ",";
	}
	for (int c = 0; c < 4 && !rc; c++)
		rc = cds_buf_append(&ra->col[c], sep[0] == '{' ? "{}" : "}",
				    sep[0] == '{' ? 2 : 1);
	return rc;
}

/*
 * Rate state is not part of the change log, so this transaction does not
 * take the writers' lock on meta: the server's periodic save never waits
 * behind a bulk import.
 */
enum cds_err pg_rate_save(struct cds_store *base,
			  const struct cds_rate_state *states, size_t count,
			  struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct rate_arrays ra;
	enum cds_err rc;

	for (int c = 0; c < 4; c++)
		cds_buf_init(&ra.col[c]);
	rc = pg_exec(s, "BEGIN", "begin a write transaction", err);
	s->in_txn = rc == CDS_OK;
	for (size_t i = 0; i < count && !rc; i += RATE_CHUNK) {
		struct pg_args a = {.n = 0};
		size_t n = count - i < RATE_CHUNK ? count - i : RATE_CHUNK;

		if (rate_arrays_fill(s, &ra, states + i, n) != CDS_OK) {
			rc = cds_fail(err, CDS_ERR_NOMEM,
				      "out of memory saving rate-limit state");
			break;
		}
		for (int c = 0; c < 4; c++)
			pg_arg_text(&a, (const char *)ra.col[c].data);
		rc = run(s, PG_RATE_SAVE_MANY, &a, "save rate-limit state", NULL,
			 err);
	}
	for (int c = 0; c < 4; c++)
		cds_buf_fini(&ra.col[c]);
	return s->in_txn ? pg_end(s, rc, err) : rc;
}

enum cds_err pg_handle_add(struct cds_store *base, const uint8_t *id,
			   const char *h, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	enum cds_err rc;
	int64_t n = 0;

	rc = account_n(s, id, &n, err);
	if (!rc)
		rc = add_handle(s, id, n, h, 0, err);
	return rc;
}

enum cds_err pg_handle_remove(struct cds_store *base, const uint8_t *id,
			      const char *h, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	int64_t n = 0;

	if (!pg_account_number(s, id, &n))
		return cds_fail(err, CDS_ERR_INTERNAL,
				"store: a handle's account has no number");
	return remove_handle(s, id, n, h, err);
}
