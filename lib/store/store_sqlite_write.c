/*
 * store_sqlite_write.c: the SQLite backend's changes to existing accounts:
 * delete, re-key, handles added and removed (the steps in store_handles.c,
 * over this file's statements), rate-limit state.  (Creating accounts, in
 * bulk, is store_sqlite_create.c.)
 *
 * Invariants (store.h):
 *  1. Each function is one IMMEDIATE transaction (sq_begin_write ..
 *     sq_end): all of it happens or none of it.
 *  2. The change log rows of invariant 2 are inserted by the same function,
 *     in the same transaction, as the change they describe: an account row
 *     (handle NULL) on re-key and delete; a handle row for each handle
 *     added, removed, or belonging to a re-keyed or deleted account.
 *  3. Messages about a taken handle never say which account holds it: they
 *     may be shown to the client who asked.
 */
#include "store/store_sqlite.h"

#include <string.h>

#include <sodium.h>

#include "core/codec.h"

static enum cds_err not_found(const uint8_t *id, struct cds_error *err)
{
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	cds_hex_encode(hex, id, CDS_ACCOUNT_ID_BYTES);
	return cds_fail(err, CDS_ERR_NOT_FOUND, "no account '%s'", hex);
}

enum cds_err sq_log_change(struct sq_store *s, const uint8_t *id,
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

/* One change row for every handle account n (id) has now. */
static enum cds_err log_all_handles(struct sq_store *s, const uint8_t *id,
				    int64_t n, struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_CHANGE_ALL_HANDLES, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	return sq_exec_stmt(s, st, "append to the change log", err);
}

/* The row number of existing account id; CDS_ERR_NOT_FOUND naming it. */
static enum cds_err account_n(struct sq_store *s, const uint8_t *id, int64_t *n,
			      struct cds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!sq_account_number(s, id, n))
		return not_found(id, err);
	st = sq_stmt(s, SQ_ACCOUNT_GET, err);
	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, *n);
	sqlite3_bind_blob(st, 2, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return not_found(id, err);
	return rc == SQLITE_ROW ? CDS_OK : sq_fail(s->db, rc, "find an account", err);
}

enum cds_err sq_account_delete(struct cds_store *base, const uint8_t *id,
			       struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = NULL;
	enum cds_err rc;
	int64_t n = 0;

	rc = sq_begin_write(s, err);
	if (rc)
		return rc;
	rc = account_n(s, id, &n, err);
	/* Log first: the cascade removes the handles the rows must name. */
	if (!rc)
		rc = log_all_handles(s, id, n, err);
	if (!rc)
		rc = sq_log_change(s, id, NULL, err);
	if (!rc && !(st = sq_stmt(s, SQ_ACCOUNT_DELETE, err)))
		rc = CDS_ERR_STORE;
	if (!rc) {
		sqlite3_bind_int64(st, 1, n);
		rc = sq_exec_stmt(s, st, "delete an account", err);
	}
	return sq_end(s, rc, err);
}

enum cds_err sq_account_set_key(struct cds_store *base, const uint8_t *id,
				const uint8_t *key, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = NULL;
	enum cds_err rc;
	int64_t n = 0;

	rc = sq_begin_write(s, err);
	if (rc)
		return rc;
	rc = account_n(s, id, &n, err);
	if (!rc && !(st = sq_stmt(s, SQ_ACCOUNT_SET_KEY, err)))
		rc = CDS_ERR_STORE;
	if (!rc) {
		sqlite3_bind_int64(st, 1, n);
		sqlite3_bind_blob(st, 2, key, CDS_IDENTITY_KEY_BYTES, SQLITE_STATIC);
		rc = sq_exec_stmt(s, st, "change an identity key", err);
	}
	if (!rc)
		rc = sq_log_change(s, id, NULL, err);
	if (!rc)
		rc = log_all_handles(s, id, n, err);
	return sq_end(s, rc, err);
}

/* The hooks of store_handles.c, which adds and removes handles. */

enum cds_err sq_write_begin(struct cds_store *base, struct cds_error *err)
{
	return sq_begin_write(sq_of(base), err);
}

enum cds_err sq_write_end(struct cds_store *base, enum cds_err rc,
			  struct cds_error *err)
{
	return sq_end(sq_of(base), rc, err);
}

static enum cds_err h_account_n(struct cds_store *base, const uint8_t *id,
				int64_t *n, struct cds_error *err)
{
	return account_n(sq_of(base), id, n, err);
}

static bool h_number(struct cds_store *base, const uint8_t *id, int64_t *n)
{
	return sq_account_number(sq_of(base), id, n);
}

/* Run the handle statement `which` on (h, n); *changed if it changed a row. */
static enum cds_err handle_row(struct sq_store *s, enum sq_stmt_id which,
			       int64_t n, const char *h, const char *what,
			       bool *changed, struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, which, err);
	enum cds_err rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sq_exec_stmt(s, st, what, err);
	*changed = !rc && sqlite3_changes(s->db) > 0;
	return rc;
}

static enum cds_err h_row_add(struct cds_store *base, int64_t n, const char *h,
			      bool *added, struct cds_error *err)
{
	return handle_row(sq_of(base), SQ_HANDLE_ADD, n, h, "add a handle", added,
			  err);
}

static enum cds_err h_row_remove(struct cds_store *base, int64_t n,
				 const char *h, bool *removed,
				 struct cds_error *err)
{
	return handle_row(sq_of(base), SQ_HANDLE_REMOVE, n, h, "remove a handle",
			  removed, err);
}

static enum cds_err h_owned_by(struct cds_store *base, int64_t n, const char *h,
			       bool *mine, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_OWNER, err);
	int rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*mine = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == n;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s->db, rc, "find a handle's account", err);
	return CDS_OK;
}

static enum cds_err h_log_change(struct cds_store *base, const uint8_t *id,
				 const char *h, struct cds_error *err)
{
	return sq_log_change(sq_of(base), id, h, err);
}

static const struct cds_handles_backend handles_hooks = {
	.begin = sq_write_begin,
	.end = sq_write_end,
	.account_n = h_account_n,
	.number = h_number,
	.row_add = h_row_add,
	.row_remove = h_row_remove,
	.owned_by = h_owned_by,
	.log_change = h_log_change,
};

enum cds_err sq_handles_update(struct cds_store *base, const uint8_t *id,
			       const char *const *add, size_t n_add,
			       const char *const *remove, size_t n_remove,
			       struct cds_error *err)
{
	return cds_handles_update_with(base, &handles_hooks, id, add, n_add,
				       remove, n_remove, err);
}

enum cds_err sq_rate_save(struct cds_store *base,
			  const struct cds_rate_state *states, size_t count,
			  struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	enum cds_err rc;
	int64_t n = 0;

	rc = sq_begin_write(s, err);
	for (size_t i = 0; i < count && !rc; i++) {
		sqlite3_stmt *st = sq_stmt(s, SQ_RATE_SAVE, err);

		if (!st) {
			rc = CDS_ERR_STORE;
			break;
		}
		if (!sq_account_number(s, states[i].account, &n))
			continue; /* not an account of this store: nothing to save */
		sqlite3_bind_blob(st, 1, states[i].account, CDS_ACCOUNT_ID_BYTES,
				  SQLITE_STATIC);
		sqlite3_bind_double(st, 2, states[i].tokens);
		sqlite3_bind_int64(st, 3, states[i].updated_us);
		sqlite3_bind_int64(st, 4, n);
		rc = sq_exec_stmt(s, st, "save rate-limit state", err);
	}
	return sq_end(s, rc, err);
}

enum cds_err sq_handle_add(struct cds_store *base, const uint8_t *id,
			   const char *h, struct cds_error *err)
{
	return cds_handle_add_with(base, &handles_hooks, id, h, err);
}

enum cds_err sq_handle_remove(struct cds_store *base, const uint8_t *id,
			      const char *h, struct cds_error *err)
{
	return cds_handle_remove_with(base, &handles_hooks, id, h, err);
}
