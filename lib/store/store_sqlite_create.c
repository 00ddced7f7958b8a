/*
 * store_sqlite_create.c: the SQLite backend's account creation, built for
 * bulk imports (cdsctl import, synth) as much as for single accounts.
 *
 * Invariants (store.h, idperm.h):
 *  1. One IMMEDIATE transaction per call: all accounts or none.
 *  2. Accounts are numbered from meta.next_n in the same transaction, so
 *     numbers (and therefore ids) are never reused, even after deletions.
 *  3. Each account gets its account-level change row and each handle its
 *     handle row, in the same transaction (store.h invariant 2).
 *
 * Why it looks the way it does: a bulk import is bound by SQLite's work per
 * row.  Accounts are appended in number order and go in SQ_MANY rows per
 * statement (per-statement overhead was a fifth of the time), as do the
 * change rows; handles go in sorted, so that consecutive inserts into the
 * one B-tree keyed by a random value land on neighbouring pages.
 */
#include "store/store_sqlite.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/timeutil.h"

/* Bind account a (number n) as row k of an account INSERT. */
static void bind_account(sqlite3_stmt *st, int k,
			 const struct cds_new_account *a, int64_t n,
			 const uint8_t *hash, int64_t now)
{
	int p = 5 * k;

	sqlite3_bind_int64(st, p + 1, n);
	sqlite3_bind_blob(st, p + 2, a->id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, p + 3, a->identity_key, CDS_IDENTITY_KEY_BYTES,
			  SQLITE_STATIC);
	sqlite3_bind_blob(st, p + 4, hash, CDS_TOKEN_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, p + 5, now);
}

/* SQ_MANY accounts (numbers n..) in one statement. */
static enum cds_err insert_many(struct sq_store *s,
				const struct cds_new_account *a, int64_t n,
				uint8_t (*hash)[CDS_TOKEN_HASH_BYTES], int64_t now,
				struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_ACCOUNT_INSERT_MANY, err);

	if (!st)
		return CDS_ERR_STORE;
	for (int k = 0; k < SQ_MANY; k++)
		bind_account(st, k, &a[k], n + k, hash[k], now);
	return sq_exec_stmt(s, st, "insert accounts", err);
}

/*
 * The account-level change rows of a[0..m): only for accounts created
 * without handles, since a handle's row brings its account (store.h
 * invariant 2).
 */
static enum cds_err log_bare_accounts(struct sq_store *s,
				      const struct cds_new_account *a, size_t m,
				      struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	for (size_t k = 0; k < m && !rc; k++)
		if (!a[k].n_handles)
			rc = sq_log_change(s, a[k].id, NULL, err);
	return rc;
}

/*
 * Insert accounts a[0..m) (numbers n..): by SQ_MANY rows a statement when
 * m == SQ_MANY, since per-statement overhead is a fifth of a bulk import;
 * else row by row.
 */
static enum cds_err insert_accounts(struct sq_store *s,
				    const struct cds_new_account *a, size_t m,
				    int64_t n, int64_t now,
				    struct cds_error *err)
{
	uint8_t hash[SQ_MANY][CDS_TOKEN_HASH_BYTES];
	enum cds_err rc = CDS_OK;
	sqlite3_stmt *st;

	for (size_t k = 0; k < m; k++)
		cds_token_hash(hash[k], a[k].token);
	if (m == SQ_MANY)
		rc = insert_many(s, a, n, hash, now, err);
	for (size_t k = 0; m < SQ_MANY && k < m && !rc; k++) {
		if (!(st = sq_stmt(s, SQ_ACCOUNT_INSERT, err))) {
			rc = CDS_ERR_STORE;
			break;
		}
		bind_account(st, 0, &a[k], n + (int64_t)k, hash[k], now);
		rc = sq_exec_stmt(s, st, "insert an account", err);
	}
	sodium_memzero(hash, sizeof(hash));
	return rc ? rc : log_bare_accounts(s, a, m, err);
}

/* Handle-level change rows waiting to go in SQ_MANY at a time. */
struct pending {
	const uint8_t *id[SQ_MANY];
	const char *h[SQ_MANY];
	size_t n;
};

static enum cds_err pending_flush(struct sq_store *s, struct pending *p,
				  struct cds_error *err)
{
	sqlite3_stmt *st;
	enum cds_err rc = CDS_OK;

	if (p->n == SQ_MANY) {
		if (!(st = sq_stmt(s, SQ_CHANGE_HANDLE_MANY, err)))
			return CDS_ERR_STORE;
		for (int k = 0; k < SQ_MANY; k++) {
			sqlite3_bind_blob(st, 2 * k + 1, p->id[k], CDS_ACCOUNT_ID_BYTES,
					  SQLITE_STATIC);
			sqlite3_bind_text(st, 2 * k + 2, p->h[k], -1, SQLITE_STATIC);
		}
		rc = sq_exec_stmt(s, st, "append to the change log", err);
	}
	for (size_t k = 0; p->n < SQ_MANY && k < p->n && !rc; k++)
		rc = sq_log_change(s, p->id[k], p->h[k], err);
	p->n = 0;
	return rc;
}

/*
 * Insert one handle of a new account and queue its change row.  A
 * primary-key conflict means the handle is taken, by another account or
 * earlier in this same batch.
 */
static enum cds_err insert_handle(struct sq_store *s, const uint8_t *id,
				  int64_t n, const char *h, size_t index,
				  struct pending *p, struct cds_error *err)
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
	p->id[p->n] = id;
	p->h[p->n++] = h;
	return p->n == SQ_MANY ? pending_flush(s, p, err) : CDS_OK;
}

static enum cds_err next_number(struct sq_store *s, int64_t *next,
				struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_NEXT_N_GET, err);
	int rc;

	if (!st)
		return CDS_ERR_STORE;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*next = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return sq_fail(s->db, rc, "read the next account number", err);
	return CDS_OK;
}

static enum cds_err set_next_number(struct sq_store *s, int64_t next,
				    struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_NEXT_N_SET, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, next);
	return sq_exec_stmt(s, st, "record the next account number", err);
}

/*
 * Inside the transaction: number the accounts from meta.next_n, give them
 * their ids and tokens, insert them in number order (appending), then their
 * handles in handle order, so that consecutive inserts into the handle
 * B-tree land on neighbouring pages rather than anywhere.
 */
static enum cds_err write_batch(struct sq_store *s,
				struct cds_new_account *accts, size_t n,
				const struct cds_batch_handle *hs, size_t n_hs,
				struct cds_error *err)
{
	int64_t now = cds_now_us(), first = 0;
	struct pending p = {.n = 0};
	enum cds_err rc;

	rc = next_number(s, &first, err);
	if (!rc && first > INT64_MAX - (int64_t)n)
		rc = cds_fail(err, CDS_ERR_STORE, "store: account numbers exhausted");
	for (size_t i = 0; i < n && !rc; i++)
		cds_idperm_id(accts[i].id, s->id_key, (uint64_t)first + i);
	if (!rc)
		cds_token_fill(accts, n);
	for (size_t i = 0; i < n && !rc; i += SQ_MANY)
		rc = insert_accounts(s, accts + i, n - i < SQ_MANY ? n - i : SQ_MANY,
				     first + (int64_t)i, now, err);
	for (size_t k = 0; k < n_hs && !rc; k++) {
		size_t i = hs[k].acct;

		rc = insert_handle(s, accts[i].id, first + (int64_t)i, hs[k].h, i,
				   &p, err);
	}
	if (!rc)
		rc = pending_flush(s, &p, err);
	if (!rc)
		rc = set_next_number(s, first + (int64_t)n, err);
	return rc;
}

enum cds_err sq_accounts_write(struct cds_store *base,
			       struct cds_new_account *accts, size_t n,
			       struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	struct cds_batch_handle *hs = NULL;
	size_t n_hs = 0;
	enum cds_err rc;

	rc = cds_batch_handles(accts, n, &hs, &n_hs, err);
	if (!rc)
		rc = write_batch(s, accts, n, hs, n_hs, err);
	free(hs);
	return rc;
}

/*
 * Foreign keys are off for the transaction: every handle row names an
 * account inserted before it in the same transaction, so the check cannot
 * fail, and skipping it makes bulk imports 7% cheaper.  The pragma is a
 * no-op inside a transaction, hence outside sq_begin_write/sq_end.
 */
enum cds_err sq_accounts_create(struct cds_store *base,
				struct cds_new_account *accts, size_t n,
				cds_store_ready_fn ready, void *ctx,
				struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	enum cds_err rc;

	rc = sq_foreign_keys(s, false, err);
	if (!rc) {
		rc = sq_begin_write(s, err);
		if (!rc)
			rc = sq_accounts_write(base, accts, n, err);
		if (!rc && ready)
			rc = ready(ctx, err);
		rc = sq_end(s, rc, err);
		if (sq_foreign_keys(s, true, rc ? NULL : err) != CDS_OK && !rc)
			rc = CDS_ERR_STORE;
	}
	return rc;
}
