/*
 * store_pg_verify.c: the PostgreSQL backend's verified handles (verify.h),
 * with the semantics of store_sqlite_verify.c: creating a verification
 * under the per-handle limit, dropping one, and redeeming a code together
 * with the binding it pays for.
 *
 * Invariants (verify.h):
 *  1. Creating and redeeming take the writers' lock on meta
 *     (pg_begin_write, store_pg.h invariant 1), as SQLite's IMMEDIATE
 *     transactions take its write lock: the per-handle count and the insert
 *     cannot interleave with another server's, so concurrent requests
 *     cannot both slip under the limit, and a code cannot be redeemed twice.
 *  2. A redeem is one transaction: the verification's new state, the
 *     handle released from its old account, the new account or the binding
 *     (pg_accounts_write, pg_handle_bind: the code every other write uses),
 *     and the change rows of both accounts, numbered from the locked
 *     counter.  A wrong code's attempt is committed on its own before the
 *     refusal is returned; a right code's state change commits with the
 *     binding or not at all.  The judgement is store_verify.c's, shared
 *     with the SQLite backend.
 */
#include "store/store_pg.h"

#include <string.h>

#include <sodium.h>

/* Run a statement for its effect. */
static enum cds_err run(struct pg_store *s, enum pg_stmt_id id,
			const struct pg_args *a, const char *what,
			struct cds_error *err)
{
	PGresult *r = pg_run(s, id, a, what, err);

	PQclear(r);
	return r ? CDS_OK : CDS_ERR_STORE;
}

/* CDS_ERR_RATE if the handle has max verifications since `since`. */
static enum cds_err under_limit(struct pg_store *s, const char *h,
				int64_t since, int64_t window_us, int64_t now,
				unsigned max, uint32_t *retry,
				struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	int64_t count = 0, oldest = now;
	PGresult *r;

	pg_arg_text(&a, h);
	pg_arg_i64(&a, since);
	r = pg_run(s, PG_VERIFY_COUNT, &a, "count a handle's verifications", err);
	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) == 1) {
		count = pg_col_i64(r, 0, 0);
		if (!PQgetisnull(r, 0, 1))
			oldest = pg_col_i64(r, 0, 1);
	}
	PQclear(r);
	return cds_verify_limit(count, oldest, now, window_us, max, retry, err);
}

static enum cds_err insert(struct pg_store *s, const struct cds_verification *v,
			   struct cds_error *err)
{
	struct pg_args a = {.n = 0};

	pg_arg_bytes(&a, v->id, CDS_VERIFY_ID_BYTES);
	pg_arg_text(&a, v->handle);
	pg_arg_bytes(&a, v->code_hash, CDS_VERIFY_HASH_BYTES);
	pg_arg_i64(&a, v->created_us);
	pg_arg_i64(&a, v->expires_us);
	return run(s, PG_VERIFY_INSERT, &a, "record a verification", err);
}

enum cds_err pg_verify_create(struct cds_store *base,
			      const struct cds_verification *v,
			      unsigned max_per_window, int64_t window_us,
			      uint32_t *retry_after_s, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	int64_t since = v->created_us - window_us;
	struct pg_args a = {.n = 0};
	enum cds_err rc;

	rc = pg_begin_write(s, err);
	if (rc)
		return rc;
	/* Forget verifications older than the window: no longer counted. */
	pg_arg_i64(&a, since);
	rc = run(s, PG_VERIFY_PRUNE, &a, "prune old verifications", err);
	if (!rc)
		rc = under_limit(s, v->handle, since, window_us, v->created_us,
				 max_per_window, retry_after_s, err);
	if (!rc)
		rc = insert(s, v, err);
	return pg_end_write(s, rc, err);
}

/* One statement: no lock needed (a redeem of the same row holds it). */
enum cds_err pg_verify_drop(struct cds_store *base, const uint8_t *id,
			    struct cds_error *err)
{
	struct pg_args a = {.n = 0};

	pg_arg_bytes(&a, id, CDS_VERIFY_ID_BYTES);
	return run(pg_of(base), PG_VERIFY_DROP, &a, "drop a verification", err);
}

/* Read verification id, locking its row; *found false if there is none. */
static enum cds_err read_row(struct pg_store *s, const uint8_t *id,
			     struct cds_verify_row *w, bool *found,
			     struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	PGresult *r;
	int len;

	*found = false;
	pg_arg_bytes(&a, id, CDS_VERIFY_ID_BYTES);
	r = pg_run(s, PG_VERIFY_GET, &a, "read a verification", err);
	if (!r)
		return CDS_ERR_STORE;
	len = PQntuples(r) == 1 ? PQgetlength(r, 0, 0) : 0;
	if (PQntuples(r) == 1 && len <= CDS_HANDLE_MAX_BYTES &&
	    PQgetlength(r, 0, 1) == CDS_VERIFY_HASH_BYTES) {
		memcpy(w->handle, PQgetvalue(r, 0, 0), (size_t)len);
		w->handle[len] = '\0';
		memcpy(w->code_hash, PQgetvalue(r, 0, 1), CDS_VERIFY_HASH_BYTES);
		w->expires_us = pg_col_i64(r, 0, 2);
		w->attempts = (unsigned)pg_col_i64(r, 0, 3);
		w->state = (int)pg_col_i64(r, 0, 4);
		*found = true;
	}
	PQclear(r);
	return CDS_OK;
}

static enum cds_err set_state(struct pg_store *s, const uint8_t *id,
			      unsigned attempts, int state,
			      struct cds_error *err)
{
	struct pg_args a = {.n = 0};

	pg_arg_bytes(&a, id, CDS_VERIFY_ID_BYTES);
	pg_arg_i64(&a, attempts);
	pg_arg_i64(&a, state);
	return run(s, PG_VERIFY_SET, &a, "update a verification", err);
}

/*
 * Judge the code against the row (store_verify.c) and store the row's
 * update; *count_attempt: a wrong code's attempt, to commit with the
 * refusal.
 */
static enum cds_err judge(struct pg_store *s, struct cds_verify_redeem *r,
			  bool *count_attempt, struct cds_error *err)
{
	struct cds_verify_row w;
	bool found = false, write = false;
	unsigned attempts = 0;
	int state = 0;
	enum cds_err rc;

	*count_attempt = false;
	rc = read_row(s, r->id, &w, &found, err);
	if (!rc)
		rc = cds_verify_judge(r, found ? &w : NULL, &write, &attempts,
				      &state, err);
	sodium_memzero(&w, sizeof(w));
	if (write && set_state(s, r->id, attempts, state, err))
		return CDS_ERR_STORE;
	*count_attempt = write && rc == CDS_ERR_AUTH;
	return rc;
}

/* The binding the code pays for, inside the transaction. */
static enum cds_err bind(struct pg_store *s, struct cds_verify_redeem *r,
			 struct cds_error *err)
{
	const char *hs[1] = {r->handle};
	bool kept;
	enum cds_err rc;

	if (r->account)
		return pg_handle_bind(s, r->account, r->handle, err);
	rc = pg_handle_release(s, r->handle, NULL, &kept, err);
	if (rc)
		return rc;
	memcpy(r->created.identity_key, r->identity_key, CDS_IDENTITY_KEY_BYTES);
	r->created.handles = hs;
	r->created.n_handles = 1;
	rc = pg_accounts_write(s, &r->created, 1, err);
	r->created.handles = NULL;
	r->created.n_handles = 0;
	return rc;
}

enum cds_err pg_verify_redeem(struct cds_store *base,
			      struct cds_verify_redeem *r,
			      struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	bool count_attempt = false;
	enum cds_err rc;

	rc = pg_begin_write(s, err);
	if (rc)
		return rc;
	rc = judge(s, r, &count_attempt, err);
	if (!rc)
		rc = bind(s, r, err);
	if (count_attempt) {
		/* Keep the spent attempt, and still refuse. */
		struct cds_error e = {0};

		if (pg_end_write(s, CDS_OK, &e))
			return cds_fail(err, e.code, "%s", e.msg);
		return rc;
	}
	rc = pg_end_write(s, rc, err);
	if (rc)
		sodium_memzero(&r->created, sizeof(r->created));
	return rc;
}
