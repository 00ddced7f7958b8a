/*
 * store_sqlite_write.c: the SQLite backend's writes: accounts, handles,
 * identity keys and rate-limit state.
 *
 * Invariants (store.h):
 *  1. Each function is one IMMEDIATE transaction (sq_begin_write ..
 *     sq_end): all of it happens or none of it.
 *  2. The change log rows of invariant 2 are inserted by the same function,
 *     in the same transaction, as the change they describe: an account row
 *     (handle NULL) on create, re-key and delete; a handle row for each
 *     handle added, removed, or belonging to a re-keyed or deleted account.
 *  3. Messages about a taken handle never say which account holds it: they
 *     may be shown to the client who asked.
 */
#include "store/store_sqlite.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/timeutil.h"

static enum cds_err not_found(const uint8_t *id, struct cds_error *err)
{
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	cds_hex_encode(hex, id, CDS_ACCOUNT_ID_BYTES);
	return cds_fail(err, CDS_ERR_NOT_FOUND, "no account '%s'", hex);
}

/* Append one change row: handle NULL for an account-level change. */
static enum cds_err log_change(struct sq_store *s, const uint8_t *id,
			       const char *handle, struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, handle ? SQ_CHANGE_HANDLE : SQ_CHANGE_ACCOUNT,
				   err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	if (handle)
		sqlite3_bind_text(st, 2, handle, -1, SQLITE_STATIC);
	return sq_exec_stmt(s, st, "append to the change log", err);
}

/* One change row for every handle the account has now. */
static enum cds_err log_all_handles(struct sq_store *s, const uint8_t *id,
				    struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_CHANGE_ALL_HANDLES, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	return sq_exec_stmt(s, st, "append to the change log", err);
}

static enum cds_err insert_account(struct sq_store *s,
				   const struct cds_new_account *a, int64_t now,
				   struct cds_error *err)
{
	uint8_t hash[CDS_TOKEN_HASH_BYTES];
	sqlite3_stmt *st = sq_stmt(s, SQ_ACCOUNT_INSERT, err);
	enum cds_err rc;

	if (!st)
		return CDS_ERR_STORE;
	cds_token_hash(hash, a->token);
	sqlite3_bind_blob(st, 1, a->id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, a->identity_key, CDS_IDENTITY_KEY_BYTES,
			  SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hash, CDS_TOKEN_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	rc = sq_exec_stmt(s, st, "insert an account", err);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

/*
 * Insert one handle of a new account.  A primary-key conflict means the
 * handle is taken, by another account or earlier in this same batch.
 */
static enum cds_err insert_handle(struct sq_store *s, const uint8_t *id,
				  const char *h, size_t index,
				  struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_INSERT, err);
	int rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return cds_fail_at(err, CDS_ERR_EXISTS, (long)index,
				   "handle '%.200s' is already registered", h);
	if (rc != SQLITE_DONE)
		return sq_fail(s->db, rc, "insert a handle", err);
	return log_change(s, id, h, err);
}

/*
 * Foreign keys are switched off for the transaction: each handle row names
 * the account inserted just before it in the same transaction, so the check
 * cannot fail, and skipping it makes bulk imports 7% cheaper.  The pragma is
 * a no-op inside a transaction, hence outside sq_begin_write/sq_end.
 */
enum cds_err sq_accounts_create(struct cds_store *base,
				const struct cds_new_account *accts, size_t n,
				struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	int64_t now = cds_now_us();
	enum cds_err rc;

	rc = sq_foreign_keys(s, false, err);
	if (!rc)
		rc = sq_begin_write(s, err);
	for (size_t i = 0; i < n && !rc; i++) {
		const struct cds_new_account *a = &accts[i];

		rc = insert_account(s, a, now, err);
		if (!rc)
			rc = log_change(s, a->id, NULL, err);
		for (size_t j = 0; j < a->n_handles && !rc; j++)
			rc = insert_handle(s, a->id, a->handles[j], i, err);
	}
	rc = sq_end(s, rc, err);
	return sq_foreign_keys(s, true, rc ? NULL : err) ? CDS_ERR_STORE : rc;
}

enum cds_err sq_account_delete(struct cds_store *base, const uint8_t *id,
			       struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = NULL;
	enum cds_err rc;

	rc = sq_begin_write(s, err);
	if (rc)
		return rc;
	/* Log first: the cascade removes the handles the rows must name. */
	rc = log_all_handles(s, id, err);
	if (!rc)
		rc = log_change(s, id, NULL, err);
	if (!rc) {
		st = sq_stmt(s, SQ_ACCOUNT_DELETE, err);
		if (!st)
			rc = CDS_ERR_STORE;
	}
	if (!rc) {
		sqlite3_bind_blob(st, 1, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
		rc = sq_exec_stmt(s, st, "delete an account", err);
	}
	if (!rc && sqlite3_changes(s->db) == 0)
		rc = not_found(id, err);
	return sq_end(s, rc, err);
}

enum cds_err sq_account_set_key(struct cds_store *base, const uint8_t *id,
				const uint8_t *key, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st;
	enum cds_err rc;

	rc = sq_begin_write(s, err);
	if (rc)
		return rc;
	st = sq_stmt(s, SQ_ACCOUNT_SET_KEY, err);
	if (!st)
		rc = CDS_ERR_STORE;
	if (!rc) {
		sqlite3_bind_blob(st, 1, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, key, CDS_IDENTITY_KEY_BYTES, SQLITE_STATIC);
		rc = sq_exec_stmt(s, st, "change an identity key", err);
	}
	if (!rc && sqlite3_changes(s->db) == 0)
		rc = not_found(id, err);
	if (!rc)
		rc = log_change(s, id, NULL, err);
	if (!rc)
		rc = log_all_handles(s, id, err);
	return sq_end(s, rc, err);
}

static enum cds_err account_exists(struct sq_store *s, const uint8_t *id,
				   struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_ACCOUNT_GET, err);
	int rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return not_found(id, err);
	return rc == SQLITE_ROW ? CDS_OK : sq_fail(s->db, rc, "find an account", err);
}

static enum cds_err remove_handle(struct sq_store *s, const uint8_t *id,
				  const char *h, struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_REMOVE, err);
	enum cds_err rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	rc = sq_exec_stmt(s, st, "remove a handle", err);
	if (!rc && sqlite3_changes(s->db) > 0)
		rc = log_change(s, id, h, err);
	return rc;
}

/* Whether handle h belongs to account id (it exists: the add conflicted). */
static enum cds_err owned_by(struct sq_store *s, const uint8_t *id,
			     const char *h, int *mine, struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_OWNER, err);
	int rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*mine = rc == SQLITE_ROW &&
		sqlite3_column_bytes(st, 0) == CDS_ACCOUNT_ID_BYTES &&
		memcmp(sqlite3_column_blob(st, 0), id, CDS_ACCOUNT_ID_BYTES) == 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s->db, rc, "find a handle's account", err);
	return CDS_OK;
}

static enum cds_err add_handle(struct sq_store *s, const uint8_t *id,
			       const char *h, size_t index,
			       struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_ADD, err);
	enum cds_err rc;
	int mine = 0;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	rc = sq_exec_stmt(s, st, "add a handle", err);
	if (rc)
		return rc;
	if (sqlite3_changes(s->db) > 0)
		return log_change(s, id, h, err);
	rc = owned_by(s, id, h, &mine, err);
	if (!rc && !mine)
		rc = cds_fail_at(err, CDS_ERR_EXISTS, (long)index,
				 "handle '%.200s' is registered to another account",
				 h);
	return rc;
}

enum cds_err sq_handles_update(struct cds_store *base, const uint8_t *id,
			       const char *const *add, size_t n_add,
			       const char *const *remove, size_t n_remove,
			       struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	enum cds_err rc;

	rc = sq_begin_write(s, err);
	if (rc)
		return rc;
	rc = account_exists(s, id, err);
	/* Removals first, so that "remove X, add X" leaves X registered. */
	for (size_t i = 0; i < n_remove && !rc; i++)
		rc = remove_handle(s, id, remove[i], err);
	for (size_t i = 0; i < n_add && !rc; i++)
		rc = add_handle(s, id, add[i], i, err);
	return sq_end(s, rc, err);
}

enum cds_err sq_rate_save(struct cds_store *base,
			  const struct cds_rate_state *states, size_t n,
			  struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	enum cds_err rc;

	rc = sq_begin_write(s, err);
	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_stmt *st = sq_stmt(s, SQ_RATE_SAVE, err);

		if (!st) {
			rc = CDS_ERR_STORE;
			break;
		}
		sqlite3_bind_blob(st, 1, states[i].account, CDS_ACCOUNT_ID_BYTES,
				  SQLITE_STATIC);
		sqlite3_bind_double(st, 2, states[i].tokens);
		sqlite3_bind_int64(st, 3, states[i].updated_us);
		rc = sq_exec_stmt(s, st, "save rate-limit state", err);
	}
	return sq_end(s, rc, err);
}
