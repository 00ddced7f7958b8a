/*
 * qlogtest.h: helpers shared by test_qlog.c, test_ledger.c and
 * test_legal.c: the backend a run uses, and reading the query log back
 * through its read interface (qlog.h), the same way on both backends.
 *
 * Like storetest.h, the same binary runs once on SQLite (default) and once
 * on PostgreSQL when CDS_TEST_PG holds a libpq URI (the *_pg entries of
 * tests/unit/meson.build run it under pgserver.py).  On PostgreSQL a data
 * directory gets a DIR/store.conf naming that database, and the database
 * is emptied first, so each test starts with no log and no ledger.
 */
#ifndef CDS_TESTS_QLOGTEST_H
#define CDS_TESTS_QLOGTEST_H

#include <libpq-fe.h>

#include "core/timeutil.h"
#include "qlog/qlog.h"
#include "storetest.h"

/* Run SQL on this run's PostgreSQL database (fails the test on error). */
static inline void qlogtest_sql(const char *sql)
{
	PGconn *c = PQconnectdb(storetest_pg());
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/*
 * A fresh data directory on this run's backend.  store: also create a
 * directory store in it (the legal process keeps its mark there).
 */
static inline char *qlogtest_dir(bool store)
{
	char *dir = tmpdir_new();
	struct cds_error err;

	if (storetest_pg()) {
		qlogtest_sql("DROP SCHEMA IF EXISTS cds CASCADE");
		if (!store)
			assert_int_equal(cds_store_conf_write(dir, storetest_pg(),
							      &err), CDS_OK);
	}
	if (store)
		assert_int_equal(storetest_create(dir, 8, &err), CDS_OK);
	return dir;
}

/* Records read back: copies of the fields the tests look at. */
struct qrow {
	int64_t time_us;
	int ip_bits, status;
	int64_t items;
	char ip[64], account[40], endpoint[32], handles[256], via[16];
	bool has_ip, has_account, has_endpoint, has_handles, has_via;
};

struct qrows {
	struct qrow r[1100];
	size_t n, total;
};

static inline void qcopy(char *dst, size_t cap, bool *has, const char *s)
{
	*has = s != NULL;
	snprintf(dst, cap, "%s", s ? s : "");
}

static inline int qrows_add(void *ctx, const struct cds_qlog_row *row)
{
	struct qrows *rs = ctx;
	struct qrow *r;

	rs->total++;
	if (rs->n == sizeof(rs->r) / sizeof(rs->r[0]))
		return 0;
	r = &rs->r[rs->n++];
	r->time_us = row->time_us;
	r->ip_bits = row->ip_bits;
	r->status = row->status;
	r->items = row->items;
	qcopy(r->ip, sizeof(r->ip), &r->has_ip, row->ip);
	qcopy(r->account, sizeof(r->account), &r->has_account, row->account);
	qcopy(r->endpoint, sizeof(r->endpoint), &r->has_endpoint, row->endpoint);
	qcopy(r->handles, sizeof(r->handles), &r->has_handles, row->handles);
	qcopy(r->via, sizeof(r->via), &r->has_via, row->via);
	return 0;
}

/* The records of [since, until) matching (match, value); malloc'd. */
static inline struct qrows *qlogtest_read(const char *dir, int64_t since,
					  int64_t until,
					  enum cds_qlog_match match,
					  const char *value)
{
	struct cds_qlog_filter f = {since, until, match, value};
	struct qrows *rs = calloc(1, sizeof(*rs));
	struct cds_error err;

	assert_non_null(rs);
	cds_error_clear(&err);
	if (cds_qlog_read(dir, &f, qrows_add, rs, &err) != CDS_OK)
		fail_msg("cds_qlog_read: %s", err.msg);
	return rs;
}

/* The number of records in [since, until). */
static inline int64_t qlogtest_count(const char *dir, int64_t since,
				     int64_t until)
{
	struct qrows *rs = qlogtest_read(dir, since, until, CDS_QLOG_MATCH_ALL,
					 NULL);
	int64_t n = (int64_t)rs->total;

	free(rs);
	return n;
}

/* Config rows in [since, until); the last one's IP policy into policy. */
struct qcfg {
	int64_t since, until, n;
	char policy[16];
};

static inline int qcfg_add(void *ctx, const struct cds_qlog_config_row *c)
{
	struct qcfg *q = ctx;

	if (c->time_us >= q->since && c->time_us < q->until) {
		q->n++;
		snprintf(q->policy, sizeof(q->policy), "%s", c->ip_policy);
	}
	return 0;
}

static inline int64_t qlogtest_configs(const char *dir, int64_t since,
				       int64_t until, char policy[16])
{
	struct qcfg q = {since, until, 0, ""};
	struct cds_error err;

	if (cds_qlog_read_config(dir, qcfg_add, &q, &err) != CDS_OK)
		fail_msg("cds_qlog_read_config: %s", err.msg);
	if (policy)
		memcpy(policy, q.policy, sizeof(q.policy));
	return q.n;
}

/* Whether a day (UTC, starting at day) holds anything: records or config. */
static inline bool qlogtest_day_present(const char *dir, int64_t day)
{
	return qlogtest_count(dir, day, day + CDS_USEC_PER_DAY) > 0 ||
	       qlogtest_configs(dir, day, day + CDS_USEC_PER_DAY, NULL) > 0;
}

#endif
