/*
 * cache_rows.c: handles and buckets in the client cache.
 *
 * Invariants: blobs read back are length-checked before use (a damaged row
 * is CDS_ERR_STORE naming it, never a short read); rows to delete are
 * gathered first and deleted after the scan.
 */
#include "cache_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/protocol.h"

enum cds_err cds_cache_step_done(struct cds_cache *c, sqlite3_stmt *st,
				 const char *what, struct cds_error *err)
{
	int s = sqlite3_step(st);

	sqlite3_reset(st);
	if (s != SQLITE_DONE)
		return cds_cache_fail(c, err, what);
	return CDS_OK;
}

/* Copy a blob column of exactly n bytes; false if absent or another size. */
static bool blob_exact(uint8_t *out, size_t n, sqlite3_stmt *st, int col)
{
	const void *p = sqlite3_column_blob(st, col);

	if (!p || (size_t)sqlite3_column_bytes(st, col) != n)
		return false;
	memcpy(out, p, n);
	return true;
}

static bool read_handle_row(struct cds_cache_handle *row, sqlite3_stmt *st)
{
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		sqlite3_int64 e = sqlite3_column_int64(st, 0);

		if (e < 1 || e > UINT32_MAX ||
		    !blob_exact(row->out, sizeof(row->out), st, 1))
			return false;
		row->evaluated = true;
		row->epoch = (uint32_t)e;
	}
	if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
		row->checked = true;
		row->checked_us = sqlite3_column_int64(st, 2);
		row->registered = sqlite3_column_int(st, 3) != 0;
		if (row->registered &&
		    (!blob_exact(row->account, sizeof(row->account), st, 4) ||
		     !blob_exact(row->identity_key, sizeof(row->identity_key), st, 5)))
			return false;
	}
	return true;
}

enum cds_err cds_cache_handle_get(struct cds_cache *c, const char *handle,
				  struct cds_cache_handle *row, bool *found,
				  struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc;
	int s;

	memset(row, 0, sizeof(*row));
	*found = false;
	rc = cds_cache_prepare(c, &st,
		"SELECT epoch, oprf_out, checked_us, registered, account,"
		" identity_key FROM handles WHERE handle = ?", err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, handle, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*found = true;
		if (!read_handle_row(row, st))
			rc = cds_fail(err, CDS_ERR_STORE,
				      "cache '%s': the row of '%s' is damaged",
				      c->path, handle);
	} else if (s != SQLITE_DONE) {
		rc = cds_cache_fail(c, err, "reading a handle");
	}
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_cache_handle_put_output(struct cds_cache *c,
					 const char *handle, uint32_t epoch,
					 const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
					 int64_t now_us, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"INSERT INTO handles(handle, epoch, oprf_out, evaluated_us)"
		" VALUES (?, ?, ?, ?) ON CONFLICT(handle) DO UPDATE SET"
		" epoch = excluded.epoch, oprf_out = excluded.oprf_out,"
		" evaluated_us = excluded.evaluated_us", err);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, handle, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, epoch);
	sqlite3_bind_blob(st, 3, out, CDS_OPRF_OUTPUT_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_us);
	rc = cds_cache_step_done(c, st, "saving an OPRF output", err);
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_cache_handle_put_result(struct cds_cache *c,
					 const char *handle, bool registered,
					 const uint8_t *account,
					 const uint8_t *identity_key,
					 int64_t now_us, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"INSERT INTO handles(handle, checked_us, registered, account,"
		" identity_key) VALUES (?, ?, ?, ?, ?) ON CONFLICT(handle) DO"
		" UPDATE SET checked_us = excluded.checked_us,"
		" registered = excluded.registered, account = excluded.account,"
		" identity_key = excluded.identity_key", err);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, handle, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_us);
	sqlite3_bind_int(st, 3, registered ? 1 : 0);
	if (registered) {
		sqlite3_bind_blob(st, 4, account, CDS_ACCOUNT_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, identity_key, CDS_IDENTITY_KEY_BYTES,
				  SQLITE_STATIC);
	}
	rc = cds_cache_step_done(c, st, "saving a result", err);
	sqlite3_finalize(st);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of rows to delete, gathered before deleting: SQLite leaves a scan
 * of a table undefined if the table changes under it. */
struct doomed {
	char **handles;
	size_t n;
};

static enum cds_err delete_handles(struct cds_cache *c, struct doomed *d,
				   struct cds_error *err)
{
	sqlite3_stmt *del = NULL;
	enum cds_err rc = cds_cache_prepare(c, &del,
		"DELETE FROM handles WHERE handle = ?", err);

	for (size_t i = 0; i < d->n && !rc; i++) {
		sqlite3_bind_text(del, 1, d->handles[i], -1, SQLITE_STATIC);
		rc = cds_cache_step_done(c, del, "forgetting a handle", err);
	}
	sqlite3_finalize(del);
	return rc;
}

enum cds_err cds_cache_handles_keep(struct cds_cache *c,
				    const char *const *keep, size_t n,
				    struct cds_error *err)
{
	struct doomed d = {NULL, 0};
	sqlite3_stmt *sel = NULL;
	enum cds_err rc;
	int s = SQLITE_DONE;

	rc = cds_cache_prepare(c, &sel, "SELECT handle FROM handles", err);
	while (!rc && (s = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(sel, 0);

		if (!h || (n && bsearch(&h, keep, n, sizeof(*keep), cmp_str)))
			continue;
		/* The list holds distinct rows, so cds_strv_add adds each. */
		if (cds_strv_add(&d.handles, &d.n, h))
			rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	if (!rc && s != SQLITE_DONE)
		rc = cds_cache_fail(c, err, "listing handles");
	sqlite3_finalize(sel);
	if (!rc)
		rc = delete_handles(c, &d, err);
	cds_strv_free(d.handles, d.n);
	return rc;
}

enum cds_err cds_cache_handle_count(struct cds_cache *c, size_t *n,
				    struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"SELECT count(*) FROM handles", err);

	if (!rc && sqlite3_step(st) != SQLITE_ROW)
		rc = cds_cache_fail(c, err, "counting handles");
	if (!rc)
		*n = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

void cds_cache_bucket_fini(struct cds_cache_bucket *b)
{
	if (!b)
		return;
	free(b->etag);
	free(b->entries);
	memset(b, 0, sizeof(*b));
}

static enum cds_err read_bucket(struct cds_cache *c, sqlite3_stmt *st,
				uint32_t prefix, struct cds_cache_bucket *b,
				struct cds_error *err)
{
	const char *etag = (const char *)sqlite3_column_text(st, 0);
	const void *p = sqlite3_column_blob(st, 1);
	size_t nbytes = (size_t)sqlite3_column_bytes(st, 1);
	char what[96];

	snprintf(what, sizeof(what), "cache '%.60s': bucket %u", c->path, prefix);
	if (cds_proto_check_entries(p, nbytes, what, NULL) != CDS_OK)
		return cds_fail(err, CDS_ERR_STORE, "%s is damaged", what);
	b->etag = strdup(etag ? etag : "");
	b->entries = malloc(nbytes ? nbytes : 1);
	if (!b->etag || !b->entries) {
		cds_cache_bucket_fini(b);
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	if (nbytes)
		memcpy(b->entries, p, nbytes);
	b->n = nbytes / CDS_ENTRY_BYTES;
	return CDS_OK;
}

enum cds_err cds_cache_bucket_get(struct cds_cache *c,
				  enum cds_cache_table t, uint32_t epoch,
				  uint32_t prefix, struct cds_cache_bucket *b,
				  bool *found, struct cds_error *err)
{
	static const char *const sql[] = {
		"SELECT etag, entries FROM buckets WHERE epoch = ? AND prefix = ?",
		"SELECT etag, entries FROM monitor_buckets"
		" WHERE epoch = ? AND prefix = ?",
	};
	sqlite3_stmt *st = NULL;
	enum cds_err rc;
	int s;

	memset(b, 0, sizeof(*b));
	*found = false;
	rc = cds_cache_prepare(c, &st, sql[t == CDS_CACHE_MONITOR], err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, epoch);
	sqlite3_bind_int64(st, 2, prefix);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		rc = read_bucket(c, st, prefix, b, err);
		*found = rc == CDS_OK;
	} else if (s != SQLITE_DONE) {
		rc = cds_cache_fail(c, err, "reading a bucket");
	}
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_cache_bucket_put(struct cds_cache *c,
				  enum cds_cache_table t, uint32_t epoch,
				  uint32_t prefix, const char *etag,
				  const uint8_t *entries, size_t n,
				  int64_t now_us, struct cds_error *err)
{
	static const char *const sql[] = {
		"INSERT OR REPLACE INTO buckets(epoch, prefix, etag, entries,"
		" fetched_us) VALUES (?, ?, ?, ?, ?)",
		"INSERT OR REPLACE INTO monitor_buckets(epoch, prefix, etag,"
		" entries, fetched_us) VALUES (?, ?, ?, ?, ?)",
	};
	static const uint8_t none[1];
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
					    sql[t == CDS_CACHE_MONITOR], err);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, epoch);
	sqlite3_bind_int64(st, 2, prefix);
	sqlite3_bind_text(st, 3, etag ? etag : "", -1, SQLITE_STATIC);
	/* A zero-length blob, not NULL, for an empty bucket. */
	sqlite3_bind_blob64(st, 4, n ? (const void *)entries : (const void *)none,
			    (sqlite3_uint64)n * CDS_ENTRY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_us);
	rc = cds_cache_step_done(c, st, "saving a bucket", err);
	sqlite3_finalize(st);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

enum cds_err cds_cache_buckets_keep(struct cds_cache *c, uint32_t epoch,
				    const uint32_t *keep, size_t n,
				    struct cds_error *err)
{
	sqlite3_stmt *sel = NULL, *del = NULL;
	sqlite3_int64 (*doomed)[2] = NULL, (*grown)[2];
	size_t nd = 0, cap = 0;
	enum cds_err rc;
	int s = SQLITE_DONE;

	rc = cds_cache_prepare(c, &sel, "SELECT epoch, prefix FROM buckets", err);
	while (!rc && (s = sqlite3_step(sel)) == SQLITE_ROW) {
		sqlite3_int64 e = sqlite3_column_int64(sel, 0);
		sqlite3_int64 p = sqlite3_column_int64(sel, 1);
		uint32_t p32 = (uint32_t)p;

		if (e == epoch && p >= 0 && p <= UINT32_MAX && n &&
		    bsearch(&p32, keep, n, sizeof(*keep), cmp_u32))
			continue;
		if (nd == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(doomed, cap * sizeof(*doomed));
			if (!grown) {
				rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
				break;
			}
			doomed = grown;
		}
		doomed[nd][0] = e;
		doomed[nd++][1] = p;
	}
	if (!rc && s != SQLITE_DONE)
		rc = cds_cache_fail(c, err, "listing buckets");
	if (!rc)
		rc = cds_cache_prepare(c, &del,
			"DELETE FROM buckets WHERE epoch = ? AND prefix = ?", err);
	for (size_t i = 0; i < nd && !rc; i++) {
		sqlite3_bind_int64(del, 1, doomed[i][0]);
		sqlite3_bind_int64(del, 2, doomed[i][1]);
		rc = cds_cache_step_done(c, del, "dropping a bucket", err);
	}
	free(doomed);
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	return rc;
}
