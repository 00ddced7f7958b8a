/*
 * ledger.c: the disclosure ledger, a hash chain in DIR/legal/ledger.sqlite3.
 *
 * entry_hash = SHA-256 of the canonical encoding
 *
 *     "cds/v1/ledger-entry" 0x00
 *     u64be(seq) u64be(time_us) lp(order_id) lp(scope_type) lp(scope_value)
 *     lp(window) u64be(record_count) lp(export_sha256) lp(prev_hash)
 *
 * where lp(s) = u32be(length) || bytes and hashes are lower-case hex text.
 * Length prefixes make the encoding injective: no two different entries
 * encode to the same bytes, whatever their strings contain.
 *
 * Invariants:
 *  1. seq runs 1, 2, 3... without gaps; entry k's prev_hash is entry
 *     k-1's entry_hash (64 zeros for entry 1).
 *  2. ledger_head holds the seq and entry_hash of the last entry, updated
 *     in the same transaction as the append.
 *  3. The database uses a rollback journal with synchronous=FULL: an
 *     appended entry is on disk before the export is released.
 */
#include "legal/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/codec.h"

#define LEDGER_DOMAIN "cds/v1/ledger-entry"

struct cds_ledger {
	sqlite3 *db;
	char *path;
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS ledger("
	" seq INTEGER PRIMARY KEY,"
	" time_us INTEGER NOT NULL,"
	" order_id TEXT NOT NULL,"
	" scope_type TEXT NOT NULL,"
	" scope_value TEXT NOT NULL,"
	" time_window TEXT NOT NULL,"
	" record_count INTEGER NOT NULL,"
	" export_sha256 TEXT NOT NULL,"
	" prev_hash TEXT NOT NULL,"
	" entry_hash TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS ledger_head("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq INTEGER NOT NULL,"
	" entry_hash TEXT NOT NULL);"
	"CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger"
	" BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger"
	" BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;"
	"PRAGMA user_version = 1;";

static const char zero_hash[CDS_LEDGER_HASH_HEX_BYTES] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static enum cds_err db_fail(struct cds_error *err, struct cds_ledger *l,
			    const char *what)
{
	return cds_fail(err, CDS_ERR_STORE, "ledger %s: %s: %s", l->path, what,
			sqlite3_errmsg(l->db));
}

static void put_u64(crypto_hash_sha256_state *st, uint64_t v)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	crypto_hash_sha256_update(st, b, sizeof(b));
}

static void put_str(crypto_hash_sha256_state *st, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	uint8_t b[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
			(uint8_t)(len >> 8), (uint8_t)len};

	crypto_hash_sha256_update(st, b, sizeof(b));
	crypto_hash_sha256_update(st, (const uint8_t *)(s ? s : ""), len);
}

void cds_ledger_entry_hash(char out[CDS_LEDGER_HASH_HEX_BYTES],
			   const struct cds_ledger_entry *e)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)LEDGER_DOMAIN,
				  sizeof(LEDGER_DOMAIN)); /* with its NUL */
	put_u64(&st, e->seq);
	put_u64(&st, (uint64_t)e->time_us);
	put_str(&st, e->order_id);
	put_str(&st, e->scope_type);
	put_str(&st, e->scope_value);
	put_str(&st, e->window);
	put_u64(&st, e->record_count);
	put_str(&st, e->export_sha256);
	put_str(&st, e->prev_hash);
	crypto_hash_sha256_final(&st, h);
	cds_hex_encode(out, h, sizeof(h));
}

/* mkdir DIR/legal and create the file 0600 before SQLite opens it. */
static enum cds_err create_file(const char *datadir, const char *path,
				struct cds_error *err)
{
	char dir[4096];
	int fd;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/legal", datadir) >= sizeof(dir))
		return cds_fail(err, CDS_ERR_INVALID, "ledger: path too long");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cds_fail(err, CDS_ERR_IO, "ledger: cannot create %s: %s",
				dir, strerror(errno));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cds_fail(err, CDS_ERR_IO, "ledger: cannot create %s: %s",
				path, strerror(errno));
	close(fd);
	return CDS_OK;
}

static enum cds_err setup(struct cds_ledger *l, bool create,
			  struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	sqlite3_busy_timeout(l->db, 10000);
	if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v < 0)
		return db_fail(err, l, "open");
	if (v > 1)
		return cds_fail(err, CDS_ERR_STORE,
				"ledger %s: schema version %d is newer than this "
				"program", l->path, v);
	if (v == 0 && !create)
		return cds_fail(err, CDS_ERR_STORE,
				"ledger %s: not a ledger (no schema)", l->path);
	if (create &&
	    (sqlite3_exec(l->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) ||
	     (v == 0 && sqlite3_exec(l->db, schema_sql, NULL, NULL, NULL))))
		return db_fail(err, l, "create schema");
	return CDS_OK;
}

enum cds_err cds_ledger_open(struct cds_ledger **out, const char *datadir,
			     bool create, struct cds_error *err)
{
	struct cds_ledger *l;
	enum cds_err rc = CDS_OK;
	struct stat sb;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l || asprintf(&l->path, "%s/legal/ledger.sqlite3", datadir) < 0) {
		free(l);
		return cds_fail(err, CDS_ERR_NOMEM, "ledger: out of memory");
	}
	if (create)
		rc = create_file(datadir, l->path, err);
	else if (stat(l->path, &sb) != 0)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND, "ledger %s: %s", l->path,
			      strerror(errno));
	if (rc)
		goto out;
	if (sqlite3_open_v2(l->path, &l->db,
			    create ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY,
			    NULL) != SQLITE_OK) {
		rc = db_fail(err, l, "open");
		goto out;
	}
	rc = setup(l, create, err);
out:
	if (rc) {
		cds_ledger_close(l);
		return rc;
	}
	*out = l;
	return CDS_OK;
}

void cds_ledger_close(struct cds_ledger *l)
{
	if (!l)
		return;
	sqlite3_close(l->db);
	free(l->path);
	free(l);
}

/* Column text, "" for NULL (a tampered row may hold NULLs). */
static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *p = sqlite3_column_text(st, i);

	return p ? (const char *)p : "";
}

/* The last entry's seq and hash (0 and zeros for an empty ledger). */
static enum cds_err last_entry(struct cds_ledger *l, uint64_t *seq,
			       char hash[CDS_LEDGER_HASH_HEX_BYTES],
			       struct cds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*seq = 0;
	memcpy(hash, zero_hash, sizeof(zero_hash));
	if (sqlite3_prepare_v2(l->db,
			       "SELECT seq, entry_hash FROM ledger"
			       " ORDER BY seq DESC LIMIT 1", -1, &st, NULL))
		return db_fail(err, l, "read");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(hash, CDS_LEDGER_HASH_HEX_BYTES, "%s",
			 col_text(st, 1));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? CDS_OK
						     : db_fail(err, l, "read");
}

static int insert_entry(struct cds_ledger *l, const struct cds_ledger_entry *e)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(l->db,
				"INSERT INTO ledger(seq, time_us, order_id, scope_type,"
				" scope_value, time_window, record_count,"
				" export_sha256, prev_hash, entry_hash)"
				" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)", -1, &st,
				NULL);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, (int64_t)e->seq);
	sqlite3_bind_int64(st, 2, e->time_us);
	sqlite3_bind_text(st, 3, e->order_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->scope_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->scope_value, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e->window, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (int64_t)e->record_count);
	sqlite3_bind_text(st, 8, e->export_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, e->prev_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, e->entry_hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	if (sqlite3_prepare_v2(l->db,
			       "INSERT OR REPLACE INTO ledger_head(id, seq,"
			       " entry_hash) VALUES (1, ?1, ?2)", -1, &st, NULL))
		return SQLITE_ERROR;
	sqlite3_bind_int64(st, 1, (int64_t)e->seq);
	sqlite3_bind_text(st, 2, e->entry_hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum cds_err cds_ledger_append(struct cds_ledger *l, struct cds_ledger_entry *e,
			       struct cds_error *err)
{
	enum cds_err rc;

	if (!e->order_id || !e->scope_type || !e->scope_value || !e->window ||
	    strlen(e->export_sha256) != 64)
		return cds_fail(err, CDS_ERR_INVALID, "ledger: incomplete entry");
	if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
		return db_fail(err, l, "begin");
	rc = last_entry(l, &e->seq, e->prev_hash, err);
	if (rc)
		goto out;
	e->seq++;
	cds_ledger_entry_hash(e->entry_hash, e);
	if (insert_entry(l, e) != SQLITE_OK ||
	    sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_fail(err, l, "append");
out:
	if (rc && !sqlite3_get_autocommit(l->db))
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Fill e from the current row of a SELECT of all columns in table order. */
static void row_entry(sqlite3_stmt *st, struct cds_ledger_entry *e)
{
	e->seq = (uint64_t)sqlite3_column_int64(st, 0);
	e->time_us = sqlite3_column_int64(st, 1);
	e->order_id = col_text(st, 2);
	e->scope_type = col_text(st, 3);
	e->scope_value = col_text(st, 4);
	e->window = col_text(st, 5);
	e->record_count = (uint64_t)sqlite3_column_int64(st, 6);
	snprintf(e->export_sha256, sizeof(e->export_sha256), "%s",
		 col_text(st, 7));
	snprintf(e->prev_hash, sizeof(e->prev_hash), "%s",
		 col_text(st, 8));
	snprintf(e->entry_hash, sizeof(e->entry_hash), "%s",
		 col_text(st, 9));
}

enum cds_err cds_ledger_scan(struct cds_ledger *l, cds_ledger_entry_fn fn,
			     void *ctx, struct cds_error *err)
{
	struct cds_ledger_entry e;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(l->db,
			       "SELECT seq, time_us, order_id, scope_type,"
			       " scope_value, time_window, record_count,"
			       " export_sha256, prev_hash, entry_hash"
			       " FROM ledger ORDER BY seq", -1, &st, NULL))
		return db_fail(err, l, "read");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		row_entry(st, &e);
		if (fn(ctx, &e))
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(err, l, "read");
	return CDS_OK;
}

/* State of a verification walk. */
struct walk {
	uint64_t n;
	char prev[CDS_LEDGER_HASH_HEX_BYTES];
	struct cds_error *err;
	enum cds_err rc;
};

/* Check one entry against its position and predecessor. */
static int walk_entry(void *ctx, const struct cds_ledger_entry *e)
{
	char h[CDS_LEDGER_HASH_HEX_BYTES];
	struct walk *w = ctx;
	uint64_t pos = w->n + 1;

	if (e->seq != pos)
		w->rc = cds_fail(w->err, CDS_ERR_CRYPTO,
				 "ledger broken at entry %llu: found seq %llu "
				 "(an entry was removed, inserted or reordered)",
				 (unsigned long long)pos,
				 (unsigned long long)e->seq);
	else if (strcmp(e->prev_hash, w->prev) != 0)
		w->rc = cds_fail(w->err, CDS_ERR_CRYPTO,
				 "ledger broken at entry %llu: prev_hash does not "
				 "match entry %llu (entries removed or reordered)",
				 (unsigned long long)pos,
				 (unsigned long long)pos - 1);
	if (w->rc)
		return 1;
	cds_ledger_entry_hash(h, e);
	if (strcmp(h, e->entry_hash) != 0) {
		w->rc = cds_fail(w->err, CDS_ERR_CRYPTO,
				 "ledger broken at entry %llu (order '%.60s'): "
				 "entry_hash does not match its contents "
				 "(the entry was altered)",
				 (unsigned long long)pos, e->order_id);
		return 1;
	}
	memcpy(w->prev, e->entry_hash, sizeof(w->prev));
	w->n = pos;
	return 0;
}

/* The head must name the last entry (catches removal of the newest). */
static enum cds_err check_head(struct cds_ledger *l, const struct walk *w,
			       struct cds_error *err)
{
	uint64_t seq = 0;
	char hash[CDS_LEDGER_HASH_HEX_BYTES];
	sqlite3_stmt *st;
	int rc;

	memcpy(hash, zero_hash, sizeof(hash));
	if (sqlite3_prepare_v2(l->db,
			       "SELECT seq, entry_hash FROM ledger_head WHERE id = 1",
			       -1, &st, NULL))
		return db_fail(err, l, "read head");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		seq = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(hash, sizeof(hash), "%s",
			 col_text(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(err, l, "read head");
	if (seq == w->n && strcmp(hash, w->prev) == 0)
		return CDS_OK;
	if (seq > w->n)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"ledger broken at entry %llu: the head records %llu "
				"entries, only %llu remain (entries removed)",
				(unsigned long long)w->n + 1,
				(unsigned long long)seq, (unsigned long long)w->n);
	return cds_fail(err, CDS_ERR_CRYPTO,
			"ledger broken at entry %llu: it does not match the "
			"recorded head (seq %llu)",
			(unsigned long long)(seq < w->n ? seq + 1 : w->n),
			(unsigned long long)seq);
}

enum cds_err cds_ledger_verify_head(struct cds_ledger *l,
				    struct cds_ledger_head *cur,
				    struct cds_error *err)
{
	struct walk w = {0, {0}, err, CDS_OK};
	enum cds_err rc;

	memset(cur, 0, sizeof(*cur));
	memcpy(w.prev, zero_hash, sizeof(w.prev));
	rc = cds_ledger_scan(l, walk_entry, &w, err);
	if (!rc)
		rc = w.rc;
	if (!rc)
		rc = check_head(l, &w, err);
	if (!rc &&
	    cds_hex_decode_exact(cur->hash, sizeof(cur->hash), w.prev,
				 strlen(w.prev), "entry hash", NULL) != CDS_OK)
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "ledger broken at entry %llu: its entry_hash is "
			      "not 64 hex digits", (unsigned long long)w.n);
	if (!rc)
		cur->entries = w.n;
	return rc;
}

enum cds_err cds_ledger_verify(struct cds_ledger *l, uint64_t *n,
			       struct cds_error *err)
{
	struct cds_ledger_head cur;
	enum cds_err rc = cds_ledger_verify_head(l, &cur, err);

	*n = rc ? 0 : cur.entries;
	return rc;
}

/* The stored entry_hash of entry seq, as bytes. */
static enum cds_err entry_hash_at(struct cds_ledger *l, uint64_t seq,
				  uint8_t out[static CDS_LEDGER_ENTRY_HASH_BYTES],
				  struct cds_error *err)
{
	sqlite3_stmt *st;
	enum cds_err rc = CDS_OK;
	const char *hex;

	if (sqlite3_prepare_v2(l->db, "SELECT entry_hash FROM ledger WHERE seq = ?1",
			       -1, &st, NULL))
		return db_fail(err, l, "read");
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	if (sqlite3_step(st) != SQLITE_ROW)
		rc = db_fail(err, l, "read");
	hex = rc ? "" : col_text(st, 0);
	if (!rc && cds_hex_decode_exact(out, CDS_LEDGER_ENTRY_HASH_BYTES, hex,
					strlen(hex), "entry hash", NULL))
		rc = cds_fail(err, CDS_ERR_CRYPTO, "ledger entry %llu: bad hash",
			      (unsigned long long)seq);
	sqlite3_finalize(st);
	return rc;
}

enum cds_err cds_ledger_extends(struct cds_ledger *l,
				const struct cds_ledger_head *cur,
				const struct cds_ledger_head *h,
				const char *what, struct cds_error *err)
{
	uint8_t got[CDS_LEDGER_ENTRY_HASH_BYTES];
	enum cds_err rc;

	if (h->entries > cur->entries)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"ledger broken at entry %llu: %s has %llu entries, "
				"the ledger only %llu (entries removed)",
				(unsigned long long)cur->entries + 1, what,
				(unsigned long long)h->entries,
				(unsigned long long)cur->entries);
	if (h->entries == 0)
		return CDS_OK;
	if ((rc = entry_hash_at(l, h->entries, got, err)))
		return rc;
	if (sodium_memcmp(got, h->hash, sizeof(got)) != 0)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"ledger broken at or before entry %llu: it does not "
				"extend %s (the ledger was rewritten)",
				(unsigned long long)h->entries, what);
	return CDS_OK;
}
