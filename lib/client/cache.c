/*
 * cache.c: opening the client cache, its schema, transactions, and keeping
 * it bound to one server (meta, reconcile).  Row access is in cache_rows.c.
 *
 * Invariants (see cache.h): the file is 0600; user_version is the schema
 * version and application_id marks the file as a cds cache, so we never
 * write into somebody else's database; data derived from a server is wiped
 * as soon as the server's URL or key no longer match.
 */
#include "cache_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPLICATION_ID 0x63647363 /* "cdsc" */

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE contacts(id INTEGER PRIMARY KEY, pos INTEGER NOT NULL,"
	" name TEXT NOT NULL);"
	"CREATE TABLE contact_items(contact_id INTEGER NOT NULL,"
	" kind INTEGER NOT NULL, pos INTEGER NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY(contact_id, kind, pos)) WITHOUT ROWID;"
	"CREATE TABLE handles(handle TEXT PRIMARY KEY, epoch INTEGER,"
	" oprf_out BLOB, evaluated_us INTEGER, checked_us INTEGER,"
	" registered INTEGER, account BLOB, identity_key BLOB) WITHOUT ROWID;"
	"CREATE TABLE buckets(epoch INTEGER NOT NULL, prefix INTEGER NOT NULL,"
	" etag TEXT NOT NULL, entries BLOB NOT NULL, fetched_us INTEGER NOT NULL,"
	" PRIMARY KEY(epoch, prefix)) WITHOUT ROWID;"
	"PRAGMA application_id = 1667527523;"
	"PRAGMA user_version = 1;";

/* Version 2: what `cds monitor` remembers (cache_monitor.c).  The
 * transparency key and the last kept head are meta rows. */
static const char schema_v2_sql[] =
	"CREATE TABLE monitor_handles(handle TEXT PRIMARY KEY,"
	" epoch INTEGER NOT NULL, oprf_out BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE monitor_epochs(epoch INTEGER PRIMARY KEY,"
	" version INTEGER NOT NULL);"
	"CREATE TABLE monitor_keys(identity_key BLOB PRIMARY KEY,"
	" first_us INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE monitor_buckets(epoch INTEGER NOT NULL,"
	" prefix INTEGER NOT NULL, etag TEXT NOT NULL, entries BLOB NOT NULL,"
	" fetched_us INTEGER NOT NULL, PRIMARY KEY(epoch, prefix)) WITHOUT ROWID;"
	"PRAGMA user_version = 2;";

enum cds_err cds_cache_fail(struct cds_cache *c, struct cds_error *err,
			    const char *step)
{
	int code = c->db ? sqlite3_errcode(c->db) : SQLITE_CANTOPEN;

	return cds_fail(err, code == SQLITE_FULL ? CDS_ERR_FULL : CDS_ERR_STORE,
			"cache '%s': %s: %s", c->path, step,
			c->db ? sqlite3_errmsg(c->db) : "cannot open");
}

enum cds_err cds_cache_prepare(struct cds_cache *c, sqlite3_stmt **st,
			       const char *sql, struct cds_error *err)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
		return cds_cache_fail(c, err, "preparing a query");
	return CDS_OK;
}

enum cds_err cds_cache_exec(struct cds_cache *c, const char *sql,
			    struct cds_error *err)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return cds_cache_fail(c, err, "writing");
	return CDS_OK;
}

enum cds_err cds_sqlite_private_file(const char *path, const char *what,
				     struct cds_error *err)
{
	struct stat st;
	enum cds_err rc = CDS_OK;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND : CDS_ERR_IO,
				"cannot create %s '%s': %s", what, path,
				strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = cds_fail(err, CDS_ERR_IO, "%s '%s' is not a regular file",
			      what, path);
	else if ((st.st_mode & 077) && fchmod(fd, 0600) != 0)
		rc = cds_fail(err, CDS_ERR_IO,
			      "%s '%s' is readable by others and cannot be made private: %s",
			      what, path, strerror(errno));
	close(fd);
	return rc;
}

static enum cds_err pragma_int(struct cds_cache *c, const char *sql, long *v,
			       struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st, sql, err);

	if (!rc && sqlite3_step(st) != SQLITE_ROW)
		rc = cds_cache_fail(c, err, "reading the schema");
	if (!rc)
		*v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

/* Bring a file at schema `from` (0: empty) to the current one, in one
 * transaction: a cache of an older client keeps its contents. */
static enum cds_err migrate(struct cds_cache *c, long from,
			    struct cds_error *err)
{
	enum cds_err rc = cds_cache_exec(c, "BEGIN IMMEDIATE", err);

	if (!rc && from < 1)
		rc = cds_cache_exec(c, schema_sql, err);
	if (!rc && from < 2)
		rc = cds_cache_exec(c, schema_v2_sql, err);
	if (!rc)
		rc = cds_cache_exec(c, "COMMIT", err);
	if (rc)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Create the schema in an empty file, or check the one that is there. */
static enum cds_err check_schema(struct cds_cache *c, struct cds_error *err)
{
	long version = 0, app = 0, tables = 0;
	enum cds_err rc;

	rc = pragma_int(c, "PRAGMA user_version", &version, err);
	if (!rc)
		rc = pragma_int(c, "PRAGMA application_id", &app, err);
	if (!rc)
		rc = pragma_int(c, "SELECT count(*) FROM sqlite_master", &tables,
				err);
	if (rc) {
		/* Not a database at all: say so rather than quote SQLite. */
		return cds_fail(err, CDS_ERR_STORE,
				"'%s' is not a cds cache (not an SQLite database?)",
				c->path);
	}
	if (tables == 0 && version == 0 && app == 0)
		return migrate(c, 0, err);
	if (app != APPLICATION_ID)
		return cds_fail(err, CDS_ERR_STORE,
				"'%s' is an SQLite database but not a cds cache: refusing to touch it",
				c->path);
	if (version < 1 || version > CDS_CACHE_SCHEMA_VERSION)
		return cds_fail(err, CDS_ERR_STORE,
				"cache '%s' has schema version %ld; this client reads 1 to %d",
				c->path, version, CDS_CACHE_SCHEMA_VERSION);
	return version < CDS_CACHE_SCHEMA_VERSION ? migrate(c, version, err)
						  : CDS_OK;
}

enum cds_err cds_cache_open(struct cds_cache **out, const char *path,
			    struct cds_error *err)
{
	struct cds_cache *c = NULL;
	enum cds_err rc;

	*out = NULL;
	if (!path || !*path)
		return cds_fail(err, CDS_ERR_INVALID, "no cache file name given");
	rc = cds_sqlite_private_file(path, "cache", err);
	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory opening the cache");
		goto out;
	}
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		rc = cds_cache_fail(c, err, "opening");
		goto out;
	}
	sqlite3_busy_timeout(c->db, 5000);
	rc = check_schema(c, err);
	/* WAL with synchronous=NORMAL: a crash (even power loss) keeps the
	 * file consistent and loses at most the last commits, which a sync
	 * simply redoes; it saves an fsync per transaction.  SQLite creates
	 * the -wal and -shm files with the database file's mode. */
	if (!rc)
		rc = cds_cache_exec(c, "PRAGMA secure_delete = ON;"
				    " PRAGMA journal_mode = WAL;"
				    " PRAGMA synchronous = NORMAL", err);
	if (rc)
		goto out;
	*out = c;
	c = NULL;
out:
	cds_cache_close(c);
	return rc;
}

void cds_cache_close(struct cds_cache *c)
{
	if (!c)
		return;
	cds_cache_rollback(c);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}

enum cds_err cds_cache_begin(struct cds_cache *c, struct cds_error *err)
{
	enum cds_err rc;

	if (c->in_tx)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"cache transaction already open");
	rc = cds_cache_exec(c, "BEGIN IMMEDIATE", err);
	if (!rc)
		c->in_tx = true;
	return rc;
}

enum cds_err cds_cache_commit(struct cds_cache *c, struct cds_error *err)
{
	enum cds_err rc = cds_cache_exec(c, "COMMIT", err);

	if (rc)
		cds_cache_rollback(c);
	c->in_tx = false;
	return rc;
}

void cds_cache_rollback(struct cds_cache *c)
{
	if (c->in_tx)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	c->in_tx = false;
}

/* Read meta[key] as a blob into a fresh malloc'd buffer (NUL-terminated). */
enum cds_err cds_cache_meta_get(struct cds_cache *c, const char *key,
			     char **val, size_t *len, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc;
	int s;

	*val = NULL;
	*len = 0;
	rc = cds_cache_prepare(c, &st, "SELECT value FROM meta WHERE key = ?", err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);

		*val = malloc(n + 1);
		if (!*val) {
			rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		} else {
			if (n)
				memcpy(*val, p, n);
			(*val)[n] = '\0';
			*len = n;
		}
	} else if (s != SQLITE_DONE) {
		rc = cds_cache_fail(c, err, "reading meta");
	}
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_cache_meta_put(struct cds_cache *c, const char *key,
			     const void *val, size_t len,
			     struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	enum cds_err rc = cds_cache_prepare(c, &st,
		"INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", err);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, val, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = cds_cache_fail(c, err, "writing meta");
	sqlite3_finalize(st);
	return rc;
}

/* Numbers go into meta as decimal text: readable with the sqlite3 shell. */
static enum cds_err meta_put_u64(struct cds_cache *c, const char *key,
				 uint64_t v, struct cds_error *err)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "%llu", (unsigned long long)v);

	return cds_cache_meta_put(c, key, s, (size_t)n, err);
}

static enum cds_err meta_get_u64(struct cds_cache *c, const char *key,
				 uint64_t *v, bool *found,
				 struct cds_error *err)
{
	char *s = NULL, *end;
	size_t n;
	enum cds_err rc = cds_cache_meta_get(c, key, &s, &n, err);

	*found = false;
	if (!rc && s) {
		*v = strtoull(s, &end, 10);
		if (*end || end == s)
			rc = cds_fail(err, CDS_ERR_STORE,
				      "cache '%s': meta %s is damaged", c->path, key);
		*found = true;
	}
	free(s);
	return rc;
}

enum cds_err cds_cache_mark_synced(struct cds_cache *c, int64_t now_us,
				   struct cds_error *err)
{
	return meta_put_u64(c, "last_sync_us", (uint64_t)now_us, err);
}

/* Does the cached server match?  *same_url, and the cached epoch and key. */
struct meta_server {
	bool have_url, same_url, have_epoch, have_pk, have_bits;
	uint64_t epoch, bits;
	uint8_t pk[CDS_OPRF_ELEMENT_BYTES];
};

static enum cds_err read_server(struct cds_cache *c, const char *url,
				struct meta_server *m, struct cds_error *err)
{
	char *v = NULL;
	size_t n;
	enum cds_err rc;

	memset(m, 0, sizeof(*m));
	rc = cds_cache_meta_get(c, "server_url", &v, &n, err);
	if (!rc && v) {
		m->have_url = true;
		m->same_url = n == strlen(url) && !memcmp(v, url, n);
	}
	free(v);
	v = NULL;
	if (!rc)
		rc = cds_cache_meta_get(c, "public_key", &v, &n, err);
	if (!rc && v && n == sizeof(m->pk)) {
		memcpy(m->pk, v, n);
		m->have_pk = true;
	}
	free(v);
	if (!rc)
		rc = meta_get_u64(c, "epoch", &m->epoch, &m->have_epoch, err);
	if (!rc)
		rc = meta_get_u64(c, "prefix_bits", &m->bits, &m->have_bits, err);
	return rc;
}

enum cds_err cds_cache_reconcile(struct cds_cache *c, const char *url,
				 uint32_t epoch,
				 const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
				 unsigned prefix_bits, bool *reset,
				 struct cds_error *err)
{
	struct meta_server m;
	bool wipe;
	enum cds_err rc;

	*reset = false;
	rc = read_server(c, url, &m, err);
	if (rc)
		return rc;
	/*
	 * An epoch's key never changes: a rotation makes a new epoch.  The
	 * same server showing another key for the same epoch may be giving
	 * this client a key of its own, so as to recognise its evaluations
	 * among everyone's (tagging).  That is no reason to start afresh.
	 */
	if (m.same_url && m.have_epoch && m.have_pk && epoch == m.epoch &&
	    memcmp(pk, m.pk, sizeof(m.pk)) != 0)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"the server presents another OPRF public key for "
				"epoch %u than the one this cache pinned: it may be "
				"tagging this client (a key for it alone, to tell "
				"its requests apart); refusing to continue.  Delete "
				"the cache only if the operator confirms a key "
				"reset", (unsigned)epoch);
	wipe = !m.same_url || !m.have_epoch || !m.have_pk || epoch < m.epoch;
	if (wipe) {
		/* A new cache has nothing to wipe and is no "reset". */
		*reset = m.have_url;
		rc = cds_cache_exec(c, "DELETE FROM handles; DELETE FROM buckets;"
				    " DELETE FROM monitor_buckets;", err);
		/* The transparency pin and monitor state belong to a server,
		 * not to an epoch: only another URL drops them. */
		if (!rc && !m.same_url)
			rc = cds_cache_exec(c, "DELETE FROM meta WHERE key IN"
					    " ('transparency_key', 'thead');"
					    " DELETE FROM monitor_handles;"
					    " DELETE FROM monitor_epochs;"
					    " DELETE FROM monitor_keys;", err);
	} else if (!m.have_bits || m.bits != prefix_bits) {
		rc = cds_cache_exec(c, "DELETE FROM buckets;"
				    " DELETE FROM monitor_buckets", err);
	}
	if (!rc)
		rc = cds_cache_meta_put(c, "server_url", url, strlen(url), err);
	if (!rc)
		rc = cds_cache_meta_put(c, "public_key", pk, CDS_OPRF_ELEMENT_BYTES, err);
	if (!rc)
		rc = meta_put_u64(c, "epoch", epoch, err);
	if (!rc)
		rc = meta_put_u64(c, "prefix_bits", prefix_bits, err);
	return rc;
}

enum cds_err cds_cache_meta_next_id(struct cds_cache *c, uint64_t *next,
				    bool *found, struct cds_error *err)
{
	return meta_get_u64(c, "next_contact_id", next, found, err);
}

enum cds_err cds_cache_meta_set_next_id(struct cds_cache *c, uint64_t next,
					struct cds_error *err)
{
	return meta_put_u64(c, "next_contact_id", next, err);
}
