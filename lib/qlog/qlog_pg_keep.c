/*
 * qlog_pg_keep.c: the PostgreSQL backend's retention and reading
 * (qlog_pg.h has the schema).
 *
 * Invariants:
 *  1. Retention drops whole partitions (qlog_pg.h invariant 3), each with
 *     its day's config rows in one transaction; config rows of expired
 *     days that have no partition go too.  Only tables named
 *     qlog_records_YYYYMMDD that are partitions of qlog_records are ever
 *     dropped.
 *  2. Neither sweep nor read creates anything: a database without the
 *     log's tables has a log with no days.
 *  3. Reads match as the SQLite backend does (qlog_sqlite_read.c
 *     invariants 2-4), with the same SQL conditions.
 */
#include "qlog/qlog_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"

/* Run sql with text parameters; the result, or NULL with err filled. */
static PGresult *run(PGconn *c, const char *sql, int n, const char *const *v,
		     ExecStatusType want, const char *what,
		     struct cds_error *err)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);

	if (PQresultStatus(r) == want)
		return r;
	qlog_pg_fail(c, r, what, err);
	PQclear(r);
	return NULL;
}

/* ---- retention ------------------------------------------------------ */

/* The days that have a partition, sorted (*days malloc'd). */
static enum cds_err list_days(PGconn *c, int64_t **days, size_t *n,
			      struct cds_error *err)
{
	PGresult *r = run(c, "SELECT c.relname FROM pg_inherits i JOIN pg_class c"
			     " ON c.oid = i.inhrelid WHERE i.inhparent ="
			     " 'qlog_records'::regclass ORDER BY 1", 0, NULL,
			  PGRES_TUPLES_OK, "list the days", err);
	int rows;

	*days = NULL;
	*n = 0;
	if (!r)
		return CDS_ERR_STORE;
	rows = PQntuples(r);
	*days = calloc(rows ? (size_t)rows : 1, sizeof(**days));
	if (!*days) {
		PQclear(r);
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	}
	for (int i = 0; i < rows; i++)
		if (qlog_pg_part_parse(PQgetvalue(r, i, 0), &(*days)[*n]))
			(*n)++;
	PQclear(r);
	return CDS_OK;
}

/*
 * Records in the day's partition as PostgreSQL's statistics have them
 * (autovacuum keeps them; -1 if it has never looked): an estimate, read in
 * constant time, where count(*) would read the whole day (invariant 1:
 * removal must not grow with the day's size).
 */
static int64_t estimate_day(PGconn *c, const char *name)
{
	char sql[160];
	PGresult *r;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT reltuples::bigint FROM pg_class WHERE"
		 " oid = 'cds.%s'::regclass", name);
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n < 0 ? -1 : n;
}

/* Delete config rows with time_us in [from, until); *n: how many. */
static enum cds_err drop_config(PGconn *c, int64_t from, int64_t until,
				int64_t *n, struct cds_error *err)
{
	char a[2][24];
	const char *v[2] = {a[0], a[1]};
	PGresult *r;

	snprintf(a[0], sizeof(a[0]), "%lld", (long long)from);
	snprintf(a[1], sizeof(a[1]), "%lld", (long long)until);
	r = run(c, "DELETE FROM qlog_config WHERE time_us >= $1::bigint"
		   " AND time_us < $2::bigint", 2, v, PGRES_COMMAND_OK,
		"delete config rows", err);
	if (r && n)
		*n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return r ? CDS_OK : CDS_ERR_STORE;
}

/* Whether a partition holds a row: its first page, whatever its size. */
static bool has_rows(PGconn *c, const char *name)
{
	char sql[96];
	PGresult *r;
	bool yes;

	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s LIMIT 1", name);
	r = PQexec(c, sql);
	yes = PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) > 0;
	PQclear(r);
	return yes;
}

/*
 * Drop one day's partition and config rows in one transaction; *used:
 * whether the day held any (a day made ahead and never written held none).
 */
static enum cds_err drop_day(PGconn *c, int64_t day, const char *name,
			     bool *used, struct cds_error *err)
{
	bool rows = has_rows(c, name);
	int64_t cfgs = 0;
	char sql[96];
	PGresult *r = PQexec(c, "BEGIN");
	enum cds_err rc = CDS_OK;

	PQclear(r);
	/* IF EXISTS: another replica's sweeper may have dropped it first. */
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", name);
	r = run(c, sql, 0, NULL, PGRES_COMMAND_OK, "drop a day's partition", err);
	if (!r)
		rc = CDS_ERR_STORE;
	PQclear(r);
	rc = rc ? rc : drop_config(c, day, day + CDS_USEC_PER_DAY, &cfgs, err);
	*used = rows || cfgs > 0;
	r = PQexec(c, rc ? "ROLLBACK" : "COMMIT");
	if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = qlog_pg_fail(c, r, "drop a day's partition", err);
	PQclear(r);
	return rc;
}

/* Remove one expired day; log it and tell fn (*used: it held anything). */
static enum cds_err sweep_day(PGconn *c, int64_t day,
			      const struct qlog_sweep_hook *hook,
			      cds_qlog_swept_fn fn, void *fn_ctx, bool *used,
			      struct cds_error *err)
{
	char name[32], d[11];
	enum cds_err rc;
	int64_t records;

	qlog_pg_part_name(name, day);
	records = estimate_day(c, name);
	if (hook)
		hook->begin(hook->ctx, day);
	rc = drop_day(c, day, name, used, err);
	if (hook)
		hook->end(hook->ctx);
	if (rc || !*used)
		return rc;
	cds_time_day(d, day);
	if (records < 0)
		cds_log_info("query log: dropped day %s (record count unknown)", d);
	else
		cds_log_info("query log: dropped day %s (about %lld records)", d,
			     (long long)records);
	if (fn)
		fn(fn_ctx, d, records, false);
	return CDS_OK;
}

/* The first moment whose day is not expired (INT64_MAX: none is kept). */
static int64_t keep_from(int retention_days, int64_t now_us)
{
	int64_t x;

	if (retention_days == 0)
		return INT64_MAX;
	x = now_us - (int64_t)(retention_days + 1) * CDS_USEC_PER_DAY;
	return cds_time_day_start(x - 1) + CDS_USEC_PER_DAY;
}

enum cds_err qlog_pg_sweep(const struct qlog_place *p, int retention_days,
			   int64_t now_us, const struct qlog_sweep_hook *hook,
			   cds_qlog_swept_fn fn, void *fn_ctx, uint64_t *deleted,
			   struct cds_error *err)
{
	enum cds_err rc, first = CDS_OK;
	int64_t *days = NULL;
	PGconn *c = NULL;
	bool exists, used;
	size_t n = 0;

	if (deleted)
		*deleted = 0;
	first = qlog_pg_connect(&c, p, false, &exists, NULL, err);
	if (first || !exists)
		goto out;
	first = list_days(c, &days, &n, err);
	for (size_t i = 0; !first && i < n; i++) {
		if (!qlog_day_expired(days[i], retention_days, now_us))
			continue;
		/* Keep going past one failure; report the first. */
		rc = sweep_day(c, days[i], hook, fn, fn_ctx, &used,
			       first ? NULL : err);
		if (rc && !first)
			first = rc;
		else if (!rc && used && deleted)
			(*deleted)++;
	}
	if (!first)
		first = drop_config(c, INT64_MIN, keep_from(retention_days, now_us),
				    NULL, err);
out:
	free(days);
	PQfinish(c);
	return first;
}

/* ---- reading -------------------------------------------------------- */

static const char rec_sql[] =
	"SELECT time_us, ip, ip_bits, account, endpoint, items, status, handles,"
	" via FROM qlog_records WHERE time_us >= $1::bigint"
	" AND time_us < $2::bigint AND %s ORDER BY time_us, id";

static const char *const cond[] = {
	[CDS_QLOG_MATCH_ALL] = "$3::text IS NULL",
	[CDS_QLOG_MATCH_ACCOUNT] = "account = $3",
	[CDS_QLOG_MATCH_HANDLE] = "handles IS NOT NULL AND "
				  "strpos(E'\\n' || handles || E'\\n', $3) > 0",
	[CDS_QLOG_MATCH_IP] = "((ip = $3 AND ip_bits = $4::bigint) OR "
			      "(ip = $5 AND ip_bits = $6::bigint))",
};

static const char *val(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t num(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* The text parameters of m: window, then the match's (?3...). */
static int params(const struct qlog_match *m, char a[4][24], const char *v[6])
{
	snprintf(a[0], 24, "%lld", (long long)m->f->since_us);
	snprintf(a[1], 24, "%lld", (long long)m->f->until_us);
	snprintf(a[2], 24, "%u", m->full_bits);
	snprintf(a[3], 24, "%u", m->trunc_bits);
	v[0] = a[0];
	v[1] = a[1];
	switch (m->f->match) {
	case CDS_QLOG_MATCH_ALL:
		v[2] = NULL;
		return 3;
	case CDS_QLOG_MATCH_ACCOUNT:
		v[2] = m->f->value;
		return 3;
	case CDS_QLOG_MATCH_HANDLE:
		v[2] = m->needle;
		return 3;
	case CDS_QLOG_MATCH_IP:
		break;
	}
	v[2] = m->full;
	v[3] = a[2];
	v[4] = m->trunc;
	v[5] = a[3];
	return 6;
}

static void visit_rows(const PGresult *r, cds_qlog_row_fn fn, void *ctx)
{
	struct cds_qlog_row row;

	for (int i = 0; i < PQntuples(r); i++) {
		row = (struct cds_qlog_row){
			.time_us = num(r, i, 0),
			.ip = val(r, i, 1),
			.ip_bits = (int)num(r, i, 2),
			.account = val(r, i, 3),
			.endpoint = val(r, i, 4),
			.items = num(r, i, 5),
			.status = (int)num(r, i, 6),
			.handles = val(r, i, 7),
			.via = val(r, i, 8),
		};
		if (fn(ctx, &row))
			return;
	}
}

enum cds_err qlog_pg_read(const struct qlog_place *p,
			  const struct qlog_match *m, cds_qlog_row_fn fn,
			  void *ctx, struct cds_error *err)
{
	char sql[512], a[4][24];
	const char *v[6];
	PGresult *r = NULL;
	PGconn *c = NULL;
	enum cds_err rc;
	bool exists;
	int n;

	if (m->f->since_us >= m->f->until_us)
		return CDS_OK;
	rc = qlog_pg_connect(&c, p, false, &exists, NULL, err);
	if (!rc && exists) {
		snprintf(sql, sizeof(sql), rec_sql, cond[m->f->match]);
		n = params(m, a, v);
		r = run(c, sql, n, v, PGRES_TUPLES_OK, "search", err);
		if (!r)
			rc = CDS_ERR_STORE;
		else
			visit_rows(r, fn, ctx);
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

enum cds_err qlog_pg_read_config(const struct qlog_place *p,
				 cds_qlog_config_fn fn, void *ctx,
				 struct cds_error *err)
{
	struct cds_qlog_config_row row;
	PGresult *r = NULL;
	PGconn *c = NULL;
	enum cds_err rc;
	bool exists;

	rc = qlog_pg_connect(&c, p, false, &exists, NULL, err);
	if (!rc && exists) {
		r = run(c, "SELECT time_us, event, plain_lookup::int, ip_policy,"
			   " retention_days, durability FROM qlog_config"
			   " ORDER BY time_us", 0, NULL, PGRES_TUPLES_OK,
			"read config", err);
		if (!r)
			rc = CDS_ERR_STORE;
		for (int i = 0; r && i < PQntuples(r); i++) {
			row = (struct cds_qlog_config_row){
				.time_us = num(r, i, 0),
				.event = val(r, i, 1),
				.plain_lookup = num(r, i, 2) != 0,
				.ip_policy = val(r, i, 3),
				.retention_days = (int)num(r, i, 4),
				.durability = val(r, i, 5),
			};
			if (fn(ctx, &row))
				break;
		}
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}
