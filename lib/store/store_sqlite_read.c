/*
 * store_sqlite_read.c: the SQLite backend's reads: settings, lookups,
 * scans, change polling, rate-limit state and counts.
 *
 * Invariants:
 *  1. A scan and the change sequence it reports come from one read
 *     transaction (one WAL snapshot), so a consumer that applies the
 *     changes after that sequence misses nothing and loses nothing.
 *  2. A row whose blobs have the wrong size is reported as
 *     CDS_ERR_INTERNAL, never copied (the schema's CHECKs forbid it).
 */
#include "store/store_sqlite.h"

#include <stdint.h>
#include <string.h>

#include "core/codec.h"

static enum cds_err meta(struct sq_store *s, unsigned *bits, uint8_t *hash,
			 struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_META_GET, err);
	enum cds_err rc = CDS_OK;
	int r = SQLITE_DONE;

	if (!st)
		return CDS_ERR_STORE;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		if (bits)
			*bits = (unsigned)sqlite3_column_int(st, 0);
		if (hash && sqlite3_column_bytes(st, 1) == CDS_TOKEN_HASH_BYTES)
			memcpy(hash, sqlite3_column_blob(st, 1), CDS_TOKEN_HASH_BYTES);
		else if (hash)
			rc = cds_fail(err, CDS_ERR_INTERNAL,
				      "store: admin token hash has the wrong size");
	} else if (r == SQLITE_DONE) {
		rc = cds_fail(err, CDS_ERR_STORE,
			      "store '%s' has no settings row (damaged store?)",
			      s->path);
	} else {
		rc = sq_fail(s->db, r, "read the store settings", err);
	}
	sqlite3_reset(st);
	return rc;
}

enum cds_err sq_prefix_bits(struct cds_store *base, unsigned *bits,
			    struct cds_error *err)
{
	return meta(sq_of(base), bits, NULL, err);
}

enum cds_err sq_admin_hash(struct cds_store *base, uint8_t *hash,
			   struct cds_error *err)
{
	return meta(sq_of(base), NULL, hash, err);
}

/* Step a statement that yields at most one account row. */
static enum cds_err one_account(struct sq_store *s, sqlite3_stmt *st,
				struct cds_account *out, const char *what,
				struct cds_error *err)
{
	int r = sqlite3_step(st);
	enum cds_err rc;

	if (r == SQLITE_ROW)
		rc = sq_read_account(st, 0, out, err);
	else if (r == SQLITE_DONE)
		rc = CDS_ERR_NOT_FOUND;
	else
		rc = sq_fail(s->db, r, what, err);
	sqlite3_reset(st);
	return rc;
}

enum cds_err sq_account_get(struct cds_store *base, const uint8_t *id,
			    struct cds_account *out, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = NULL;
	enum cds_err rc = CDS_ERR_NOT_FOUND;
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];
	int64_t n = 0;

	if (sq_account_number(s, id, &n)) {
		st = sq_stmt(s, SQ_ACCOUNT_GET, err);
		if (!st)
			return CDS_ERR_STORE;
		sqlite3_bind_int64(st, 1, n);
		sqlite3_bind_blob(st, 2, id, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
		rc = one_account(s, st, out, "read an account", err);
	}
	if (rc == CDS_ERR_NOT_FOUND) {
		cds_hex_encode(hex, id, CDS_ACCOUNT_ID_BYTES);
		cds_fail(err, rc, "no account '%s'", hex);
	}
	return rc;
}

enum cds_err sq_account_handles(struct cds_store *base, const uint8_t *id,
				cds_store_name_fn fn, void *ctx,
				struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st;
	int64_t n = 0;
	int r;

	if (!sq_account_number(s, id, &n))
		return cds_fail(err, CDS_ERR_NOT_FOUND, "no such account");
	st = sq_stmt(s, SQ_ACCOUNT_HANDLES, err);
	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, n);
	while ((r = sqlite3_step(st)) == SQLITE_ROW &&
	       fn(ctx, (const char *)sqlite3_column_text(st, 0)) == 0)
		;
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return sq_fail(s->db, r, "read an account's handles", err);
	return CDS_OK;
}

enum cds_err sq_handle_get(struct cds_store *base, const char *handle,
			   struct cds_account *out, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_GET, err);
	enum cds_err rc;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_text(st, 1, handle, -1, SQLITE_STATIC);
	rc = one_account(s, st, out, "look up a handle", err);
	if (rc == CDS_ERR_NOT_FOUND)
		cds_fail(err, rc, "handle '%.200s' is not registered", handle);
	return rc;
}

/* A point lookup each: in-process, they cost less than any batching. */
enum cds_err sq_handles_taken(struct cds_store *base, const char *const *handles,
			      size_t n, bool *taken, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	enum cds_err rc = CDS_OK;

	for (size_t i = 0; i < n && !rc; i++) {
		sqlite3_stmt *st = sq_stmt(s, SQ_HANDLE_OWNER, err);
		int r;

		if (!st)
			return CDS_ERR_STORE;
		sqlite3_bind_text(st, 1, handles[i], -1, SQLITE_STATIC);
		r = sqlite3_step(st);
		taken[i] = r == SQLITE_ROW;
		sqlite3_reset(st);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			rc = sq_fail(s->db, r, "look up a handle", err);
	}
	return rc;
}

/* Visit the rows of the handle scan; inside a read transaction. */
static enum cds_err scan_rows(struct sq_store *s, cds_store_handle_fn fn,
			      void *ctx, struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_SCAN_HANDLES, err);
	struct cds_account acct;
	enum cds_err rc = CDS_OK;
	int r = SQLITE_DONE;

	if (!st)
		return CDS_ERR_STORE;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);

		rc = sq_read_account(st, 1, &acct, err);
		if (!rc && fn(ctx, h, len, &acct) != 0)
			rc = cds_fail(err, CDS_ERR_INTERNAL,
				      "handle scan stopped by its consumer");
	}
	if (!rc && r != SQLITE_DONE)
		rc = sq_fail(s->db, r, "scan the handles", err);
	sqlite3_reset(st);
	return rc;
}

enum cds_err sq_scan(struct cds_store *base, cds_store_handle_fn fn, void *ctx,
		     uint64_t *seq, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	enum cds_err rc;

	rc = sq_begin_read(s, err);
	if (rc)
		return rc;
	rc = sq_last_seq(s, seq, err);
	if (!rc)
		rc = scan_rows(s, fn, ctx, err);
	return sq_end(s, rc, err);
}

static enum cds_err scan_account_rows(struct sq_store *s,
				      cds_store_account_fn fn, void *ctx,
				      struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_SCAN_ACCOUNTS, err);
	struct cds_account acct;
	enum cds_err rc = CDS_OK;
	int r = SQLITE_DONE;

	if (!st)
		return CDS_ERR_STORE;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		rc = sq_read_account(st, 0, &acct, err);
		if (!rc && fn(ctx, &acct) != 0)
			rc = cds_fail(err, CDS_ERR_INTERNAL,
				      "account scan stopped by its consumer");
	}
	if (!rc && r != SQLITE_DONE)
		rc = sq_fail(s->db, r, "scan the accounts", err);
	sqlite3_reset(st);
	return rc;
}

enum cds_err sq_scan_accounts(struct cds_store *base, cds_store_account_fn fn,
			      void *ctx, uint64_t *seq, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	enum cds_err rc;

	rc = sq_begin_read(s, err);
	if (rc)
		return rc;
	rc = sq_last_seq(s, seq, err);
	if (!rc)
		rc = scan_account_rows(s, fn, ctx, err);
	return sq_end(s, rc, err);
}

/*
 * One SELECT is one snapshot, so no explicit transaction is needed.  If the
 * consumer stops at a row, *last stays at the row before: that one was not
 * applied.
 */
enum cds_err sq_changes(struct cds_store *base, uint64_t since, size_t limit,
			cds_store_change_fn fn, void *ctx, uint64_t *last,
			struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_CHANGES_SINCE, err);
	enum cds_err rc = CDS_OK;
	int r = SQLITE_DONE;

	*last = since;
	if (!st)
		return CDS_ERR_STORE;
	if (since > INT64_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"change sequence %llu out of range",
				(unsigned long long)since);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)since);
	sqlite3_bind_int64(st, 2, limit > INT64_MAX ? -1 : (sqlite3_int64)limit);
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		const char *h = (const char *)sqlite3_column_text(st, 2);

		if (sqlite3_column_bytes(st, 1) != CDS_ACCOUNT_ID_BYTES)
			rc = cds_fail(err, CDS_ERR_INTERNAL,
				      "store: change %llu names a malformed account",
				      (unsigned long long)seq);
		else if (fn(ctx, sqlite3_column_blob(st, 1), h) != 0)
			rc = cds_fail(err, CDS_ERR_INTERNAL,
				      "change polling stopped by its consumer");
		else
			*last = seq;
	}
	if (!rc && r != SQLITE_DONE)
		rc = sq_fail(s->db, r, "read the change log", err);
	sqlite3_reset(st);
	return rc;
}

enum cds_err sq_rate_load(struct cds_store *base, cds_store_rate_fn fn,
			  void *ctx, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_RATE_LOAD, err);
	struct cds_rate_state rs;
	enum cds_err rc = CDS_OK;
	int r = SQLITE_DONE;

	if (!st)
		return CDS_ERR_STORE;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != CDS_ACCOUNT_ID_BYTES) {
			rc = cds_fail(err, CDS_ERR_INTERNAL,
				      "store: rate-limit row with a malformed account");
			break;
		}
		memcpy(rs.account, sqlite3_column_blob(st, 0), CDS_ACCOUNT_ID_BYTES);
		rs.tokens = sqlite3_column_double(st, 1);
		rs.updated_us = sqlite3_column_int64(st, 2);
		if (fn(ctx, &rs) != 0)
			rc = cds_fail(err, CDS_ERR_INTERNAL,
				      "rate-limit load stopped by its consumer");
	}
	if (!rc && r != SQLITE_DONE)
		rc = sq_fail(s->db, r, "read rate-limit state", err);
	sqlite3_reset(st);
	return rc;
}

static enum cds_err count_one(struct sq_store *s, enum sq_stmt_id id,
			      uint64_t *out, struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, id, err);
	int r = SQLITE_DONE;

	if (!st)
		return CDS_ERR_STORE;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return r == SQLITE_ROW ? CDS_OK : sq_fail(s->db, r, "count rows", err);
}

enum cds_err sq_count(struct cds_store *base, uint64_t *accounts,
		      uint64_t *handles, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	uint64_t a = 0, h = 0;
	enum cds_err rc;

	rc = sq_begin_read(s, err);
	if (rc)
		return rc;
	rc = count_one(s, SQ_COUNT_ACCOUNTS, &a, err);
	if (!rc)
		rc = count_one(s, SQ_COUNT_HANDLES, &h, err);
	rc = sq_end(s, rc, err);
	if (!rc && accounts)
		*accounts = a;
	if (!rc && handles)
		*handles = h;
	return rc;
}
