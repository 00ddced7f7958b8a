/*
 * qlog_sqlite_read.c: reading the day files back (qlog.h cds_qlog_read,
 * cds_qlog_read_config), for the legal process and tests.
 *
 * Invariants:
 *  1. Read-only: files are opened SQLITE_OPEN_READONLY, nothing is created,
 *     and a missing DIR/querylog is a log without records.
 *  2. Only the day files whose day overlaps the window are searched,
 *     oldest first, each in (time_us, id) order: records come in time
 *     order, those of one microsecond in the order written.
 *  3. A handle matches exactly: the '\n'-joined list, with a newline added
 *     at each end, is searched for "\n" handle "\n".
 *  4. An IP matches under each record's own policy: a full record (ip_bits
 *     32/128) the address, a truncated one (24/48) its network, a `none`
 *     record never.
 */
#include "qlog/qlog_sqlite.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/timeutil.h"

/* %s: the via column, or NULL in a schema 1 file that has none. */
static const char rec_sql[] =
	"SELECT time_us, ip, ip_bits, account, endpoint, items, status, handles,"
	" %s FROM records WHERE time_us >= ?1 AND time_us < ?2 AND %s"
	" ORDER BY time_us, id";

static const char *const cond[] = {
	[CDS_QLOG_MATCH_ALL] = "1",
	[CDS_QLOG_MATCH_ACCOUNT] = "account = ?3",
	[CDS_QLOG_MATCH_HANDLE] = "handles IS NOT NULL AND "
				  "instr(char(10) || handles || char(10), ?3) > 0",
	[CDS_QLOG_MATCH_IP] = "((ip = ?3 AND ip_bits = ?4) OR "
			      "(ip = ?5 AND ip_bits = ?6))",
};

/* Bind the match condition's parameters (?3...). */
static void bind_match(sqlite3_stmt *st, const struct qlog_match *m)
{
	switch (m->f->match) {
	case CDS_QLOG_MATCH_ALL:
		break;
	case CDS_QLOG_MATCH_ACCOUNT:
		sqlite3_bind_text(st, 3, m->f->value, -1, SQLITE_STATIC);
		break;
	case CDS_QLOG_MATCH_HANDLE:
		sqlite3_bind_text(st, 3, m->needle, -1, SQLITE_STATIC);
		break;
	case CDS_QLOG_MATCH_IP:
		sqlite3_bind_text(st, 3, m->full, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, m->full_bits);
		sqlite3_bind_text(st, 5, m->trunc, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, m->trunc_bits);
		break;
	}
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Visit the matching records of one day file; *stop if fn stopped. */
static enum cds_err read_day(sqlite3 *db, const char *path,
			     const struct qlog_match *m, cds_qlog_row_fn fn,
			     void *ctx, bool *stop, struct cds_error *err)
{
	struct cds_qlog_row r;
	sqlite3_stmt *st = NULL;
	char *sql;
	int src;

	if (asprintf(&sql, rec_sql, qlog_day_version(db) >= 2 ? "via" : "NULL",
		     cond[m->f->match]) < 0)
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	free(sql);
	if (src != SQLITE_OK)
		return qlog_sqlite_err(err, db, src, "search", path);
	sqlite3_bind_int64(st, 1, m->f->since_us);
	sqlite3_bind_int64(st, 2, m->f->until_us);
	bind_match(st, m);
	while (!*stop && (src = sqlite3_step(st)) == SQLITE_ROW) {
		r = (struct cds_qlog_row){
			.time_us = sqlite3_column_int64(st, 0),
			.ip = col(st, 1),
			.ip_bits = sqlite3_column_int(st, 2),
			.account = col(st, 3),
			.endpoint = col(st, 4),
			.items = sqlite3_column_int64(st, 5),
			.status = sqlite3_column_int(st, 6),
			.handles = col(st, 7),
			.via = col(st, 8),
		};
		*stop = fn(ctx, &r) != 0;
	}
	sqlite3_finalize(st);
	if (!*stop && src != SQLITE_DONE)
		return qlog_sqlite_err(err, db, src, "search", path);
	return CDS_OK;
}

/* Visit the config rows of one day file. */
static enum cds_err config_day(sqlite3 *db, const char *path,
			       cds_qlog_config_fn fn, void *ctx, bool *stop,
			       struct cds_error *err)
{
	struct cds_qlog_config_row c;
	sqlite3_stmt *st = NULL;
	int src;

	src = sqlite3_prepare_v2(db,
				 "SELECT time_us, event, plain_lookup, ip_policy,"
				 " retention_days, durability FROM config", -1,
				 &st, NULL);
	if (src != SQLITE_OK)
		return qlog_sqlite_err(err, db, src, "read config", path);
	while (!*stop && (src = sqlite3_step(st)) == SQLITE_ROW) {
		c = (struct cds_qlog_config_row){
			.time_us = sqlite3_column_int64(st, 0),
			.event = col(st, 1),
			.plain_lookup = sqlite3_column_int(st, 2) != 0,
			.ip_policy = col(st, 3),
			.retention_days = sqlite3_column_int(st, 4),
			.durability = col(st, 5),
		};
		*stop = fn(ctx, &c) != 0;
	}
	sqlite3_finalize(st);
	if (!*stop && src != SQLITE_DONE)
		return qlog_sqlite_err(err, db, src, "read config", path);
	return CDS_OK;
}

/* What to do with each day file of a walk. */
struct walk {
	const struct qlog_match *m; /* records (NULL: config rows) */
	cds_qlog_row_fn row_fn;
	cds_qlog_config_fn cfg_fn;
	void *ctx;
	bool stop;
};

/* Open each day file of [from, until) read-only and visit it. */
static enum cds_err walk_days(const char *datadir, int64_t from, int64_t until,
			      struct walk *w, struct cds_error *err)
{
	int64_t *days = NULL;
	enum cds_err rc;
	sqlite3 *db;
	size_t n = 0;
	char *path;

	rc = qlog_day_list(datadir, from, until, &days, &n, err);
	for (size_t i = 0; !rc && !w->stop && i < n; i++) {
		path = qlog_day_path(datadir, days[i]);
		if (!path) {
			rc = cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
			break;
		}
		rc = qlog_day_open_ro(&db, path, err);
		if (!rc) {
			rc = w->m ? read_day(db, path, w->m, w->row_fn, w->ctx,
					     &w->stop, err)
				  : config_day(db, path, w->cfg_fn, w->ctx,
					       &w->stop, err);
			sqlite3_close(db);
		}
		free(path);
	}
	free(days);
	return rc;
}

enum cds_err qlog_sqlite_read(const struct qlog_place *p,
			      const struct qlog_match *m, cds_qlog_row_fn fn,
			      void *ctx, struct cds_error *err)
{
	struct walk w = {.m = m, .row_fn = fn, .ctx = ctx};

	if (m->f->since_us >= m->f->until_us)
		return CDS_OK;
	return walk_days(p->datadir, m->f->since_us, m->f->until_us, &w, err);
}

enum cds_err qlog_sqlite_read_config(const struct qlog_place *p,
				     cds_qlog_config_fn fn, void *ctx,
				     struct cds_error *err)
{
	struct walk w = {.cfg_fn = fn, .ctx = ctx};

	return walk_days(p->datadir, INT64_MIN, INT64_MAX, &w, err);
}
