/*
 * store_pg_read.c: the PostgreSQL backend's reads: settings, lookups,
 * scans, change polling, rate-limit state and counts.
 *
 * Invariants:
 *  1. A scan and the change sequence it reports come from one REPEATABLE
 *     READ snapshot, so a consumer that applies the changes after that
 *     sequence misses nothing and loses nothing (store_pg.h invariant 2).
 *  2. Scans read through a cursor, SCAN_ROWS rows at a time, so a
 *     directory of millions of handles never sits in memory whole.
 *  3. A row whose blobs have the wrong size is reported as
 *     CDS_ERR_INTERNAL, never copied (the schema's CHECKs forbid it).
 */
#include "store/store_pg.h"

#include <stdint.h>
#include <string.h>

#include "core/codec.h"

#define SCAN_ROWS 20000
#define FETCH_SQL "FETCH 20000 FROM cds_scan"

/* The settings row: any of prefix bits, admin hash, last change sequence. */
static enum cds_err meta(struct pg_store *s, unsigned *bits, uint8_t *hash,
			 uint64_t *seq, struct cds_error *err)
{
	PGresult *r = pg_run(s, PG_META_GET, NULL, "read the store settings", err);
	enum cds_err rc = CDS_OK;

	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) != 1)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "store %s has no settings row (damaged store?)",
			      s->where);
	else if (hash && PQgetlength(r, 0, 1) != CDS_TOKEN_HASH_BYTES)
		rc = cds_fail(err, CDS_ERR_INTERNAL,
			      "store: admin token hash has the wrong size");
	if (!rc && bits)
		*bits = (unsigned)pg_col_i64(r, 0, 0);
	if (!rc && hash)
		memcpy(hash, PQgetvalue(r, 0, 1), CDS_TOKEN_HASH_BYTES);
	if (!rc && seq)
		*seq = (uint64_t)pg_col_i64(r, 0, 3);
	PQclear(r);
	return rc;
}

enum cds_err pg_prefix_bits(struct cds_store *base, unsigned *bits,
			    struct cds_error *err)
{
	return meta(pg_of(base), bits, NULL, NULL, err);
}

enum cds_err pg_admin_hash(struct cds_store *base, uint8_t *hash,
			   struct cds_error *err)
{
	return meta(pg_of(base), NULL, hash, NULL, err);
}

/* The account row of a result of at most one row; NOT_FOUND if none. */
static enum cds_err one_account(PGresult *r, struct cds_account *out,
				struct cds_error *err)
{
	enum cds_err rc;

	if (!r)
		return CDS_ERR_STORE;
	rc = PQntuples(r) ? pg_read_account(r, 0, 0, out, err) : CDS_ERR_NOT_FOUND;
	PQclear(r);
	return rc;
}

enum cds_err pg_account_get(struct cds_store *base, const uint8_t *id,
			    struct cds_account *out, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc = CDS_ERR_NOT_FOUND;
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];
	int64_t n = 0;

	if (pg_account_number(s, id, &n)) {
		pg_arg_i64(&a, n);
		pg_arg_bytes(&a, id, CDS_ACCOUNT_ID_BYTES);
		rc = one_account(pg_run(s, PG_ACCOUNT_GET, &a, "read an account",
					err), out, err);
	}
	if (rc == CDS_ERR_NOT_FOUND) {
		cds_hex_encode(hex, id, CDS_ACCOUNT_ID_BYTES);
		cds_fail(err, rc, "no account '%s'", hex);
	}
	return rc;
}

enum cds_err pg_account_handles(struct cds_store *base, const uint8_t *id,
				cds_store_name_fn fn, void *ctx,
				struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	int64_t n = 0;
	PGresult *r;

	if (!pg_account_number(s, id, &n))
		return cds_fail(err, CDS_ERR_NOT_FOUND, "no such account");
	pg_arg_i64(&a, n);
	r = pg_run(s, PG_ACCOUNT_HANDLES, &a, "read an account's handles", err);
	if (!r)
		return CDS_ERR_STORE;
	for (int i = 0; i < PQntuples(r); i++)
		if (fn(ctx, PQgetvalue(r, i, 0)) != 0)
			break;
	PQclear(r);
	return CDS_OK;
}

enum cds_err pg_handle_get(struct cds_store *base, const char *handle,
			   struct cds_account *out, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc;

	pg_arg_text(&a, handle);
	rc = one_account(pg_run(s, PG_HANDLE_GET, &a, "look up a handle", err),
			 out, err);
	if (rc == CDS_ERR_NOT_FOUND)
		cds_fail(err, rc, "handle '%.200s' is not registered", handle);
	return rc;
}

/* Handles per query of pg_handles_taken: bounds the array literal. */
#define TAKEN_CHUNK 5000

/* handles[0..n) as a PostgreSQL text array literal, every element quoted. */
static enum cds_err text_array(struct cds_buf *b, const char *const *handles,
			       size_t n)
{
	enum cds_err rc = cds_buf_append(b, "{", 1);

	for (size_t i = 0; i < n && !rc; i++) {
		rc = cds_buf_append(b, i ? ",\"" : "\"", i ? 2 : 1);
		for (const char *p = handles[i]; *p && !rc; p++)
			rc = (*p == '"' || *p == '\\') ? cds_buf_appendf(b, "\\%c", *p)
							: cds_buf_append(b, p, 1);
		if (!rc)
			rc = cds_buf_append(b, "\"", 1);
	}
	return rc ? rc : cds_buf_append(b, "}", 1);
}

static enum cds_err taken_chunk(struct pg_store *s, struct cds_buf *b,
				const char *const *handles, size_t n,
				bool *taken, struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	PGresult *r;

	cds_buf_reset(b);
	if (text_array(b, handles, n) != CDS_OK)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory looking up "
				"%zu handles", n);
	pg_arg_text(&a, (const char *)b->data);
	r = pg_run(s, PG_HANDLES_TAKEN, &a, "look up handles", err);
	if (!r)
		return CDS_ERR_STORE;
	memset(taken, 0, n * sizeof(*taken));
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t k = pg_col_i64(r, i, 0);

		if (k >= 1 && (uint64_t)k <= n)
			taken[k - 1] = true;
	}
	PQclear(r);
	return CDS_OK;
}

enum cds_err pg_handles_taken(struct cds_store *base, const char *const *handles,
			      size_t n, bool *taken, struct cds_error *err)
{
	struct cds_buf b;
	enum cds_err rc = CDS_OK;

	cds_buf_init(&b);
	for (size_t i = 0; i < n && !rc; i += TAKEN_CHUNK)
		rc = taken_chunk(pg_of(base), &b, handles + i,
				 n - i < TAKEN_CHUNK ? n - i : TAKEN_CHUNK,
				 taken + i, err);
	cds_buf_fini(&b);
	return rc;
}

/* One row of a scan cursor, handed to the consumer. */
typedef enum cds_err (*row_fn)(const PGresult *r, int row, void *ctx,
			       struct cds_error *err);

/*
 * One snapshot (invariant 1): the change sequence into *seq, then every row
 * of the cursor `declare` opens, SCAN_ROWS at a time (invariant 2), to fn.
 */
static enum cds_err scan_snapshot(struct pg_store *s, const char *declare,
				  row_fn fn, void *ctx, uint64_t *seq,
				  struct cds_error *err)
{
	enum cds_err rc;
	PGresult *r = NULL;
	int n = SCAN_ROWS;

	rc = pg_begin_read(s, err);
	if (rc)
		return rc;
	rc = meta(s, NULL, NULL, seq, err);
	if (!rc)
		rc = pg_exec(s, declare, "open a scan", err);
	while (!rc && n == SCAN_ROWS) {
		r = PQexecParams(s->conn, FETCH_SQL, 0, NULL, NULL, NULL, NULL, 1);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			rc = pg_fail(s->conn, r, "scan", err);
		n = rc ? 0 : PQntuples(r);
		for (int i = 0; i < n && !rc; i++)
			rc = fn(r, i, ctx, err);
		PQclear(r);
	}
	return pg_end(s, rc, err);
}

struct handle_scan {
	cds_store_handle_fn fn;
	void *ctx;
};

static enum cds_err handle_row(const PGresult *r, int row, void *ctx,
			       struct cds_error *err)
{
	struct handle_scan *hs = ctx;
	struct cds_account acct;
	enum cds_err rc = pg_read_account(r, row, 1, &acct, err);

	if (!rc && hs->fn(hs->ctx, PQgetvalue(r, row, 0),
			  (size_t)PQgetlength(r, row, 0), &acct) != 0)
		rc = cds_fail(err, CDS_ERR_INTERNAL,
			      "handle scan stopped by its consumer");
	return rc;
}

enum cds_err pg_scan(struct cds_store *base, cds_store_handle_fn fn, void *ctx,
		     uint64_t *seq, struct cds_error *err)
{
	struct handle_scan hs = {fn, ctx};

	return scan_snapshot(pg_of(base),
			     "DECLARE cds_scan NO SCROLL CURSOR FOR SELECT "
			     "h.handle, a.id, a.identity_key, a.token_hash FROM "
			     "handles h JOIN accounts a ON a.n = h.account",
			     handle_row, &hs, seq, err);
}

struct account_scan {
	cds_store_account_fn fn;
	void *ctx;
};

static enum cds_err account_row(const PGresult *r, int row, void *ctx,
				struct cds_error *err)
{
	struct account_scan *as = ctx;
	struct cds_account acct;
	enum cds_err rc = pg_read_account(r, row, 0, &acct, err);

	if (!rc && as->fn(as->ctx, &acct) != 0)
		rc = cds_fail(err, CDS_ERR_INTERNAL,
			      "account scan stopped by its consumer");
	return rc;
}

enum cds_err pg_scan_accounts(struct cds_store *base, cds_store_account_fn fn,
			      void *ctx, uint64_t *seq, struct cds_error *err)
{
	struct account_scan as = {fn, ctx};

	return scan_snapshot(pg_of(base),
			     "DECLARE cds_scan NO SCROLL CURSOR FOR SELECT id, "
			     "identity_key, token_hash FROM accounts",
			     account_row, &as, seq, err);
}

/* Visit change rows; *last follows the rows the consumer took. */
static enum cds_err change_rows(const PGresult *r, cds_store_change_fn fn,
				void *ctx, uint64_t *last, struct cds_error *err)
{
	for (int i = 0; i < PQntuples(r); i++) {
		uint64_t seq = (uint64_t)pg_col_i64(r, i, 0);
		const char *h = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2);

		if (PQgetlength(r, i, 1) != CDS_ACCOUNT_ID_BYTES)
			return cds_fail(err, CDS_ERR_INTERNAL,
					"store: change %llu names a malformed "
					"account", (unsigned long long)seq);
		if (fn(ctx, (const uint8_t *)PQgetvalue(r, i, 1), h) != 0)
			return cds_fail(err, CDS_ERR_INTERNAL,
					"change polling stopped by its consumer");
		*last = seq;
	}
	return CDS_OK;
}

/*
 * One SELECT is one snapshot, so no explicit transaction is needed.  If the
 * consumer stops at a row, *last stays at the row before: that one was not
 * applied.
 */
enum cds_err pg_changes(struct cds_store *base, uint64_t since, size_t limit,
			cds_store_change_fn fn, void *ctx, uint64_t *last,
			struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	PGresult *r;

	*last = since;
	if (since > INT64_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"change sequence %llu out of range",
				(unsigned long long)since);
	pg_arg_i64(&a, (int64_t)since);
	if (limit > INT64_MAX)
		pg_arg_text(&a, NULL); /* LIMIT NULL: no limit */
	else
		pg_arg_i64(&a, (int64_t)limit);
	r = pg_run(s, PG_CHANGES_SINCE, &a, "read the change log", err);
	if (!r)
		return CDS_ERR_STORE;
	rc = change_rows(r, fn, ctx, last, err);
	PQclear(r);
	return rc;
}

enum cds_err pg_rate_load(struct cds_store *base, cds_store_rate_fn fn,
			  void *ctx, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	PGresult *r = pg_run(s, PG_RATE_LOAD, NULL, "read rate-limit state", err);
	struct cds_rate_state rs;
	enum cds_err rc = CDS_OK;

	if (!r)
		return CDS_ERR_STORE;
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		if (PQgetlength(r, i, 0) != CDS_ACCOUNT_ID_BYTES) {
			rc = cds_fail(err, CDS_ERR_INTERNAL,
				      "store: rate-limit row with a malformed account");
			break;
		}
		memcpy(rs.account, PQgetvalue(r, i, 0), CDS_ACCOUNT_ID_BYTES);
		rs.tokens = pg_col_f64(r, i, 1);
		rs.updated_us = pg_col_i64(r, i, 2);
		if (fn(ctx, &rs) != 0)
			rc = cds_fail(err, CDS_ERR_INTERNAL,
				      "rate-limit load stopped by its consumer");
	}
	PQclear(r);
	return rc;
}

enum cds_err pg_count(struct cds_store *base, uint64_t *accounts,
		      uint64_t *handles, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	PGresult *r = pg_run(s, PG_COUNT, NULL, "count rows", err);

	if (!r)
		return CDS_ERR_STORE;
	if (accounts)
		*accounts = (uint64_t)pg_col_i64(r, 0, 0);
	if (handles)
		*handles = (uint64_t)pg_col_i64(r, 0, 1);
	PQclear(r);
	return CDS_OK;
}
