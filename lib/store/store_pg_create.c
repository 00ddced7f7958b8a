/*
 * store_pg_create.c: the PostgreSQL backend's account creation, single and
 * bulk (cdsctl import, synth), with binary COPY.
 *
 * Invariants (store.h, idperm.h; the same as store_sqlite_create.c's):
 *  1. One transaction per call: all accounts or none.
 *  2. Accounts are numbered from meta.next_n under the writers' lock, so
 *     numbers (and therefore ids) are never reused, even after deletions.
 *  3. Each account gets its account-level change row and each handle its
 *     handle row, in the same transaction, numbered from meta.last_seq:
 *     first the accounts' rows in account order, then the handles' in
 *     handle order, as the SQLite backend numbers them.
 *
 * Why COPY: a bulk import is bound by per-row cost, and COPY has the least
 * (no statement per row, no round trip per row).  Its one drawback is that
 * a unique violation fails the whole COPY without saying which row in a
 * form a program should parse (the detail text is translated).  So a batch
 * is checked for repeated handles before its handles are sent (a repeat
 * cancels the accounts' COPY, and the transaction rolls back), and a handle
 * taken by another account is found after the rollback, by looking the
 * batch's handles up (pg_handles_taken): the failure path pays, the common
 * one not.
 */
#include "store/store_pg.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/timeutil.h"

#define UNIQUE_VIOLATION "23505"

/* A handle repeated within the batch: fail at the later account. */
static enum cds_err check_repeats(const struct cds_batch_handle *hs, size_t n,
				  struct cds_error *err)
{
	for (size_t k = 1; k < n; k++)
		if (strcmp(hs[k - 1].h, hs[k].h) == 0)
			return cds_fail_at(err, CDS_ERR_EXISTS, (long)hs[k].acct,
					   "handle '%.200s' is already registered",
					   hs[k].h);
	return CDS_OK;
}

/* The batch's handles, sorted, with none repeated. */
static enum cds_err batch_of(const struct cds_new_account *accts, size_t n,
			     struct cds_batch_handle **hs, size_t *n_hs,
			     struct cds_error *err)
{
	enum cds_err rc = cds_batch_handles(accts, n, hs, n_hs, err);

	return rc ? rc : check_repeats(*hs, *n_hs, err);
}

/*
 * Accounts per round of ids and tokens inside the accounts' COPY: enough
 * that cds_token_fill draws its randomness for many at once (a call per
 * account cost 1.8 us more each), few enough that the server never waits
 * long for the first rows.
 */
#define TOKEN_BLOCK 512

/* Ids (numbers from s->next_n + first) and tokens of accts[0..n). */
static void ids_tokens(struct pg_store *s, struct cds_new_account *accts,
		       size_t first, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cds_idperm_id(accts[i].id, s->id_key,
			      (uint64_t)s->next_n + first + i);
	cds_token_fill(accts, n);
}

/*
 * The accounts' rows, the accounts getting their ids and tokens a block
 * at a time as their rows are written; then, while the server still inserts the last rows sent, the
 * batch's handles sorted into *hs (the caller frees it).  Neither the ids
 * and tokens (~20 ms a 50,000 batch) nor the sort (~25 ms) is time the
 * server waits for any more.  A repeated handle cancels the COPY, and the
 * transaction is rolled back.
 */
static enum cds_err copy_accounts(struct pg_store *s,
				  struct cds_new_account *accts, size_t n,
				  struct cds_batch_handle **hs, size_t *n_hs,
				  struct cds_error *err)
{
	uint8_t hash[CDS_TOKEN_HASH_BYTES];
	int64_t now = cds_now_us();
	struct pg_copy c;
	enum cds_err rc;

	rc = pg_copy_begin(&c, s->conn,
			   "COPY accounts (n, id, identity_key, token_hash, "
			   "created_us) FROM STDIN (FORMAT binary)", err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (i % TOKEN_BLOCK == 0)
			ids_tokens(s, accts + i, i,
				   n - i < TOKEN_BLOCK ? n - i : TOKEN_BLOCK);
		cds_token_hash(hash, accts[i].token);
		pg_copy_row(&c, 5);
		pg_copy_i64(&c, s->next_n + (int64_t)i);
		pg_copy_bytes(&c, accts[i].id, CDS_ACCOUNT_ID_BYTES);
		pg_copy_bytes(&c, accts[i].identity_key, CDS_IDENTITY_KEY_BYTES);
		pg_copy_bytes(&c, hash, CDS_TOKEN_HASH_BYTES);
		pg_copy_i64(&c, now);
	}
	sodium_memzero(hash, sizeof(hash));
	pg_copy_flush(&c);
	rc = batch_of(accts, n, hs, n_hs, err);
	if (rc) {
		c.failed = true;
		(void)pg_copy_end(&c, "insert accounts", NULL, NULL);
		return rc;
	}
	return pg_copy_end(&c, "insert accounts", NULL, err);
}

/* The handles, sorted; *taken is set if one is registered already. */
static enum cds_err copy_handles(struct pg_store *s,
				 const struct cds_batch_handle *hs, size_t n_hs,
				 bool *taken, struct cds_error *err)
{
	char state[6];
	struct pg_copy c;
	enum cds_err rc;

	rc = pg_copy_begin(&c, s->conn,
			   "COPY handles (handle, account) FROM STDIN "
			   "(FORMAT binary)", err);
	if (rc)
		return rc;
	for (size_t k = 0; k < n_hs; k++) {
		pg_copy_row(&c, 2);
		pg_copy_text(&c, hs[k].h);
		pg_copy_i64(&c, s->next_n + (int64_t)hs[k].acct);
	}
	rc = pg_copy_end(&c, "insert handles", state, err);
	*taken = rc && strcmp(state, UNIQUE_VIOLATION) == 0;
	return rc;
}

static enum cds_err copy_changes(struct pg_store *s,
				 const struct cds_new_account *accts, size_t n,
				 const struct cds_batch_handle *hs, size_t n_hs,
				 struct cds_error *err)
{
	struct pg_copy c;
	enum cds_err rc;

	rc = pg_copy_begin(&c, s->conn,
			   "COPY changes (seq, account, handle) FROM STDIN "
			   "(FORMAT binary)", err);
	if (rc)
		return rc;
	/* An account with handles is announced by its handle rows alone
	 * (store.h invariant 2): a quarter fewer rows per imported account. */
	for (size_t i = 0; i < n; i++) {
		if (accts[i].n_handles)
			continue;
		pg_copy_row(&c, 3);
		pg_copy_i64(&c, ++s->seq);
		pg_copy_bytes(&c, accts[i].id, CDS_ACCOUNT_ID_BYTES);
		pg_copy_null(&c);
	}
	for (size_t k = 0; k < n_hs; k++) {
		pg_copy_row(&c, 3);
		pg_copy_i64(&c, ++s->seq);
		pg_copy_bytes(&c, accts[hs[k].acct].id, CDS_ACCOUNT_ID_BYTES);
		pg_copy_text(&c, hs[k].h);
	}
	return pg_copy_end(&c, "append to the change log", NULL, err);
}

/*
 * Inside the write transaction: the three COPYs (ids, tokens and the
 * sorted handles *hs, which the caller frees, made in the first).
 */
static enum cds_err write_batch(struct pg_store *s,
				struct cds_new_account *accts, size_t n,
				struct cds_batch_handle **hs, size_t *n_hs,
				bool *taken, struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	if (s->next_n > INT64_MAX - (int64_t)n)
		return cds_fail(err, CDS_ERR_STORE, "store: account numbers exhausted");
	rc = copy_accounts(s, accts, n, hs, n_hs, err);
	if (!rc)
		rc = copy_handles(s, *hs, *n_hs, taken, err);
	if (!rc)
		rc = copy_changes(s, accts, n, *hs, *n_hs, err);
	if (!rc)
		s->next_n += (int64_t)n;
	return rc;
}

/*
 * After a rolled-back batch: the first of its handles (in handle order)
 * that is registered, reported at its account.  If none is any more (its
 * holder went away meanwhile), the batch is still reported as conflicting.
 */
static enum cds_err find_taken(struct pg_store *s,
			       const struct cds_batch_handle *hs, size_t n_hs,
			       struct cds_error *err)
{
	const char **h = malloc((n_hs ? n_hs : 1) * sizeof(*h));
	bool *taken = malloc((n_hs ? n_hs : 1) * sizeof(*taken));
	enum cds_err rc = CDS_OK;
	size_t k = 0;

	if (!h || !taken)
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory finding a taken "
				"handle");
	for (size_t i = 0; i < n_hs && !rc; i++)
		h[i] = hs[i].h;
	if (!rc)
		rc = pg_handles_taken(&s->base, h, n_hs, taken, err);
	while (!rc && k < n_hs && !taken[k])
		k++;
	if (!rc && k < n_hs)
		rc = cds_fail_at(err, CDS_ERR_EXISTS, (long)hs[k].acct,
				 "handle '%.200s' is already registered", hs[k].h);
	else if (!rc)
		rc = cds_fail(err, CDS_ERR_EXISTS, "a handle of the batch was "
			      "registered meanwhile; retry");
	free(h);
	free(taken);
	return rc;
}

enum cds_err pg_accounts_write(struct cds_store *base,
			       struct cds_new_account *accts, size_t n,
			       struct cds_error *err)
{
	struct cds_batch_handle *hs = NULL;
	bool taken = false;
	size_t n_hs = 0;
	enum cds_err rc;

	rc = write_batch(pg_of(base), accts, n, &hs, &n_hs, &taken, err);
	free(hs);
	return rc;
}

enum cds_err pg_accounts_create(struct cds_store *base,
				struct cds_new_account *accts, size_t n,
				cds_store_ready_fn ready, void *ctx,
				struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct cds_batch_handle *hs = NULL;
	bool taken = false;
	size_t n_hs = 0;
	enum cds_err rc;

	rc = pg_begin_write(s, err);
	if (!rc) {
		rc = write_batch(s, accts, n, &hs, &n_hs, &taken, err);
		if (!rc && ready)
			rc = ready(ctx, err);
		rc = pg_end_write(s, rc, err);
	}
	if (taken)
		rc = find_taken(s, hs, n_hs, err);
	free(hs);
	return rc;
}
