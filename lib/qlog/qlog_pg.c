/*
 * qlog_pg.c: the PostgreSQL backend's connection, schema and writer sink
 * (qlog_pg.h has the schema and the invariants).
 *
 * The sink keeps one connection.  It remembers the days whose partition it
 * made or found (two: today and yesterday), so a group costs one COPY,
 * straight into the day's partition (a group holds one day: no routing of
 * rows through the parent).  A day removed behind its back (a sweep from
 * another process) makes the COPY fail: with the connection still up, the
 * sink forgets its days, makes the day again and retries once.  A connection that fails is dropped and made again at
 * the next group, so PostgreSQL restarting costs the groups written while
 * it was away (counted in write_errors; a `sync` submitter is told).
 */
#include "qlog/qlog_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_pg.h" /* pg_connect, pg_fail, binary COPY */


static const char schema_sql[] =
	"CREATE SCHEMA IF NOT EXISTS " CDS_PG_SCHEMA ";"
	"CREATE TABLE IF NOT EXISTS qlog_version (version integer NOT NULL);"
	"INSERT INTO qlog_version SELECT 1"
	" WHERE NOT EXISTS (SELECT 1 FROM qlog_version);"
	"CREATE SEQUENCE IF NOT EXISTS qlog_record_id CACHE 1000;"
	"CREATE TABLE IF NOT EXISTS qlog_records ("
	" time_us bigint NOT NULL,"
	" id bigint NOT NULL DEFAULT nextval('qlog_record_id'),"
	" ip text, ip_bits bigint NOT NULL, account text,"
	" endpoint text NOT NULL, items bigint NOT NULL, status bigint NOT NULL,"
	" handles text, via text) PARTITION BY RANGE (time_us);"
	"CREATE TABLE IF NOT EXISTS qlog_config ("
	" time_us bigint NOT NULL, event text NOT NULL,"
	" plain_lookup boolean NOT NULL, ip_policy text NOT NULL,"
	" retention_days integer NOT NULL, durability text NOT NULL);"
	"CREATE INDEX IF NOT EXISTS qlog_config_time ON qlog_config (time_us)";

/* e's message said by the query log rather than the store. */
static enum cds_err relabel(struct cds_error *err, enum cds_err rc,
			    const struct cds_error *e)
{
	return cds_fail(err, rc, "query log: %s",
			strncmp(e->msg, "store: ", 7) ? e->msg : e->msg + 7);
}

enum cds_err qlog_pg_fail(PGconn *conn, const PGresult *res, const char *what,
			  struct cds_error *err)
{
	struct cds_error e;

	return relabel(err, pg_fail(conn, res, what, &e), &e);
}

/* Run sql (no rows); CDS_OK or the failure. */
static enum cds_err exec(PGconn *c, const char *sql, const char *what,
			 struct cds_error *err)
{
	PGresult *r = PQexec(c, sql);
	enum cds_err rc = CDS_OK;

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = qlog_pg_fail(c, r, what, err);
	PQclear(r);
	return rc;
}

/* One integer from sql, or *v = 0 when it returns no row or NULL. */
static enum cds_err query_int(PGconn *c, const char *sql, int *v,
			      struct cds_error *err)
{
	PGresult *r = PQexec(c, sql);
	enum cds_err rc = CDS_OK;

	*v = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = qlog_pg_fail(c, r, "read the schema version", err);
	else if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		*v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

/* The stored version, or 0 if the log's tables are not there. */
static enum cds_err version(PGconn *c, int *v, struct cds_error *err)
{
	enum cds_err rc = query_int(c, "SELECT count(*) FROM pg_class c JOIN"
				       " pg_namespace n ON n.oid = c.relnamespace"
				       " WHERE n.nspname = '" CDS_PG_SCHEMA "'"
				       " AND c.relname = 'qlog_version'", v, err);

	if (!rc && *v)
		rc = query_int(c, "SELECT max(version) FROM qlog_version", v, err);
	return rc;
}

/* Make the schema (invariant 1's lock: replicas may start together). */
static enum cds_err create_schema(PGconn *c, struct cds_error *err)
{
	enum cds_err rc = exec(c, "BEGIN; SELECT pg_advisory_xact_lock("
				  "hashtext('" QLOG_PG_LOCK "'))",
			       "lock the log", err);

	if (!rc)
		rc = exec(c, schema_sql, "create the log's tables", err);
	rc = rc ? rc : exec(c, "COMMIT", "create the log's tables", err);
	if (rc)
		(void)exec(c, "ROLLBACK", "roll back", NULL);
	return rc;
}

enum cds_err qlog_pg_connect(PGconn **out, const struct qlog_place *p,
			     bool create, bool *exists, bool *reached,
			     struct cds_error *err)
{
	struct cds_error e;
	enum cds_err rc;
	int v = 0;

	*out = NULL;
	*exists = false;
	rc = pg_connect(out, p->url, &e);
	if (reached)
		*reached = !rc;
	if (rc)
		return relabel(err, rc, &e);
	rc = version(*out, &v, err);
	if (!rc && v == 0 && create && !(rc = create_schema(*out, err)))
		rc = version(*out, &v, err);
	if (!rc && v > QLOG_PG_SCHEMA_VERSION)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "query log in postgresql://%s:%s/%s: schema version "
			      "%d is newer than this program (%d)", PQhost(*out),
			      PQport(*out), PQdb(*out), v, QLOG_PG_SCHEMA_VERSION);
	if (rc) {
		PQfinish(*out);
		*out = NULL;
		return rc;
	}
	*exists = v > 0;
	return CDS_OK;
}

void qlog_pg_part_name(char out[32], int64_t day)
{
	char d[11];

	cds_time_day(d, day);
	snprintf(out, 32, "qlog_records_%.4s%.2s%.2s", d, d + 5, d + 8);
}

bool qlog_pg_part_parse(const char *name, int64_t *day)
{
	static const char prefix[] = "qlog_records_";
	size_t n = sizeof(prefix) - 1;
	char d[11];

	if (strlen(name) != n + 8 || strncmp(name, prefix, n) != 0 ||
	    strspn(name + n, "0123456789") != 8)
		return false;
	snprintf(d, sizeof(d), "%.4s-%.2s-%.2s", name + n, name + n + 4,
		 name + n + 6);
	return cds_time_parse_day(day, d, NULL) == CDS_OK;
}

/* ---- the writer's sink ---------------------------------------------- */

struct qlog_sink {
	const struct qlog_place *place;
	struct qlog_sink_cfg cfg;
	PGconn *conn;      /* NULL: connect at the next group */
	int64_t known[2];  /* days whose partition exists (0: none) */
};

static void drop_conn(struct qlog_sink *s)
{
	PQfinish(s->conn);
	s->conn = NULL;
	s->known[0] = s->known[1] = 0;
}

/* A working connection, made again if it was lost. */
static enum cds_err conn_get(struct qlog_sink *s, bool *reached,
			     struct cds_error *err)
{
	bool exists;

	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return CDS_OK;
	drop_conn(s);
	return qlog_pg_connect(&s->conn, s->place, true, &exists, reached, err);
}

static enum cds_err pg_sink_open(struct qlog_sink **out,
				 const struct qlog_place *p,
				 const struct qlog_sink_cfg *cfg,
				 struct cds_error *err)
{
	struct qlog_sink *s = calloc(1, sizeof(*s));
	struct cds_error e;
	enum cds_err rc;
	bool reached = false;

	*out = NULL;
	if (!s)
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	s->place = p;
	s->cfg = *cfg;
	/* A database that answers wrongly is fatal; one away is not. */
	rc = conn_get(s, &reached, &e);
	if (rc && reached) {
		free(s);
		return cds_fail(err, rc, "%s", e.msg);
	}
	if (rc)
		cds_log_warn("%s (will retry)", e.msg);
	*out = s;
	return CDS_OK;
}

static void pg_sink_close(struct qlog_sink *s)
{
	if (!s)
		return;
	drop_conn(s);
	free(s);
}

/* Insert a config row; with only_first, only if day has none yet. */
static enum cds_err config_row(struct qlog_sink *s, int64_t day, int64_t at,
			       const char *event, bool only_first,
			       bool *inserted, struct cds_error *err)
{
	const struct qlog_modes *m = &s->cfg.modes;
	char a[3][24];
	const char *v[9];
	PGresult *r;
	enum cds_err rc = CDS_OK;

	snprintf(a[0], sizeof(a[0]), "%lld", (long long)at);
	snprintf(a[1], sizeof(a[1]), "%d", m->retention_days);
	snprintf(a[2], sizeof(a[2]), "%lld",
		 (long long)(only_first ? day : INT64_MAX - CDS_USEC_PER_DAY));
	v[0] = a[0];
	v[1] = event;
	v[2] = m->plain_lookup ? "true" : "false";
	v[3] = qlog_ip_policy_name(m->ip_policy);
	v[4] = a[1];
	v[5] = qlog_durability_name(m->durability);
	v[6] = a[2];
	r = PQexecParams(s->conn,
			 "INSERT INTO qlog_config (time_us, event, plain_lookup,"
			 " ip_policy, retention_days, durability)"
			 " SELECT $1::bigint, $2::text, $3::boolean, $4::text,"
			 " $5::integer, $6::text WHERE NOT EXISTS"
			 " (SELECT 1 FROM qlog_config WHERE time_us >= $7::bigint"
			 " AND time_us < $7::bigint + 86400000000)",
			 7, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = qlog_pg_fail(s->conn, r, "write config", err);
	else if (inserted)
		*inserted = atoi(PQcmdTuples(r)) == 1;
	PQclear(r);
	return rc;
}

/* CREATE TABLE IF NOT EXISTS the partition of day. */
static enum cds_err make_partition(struct qlog_sink *s, int64_t day,
				   struct cds_error *err)
{
	char name[32], sql[256];

	qlog_pg_part_name(name, day);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS %s PARTITION OF qlog_records"
		 " FOR VALUES FROM (%lld) TO (%lld)", name, (long long)day,
		 (long long)(day + CDS_USEC_PER_DAY));
	return exec(s->conn, sql, "create a day's partition", err);
}

/*
 * Make the day's partition if missing and state the day's modes; make the
 * next day's partition ahead too, so that the first group after midnight
 * does not wait for DDL (a day made ahead and never written holds no
 * config row, and a sweep drops it without counting it).
 */
static enum cds_err make_day(struct qlog_sink *s, int64_t day, bool *created,
			     struct cds_error *err)
{
	const char *event;
	enum cds_err rc;
	int64_t at;

	qlog_new_day_event(&s->cfg, day, &at, &event);
	rc = exec(s->conn, "BEGIN; SELECT pg_advisory_xact_lock("
			   "hashtext('" QLOG_PG_LOCK "'))", "lock the log", err);
	rc = rc ? rc : make_partition(s, day, err);
	rc = rc ? rc : make_partition(s, day + CDS_USEC_PER_DAY, err);
	rc = rc ? rc : config_row(s, day, at, event, true, created, err);
	rc = rc ? rc : exec(s->conn, "COMMIT", "create a day's partition", err);
	if (rc) {
		(void)exec(s->conn, "ROLLBACK", "roll back", NULL);
		return rc;
	}
	s->known[!s->known[0] ? 0 : !s->known[1] ? 1
		 : s->known[0] < s->known[1] ? 0 : 1] = day;
	return CDS_OK;
}

static bool known(const struct qlog_sink *s, int64_t day)
{
	return day && (s->known[0] == day || s->known[1] == day);
}

static enum cds_err pg_start(struct qlog_sink *s, struct cds_error *err)
{
	int64_t day = cds_time_day_start(s->cfg.start_us);
	enum cds_err rc;
	bool created = false;

	rc = conn_get(s, NULL, err);
	rc = rc ? rc : make_day(s, day, &created, err);
	if (!rc && !created)
		rc = config_row(s, day, s->cfg.start_us, "start", false, NULL,
				err);
	return rc;
}

static void copy_text_or_null(struct pg_copy *c, const char *s)
{
	if (s)
		pg_copy_text(c, s);
	else
		pg_copy_null(c);
}

/* One record as a COPY row (the columns of copy_sql). */
static void copy_rec(struct pg_copy *c, const struct qlog_rec *r)
{
	char acct[2 * CDS_ACCOUNT_ID_BYTES + 1];

	pg_copy_row(c, 9);
	pg_copy_i64(c, r->time_us);
	copy_text_or_null(c, r->ip_bits ? r->ip : NULL);
	pg_copy_i64(c, r->ip_bits);
	if (r->has_account)
		cds_hex_encode(acct, r->account, CDS_ACCOUNT_ID_BYTES);
	copy_text_or_null(c, r->has_account ? acct : NULL);
	pg_copy_text(c, cds_endpoint_name(r->endpoint));
	pg_copy_i64(c, r->items);
	pg_copy_i64(c, r->status);
	copy_text_or_null(c, r->handles);
	copy_text_or_null(c, r->via == CDS_QLOG_VIA_OHTTP ? "ohttp" : NULL);
}

/* One COPY of the group into its day's partition (invariant 2). */
static enum cds_err copy_group(struct qlog_sink *s, int64_t day,
			       const struct qlog_rec *recs, const size_t *idx,
			       size_t n, struct cds_error *err)
{
	char name[32], sql[192];
	struct pg_copy c;
	struct cds_error e;
	enum cds_err rc;

	qlog_pg_part_name(name, day);
	snprintf(sql, sizeof(sql),
		 "COPY %s (time_us, ip, ip_bits, account, endpoint, items, status,"
		 " handles, via) FROM STDIN (FORMAT binary)", name);
	rc = pg_copy_begin(&c, s->conn, sql, &e);
	if (rc)
		return relabel(err, rc, &e);
	for (size_t i = 0; i < n; i++)
		copy_rec(&c, &recs[idx[i]]);
	rc = pg_copy_end(&c, "insert records", NULL, &e);
	return rc ? relabel(err, rc, &e) : CDS_OK;
}

static enum cds_err pg_insert(struct qlog_sink *s, int64_t day,
			      const struct qlog_rec *recs, const size_t *idx,
			      size_t n, struct cds_error *err)
{
	enum cds_err rc;
	bool created;

	rc = conn_get(s, NULL, err);
	if (!rc && !known(s, day))
		rc = make_day(s, day, &created, err);
	if (!rc) {
		rc = copy_group(s, day, recs, idx, n, err);
		/* Dropped behind us?  Make the day again, once. */
		if (rc && PQstatus(s->conn) == CONNECTION_OK) {
			s->known[0] = s->known[1] = 0;
			rc = make_day(s, day, &created, err);
			rc = rc ? rc : copy_group(s, day, recs, idx, n, err);
		}
	}
	if (rc && s->conn && PQstatus(s->conn) != CONNECTION_OK)
		drop_conn(s);
	return rc;
}

static void pg_forget(struct qlog_sink *s, int64_t day)
{
	for (int i = 0; i < 2; i++)
		if (s->known[i] == day)
			s->known[i] = 0;
}

const struct qlog_backend qlog_pg_backend = {
	.name = "postgresql",
	.sink_open = pg_sink_open,
	.sink_close = pg_sink_close,
	.start = pg_start,
	.insert = pg_insert,
	.forget = pg_forget,
	.sweep = qlog_pg_sweep,
	.read = qlog_pg_read,
	.read_config = qlog_pg_read_config,
};
