/*
 * ledger_sqlite.c: the ledger's SQLite backend (ledger_impl.h),
 * DIR/legal/ledger.sqlite3: tables ledger (the entries) and ledger_head
 * (one row), user_version 1.
 *
 * Invariants:
 *  1. The file is created 0600 in a 0700 directory before SQLite opens it.
 *  2. An append is one BEGIN IMMEDIATE transaction: the last entry is read
 *     under the write lock, so two appends never take the same seq.
 *  3. The database uses a rollback journal with synchronous=FULL: an
 *     appended entry is on disk before the export is released.
 *  4. Opened without create, the file is read-only and nothing is made.
 */
#include "legal/ledger_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

struct sq_ledger {
	struct cds_ledger base; /* first */
	sqlite3 *db;
	char *path;
};

static inline struct sq_ledger *sq_of(struct cds_ledger *l)
{
	return (struct sq_ledger *)l;
}

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

static enum cds_err db_fail(struct cds_error *err, struct sq_ledger *l,
			    const char *what)
{
	return cds_fail(err, CDS_ERR_STORE, "ledger %s: %s: %s", l->path, what,
			sqlite3_errmsg(l->db));
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

static enum cds_err setup(struct sq_ledger *l, bool create,
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

static const struct ledger_ops sq_ops;

enum cds_err ledger_sqlite_open(struct cds_ledger **out, const char *datadir,
				bool create, struct cds_error *err)
{
	struct sq_ledger *l;
	enum cds_err rc = CDS_OK;
	struct stat sb;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l || asprintf(&l->path, "%s/legal/ledger.sqlite3", datadir) < 0) {
		free(l);
		return cds_fail(err, CDS_ERR_NOMEM, "ledger: out of memory");
	}
	l->base.ops = &sq_ops;
	snprintf(l->base.where, sizeof(l->base.where), "%s", l->path);
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
		cds_ledger_close(&l->base);
		return rc;
	}
	*out = &l->base;
	return CDS_OK;
}

static void sq_close(struct cds_ledger *base)
{
	struct sq_ledger *l = sq_of(base);

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
static enum cds_err last_entry(struct sq_ledger *l, uint64_t *seq,
			       char hash[CDS_LEDGER_HASH_HEX_BYTES],
			       struct cds_error *err)
{
	sqlite3_stmt *st;
	int rc;

	*seq = 0;
	memcpy(hash, cds_ledger_zero_hash, CDS_LEDGER_HASH_HEX_BYTES);
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

static int insert_entry(struct sq_ledger *l, const struct cds_ledger_entry *e)
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

static enum cds_err sq_append(struct cds_ledger *base,
			     struct cds_ledger_entry *e, struct cds_error *err)
{
	struct sq_ledger *l = sq_of(base);
	char last[CDS_LEDGER_HASH_HEX_BYTES];
	uint64_t seq;
	enum cds_err rc;

	if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
		return db_fail(err, l, "begin");
	rc = last_entry(l, &seq, last, err);
	if (rc)
		goto out;
	ledger_chain(e, seq, last);
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

static enum cds_err sq_scan(struct cds_ledger *base, cds_ledger_entry_fn fn,
			   void *ctx, struct cds_error *err)
{
	struct sq_ledger *l = sq_of(base);
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

static enum cds_err sq_head(struct cds_ledger *base, uint64_t *seq,
			   char hash[CDS_LEDGER_HASH_HEX_BYTES],
			   struct cds_error *err)
{
	struct sq_ledger *l = sq_of(base);
	sqlite3_stmt *st;
	int rc;

	*seq = 0;
	memcpy(hash, cds_ledger_zero_hash, CDS_LEDGER_HASH_HEX_BYTES);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT seq, entry_hash FROM ledger_head WHERE id = 1",
			       -1, &st, NULL))
		return db_fail(err, l, "read head");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(hash, CDS_LEDGER_HASH_HEX_BYTES, "%s", col_text(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(err, l, "read head");
	return CDS_OK;
}

static enum cds_err sq_hash_at(struct cds_ledger *base, uint64_t seq,
			       char hash[CDS_LEDGER_HASH_HEX_BYTES],
			       struct cds_error *err)
{
	struct sq_ledger *l = sq_of(base);
	enum cds_err rc = CDS_OK;
	sqlite3_stmt *st;
	int src;

	if (sqlite3_prepare_v2(l->db, "SELECT entry_hash FROM ledger WHERE seq = ?1",
			       -1, &st, NULL))
		return db_fail(err, l, "read");
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		snprintf(hash, CDS_LEDGER_HASH_HEX_BYTES, "%s", col_text(st, 0));
	else if (src == SQLITE_DONE)
		rc = CDS_ERR_NOT_FOUND;
	else
		rc = db_fail(err, l, "read");
	sqlite3_finalize(st);
	return rc;
}

static const struct ledger_ops sq_ops = {
	.close = sq_close,
	.append = sq_append,
	.scan = sq_scan,
	.head = sq_head,
	.hash_at = sq_hash_at,
};
