/*
 * cache_monitor.c: what `cds monitor` remembers between runs (cache.h):
 * its handles' OPRF outputs per epoch (one evaluation per handle and
 * epoch), the last version it checked in each epoch, and the identity keys
 * the account is known to have set (an entry opening to one of them is the
 * account's own doing, not a takeover).
 *
 * Invariant: a row read back is length-checked; a damaged one is
 * CDS_ERR_STORE naming the table, never used.
 */
#include "cache_int.h"

#include <stdlib.h>
#include <string.h>

/* Run st (bound by the caller) to completion; finalises it. */
static enum cds_err run(struct cds_cache *c, sqlite3_stmt *st,
			const char *what, struct cds_error *err)
{
	enum cds_err rc = cds_cache_step_done(c, st, what, err);

	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_cache_mon_output_get(struct cds_cache *c, const char *handle,
				      uint32_t epoch,
				      uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
				      bool *found, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"SELECT oprf_out FROM monitor_handles WHERE handle = ? AND epoch = ?",
		err);
	int s;

	*found = false;
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, handle, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, epoch);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != CDS_OPRF_OUTPUT_BYTES)
			rc = cds_fail(err, CDS_ERR_STORE,
				      "cache '%s': monitor_handles row of '%s' is damaged",
				      c->path, handle);
		else
			memcpy(out, sqlite3_column_blob(st, 0),
			       CDS_OPRF_OUTPUT_BYTES);
		*found = !rc;
	} else if (s != SQLITE_DONE) {
		rc = cds_cache_fail(c, err, "reading monitor_handles");
	}
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_cache_mon_output_put(struct cds_cache *c, const char *handle,
				      uint32_t epoch,
				      const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
				      struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"INSERT OR REPLACE INTO monitor_handles(handle, epoch, oprf_out)"
		" VALUES (?, ?, ?)", err);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, handle, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, epoch);
	sqlite3_bind_blob(st, 3, out, CDS_OPRF_OUTPUT_BYTES, SQLITE_STATIC);
	return run(c, st, "writing monitor_handles", err);
}

enum cds_err cds_cache_mon_version_get(struct cds_cache *c, uint32_t epoch,
				       uint64_t *version, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"SELECT version FROM monitor_epochs WHERE epoch = ?", err);
	int s;

	*version = 0;
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, epoch);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW && sqlite3_column_int64(st, 0) < 0)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "cache '%s': monitor_epochs row of epoch %u is damaged",
			      c->path, epoch);
	else if (s == SQLITE_ROW)
		*version = (uint64_t)sqlite3_column_int64(st, 0);
	else if (s != SQLITE_DONE)
		rc = cds_cache_fail(c, err, "reading monitor_epochs");
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_cache_mon_version_put(struct cds_cache *c, uint32_t epoch,
				       uint64_t version, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"INSERT OR REPLACE INTO monitor_epochs(epoch, version)"
		" VALUES (?, ?)", err);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, epoch);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)version);
	return run(c, st, "writing monitor_epochs", err);
}

enum cds_err cds_cache_mon_key_add(struct cds_cache *c,
				   const uint8_t key[static CDS_IDENTITY_KEY_BYTES],
				   int64_t now_us, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"INSERT OR IGNORE INTO monitor_keys(identity_key, first_us)"
		" VALUES (?, ?)", err);

	if (rc)
		return rc;
	sqlite3_bind_blob(st, 1, key, CDS_IDENTITY_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_us);
	return run(c, st, "writing monitor_keys", err);
}

enum cds_err cds_cache_mon_key_known(struct cds_cache *c,
				     const uint8_t key[static CDS_IDENTITY_KEY_BYTES],
				     bool *known, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"SELECT 1 FROM monitor_keys WHERE identity_key = ?", err);
	int s;

	*known = false;
	if (rc)
		return rc;
	sqlite3_bind_blob(st, 1, key, CDS_IDENTITY_KEY_BYTES, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*known = true;
	else if (s != SQLITE_DONE)
		rc = cds_cache_fail(c, err, "reading monitor_keys");
	sqlite3_finalize(st);
	return rc;
}

/* Grow *v to hold n + 1 strings. */
static bool grow(char ***v, size_t n, size_t *cap)
{
	char **w;

	if (n < *cap)
		return true;
	*cap = *cap ? 2 * *cap : 8;
	w = realloc(*v, *cap * sizeof(*w));
	if (!w)
		return false;
	*v = w;
	return true;
}

enum cds_err cds_cache_mon_handles(struct cds_cache *c, char ***handles,
				   size_t *n, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"SELECT handle FROM monitor_handles ORDER BY handle", err);
	size_t cap = 0;
	int s;

	*handles = NULL;
	*n = 0;
	if (rc)
		return rc;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 0);

		if (!h || !grow(handles, *n, &cap) ||
		    !((*handles)[*n] = strdup(h))) {
			rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
			break;
		}
		(*n)++;
	}
	if (!rc && s != SQLITE_DONE)
		rc = cds_cache_fail(c, err, "reading monitor_handles");
	sqlite3_finalize(st);
	return rc;
}
