/*
 * audit_state.c: the auditor's state file (audit.h) and the log's right
 * edge.
 *
 * Invariants:
 *   1. The file is 0600, marked application_id 'cdsa' and schema 1: we
 *      never write into another database.
 *   2. The state is bound to one server URL and its transparency key; a
 *      run against another is refused before anything is read from it.
 *   3. Blobs read back are length-checked; a damaged row is
 *      CDS_ERR_STORE naming it.
 */
#include "client/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "client/cache.h"
#include "client/tverify.h"
#include "core/codec.h"
#include "crypto/entry.h"

#define APPLICATION_ID 0x63647361 /* "cdsa" */
#define SCHEMA_VERSION 1

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE epochs(epoch INTEGER PRIMARY KEY, k INTEGER NOT NULL);"
	"CREATE TABLE buckets(epoch INTEGER NOT NULL, prefix INTEGER NOT NULL,"
	" entries BLOB NOT NULL, PRIMARY KEY(epoch, prefix)) WITHOUT ROWID;"
	"PRAGMA application_id = 1667527521;"
	"PRAGMA user_version = 1;";

struct cds_astate {
	sqlite3 *db;
	char *path;
	bool in_tx;
};

/* ---- the log's right edge ---- */

void cds_afrontier_append(struct cds_afrontier *f,
			  const uint8_t leaf[CDS_HASH_BYTES])
{
	uint8_t carry[CDS_HASH_BYTES];
	unsigned level = 0;

	memcpy(carry, leaf, sizeof(carry));
	while (f->size >> level & 1) {
		cds_mlog_node_hash(carry, f->h[level], carry);
		level++;
	}
	memcpy(f->h[level], carry, sizeof(carry));
	f->size++;
}

/* mlog.h node source: MTH visits exactly the right edge's subtrees. */
static enum cds_err edge_node(void *ctx, unsigned level, uint64_t index,
			      uint8_t out[CDS_HASH_BYTES],
			      struct cds_error *err)
{
	const struct cds_afrontier *f = ctx;

	if (level >= 64 || !(f->size >> level & 1) ||
	    index != ((f->size >> level) & ~(uint64_t)1))
		return cds_fail(err, CDS_ERR_INTERNAL,
				"log subtree (%u, %llu) is not on the right edge",
				level, (unsigned long long)index);
	memcpy(out, f->h[level], CDS_HASH_BYTES);
	return CDS_OK;
}

enum cds_err cds_afrontier_root(const struct cds_afrontier *f,
				uint8_t out[CDS_HASH_BYTES],
				struct cds_error *err)
{
	struct cds_mlog_src src = {edge_node, (void *)f};

	return cds_mlog_root(&src, f->size, out, err);
}

/* ---- the file ---- */

static enum cds_err db_fail(struct cds_astate *s, struct cds_error *err,
			    const char *step)
{
	int code = s->db ? sqlite3_errcode(s->db) : SQLITE_CANTOPEN;

	return cds_fail(err, code == SQLITE_FULL ? CDS_ERR_FULL : CDS_ERR_STORE,
			"audit state '%s': %s: %s", s->path, step,
			s->db ? sqlite3_errmsg(s->db) : "cannot open");
}

static enum cds_err db_exec(struct cds_astate *s, const char *sql,
			    struct cds_error *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, err, "writing");
	return CDS_OK;
}

static enum cds_err db_prepare(struct cds_astate *s, sqlite3_stmt **st,
			       const char *sql, struct cds_error *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_fail(s, err, "preparing a query");
	return CDS_OK;
}

/* Step a statement that returns no row; finalise it. */
static enum cds_err db_done(struct cds_astate *s, sqlite3_stmt *st,
			    const char *what, struct cds_error *err)
{
	enum cds_err rc = sqlite3_step(st) == SQLITE_DONE ? CDS_OK
							  : db_fail(s, err, what);

	sqlite3_finalize(st);
	return rc;
}

static long pragma(struct cds_astate *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long v = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Invariant 1: create the schema in an empty file or check the one there. */
static enum cds_err check_schema(struct cds_astate *s, struct cds_error *err)
{
	long version = pragma(s, "PRAGMA user_version");
	long app = pragma(s, "PRAGMA application_id");
	long tables = pragma(s, "SELECT count(*) FROM sqlite_master");
	enum cds_err rc;

	if (version < 0 || app < 0 || tables < 0)
		return cds_fail(err, CDS_ERR_STORE,
				"'%s' is not an audit state (not an SQLite database?)",
				s->path);
	if (tables == 0 && version == 0 && app == 0) {
		rc = db_exec(s, "BEGIN IMMEDIATE", err);
		if (!rc)
			rc = db_exec(s, schema_sql, err);
		if (!rc)
			rc = db_exec(s, "COMMIT", err);
		if (rc)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (app != APPLICATION_ID || version != SCHEMA_VERSION)
		return cds_fail(err, CDS_ERR_STORE,
				"'%s' is not an audit state of this version (application %lx, schema %ld)",
				s->path, (unsigned long)app, version);
	return CDS_OK;
}

enum cds_err cds_astate_open(struct cds_astate **out, const char *path,
			     struct cds_error *err)
{
	struct cds_astate *s = NULL;
	enum cds_err rc;

	*out = NULL;
	if (!path || !*path)
		return cds_fail(err, CDS_ERR_INVALID, "no audit state file given");
	rc = cds_sqlite_private_file(path, "audit state", err);
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		rc = db_fail(s, err, "opening");
	if (!rc) {
		sqlite3_busy_timeout(s->db, 5000);
		rc = check_schema(s, err);
	}
	if (!rc)
		rc = db_exec(s, "PRAGMA journal_mode = WAL;"
			     " PRAGMA synchronous = NORMAL", err);
	if (rc) {
		cds_astate_close(s);
		return rc;
	}
	*out = s;
	return CDS_OK;
}

void cds_astate_close(struct cds_astate *s)
{
	if (!s)
		return;
	cds_astate_rollback(s);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

enum cds_err cds_astate_begin(struct cds_astate *s, struct cds_error *err)
{
	enum cds_err rc = db_exec(s, "BEGIN IMMEDIATE", err);

	s->in_tx = !rc;
	return rc;
}

enum cds_err cds_astate_commit(struct cds_astate *s, struct cds_error *err)
{
	enum cds_err rc = db_exec(s, "COMMIT", err);

	if (rc)
		cds_astate_rollback(s);
	s->in_tx = false;
	return rc;
}

void cds_astate_rollback(struct cds_astate *s)
{
	if (s->in_tx)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = false;
}

/* meta[key] into out (exactly n bytes); *found false if absent. */
static enum cds_err meta_get(struct cds_astate *s, const char *key,
			     void *out, size_t n, bool *found,
			     struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = db_prepare(s, &st,
		"SELECT value FROM meta WHERE key = ?", err);
	int r;

	*found = false;
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, 0) != n)
		rc = cds_fail(err, CDS_ERR_STORE, "audit state '%s': meta %s is damaged",
			      s->path, key);
	else if (r == SQLITE_ROW) {
		memcpy(out, sqlite3_column_blob(st, 0), n);
		*found = true;
	} else if (r != SQLITE_DONE)
		rc = db_fail(s, err, "reading meta");
	sqlite3_finalize(st);
	return rc;
}

static enum cds_err meta_put(struct cds_astate *s, const char *key,
			     const void *val, size_t n, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = db_prepare(s, &st,
		"INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", err);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, val, (int)n, SQLITE_STATIC);
	return db_done(s, st, "writing meta", err);
}

/* The stored URL, if any, equals url? */
static enum cds_err check_url(struct cds_astate *s, const char *url,
			      bool *have, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = db_prepare(s, &st,
		"SELECT value FROM meta WHERE key = 'server_url'", err);
	int r;

	*have = false;
	if (rc)
		return rc;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*have = true;
		if ((size_t)sqlite3_column_bytes(st, 0) != strlen(url) ||
		    memcmp(sqlite3_column_blob(st, 0), url, strlen(url)))
			rc = cds_fail(err, CDS_ERR_INVALID,
				      "audit state '%s' belongs to another server than %s",
				      s->path, url);
	} else if (r != SQLITE_DONE) {
		rc = db_fail(s, err, "reading meta");
	}
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_astate_server(struct cds_astate *s, const char *url,
			       const uint8_t key[static CDS_TKEY_PUBLIC_BYTES],
			       struct cds_error *err)
{
	uint8_t pinned[CDS_TKEY_PUBLIC_BYTES];
	bool have_url, have_key;
	enum cds_err rc = check_url(s, url, &have_url, err);

	if (!rc)
		rc = meta_get(s, "transparency_key", pinned, sizeof(pinned),
			      &have_key, err);
	if (!rc && have_key && memcmp(pinned, key, sizeof(pinned)))
		return cds_fail(err, CDS_ERR_CRYPTO,
				"the server presents another transparency key than the one audit state '%s' pinned",
				s->path);
	if (!rc && !have_url)
		rc = meta_put(s, "server_url", url, strlen(url), err);
	if (!rc && !have_key)
		rc = meta_put(s, "transparency_key", key, CDS_TKEY_PUBLIC_BYTES,
			      err);
	return rc;
}

enum cds_err cds_astate_head_get(struct cds_astate *s, struct cds_thead *h,
				 bool *found, struct cds_error *err)
{
	uint8_t w[CDS_THEAD_WIRE_BYTES];
	enum cds_err rc = meta_get(s, "head", w, sizeof(w), found, err);

	if (!rc && *found)
		rc = cds_thead_unwire(h, w, err);
	return rc;
}

enum cds_err cds_astate_head_put(struct cds_astate *s,
				 const struct cds_thead *h,
				 struct cds_error *err)
{
	uint8_t w[CDS_THEAD_WIRE_BYTES];

	cds_thead_wire(w, h);
	return meta_put(s, "head", w, sizeof(w), err);
}

/* Stored as u64be(size) || the right edge's hashes, lowest level first. */
enum cds_err cds_astate_frontier_get(struct cds_astate *s,
				     struct cds_afrontier *f,
				     struct cds_error *err)
{
	uint8_t size[8];
	bool found;
	enum cds_err rc;

	memset(f, 0, sizeof(*f));
	rc = meta_get(s, "log_size", size, sizeof(size), &found, err);
	if (rc || !found)
		return rc;
	f->size = cds_get_u64be(size);
	for (unsigned l = 0; !rc && l < 64; l++) {
		char key[24];

		if (!(f->size >> l & 1))
			continue;
		snprintf(key, sizeof(key), "log_edge_%u", l);
		rc = meta_get(s, key, f->h[l], CDS_HASH_BYTES, &found, err);
		if (!rc && !found)
			rc = cds_fail(err, CDS_ERR_STORE,
				      "audit state '%s': the log's edge lacks level %u",
				      s->path, l);
	}
	return rc;
}

enum cds_err cds_astate_frontier_put(struct cds_astate *s,
				     const struct cds_afrontier *f,
				     struct cds_error *err)
{
	uint8_t size[8];
	enum cds_err rc;

	cds_put_u64be(size, f->size);
	rc = meta_put(s, "log_size", size, sizeof(size), err);
	for (unsigned l = 0; !rc && l < 64; l++) {
		char key[24];

		if (!(f->size >> l & 1))
			continue;
		snprintf(key, sizeof(key), "log_edge_%u", l);
		rc = meta_put(s, key, f->h[l], CDS_HASH_BYTES, err);
	}
	return rc;
}

enum cds_err cds_astate_epoch_get(struct cds_astate *s, uint32_t epoch,
				  unsigned *k, bool *found,
				  struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = db_prepare(s, &st,
		"SELECT k FROM epochs WHERE epoch = ?", err);
	int r;

	*found = false;
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, epoch);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && (sqlite3_column_int(st, 0) < 0 ||
				sqlite3_column_int(st, 0) > CDS_PREFIX_BITS_MAX))
		rc = cds_fail(err, CDS_ERR_STORE,
			      "audit state '%s': epoch %u is damaged", s->path,
			      epoch);
	else if (r == SQLITE_ROW) {
		*k = (unsigned)sqlite3_column_int(st, 0);
		*found = true;
	} else if (r != SQLITE_DONE)
		rc = db_fail(s, err, "reading epochs");
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_astate_epoch_put(struct cds_astate *s, uint32_t epoch,
				  unsigned k, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = db_prepare(s, &st,
		"INSERT INTO epochs(epoch, k) VALUES (?, ?)", err);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, epoch);
	sqlite3_bind_int(st, 2, (int)k);
	return db_done(s, st, "writing epochs", err);
}

enum cds_err cds_astate_bucket_get(struct cds_astate *s, uint32_t epoch,
				   uint32_t prefix, uint8_t **entries,
				   size_t *n, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = db_prepare(s, &st,
		"SELECT entries FROM buckets WHERE epoch = ? AND prefix = ?", err);
	size_t bytes;
	int r;

	*entries = NULL;
	*n = 0;
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, epoch);
	sqlite3_bind_int64(st, 2, prefix);
	r = sqlite3_step(st);
	bytes = r == SQLITE_ROW ? (size_t)sqlite3_column_bytes(st, 0) : 0;
	if (r == SQLITE_ROW && (bytes == 0 || bytes % CDS_ENTRY_BYTES))
		rc = cds_fail(err, CDS_ERR_STORE,
			      "audit state '%s': bucket %u of epoch %u is damaged",
			      s->path, prefix, epoch);
	else if (r == SQLITE_ROW && !(*entries = malloc(bytes)))
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	else if (r == SQLITE_ROW) {
		memcpy(*entries, sqlite3_column_blob(st, 0), bytes);
		*n = bytes / CDS_ENTRY_BYTES;
	} else if (r != SQLITE_DONE)
		rc = db_fail(s, err, "reading buckets");
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_astate_bucket_put(struct cds_astate *s, uint32_t epoch,
				   uint32_t prefix, const uint8_t *entries,
				   size_t n, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = db_prepare(s, &st, n
		? "INSERT OR REPLACE INTO buckets(epoch, prefix, entries)"
		  " VALUES (?, ?, ?)"
		: "DELETE FROM buckets WHERE epoch = ? AND prefix = ?", err);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, epoch);
	sqlite3_bind_int64(st, 2, prefix);
	if (n)
		sqlite3_bind_blob64(st, 3, entries, n * CDS_ENTRY_BYTES,
				    SQLITE_STATIC);
	return db_done(s, st, "writing buckets", err);
}

enum cds_err cds_astate_buckets(struct cds_astate *s, uint32_t epoch,
				cds_astate_bucket_fn fn, void *ctx,
				uint64_t *entries, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = db_prepare(s, &st,
		"SELECT prefix, entries FROM buckets WHERE epoch = ?"
		" ORDER BY prefix", err);
	int r;

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, epoch);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		size_t bytes = (size_t)sqlite3_column_bytes(st, 1);
		sqlite3_int64 p = sqlite3_column_int64(st, 0);

		if (bytes % CDS_ENTRY_BYTES || p < 0 || p > UINT32_MAX) {
			rc = cds_fail(err, CDS_ERR_STORE,
				      "audit state '%s': bucket %lld of epoch %u is damaged",
				      s->path, (long long)p, epoch);
			break;
		}
		if (entries)
			*entries += bytes / CDS_ENTRY_BYTES;
		if (fn)
			fn(ctx, (uint32_t)p, sqlite3_column_blob(st, 1),
			   bytes / CDS_ENTRY_BYTES);
	}
	if (!rc && r != SQLITE_DONE)
		rc = db_fail(s, err, "reading buckets");
	sqlite3_finalize(st);
	return rc;
}
