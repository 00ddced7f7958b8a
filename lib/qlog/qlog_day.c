/*
 * qlog_day.c: the day files of the query log.
 *
 * One SQLite database per UTC day, DIR/querylog/YYYY-MM-DD.sqlite3, so that
 * retention deletes whole files (no DELETE, no VACUUM, no free pages
 * holding old records).  Schema (user_version 1):
 *
 *   records(id, time_us, ip, ip_bits, account, endpoint, items, status,
 *           handles, via)   one row per API request; ip_bits says how much
 *                           of the address the policy kept (32/128 full,
 *                           24/48 truncated, 0 = none, ip NULL); handles is
 *                           NULL except for plain lookups ('\n'-joined);
 *                           via is NULL for a direct request, 'ohttp' for
 *                           one through the gateway (schema 2; a version 1
 *                           file gains the column when next written)
 *   config(time_us, event, plain_lookup, ip_policy, retention_days,
 *          durability)      the modes in force, stated when the file is
 *                           created ("new_day") and when a server starts
 *                           ("start")
 *
 * Invariants:
 *  1. A file is created 0600 by us before SQLite opens it, in a 0700
 *     directory, so that neither it nor its -wal/-shm ever has wider mode.
 *  2. Journal mode is WAL (exports read while the writer writes);
 *     synchronous is FULL under `sync` durability (each commit is on disk
 *     before the submitter returns) and NORMAL under `batch` (a commit
 *     survives a process crash, a power loss may lose the last ones).
 *  3. No index besides the rowid: the writer's cost per record stays flat;
 *     a legal export scans the few day files of its window.
 *  4. A new file has 64 KiB pages (SQLite's largest): a plain lookup's
 *     record carries every handle (~1.7 KB for 100), so the log writes
 *     tens of MB/s on a busy server, and each page costs one write into
 *     the WAL and one more at the checkpoint; 4 KiB pages spent most of the
 *     writer's CPU in those calls.  An existing file keeps its page size.
 */
#include "qlog/qlog_sqlite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/timeutil.h"

#define QLOG_BUSY_MS 5000
/* Before journal_mode: only an empty file takes it (invariant 4). */
#define QLOG_PAGE_SIZE_SQL "PRAGMA page_size=65536"
#define QLOG_APP_ID 0x63647371 /* "cdsq" */

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS records("
	" id INTEGER PRIMARY KEY,"
	" time_us INTEGER NOT NULL,"
	" ip TEXT,"
	" ip_bits INTEGER NOT NULL,"
	" account TEXT,"
	" endpoint TEXT NOT NULL,"
	" items INTEGER NOT NULL,"
	" status INTEGER NOT NULL,"
	" handles TEXT,"
	" via TEXT);"
	"CREATE TABLE IF NOT EXISTS config("
	" time_us INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" plain_lookup INTEGER NOT NULL,"
	" ip_policy TEXT NOT NULL,"
	" retention_days INTEGER NOT NULL,"
	" durability TEXT NOT NULL);"
	"PRAGMA application_id = 1667527537;"
	"PRAGMA user_version = 2;";

static const char upgrade_v1_sql[] =
	"ALTER TABLE records ADD COLUMN via TEXT;"
	"PRAGMA user_version = 2;";

static const char insert_sql[] =
	"INSERT INTO records(time_us, ip, ip_bits, account, endpoint, items,"
	" status, handles, via) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

static const char config_sql[] =
	"INSERT INTO config(time_us, event, plain_lookup, ip_policy,"
	" retention_days, durability) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

enum cds_err qlog_sqlite_err(struct cds_error *err, sqlite3 *db, int rc,
			     const char *what, const char *path)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	enum cds_err code = CDS_ERR_STORE;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		code = CDS_ERR_FULL;
		break;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		code = CDS_ERR_IO;
		break;
	default:
		break;
	}
	return cds_fail(err, code, "query log %s: %s: %s", path, what, msg);
}

char *qlog_dir_path(const char *datadir)
{
	char *p;

	if (asprintf(&p, "%s/%s", datadir, QLOG_DIR) < 0)
		return NULL;
	return p;
}

char *qlog_day_path(const char *datadir, int64_t day_start_us)
{
	char day[11], *p;

	cds_time_day(day, day_start_us);
	if (asprintf(&p, "%s/%s/%s.sqlite3", datadir, QLOG_DIR, day) < 0)
		return NULL;
	return p;
}

bool qlog_day_name_parse(const char *name, int64_t *day_start)
{
	char day[11];

	if (strlen(name) != 18 || strcmp(name + 10, ".sqlite3") != 0)
		return false;
	memcpy(day, name, 10);
	day[10] = '\0';
	return cds_time_parse_day(day_start, day, NULL) == CDS_OK;
}

/* mkdir DIR/querylog (0700) and create the day file (0600) if missing. */
static enum cds_err create_file(const char *datadir, const char *path,
				struct cds_error *err)
{
	char *dir = qlog_dir_path(datadir);
	enum cds_err rc = CDS_OK;
	int fd;

	if (!dir)
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = cds_fail(err, errno == ENOSPC ? CDS_ERR_FULL : CDS_ERR_IO,
			      "query log: cannot create %s: %s", dir,
			      strerror(errno));
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = cds_fail(err, errno == ENOSPC ? CDS_ERR_FULL : CDS_ERR_IO,
			      "query log: cannot create %s: %s", path,
			      strerror(errno));
		goto out;
	}
	close(fd);
out:
	free(dir);
	return rc;
}

/* Read PRAGMA user_version. */
static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Pragmas, schema, statements; the connection is already open. */
static enum cds_err setup(struct qlog_day *d, const char *path,
			  enum cds_qlog_durability dur, bool *created,
			  struct cds_error *err)
{
	const char *sync_sql = dur == CDS_QLOG_SYNC ? "PRAGMA synchronous=FULL"
						    : "PRAGMA synchronous=NORMAL";
	int rc, v = 0;

	sqlite3_busy_timeout(d->db, QLOG_BUSY_MS);
	rc = sqlite3_exec(d->db, QLOG_PAGE_SIZE_SQL, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(d->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(d->db, sync_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = user_version(d->db, &v);
	if (rc != SQLITE_OK)
		return qlog_sqlite_err(err, d->db, rc, "open", path);
	if (v > QLOG_SCHEMA_VERSION)
		return cds_fail(err, CDS_ERR_STORE,
				"query log %s: schema version %d is newer than this "
				"program (%d)", path, v, QLOG_SCHEMA_VERSION);
	*created = v == 0;
	if (*created || v == 1) {
		rc = sqlite3_exec(d->db, *created ? schema_sql : upgrade_v1_sql,
				  NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return qlog_sqlite_err(err, d->db, rc, "create schema", path);
	}
	rc = sqlite3_prepare_v3(d->db, insert_sql, -1, SQLITE_PREPARE_PERSISTENT,
				&d->ins, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(d->db, config_sql, -1,
					SQLITE_PREPARE_PERSISTENT, &d->ins_cfg, NULL);
	if (rc != SQLITE_OK)
		return qlog_sqlite_err(err, d->db, rc, "prepare", path);
	return CDS_OK;
}

enum cds_err qlog_day_open(struct qlog_day *d, const char *datadir,
			   int64_t day_start, enum cds_qlog_durability dur,
			   bool *created, struct cds_error *err)
{
	char *path = qlog_day_path(datadir, day_start);
	struct stat sb;
	enum cds_err rc;
	int src;

	memset(d, 0, sizeof(*d));
	if (!path)
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	rc = create_file(datadir, path, err);
	if (rc)
		goto out;
	/* NOMUTEX: a writer connection is only used under qlog.c's files_mu,
	 * so SQLite's own per-call locking would be pure overhead. */
	src = sqlite3_open_v2(path, &d->db,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		rc = qlog_sqlite_err(err, d->db, src, "open", path);
		goto out;
	}
	rc = setup(d, path, dur, created, err);
	if (rc)
		goto out;
	if (stat(path, &sb) != 0) {
		rc = cds_fail(err, CDS_ERR_IO, "query log: %s vanished: %s", path,
			      strerror(errno));
		goto out;
	}
	d->dev = sb.st_dev;
	d->ino = sb.st_ino;
	d->day_start = day_start;
out:
	if (rc)
		qlog_day_close(d);
	free(path);
	return rc;
}

void qlog_day_close(struct qlog_day *d)
{
	if (!d)
		return;
	sqlite3_finalize(d->ins);
	sqlite3_finalize(d->ins_cfg);
	sqlite3_close(d->db);
	memset(d, 0, sizeof(*d));
}

bool qlog_day_stale(const struct qlog_day *d, const char *datadir)
{
	char *path = qlog_day_path(datadir, d->day_start);
	struct stat sb;
	bool stale;

	if (!path)
		return false; /* out of memory: keep what works */
	stale = stat(path, &sb) != 0 || sb.st_ino != d->ino || sb.st_dev != d->dev;
	free(path);
	return stale;
}

enum cds_err qlog_day_config(struct qlog_day *d, int64_t time_us,
			     const char *event, const struct qlog_modes *m,
			     struct cds_error *err)
{
	sqlite3_stmt *st = d->ins_cfg;
	int rc;

	sqlite3_bind_int64(st, 1, time_us);
	sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, m->plain_lookup ? 1 : 0);
	sqlite3_bind_text(st, 4, qlog_ip_policy_name(m->ip_policy), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(st, 5, m->retention_days);
	sqlite3_bind_text(st, 6, qlog_durability_name(m->durability), -1,
			  SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return qlog_sqlite_err(err, d->db, rc, "write config",
				       sqlite3_db_filename(d->db, "main"));
	return CDS_OK;
}

/* Bind and step one record; SQLite result code. */
static int insert_one(sqlite3_stmt *st, const struct qlog_rec *r)
{
	char acct[2 * CDS_ACCOUNT_ID_BYTES + 1];
	int rc;

	sqlite3_bind_int64(st, 1, r->time_us);
	if (r->ip_bits)
		sqlite3_bind_text(st, 2, r->ip, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int(st, 3, r->ip_bits);
	if (r->has_account) {
		cds_hex_encode(acct, r->account, CDS_ACCOUNT_ID_BYTES);
		sqlite3_bind_text(st, 4, acct, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(st, 4);
	}
	sqlite3_bind_text(st, 5, cds_endpoint_name(r->endpoint), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, r->items);
	sqlite3_bind_int(st, 7, r->status);
	if (r->handles)
		sqlite3_bind_text(st, 8, r->handles, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	if (r->via == CDS_QLOG_VIA_OHTTP)
		sqlite3_bind_text(st, 9, "ohttp", -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum cds_err qlog_day_insert(struct qlog_day *d, const struct qlog_rec *recs,
			     const size_t *idx, size_t n,
			     struct cds_error *err)
{
	const char *what = "begin";
	enum cds_err code;
	int rc;

	rc = sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		what = "insert";
		rc = insert_one(d->ins, &recs[idx[i]]);
	}
	if (rc == SQLITE_OK) {
		what = "commit";
		rc = sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		return CDS_OK;
	/* Take the message before ROLLBACK replaces it. */
	code = qlog_sqlite_err(err, d->db, rc, what,
			       sqlite3_db_filename(d->db, "main"));
	if (!sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return code;
}

int qlog_day_version(sqlite3 *db)
{
	int v = 0;

	return user_version(db, &v) == SQLITE_OK ? v : 0;
}

enum cds_err qlog_day_open_ro(sqlite3 **db, const char *path,
			      struct cds_error *err)
{
	int rc, v = 0;

	*db = NULL;
	rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(*db, QLOG_BUSY_MS);
		rc = user_version(*db, &v);
	}
	if (rc != SQLITE_OK) {
		enum cds_err code = qlog_sqlite_err(err, *db, rc, "open", path);

		sqlite3_close(*db);
		*db = NULL;
		return code;
	}
	if (v < 1 || v > QLOG_SCHEMA_VERSION) {
		sqlite3_close(*db);
		*db = NULL;
		return cds_fail(err, CDS_ERR_STORE,
				"query log %s: not a query log day file (schema "
				"version %d)", path, v);
	}
	return CDS_OK;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Append v to the growing array *a (length *n, capacity *cap). */
static enum cds_err push_day(int64_t **a, size_t *n, size_t *cap, int64_t v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		int64_t *p = realloc(*a, nc * sizeof(*p));

		if (!p)
			return CDS_ERR_NOMEM;
		*a = p;
		*cap = nc;
	}
	(*a)[(*n)++] = v;
	return CDS_OK;
}

enum cds_err qlog_day_list(const char *datadir, int64_t from, int64_t until,
			   int64_t **days, size_t *n, struct cds_error *err)
{
	char *dir = qlog_dir_path(datadir);
	enum cds_err rc = CDS_OK;
	struct dirent *de;
	size_t cap = 0;
	int64_t day;
	DIR *d = NULL;

	*days = NULL;
	*n = 0;
	if (!dir)
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			rc = cds_fail(err, CDS_ERR_IO, "query log: cannot read %s: %s",
				      dir, strerror(errno));
		goto out;
	}
	while (!rc && (de = readdir(d)) != NULL) {
		if (!qlog_day_name_parse(de->d_name, &day))
			continue;
		if (day < until && day + CDS_USEC_PER_DAY > from &&
		    push_day(days, n, &cap, day) != CDS_OK)
			rc = cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	}
	if (!rc && *n)
		qsort(*days, *n, sizeof(**days), cmp_i64);
out:
	if (d)
		closedir(d);
	if (rc) {
		free(*days);
		*days = NULL;
		*n = 0;
	}
	free(dir);
	return rc;
}
