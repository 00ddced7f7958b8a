/*
 * store_sqlite_verify.c: the SQLite backend's verified handles (verify.h):
 * creating a verification under the per-handle limit, dropping one, and
 * redeeming a code together with the binding it pays for.
 *
 * Invariants (verify.h):
 *  1. The per-handle count and the insert are one IMMEDIATE transaction,
 *     so concurrent requests (from any number of servers on this file)
 *     cannot both slip under the limit.
 *  2. A wrong code's attempt is committed on its own before the refusal is
 *     returned; a right code's state change commits with the binding or
 *     not at all.  (That logic is store_verify.c's, shared with the
 *     PostgreSQL backend: this file gives it its hooks.)
 */
#include "store/store_sqlite.h"

#include <string.h>

/* Forget verifications created before `before` (no longer counted). */
static enum cds_err prune(struct sq_store *s, int64_t before,
			  struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_VERIFY_PRUNE, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, before);
	return sq_exec_stmt(s, st, "prune old verifications", err);
}

/* CDS_ERR_RATE if the handle has max verifications since `since`. */
static enum cds_err under_limit(struct sq_store *s, const char *h,
				int64_t since, int64_t window_us, int64_t now,
				unsigned max, uint32_t *retry,
				struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_VERIFY_COUNT, err);
	int64_t count = 0, oldest = now;
	int rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		count = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			oldest = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return sq_fail(s->db, rc, "count a handle's verifications", err);
	return cds_verify_limit(count, oldest, now, window_us, max, retry, err);
}

static enum cds_err insert(struct sq_store *s, const struct cds_verification *v,
			   struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_VERIFY_INSERT, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, v->id, CDS_VERIFY_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v->handle, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, v->code_hash, CDS_VERIFY_HASH_BYTES,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, v->created_us);
	sqlite3_bind_int64(st, 5, v->expires_us);
	return sq_exec_stmt(s, st, "record a verification", err);
}

enum cds_err sq_verify_create(struct cds_store *base,
			      const struct cds_verification *v,
			      unsigned max_per_window, int64_t window_us,
			      uint32_t *retry_after_s, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	int64_t since = v->created_us - window_us;
	enum cds_err rc;

	rc = sq_begin_write(s, err);
	if (rc)
		return rc;
	rc = prune(s, since, err);
	if (!rc)
		rc = under_limit(s, v->handle, since, window_us, v->created_us,
				 max_per_window, retry_after_s, err);
	if (!rc)
		rc = insert(s, v, err);
	return sq_end(s, rc, err);
}

enum cds_err sq_verify_drop(struct cds_store *base, const uint8_t *id,
			    struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_VERIFY_DROP, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, id, CDS_VERIFY_ID_BYTES, SQLITE_STATIC);
	return sq_exec_stmt(s, st, "drop a verification", err);
}

/* The hooks of cds_verify_redeem_with (store_impl.h). */
static enum cds_err read_row(struct cds_store *base, const uint8_t *id,
			     struct cds_verify_row *r, bool *found,
			     struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_VERIFY_GET, err);
	int rc;

	*found = false;
	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, id, CDS_VERIFY_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) <= CDS_HANDLE_MAX_BYTES &&
	    sqlite3_column_bytes(st, 1) == CDS_VERIFY_HASH_BYTES) {
		memcpy(r->handle, sqlite3_column_text(st, 0),
		       (size_t)sqlite3_column_bytes(st, 0));
		r->handle[sqlite3_column_bytes(st, 0)] = '\0';
		memcpy(r->code_hash, sqlite3_column_blob(st, 1),
		       CDS_VERIFY_HASH_BYTES);
		r->expires_us = sqlite3_column_int64(st, 2);
		r->attempts = (unsigned)sqlite3_column_int(st, 3);
		r->state = sqlite3_column_int(st, 4);
		*found = true;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s->db, rc, "read a verification", err);
	return CDS_OK;
}

static enum cds_err set_state(struct cds_store *base, const uint8_t *id,
			      unsigned attempts, int state,
			      struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_VERIFY_SET, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, id, CDS_VERIFY_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)attempts);
	sqlite3_bind_int(st, 3, state);
	return sq_exec_stmt(s, st, "update a verification", err);
}

static const struct cds_verify_backend hooks = {
	.begin = sq_write_begin,
	.end = sq_write_end,
	.row_get = read_row,
	.row_set = set_state,
	.handle_add = sq_handle_add,
	.handle_remove = sq_handle_remove,
	.accounts_write = sq_accounts_write,
};

enum cds_err sq_verify_redeem(struct cds_store *base,
			      struct cds_verify_redeem *r,
			      struct cds_error *err)
{
	return cds_verify_redeem_with(base, &hooks, r, err);
}
