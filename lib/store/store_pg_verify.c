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
 *     (pg_accounts_write, pg_handle_add, pg_handle_remove: the code every
 *     other write uses), and the change rows of both accounts, numbered
 *     from the locked counter.  A wrong code's attempt is committed on its
 *     own before the refusal is returned; a right code's state change
 *     commits with the binding or not at all.  That logic is
 *     store_verify.c's, shared with the SQLite backend: this file gives it
 *     its hooks.
 */
#include "store/store_pg.h"

#include <string.h>

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

/* The hooks of cds_verify_redeem_with (store_impl.h). */
/* Read verification id, locking its row; *found false if there is none. */
static enum cds_err read_row(struct cds_store *base, const uint8_t *id,
			     struct cds_verify_row *w, bool *found,
			     struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	PGresult *r;
	int len;

	*found = false;
	pg_arg_bytes(&a, id, CDS_VERIFY_ID_BYTES);
	r = pg_run(pg_of(base), PG_VERIFY_GET, &a, "read a verification", err);
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

static enum cds_err set_state(struct cds_store *base, const uint8_t *id,
			      unsigned attempts, int state,
			      struct cds_error *err)
{
	struct pg_args a = {.n = 0};

	pg_arg_bytes(&a, id, CDS_VERIFY_ID_BYTES);
	pg_arg_i64(&a, attempts);
	pg_arg_i64(&a, state);
	return run(pg_of(base), PG_VERIFY_SET, &a, "update a verification", err);
}

static const struct cds_verify_backend hooks = {
	.begin = pg_write_begin,
	.end = pg_write_end,
	.row_get = read_row,
	.row_set = set_state,
	.handle_add = pg_handle_add,
	.handle_remove = pg_handle_remove,
	.accounts_write = pg_accounts_write,
};

enum cds_err pg_verify_redeem(struct cds_store *base,
			      struct cds_verify_redeem *r,
			      struct cds_error *err)
{
	return cds_verify_redeem_with(base, &hooks, r, err);
}
