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
 *     not at all.
 */
#include "store/store_sqlite.h"

#include <string.h>

#include <sodium.h>

#include "core/timeutil.h"

enum { ST_PENDING = 0, ST_USED = 1, ST_DEAD = 2 };

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
	int64_t count = 0, oldest = now, wait_us;
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
	if (count < (int64_t)max)
		return CDS_OK;
	wait_us = oldest + window_us - now;
	*retry = (uint32_t)(wait_us / CDS_USEC_PER_SEC + 1);
	return cds_fail(err, CDS_ERR_RATE,
			"too many codes sent to this handle; retry in %u s",
			*retry);
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

/* A verification row as redeeming needs it. */
struct row {
	char handle[CDS_HANDLE_MAX_BYTES + 1];
	uint8_t code_hash[CDS_VERIFY_HASH_BYTES];
	int64_t expires_us;
	unsigned attempts;
	int state;
};

static enum cds_err read_row(struct sq_store *s, const uint8_t *id,
			     struct row *r, bool *found, struct cds_error *err)
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

static enum cds_err refuse(struct cds_verify_redeem *r,
			   enum cds_verify_refusal why, const char *msg,
			   struct cds_error *err)
{
	r->refusal = why;
	return cds_fail(err, CDS_ERR_AUTH, "%s", msg);
}

/*
 * Judge the code against row w (inside the transaction).  A wrong code
 * counts an attempt (and kills the verification at the last one); the
 * caller commits that even though the result is a refusal.
 */
static enum cds_err judge(struct sq_store *s, struct cds_verify_redeem *r,
			  const struct row *w, bool *count_attempt,
			  struct cds_error *err)
{
	unsigned attempts = w->attempts + 1;

	*count_attempt = false;
	if (w->state == ST_USED)
		return refuse(r, CDS_VERIFY_USED, "this code was already used", err);
	if (w->state == ST_DEAD)
		return refuse(r, CDS_VERIFY_EXHAUSTED,
			      "too many wrong codes: ask for a new one", err);
	if (r->now_us >= w->expires_us)
		return refuse(r, CDS_VERIFY_EXPIRED,
			      "this code has expired: ask for a new one", err);
	if (!sodium_memcmp(w->code_hash, r->code_hash, CDS_VERIFY_HASH_BYTES))
		return set_state(s, r->id, attempts, ST_USED, err);
	*count_attempt = true;
	if (set_state(s, r->id, attempts,
		      attempts >= r->max_attempts ? ST_DEAD : ST_PENDING, err))
		return CDS_ERR_STORE;
	r->attempts_left = attempts >= r->max_attempts ? 0
						       : r->max_attempts - attempts;
	r->refusal = CDS_VERIFY_WRONG;
	return cds_fail(err, CDS_ERR_AUTH, "wrong code; %u attempt%s left",
			r->attempts_left, r->attempts_left == 1 ? "" : "s");
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
	struct row w;
	bool found = false, count_attempt = false;
	enum cds_err rc;

	rc = sq_begin_write(s, err);
	if (rc)
		return rc;
	rc = read_row(s, r->id, &w, &found, err);
	if (!rc && !found)
		rc = refuse(r, CDS_VERIFY_UNKNOWN, "no such verification", err);
	if (!rc)
		rc = judge(s, r, &w, &count_attempt, err);
	if (!rc) {
		memcpy(r->handle, w.handle, sizeof(r->handle));
		rc = bind(s, r, err);
	}
	sodium_memzero(&w, sizeof(w));
	if (count_attempt && rc == CDS_ERR_AUTH) {
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
