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
 *     not at all.  (The judgement itself is store_verify.c's, shared with
 *     the PostgreSQL backend.)
 */
#include "store/store_sqlite.h"

#include <string.h>

#include <sodium.h>

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

static enum cds_err read_row(struct sq_store *s, const uint8_t *id,
			     struct cds_verify_row *r, bool *found,
			     struct cds_error *err)
{
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

static enum cds_err set_state(struct sq_store *s, const uint8_t *id,
			      unsigned attempts, int state,
			      struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_VERIFY_SET, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, id, CDS_VERIFY_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)attempts);
	sqlite3_bind_int(st, 3, state);
	return sq_exec_stmt(s, st, "update a verification", err);
}

/*
 * Judge the code against the row (store_verify.c) and store the row's
 * update; *count_attempt: a wrong code's attempt, to commit with the
 * refusal.
 */
static enum cds_err judge(struct sq_store *s, struct cds_verify_redeem *r,
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
static enum cds_err bind(struct sq_store *s, struct cds_verify_redeem *r,
			 struct cds_error *err)
{
	const char *hs[1] = {r->handle};
	bool kept;
	enum cds_err rc;

	if (r->account)
		return sq_handle_bind(s, r->account, r->handle, err);
	rc = sq_handle_release(s, r->handle, NULL, &kept, err);
	if (rc)
		return rc;
	memcpy(r->created.identity_key, r->identity_key, CDS_IDENTITY_KEY_BYTES);
	r->created.handles = hs;
	r->created.n_handles = 1;
	rc = sq_accounts_write(s, &r->created, 1, err);
	r->created.handles = NULL;
	r->created.n_handles = 0;
	return rc;
}

enum cds_err sq_verify_redeem(struct cds_store *base,
			      struct cds_verify_redeem *r,
			      struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	bool count_attempt = false;
	enum cds_err rc;

	rc = sq_begin_write(s, err);
	if (rc)
		return rc;
	rc = judge(s, r, &count_attempt, err);
	if (!rc)
		rc = bind(s, r, err);
	if (count_attempt) {
		/* Keep the spent attempt, and still refuse. */
		struct cds_error e = {0};

		if (sq_end(s, CDS_OK, &e))
			return cds_fail(err, e.code, "%s", e.msg);
		return rc;
	}
	rc = sq_end(s, rc, err);
	if (rc)
		sodium_memzero(&r->created, sizeof(r->created));
	return rc;
}
