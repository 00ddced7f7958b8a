/*
 * test_qlog.c: the query log (lib/qlog/qlog*.c): IP policy, days, retention
 * 0, sweep, sync durability, back-pressure, I/O errors.  The same binary
 * runs on SQLite day files and, as qlog_pg, on PostgreSQL (qlogtest.h);
 * tests of what only one backend has (file modes, SQLite locks, schema 1
 * files; a schema version too new in PostgreSQL) say so and skip on the
 * other.  Records are read back through the log's read interface.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/timeutil.h"
#include "qlog/qlog.h"
#include "qlog/qlog_int.h"
#include "qlogtest.h"

/* Bound of every wait on the writer or sweeper: generous, since the suite
 * must pass on a machine whose cores are busy with other work. */
#define WAIT_US (60 * CDS_USEC_PER_SEC)

/* ---- helpers -------------------------------------------------------- */

static char *tmpdir(void)
{
	return qlogtest_dir(false);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rmtree(char *d)
{
	nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

static int64_t T(const char *s)
{
	int64_t us;

	assert_int_equal(cds_time_parse(&us, s, NULL), CDS_OK);
	return us;
}

/* Records of the UTC day holding t. */
static int64_t day_count(const char *dir, int64_t t)
{
	int64_t d = cds_time_day_start(t);

	return qlogtest_count(dir, d, d + CDS_USEC_PER_DAY);
}

/* Everything logged in the UTC day holding t. */
static struct qrows *day_rows(const char *dir, int64_t t)
{
	int64_t d = cds_time_day_start(t);

	return qlogtest_read(dir, d, d + CDS_USEC_PER_DAY, CDS_QLOG_MATCH_ALL,
			     NULL);
}

/* Tests of one backend's own mechanics skip on the other. */
#define SQLITE_ONLY() do { if (storetest_pg()) skip(); } while (0)
#define PG_ONLY() do { if (!storetest_pg()) skip(); } while (0)

static char *day_file(const char *dir, const char *day)
{
	char *p;

	assert_true(asprintf(&p, "%s/querylog/%s.sqlite3", dir, day) > 0);
	return p;
}

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* One integer from a query on a day file. */
static int64_t query_int(const char *path, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* One text value (copied, "" for none/NULL). */
static void query_text(const char *path, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st;
	sqlite3 *db;

	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static struct cds_qlog *open_log(const char *dir, int retention,
				 enum cds_qlog_durability dur,
				 enum cds_qlog_ip_policy ip, size_t cap)
{
	struct cds_qlog_config cfg = {dir, retention, dur, ip, cap, true};
	struct cds_error err;
	struct cds_qlog *q = NULL;

	cds_error_clear(&err);
	assert_int_equal(cds_qlog_open(&q, &cfg, &err), CDS_OK);
	assert_non_null(q);
	return q;
}

static void submit_at(struct cds_qlog *q, int64_t t, enum cds_err want)
{
	struct cds_qlog_request r = {NULL, NULL, CDS_EP_DISCOVER, 3, 200, t};
	struct cds_error err;

	cds_error_clear(&err);
	assert_int_equal(cds_qlog_submit(q, &r, &err), want);
}

static void sin4(struct sockaddr_in *a, const char *ip)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
}

static void sin6(struct sockaddr_in6 *a, const char *ip)
{
	memset(a, 0, sizeof(*a));
	a->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
}

/* ---- IP policy ------------------------------------------------------ */

static void expect_ip(const struct sockaddr *sa, enum cds_qlog_ip_policy p,
		      const char *want, unsigned bits)
{
	char out[QLOG_IP_TEXT_BYTES];
	uint8_t b;

	qlog_ip_reduce(out, &b, sa, p);
	assert_string_equal(out, want);
	assert_int_equal(b, bits);
}

static void test_ip_policy(void **state)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6, m6;
	struct sockaddr_un un = {.sun_family = AF_UNIX};

	(void)state;
	sin4(&a4, "203.0.113.77");
	sin6(&a6, "2001:db8:1:2:3:4:5:6");
	sin6(&m6, "::ffff:198.51.100.9");
	expect_ip((struct sockaddr *)&a4, CDS_QLOG_IP_FULL, "203.0.113.77", 32);
	expect_ip((struct sockaddr *)&a4, CDS_QLOG_IP_TRUNCATED, "203.0.113.0", 24);
	expect_ip((struct sockaddr *)&a4, CDS_QLOG_IP_NONE, "", 0);
	expect_ip((struct sockaddr *)&a6, CDS_QLOG_IP_FULL,
		  "2001:db8:1:2:3:4:5:6", 128);
	expect_ip((struct sockaddr *)&a6, CDS_QLOG_IP_TRUNCATED, "2001:db8:1::", 48);
	expect_ip((struct sockaddr *)&a6, CDS_QLOG_IP_NONE, "", 0);
	/* A v4-mapped peer is logged as the IPv4 client it is. */
	expect_ip((struct sockaddr *)&m6, CDS_QLOG_IP_FULL, "198.51.100.9", 32);
	expect_ip((struct sockaddr *)&m6, CDS_QLOG_IP_TRUNCATED, "198.51.100.0", 24);
	expect_ip(NULL, CDS_QLOG_IP_FULL, "", 0);
	expect_ip((struct sockaddr *)&un, CDS_QLOG_IP_FULL, "", 0);
}

static void test_ip_forms(void **state)
{
	char full[QLOG_IP_TEXT_BYTES], tr[QLOG_IP_TEXT_BYTES];
	uint8_t fb, tb;

	(void)state;
	assert_int_equal(cds_qlog_ip_forms("::ffff:203.0.113.5", full, &fb, tr, &tb,
				       NULL), CDS_OK);
	assert_string_equal(full, "203.0.113.5");
	assert_string_equal(tr, "203.0.113.0");
	assert_int_equal(fb, 32);
	assert_int_equal(tb, 24);
	assert_int_equal(cds_qlog_ip_forms("2001:DB8:1:ffff::1", full, &fb, tr, &tb,
				       NULL), CDS_OK);
	assert_string_equal(full, "2001:db8:1:ffff::1");
	assert_string_equal(tr, "2001:db8:1::");
	assert_int_equal(cds_qlog_ip_forms("203.0.113", full, &fb, tr, &tb, NULL),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_qlog_ip_forms("203.0.113.5/24", full, &fb, tr, &tb, NULL),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_qlog_ip_forms("", full, &fb, tr, &tb, NULL),
			 CDS_ERR_INVALID);
}

/* Each policy end to end: what lands in the file is only the reduced form. */
static void test_ip_policy_on_disk(void **state)
{
	static const struct {
		enum cds_qlog_ip_policy p;
		const char *want4, *want6;
	} cases[] = {
		{CDS_QLOG_IP_FULL, "192.0.2.55", "2001:db8:aa:bb::1"},
		{CDS_QLOG_IP_TRUNCATED, "192.0.2.0", "2001:db8:aa::"},
		{CDS_QLOG_IP_NONE, "", ""},
	};
	int64_t t = T("2030-03-04T10:00:00Z");
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	char got[16];
	struct qrows *rs;

	(void)state;
	sin4(&a4, "192.0.2.55");
	sin6(&a6, "2001:db8:aa:bb::1");
	for (size_t i = 0; i < 3; i++) {
		char *dir = tmpdir();
		struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, cases[i].p, 0);
		struct cds_qlog_request r = {(struct sockaddr *)&a4, NULL,
					     CDS_EP_PARAMS, 0, 200, t};
		struct cds_error err;

		assert_int_equal(cds_qlog_submit(q, &r, &err), CDS_OK);
		r.peer = (struct sockaddr *)&a6;
		r.time_us = t + 1;
		assert_int_equal(cds_qlog_submit(q, &r, &err), CDS_OK);
		cds_qlog_close(q);
		rs = day_rows(dir, t);
		assert_int_equal(rs->n, 2);
		assert_string_equal(rs->r[0].ip, cases[i].want4);
		assert_int_equal(rs->r[0].has_ip, cases[i].want4[0] != 0);
		assert_string_equal(rs->r[1].ip, cases[i].want6);
		assert_true(qlogtest_configs(dir, cds_time_day_start(t),
					     cds_time_day_start(t) +
						     CDS_USEC_PER_DAY, got) >= 1);
		assert_string_equal(got, qlog_ip_policy_name(cases[i].p));
		free(rs);
		rmtree(dir);
	}
}

/*
 * Through the Oblivious HTTP gateway the peer is the relay: even under
 * `full` no address is kept, and the record says via 'ohttp'; a direct
 * record beside it keeps its address and has via NULL.
 */
static void test_via_gateway_keeps_no_address(void **state)
{
	int64_t t = T("2030-03-05T10:00:00Z");
	struct sockaddr_in a4;
	char *dir = tmpdir();
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	struct cds_qlog_request r = {(struct sockaddr *)&a4, NULL,
				     CDS_EP_DISCOVER, 5, 200, t,
				     CDS_QLOG_VIA_OHTTP};
	struct qrows *rs;
	struct cds_error err;

	(void)state;
	sin4(&a4, "192.0.2.55");
	assert_int_equal(cds_qlog_submit(q, &r, &err), CDS_OK);
	r.via = CDS_QLOG_VIA_DIRECT;
	r.time_us = t + 1;
	assert_int_equal(cds_qlog_submit(q, &r, &err), CDS_OK);
	cds_qlog_close(q);
	rs = day_rows(dir, t);
	assert_int_equal(rs->n, 2);
	assert_string_equal(rs->r[0].via, "ohttp");
	assert_false(rs->r[0].has_ip);
	assert_int_equal(rs->r[0].ip_bits, 0);
	assert_string_equal(rs->r[0].endpoint, "discover");
	assert_int_equal(rs->r[0].items, 5);
	assert_false(rs->r[1].has_via);
	assert_string_equal(rs->r[1].ip, "192.0.2.55");
	free(rs);
	rmtree(dir);
}

/*
 * A day file of schema 1 (before `via`), as an older cdsd left it, gains
 * the column when the writer next opens it; its old row keeps via NULL.
 */
static void test_schema_1_upgraded(void **state)
{
	static const char v1[] =
		"CREATE TABLE records(id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL,"
		" ip TEXT, ip_bits INTEGER NOT NULL, account TEXT, endpoint TEXT NOT NULL,"
		" items INTEGER NOT NULL, status INTEGER NOT NULL, handles TEXT);"
		"CREATE TABLE config(time_us INTEGER NOT NULL, event TEXT NOT NULL,"
		" plain_lookup INTEGER NOT NULL, ip_policy TEXT NOT NULL,"
		" retention_days INTEGER NOT NULL, durability TEXT NOT NULL);"
		"INSERT INTO records(time_us, ip, ip_bits, endpoint, items, status)"
		" VALUES (1, '192.0.2.0', 24, 'params', 0, 200);"
		"PRAGMA application_id = 1667527537; PRAGMA user_version = 1;";
	int64_t t = T("2030-03-06T10:00:00Z");
	char *dir, *path, qdir[512];
	struct cds_qlog *q;
	struct cds_qlog_request r = {NULL, NULL, CDS_EP_DISCOVER, 1, 200, t,
				     CDS_QLOG_VIA_OHTTP};
	struct cds_error err;
	sqlite3 *db;

	(void)state;
	SQLITE_ONLY();
	dir = tmpdir();
	snprintf(qdir, sizeof(qdir), "%s/querylog", dir);
	assert_int_equal(mkdir(qdir, 0700), 0);
	path = day_file(dir, "2030-03-06");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(chmod(path, 0600), 0);
	q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	assert_int_equal(cds_qlog_submit(q, &r, &err), CDS_OK);
	cds_qlog_close(q);
	assert_int_equal(query_int(path, "PRAGMA user_version"), 2);
	/* An existing file keeps the page size it was made with. */
	assert_int_equal(query_int(path, "PRAGMA page_size"), 4096);
	assert_int_equal(query_int(path, "SELECT count(*) FROM records WHERE"
				   " via IS NULL AND endpoint = 'params'"), 1);
	assert_int_equal(query_int(path, "SELECT count(*) FROM records WHERE"
				   " via = 'ohttp' AND endpoint = 'discover'"), 1);
	free(path);
	rmtree(dir);
}

/* ---- day files ------------------------------------------------------ */

static void test_day_split(void **state)
{
	char *dir = tmpdir(), *a;
	struct qrows *ra, *rb;
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	struct cds_qlog_stats st;

	(void)state;
	submit_at(q, T("2030-01-01T23:59:59.999999Z"), CDS_OK);
	submit_at(q, T("2030-01-02T00:00:00.000001Z"), CDS_OK);
	submit_at(q, T("2030-01-02T00:00:00Z"), CDS_OK);
	cds_qlog_close(q);
	ra = day_rows(dir, T("2030-01-01"));
	rb = day_rows(dir, T("2030-01-02"));
	assert_int_equal(ra->n, 1);
	assert_int_equal(rb->n, 2);
	assert_int_equal(ra->r[0].time_us, T("2030-01-01T23:59:59.999999Z"));
	assert_int_equal(rb->r[0].time_us, T("2030-01-02T00:00:00Z"));
	/* Every day states the modes in force. */
	assert_true(qlogtest_configs(dir, T("2030-01-01"), T("2030-01-02"),
				     NULL) >= 1);
	assert_true(qlogtest_configs(dir, T("2030-01-02"), T("2030-01-03"),
				     NULL) >= 1);
	if (!storetest_pg()) {
		a = day_file(dir, "2030-01-01");
		assert_int_equal(query_int(a, "PRAGMA user_version"), 2);
		/* New files get large pages: fewer writes per record. */
		assert_int_equal(query_int(a, "PRAGMA page_size"), 65536);
		free(a);
	}
	(void)st;
	free(ra);
	free(rb);
	rmtree(dir);
}

static void test_file_modes(void **state)
{
	char *dir = tmpdir(), *a, *qd;
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	struct stat sb;

	(void)state;
	if (storetest_pg()) {
		cds_qlog_close(q);
		rmtree(dir);
		skip();
	}
	submit_at(q, T("2030-01-01T12:00:00Z"), CDS_OK);
	a = day_file(dir, "2030-01-01");
	assert_int_equal(stat(a, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_true(asprintf(&qd, "%s/querylog", dir) > 0);
	assert_int_equal(stat(qd, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	cds_qlog_close(q);
	free(a);
	free(qd);
	rmtree(dir);
}

static void test_retention_zero(void **state)
{
	char *dir = tmpdir(), *qd;
	struct cds_qlog *q = open_log(dir, 0, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	const char *h[] = {"tel:+15551234567"};
	struct cds_qlog_request r = {NULL, NULL, CDS_EP_LOOKUP, 1, 200, 0};
	struct cds_qlog_stats st;
	struct cds_error err;

	(void)state;
	for (int i = 0; i < 100; i++)
		submit_at(q, 0, CDS_OK);
	assert_int_equal(cds_qlog_submit_lookup(q, &r, h, 1, &err), CDS_OK);
	cds_qlog_get_stats(q, &st);
	assert_int_equal(st.written, 0);
	assert_int_equal(st.queue_depth, 0);
	cds_qlog_close(q);
	assert_true(asprintf(&qd, "%s/querylog", dir) > 0);
	assert_false(exists(qd));
	assert_int_equal(qlogtest_count(dir, INT64_MIN, INT64_MAX), 0);
	assert_int_equal(qlogtest_configs(dir, INT64_MIN, INT64_MAX, NULL), 0);
	free(qd);
	rmtree(dir);
}

static void test_lookup_handles(void **state)
{
	char *dir = tmpdir();
	struct qrows *rs;
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_NONE, 0);
	const char *h[] = {"tel:+15551234567", "mailto:bob@example.org"};
	const char *bad[] = {"tel:+15551234567", "tel:+1 555"};
	uint8_t acct[CDS_ACCOUNT_ID_BYTES];
	struct cds_qlog_request r = {NULL, acct, CDS_EP_LOOKUP, 2, 200,
				     T("2030-05-05T05:05:05Z")};
	struct cds_error err;

	(void)state;
	memset(acct, 0xab, sizeof(acct));
	assert_int_equal(cds_qlog_submit_lookup(q, &r, h, 2, &err), CDS_OK);
	cds_error_clear(&err);
	assert_int_equal(cds_qlog_submit_lookup(q, &r, bad, 2, &err),
			 CDS_ERR_INVALID);
	assert_int_equal(err.index, 1);
	r.endpoint = CDS_EP_DISCOVER;
	r.time_us++;
	assert_int_equal(cds_qlog_submit(q, &r, &err), CDS_OK);
	cds_qlog_close(q);
	rs = day_rows(dir, T("2030-05-05"));
	assert_int_equal(rs->n, 2);
	assert_string_equal(rs->r[0].endpoint, "lookup");
	assert_string_equal(rs->r[0].handles,
			    "tel:+15551234567\nmailto:bob@example.org");
	assert_string_equal(rs->r[1].endpoint, "discover");
	assert_false(rs->r[1].has_handles);
	assert_string_equal(rs->r[0].account, "abababababababababababababababab");
	free(rs);
	/* The read interface finds the lookup by either handle, exactly. */
	rs = qlogtest_read(dir, INT64_MIN, INT64_MAX, CDS_QLOG_MATCH_HANDLE,
			   "mailto:bob@example.org");
	assert_int_equal(rs->n, 1);
	free(rs);
	rs = qlogtest_read(dir, INT64_MIN, INT64_MAX, CDS_QLOG_MATCH_HANDLE,
			   "tel:+1555123456");
	assert_int_equal(rs->n, 0);
	free(rs);
	rs = qlogtest_read(dir, INT64_MIN, INT64_MAX, CDS_QLOG_MATCH_ACCOUNT,
			   "abababababababababababababababab");
	assert_int_equal(rs->n, 2);
	free(rs);
	rmtree(dir);
}

/* ---- sweep ---------------------------------------------------------- */

static void touch(const char *dir, const char *name)
{
	char *p;
	int fd;

	assert_true(asprintf(&p, "%s/querylog/%s", dir, name) > 0);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	free(p);
}

/* A day's files on SQLite, nothing on PostgreSQL. */
static void touch_sqlite(const char *dir, const char *name)
{
	if (!storetest_pg())
		touch(dir, name);
}

static bool sqlite_file(const char *dir, const char *name)
{
	char *p;
	bool e;

	assert_true(asprintf(&p, "%s/querylog/%s", dir, name) > 0);
	e = exists(p);
	free(p);
	return e;
}

static void test_sweep(void **state)
{
	char *dir = tmpdir();
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	int64_t now = T("2030-02-15T12:00:00Z");
	struct cds_error err;
	uint64_t n = 99, expect;
	bool pg = storetest_pg() != NULL;

	(void)state;
	/* Days 2030-01-10 .. 2030-02-15 with one record each. */
	for (int64_t d = T("2030-01-10"); d <= now; d += CDS_USEC_PER_DAY)
		submit_at(q, d + 3600 * CDS_USEC_PER_SEC, CDS_OK);
	cds_qlog_close(q);
	touch_sqlite(dir, "2030-01-12.sqlite3-wal");
	touch_sqlite(dir, "2030-01-12.sqlite3-journal");
	touch_sqlite(dir, "2030-01-05.sqlite3-shm");   /* orphan side file */
	touch_sqlite(dir, "notes.txt");                /* not ours: left alone */
	touch_sqlite(dir, "2030-13-01.sqlite3");       /* not a date: left alone */
	/* Retention 30 at 2030-02-15T12: days that ended before 01-16T12:
	 * 01-10 .. 01-15, on SQLite the orphan 01-05, and the real today that
	 * the writer made at start-up to state its modes. */
	expect = 6 + !pg + qlogtest_day_present(dir, cds_time_day_start(cds_now_us()));
	assert_int_equal(cds_qlog_sweep(dir, 30, now, &n, &err), CDS_OK);
	assert_int_equal(n, expect);
	assert_false(qlogtest_day_present(dir, T("2030-01-15")));
	assert_false(qlogtest_day_present(dir, T("2030-01-12")));
	assert_true(qlogtest_day_present(dir, T("2030-01-16"))); /* ended 29.5
								   * days ago */
	if (!pg) {
		assert_false(sqlite_file(dir, "2030-01-12.sqlite3"));
		assert_false(sqlite_file(dir, "2030-01-12.sqlite3-wal"));
		assert_false(sqlite_file(dir, "2030-01-05.sqlite3-shm"));
		assert_true(sqlite_file(dir, "2030-01-16.sqlite3"));
		assert_true(sqlite_file(dir, "notes.txt"));
		assert_true(sqlite_file(dir, "2030-13-01.sqlite3"));
	}
	/* Nothing older than retention + 1 day remains. */
	assert_int_equal(qlogtest_count(dir, INT64_MIN,
					now - 31 * CDS_USEC_PER_DAY), 0);
	assert_int_equal(qlogtest_configs(dir, INT64_MIN,
					  now - 31 * CDS_USEC_PER_DAY, NULL), 0);
	assert_int_equal(qlogtest_count(dir, INT64_MIN, INT64_MAX), 31);
	/* Idempotent; retention 0 removes everything, negative is refused. */
	assert_int_equal(cds_qlog_sweep(dir, 30, now, &n, &err), CDS_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cds_qlog_sweep(dir, -1, now, &n, &err), CDS_ERR_INVALID);
	assert_int_equal(cds_qlog_sweep(dir, 0, now, &n, &err), CDS_OK);
	assert_int_equal(n, 31);
	assert_int_equal(qlogtest_count(dir, INT64_MIN, INT64_MAX), 0);
	assert_int_equal(qlogtest_configs(dir, INT64_MIN, INT64_MAX, NULL), 0);
	rmtree(dir);
}

static void test_sweep_missing_dir(void **state)
{
	char *dir = tmpdir(), *qd;
	struct cds_error err;
	uint64_t n = 5;

	(void)state;
	assert_int_equal(cds_qlog_sweep(dir, 30, cds_now_us(), &n, &err), CDS_OK);
	assert_int_equal(n, 0);
	assert_true(asprintf(&qd, "%s/querylog", dir) > 0);
	assert_false(exists(qd)); /* a sweep creates nothing */
	free(qd);
	rmtree(dir);
}

/* The sweeper thread of a running log removes old days at start-up. */
static void test_sweeper_thread(void **state)
{
	char *dir = tmpdir();
	/* Written under a longer retention, so that this log's own sweeper
	 * leaves it alone; the next one, with 30 days, must remove it. */
	struct cds_qlog *q = open_log(dir, 60, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	int64_t now = cds_now_us();
	struct cds_qlog_stats st;
	int64_t old = cds_time_day_start(now - 40 * CDS_USEC_PER_DAY);
	int64_t cur = cds_time_day_start(now);

	(void)state;
	submit_at(q, now - 40 * CDS_USEC_PER_DAY, CDS_OK);
	cds_qlog_close(q);
	assert_true(qlogtest_day_present(dir, old));
	q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	/* The sweeper counts a file after deleting it: wait for the count. */
	for (int64_t end = cds_monotonic_us() + WAIT_US;
	     cds_monotonic_us() < end; usleep(10000)) {
		cds_qlog_get_stats(q, &st);
		if (st.swept_files == 1)
			break;
	}
	cds_qlog_close(q);
	assert_false(qlogtest_day_present(dir, old));
	/* the start-up statement of the modes */
	assert_true(qlogtest_day_present(dir, cur));
	assert_int_equal(st.swept_files, 1);
	rmtree(dir);
}

/* A day file swept by another process while the log runs is recreated,
 * not written into as an unlinked file. */
static void test_file_deleted_behind(void **state)
{
	char *dir = tmpdir();
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	int64_t t = T("2030-04-04T04:00:00Z");
	struct cds_error err;
	uint64_t n;

	(void)state;
	submit_at(q, t, CDS_OK);
	assert_int_equal(day_count(dir, t), 1);
	assert_int_equal(cds_qlog_sweep(dir, 0, t, &n, &err), CDS_OK);
	assert_false(qlogtest_day_present(dir, cds_time_day_start(t)));
	submit_at(q, t + 1, CDS_OK);
	assert_int_equal(day_count(dir, t), 1);
	assert_true(qlogtest_configs(dir, cds_time_day_start(t),
				     cds_time_day_start(t) + CDS_USEC_PER_DAY,
				     NULL) >= 1);
	cds_qlog_close(q);
	rmtree(dir);
}

/* ---- durability, back-pressure, errors ------------------------------ */

static void test_sync_durability(void **state)
{
	char *dir = tmpdir();
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	int64_t t = T("2030-06-01T08:00:00Z");

	(void)state;
	for (int i = 1; i <= 5; i++) {
		submit_at(q, t + i, CDS_OK);
		/* Readable by another connection as soon as submit returns. */
		assert_int_equal(day_count(dir, t), i);
	}
	cds_qlog_close(q);
	rmtree(dir);
}

struct burst {
	struct cds_qlog *q;
	int n;
	int64_t t;
};

static void *burst_main(void *arg)
{
	struct burst *b = arg;
	struct cds_qlog_request r = {NULL, NULL, CDS_EP_BUCKET_GET, 1, 200, b->t};
	struct cds_error err;

	for (int i = 0; i < b->n; i++)
		if (cds_qlog_submit(b->q, &r, &err) != CDS_OK)
			return (void *)1;
	return NULL;
}

/* Many sync submitters share commits; the file stays consistent. */
static void test_concurrent_integrity(void **state)
{
	char *dir = tmpdir(), *a, txt[32];
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	pthread_t th[4];
	struct burst b = {q, 250, T("2030-07-07T07:07:07Z")};
	struct cds_qlog_stats st;
	void *ret;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, burst_main, &b), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	cds_qlog_get_stats(q, &st);
	cds_qlog_close(q);
	assert_int_equal(st.written, 1000);
	assert_int_equal(st.write_errors, 0);
	assert_true(st.groups <= 1000);
	assert_int_equal(day_count(dir, b.t), 1000);
	if (!storetest_pg()) {
		a = day_file(dir, "2030-07-07");
		query_text(a, "PRAGMA integrity_check", txt, sizeof(txt));
		assert_string_equal(txt, "ok");
		free(a);
	}
	rmtree(dir);
}

/*
 * Two logs on one data directory (two replicas on one database): both
 * write the same new day at once; every record lands, none fails, and the
 * day is made once (PostgreSQL: under the advisory lock).
 */
static void test_two_writers(void **state)
{
	char *dir = tmpdir();
	int64_t n;
	struct cds_qlog *q1 = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	struct cds_qlog *q2 = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	struct burst b1 = {q1, 300, T("2030-07-08T07:07:07Z")};
	struct burst b2 = {q2, 300, T("2030-07-08T07:07:07Z")};
	struct cds_qlog_stats s1, s2;
	pthread_t th[4];
	void *ret;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, burst_main,
						i % 2 ? &b2 : &b1), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	cds_qlog_get_stats(q1, &s1);
	cds_qlog_get_stats(q2, &s2);
	cds_qlog_close(q1);
	cds_qlog_close(q2);
	assert_int_equal(s1.write_errors + s2.write_errors, 0);
	assert_int_equal(day_count(dir, b1.t), 1200);
	n = qlogtest_configs(dir, cds_time_day_start(b1.t),
			     cds_time_day_start(b1.t) + CDS_USEC_PER_DAY, NULL);
	/* PostgreSQL states the day once; two SQLite writers on one file
	 * (not a deployment: one cdsd per data directory) may both. */
	if (storetest_pg())
		assert_int_equal(n, 1);
	else
		assert_true(n >= 1);
	rmtree(dir);
}

/* A lock held on the day's storage by another connection. */
struct stall {
	sqlite3 *db;
	PGconn *pg;
};

static void stall_begin(struct stall *st, const char *dir, const char *day)
{
	char *a;
	PGresult *r;

	memset(st, 0, sizeof(*st));
	if (storetest_pg()) {
		st->pg = PQconnectdb(storetest_pg());
		assert_int_equal(PQstatus(st->pg), CONNECTION_OK);
		r = PQexec(st->pg, "BEGIN; LOCK TABLE cds.qlog_records IN ACCESS "
				   "EXCLUSIVE MODE");
		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		return;
	}
	a = day_file(dir, day);
	assert_int_equal(sqlite3_open(a, &st->db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(st->db, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
			 SQLITE_OK);
	free(a);
}

static void stall_end(struct stall *st)
{
	if (st->pg) {
		PQclear(PQexec(st->pg, "ROLLBACK"));
		PQfinish(st->pg);
		return;
	}
	assert_int_equal(sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(st->db);
}

/* A locked day stalls the writer; the queue fills; submit says BUSY. */
static void test_busy_when_full(void **state)
{
	char *dir = tmpdir();
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 4);
	int64_t t = T("2030-08-08T08:00:00Z"), t0;
	struct cds_qlog_stats st;
	struct stall lock;
	int i;

	(void)state;
	submit_at(q, t, CDS_OK);
	for (int64_t end = cds_monotonic_us() + WAIT_US;
	     cds_monotonic_us() < end; usleep(2000)) {
		cds_qlog_get_stats(q, &st);
		if (st.written == 1)
			break;
	}
	assert_int_equal(st.written, 1);
	stall_begin(&lock, dir, "2030-08-08");
	submit_at(q, t + 1, CDS_OK); /* the writer takes it and blocks */
	usleep(50000);
	for (i = 0; i < 3; i++) /* fill the ring: 3 + the one in flight */
		submit_at(q, t + 2 + i, CDS_OK);
	t0 = cds_monotonic_us();
	submit_at(q, t + 10, CDS_ERR_BUSY);
	assert_true(cds_monotonic_us() - t0 >= 40000); /* it waited first */
	cds_qlog_get_stats(q, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.queue_depth, 4);
	stall_end(&lock);
	cds_qlog_get_stats(q, &st);
	cds_qlog_close(q);
	assert_int_equal(day_count(dir, t), 5);
	rmtree(dir);
}

/*
 * Storage that cannot be written: counted and logged, never fatal; in
 * sync mode the submitter is told.  SQLite: a regular file where the data
 * directory should be (even root cannot create DIR/querylog under it).
 * PostgreSQL: a server that is not there (nothing listens on port 1).
 */
static void test_write_errors(void **state)
{
	char *dir = tmpdir(), *file;
	struct cds_qlog *q;
	struct cds_qlog_stats st;
	struct cds_error err;
	enum cds_err want = storetest_pg() ? CDS_ERR_STORE : CDS_ERR_IO;
	int fd;

	(void)state;
	if (storetest_pg()) {
		file = strdup(dir);
		assert_int_equal(cds_store_conf_write(
					 file, "postgresql://cds@127.0.0.1:1/none",
					 &err), CDS_OK);
	} else {
		assert_true(asprintf(&file, "%s/not-a-dir", dir) > 0);
		fd = open(file, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	q = open_log(file, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	for (int i = 0; i < 10; i++)
		submit_at(q, T("2030-09-09T09:09:09Z") + i, CDS_OK);
	for (int64_t end = cds_monotonic_us() + WAIT_US;
	     cds_monotonic_us() < end; usleep(2000)) {
		cds_qlog_get_stats(q, &st);
		if (st.write_errors == 10)
			break;
	}
	assert_int_equal(st.write_errors, 10);
	assert_int_equal(st.written, 0);
	cds_qlog_close(q);
	q = open_log(file, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	submit_at(q, T("2030-09-09T09:09:09Z"), want);
	cds_qlog_get_stats(q, &st);
	assert_int_equal(st.written, 0);
	assert_int_equal(st.write_errors, 1);
	cds_qlog_close(q);
	free(file);
	rmtree(dir);
}

/* PostgreSQL: a log whose schema is newer than this program is refused at
 * open, with a message naming the version; nothing is written. */
static void test_schema_too_new(void **state)
{
	struct cds_qlog_config cfg = {NULL, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL,
				      0, false};
	struct cds_qlog *q;
	struct cds_error err;
	char *dir;

	(void)state;
	PG_ONLY();
	dir = tmpdir();
	q = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	submit_at(q, T("2030-10-10T10:10:10Z"), CDS_OK);
	cds_qlog_close(q);
	qlogtest_sql("UPDATE cds.qlog_version SET version = 99");
	cfg.datadir = dir;
	cds_error_clear(&err);
	assert_int_equal(cds_qlog_open(&q, &cfg, &err), CDS_ERR_STORE);
	assert_null(q);
	assert_non_null(strstr(err.msg, "schema version 99"));
	qlogtest_sql("UPDATE cds.qlog_version SET version = 1");
	assert_int_equal(qlogtest_count(dir, INT64_MIN, INT64_MAX), 1);
	rmtree(dir);
}

static void test_bad_config(void **state)
{
	struct cds_qlog_config cfg = {NULL, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL,
				      0, false};
	struct cds_qlog *q = (struct cds_qlog *)1;
	struct cds_error err;

	(void)state;
	assert_int_equal(cds_qlog_open(&q, &cfg, &err), CDS_ERR_INVALID);
	assert_null(q);
	cfg.datadir = "/tmp";
	cfg.retention_days = -1;
	assert_int_equal(cds_qlog_open(&q, &cfg, &err), CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "-1"));
	cds_qlog_close(NULL);
	assert_string_equal(cds_endpoint_name(CDS_EP_LOOKUP), "lookup");
	assert_string_equal(cds_endpoint_name((enum cds_endpoint)999), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_policy),
		cmocka_unit_test(test_ip_forms),
		cmocka_unit_test(test_ip_policy_on_disk),
		cmocka_unit_test(test_via_gateway_keeps_no_address),
		cmocka_unit_test(test_schema_1_upgraded),
		cmocka_unit_test(test_day_split),
		cmocka_unit_test(test_file_modes),
		cmocka_unit_test(test_retention_zero),
		cmocka_unit_test(test_lookup_handles),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_sweep_missing_dir),
		cmocka_unit_test(test_sweeper_thread),
		cmocka_unit_test(test_file_deleted_behind),
		cmocka_unit_test(test_sync_durability),
		cmocka_unit_test(test_concurrent_integrity),
		cmocka_unit_test(test_two_writers),
		cmocka_unit_test(test_busy_when_full),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_schema_too_new),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
