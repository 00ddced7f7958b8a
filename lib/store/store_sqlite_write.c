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
#include <stdlib.h>
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

/* The row number of account id; CDS_ERR_NOT_FOUND naming it if none. */
static enum cds_err account_n(struct sq_store *s, const uint8_t *id, int64_t *n,
			      struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_ACCOUNT_N, err);
	int rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_blob(st, 1, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return not_found(id, err);
	return rc == SQLITE_ROW ? CDS_OK : sq_fail(s->db, rc, "find an account", err);
}

/* Insert the account row; *n gets its row number. */
static enum cds_err insert_account(struct sq_store *s,
				   const struct cds_new_account *a, int64_t now,
				   int64_t *n, struct cds_error *err)
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
	*n = sqlite3_last_insert_rowid(s->db);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

/*
 * Insert one handle of a new account.  A primary-key conflict means the
 * handle is taken, by another account or earlier in this same batch.
 */
static enum cds_err insert_handle(struct sq_store *s, const uint8_t *id,
				  int64_t n, const char *h, size_t index,
				  struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_INSERT, err);
	int rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return cds_fail_at(err, CDS_ERR_EXISTS, (long)index,
				   "handle '%.200s' is already registered", h);
	if (rc != SQLITE_DONE)
		return sq_fail(s->db, rc, "insert a handle", err);
	return log_change(s, id, h, err);
}

/* One handle of a batch and the account (index) it is for. */
struct hrow {
	const char *h;
	size_t acct;
};

/*
 * A batch being created: the accounts in id order, then their handles in
 * handle order (see sq_accounts_create).  n[i] is the row number that
 * account i got.
 */
struct batch {
	const struct cds_new_account *accts;
	size_t n_accts;
	size_t *by_id;   /* account indexes, sorted by id */
	struct hrow *hs; /* every handle of the batch, sorted */
	size_t n_hs;
	int64_t *n;
};

/* qsort has no context argument in C11: the batch being sorted by id. */
static _Thread_local const struct cds_new_account *sort_accts;

static int by_id_cmp(const void *a, const void *b)
{
	return memcmp(sort_accts[*(const size_t *)a].id,
		      sort_accts[*(const size_t *)b].id, CDS_ACCOUNT_ID_BYTES);
}

/* By handle; a repeated handle is reported at the later account. */
static int hrow_cmp(const void *a, const void *b)
{
	const struct hrow *x = a, *y = b;
	int c = strcmp(x->h, y->h);

	return c ? c : x->acct < y->acct ? -1 : x->acct > y->acct;
}

static void batch_free(struct batch *b)
{
	free(b->by_id);
	free(b->hs);
	free(b->n);
}

static enum cds_err batch_sort(struct batch *b, struct cds_error *err)
{
	size_t total = 0, k = 0;

	for (size_t i = 0; i < b->n_accts; i++)
		total += b->accts[i].n_handles;
	b->by_id = malloc((b->n_accts ? b->n_accts : 1) * sizeof(*b->by_id));
	b->n = malloc((b->n_accts ? b->n_accts : 1) * sizeof(*b->n));
	b->hs = malloc((total ? total : 1) * sizeof(*b->hs));
	if (!b->by_id || !b->n || !b->hs)
		return cds_fail(err, CDS_ERR_NOMEM,
				"out of memory creating %zu accounts", b->n_accts);
	for (size_t i = 0; i < b->n_accts; i++) {
		b->by_id[i] = i;
		for (size_t j = 0; j < b->accts[i].n_handles; j++)
			b->hs[k++] = (struct hrow){b->accts[i].handles[j], i};
	}
	b->n_hs = total;
	sort_accts = b->accts;
	qsort(b->by_id, b->n_accts, sizeof(*b->by_id), by_id_cmp);
	qsort(b->hs, b->n_hs, sizeof(*b->hs), hrow_cmp);
	return CDS_OK;
}

static enum cds_err batch_write(struct sq_store *s, struct batch *b,
				struct cds_error *err)
{
	int64_t now = cds_now_us();
	enum cds_err rc = CDS_OK;

	for (size_t k = 0; k < b->n_accts && !rc; k++) {
		size_t i = b->by_id[k];

		rc = insert_account(s, &b->accts[i], now, &b->n[i], err);
		if (!rc)
			rc = log_change(s, b->accts[i].id, NULL, err);
	}
	for (size_t k = 0; k < b->n_hs && !rc; k++) {
		size_t i = b->hs[k].acct;

		rc = insert_handle(s, b->accts[i].id, b->n[i], b->hs[k].h, i, err);
	}
	return rc;
}

/*
 * The batch goes in sorted: accounts by id, then handles by handle, so
 * that consecutive inserts into the two B-trees keyed by random values (the
 * id index and the handles) land on neighbouring pages; in file order they
 * would land anywhere, and a bulk import would spend its time on cache
 * misses.  Foreign keys are off for the transaction: every handle row names
 * an account inserted before it in the same transaction, so the check
 * cannot fail, and skipping it makes bulk imports 7% cheaper.  The pragma
 * is a no-op inside a transaction, hence outside sq_begin_write/sq_end.
 */
enum cds_err sq_accounts_create(struct cds_store *base,
				const struct cds_new_account *accts, size_t n,
				struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	struct batch b = {.accts = accts, .n_accts = n};
	enum cds_err rc;

	rc = batch_sort(&b, err);
	if (!rc)
		rc = sq_foreign_keys(s, false, err);
	if (!rc) {
		rc = sq_begin_write(s, err);
		if (!rc)
			rc = batch_write(s, &b, err);
		rc = sq_end(s, rc, err);
		if (sq_foreign_keys(s, true, rc ? NULL : err) != CDS_OK && !rc)
			rc = CDS_ERR_STORE;
	}
	batch_free(&b);
	return rc;
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
		rc = log_change(s, id, NULL, err);
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
		rc = log_change(s, id, NULL, err);
	if (!rc)
		rc = log_all_handles(s, id, n, err);
	return sq_end(s, rc, err);
}

static enum cds_err remove_handle(struct sq_store *s, const uint8_t *id,
				  int64_t n, const char *h,
				  struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_REMOVE, err);
	enum cds_err rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sq_exec_stmt(s, st, "remove a handle", err);
	if (!rc && sqlite3_changes(s->db) > 0)
		rc = log_change(s, id, h, err);
	return rc;
}

/* Whether handle h belongs to account n (it exists: the add conflicted). */
static enum cds_err owned_by(struct sq_store *s, int64_t n, const char *h,
			     int *mine, struct cds_error *err)
{
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

static enum cds_err add_handle(struct sq_store *s, const uint8_t *id,
			       int64_t n, const char *h, size_t index,
			       struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_ADD, err);
	enum cds_err rc;
	int mine = 0;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sq_exec_stmt(s, st, "add a handle", err);
	if (rc)
		return rc;
	if (sqlite3_changes(s->db) > 0)
		return log_change(s, id, h, err);
	rc = owned_by(s, n, h, &mine, err);
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
	int64_t n = 0;

	rc = sq_begin_write(s, err);
	if (rc)
		return rc;
	rc = account_n(s, id, &n, err);
	/* Removals first, so that "remove X, add X" leaves X registered. */
	for (size_t i = 0; i < n_remove && !rc; i++)
		rc = remove_handle(s, id, n, remove[i], err);
	for (size_t i = 0; i < n_add && !rc; i++)
		rc = add_handle(s, id, n, add[i], i, err);
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
