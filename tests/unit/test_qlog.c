/*
 * test_qlog.c: the query log (lib/store/qlog*.c): IP policy, day files,
 * retention 0, sweep, sync durability, back-pressure, I/O errors.
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
#include "store/qlog.h"
#include "store/qlog_int.h"

/* Bound of every wait on the writer or sweeper: generous, since the suite
 * must pass on a machine whose cores are busy with other work. */
#define WAIT_US (60 * CDS_USEC_PER_SEC)

/* ---- helpers -------------------------------------------------------- */

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/cds-qlog-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
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
	assert_int_equal(qlog_ip_forms("::ffff:203.0.113.5", full, &fb, tr, &tb,
				       NULL), CDS_OK);
	assert_string_equal(full, "203.0.113.5");
	assert_string_equal(tr, "203.0.113.0");
	assert_int_equal(fb, 32);
	assert_int_equal(tb, 24);
	assert_int_equal(qlog_ip_forms("2001:DB8:1:ffff::1", full, &fb, tr, &tb,
				       NULL), CDS_OK);
	assert_string_equal(full, "2001:db8:1:ffff::1");
	assert_string_equal(tr, "2001:db8:1::");
	assert_int_equal(qlog_ip_forms("203.0.113", full, &fb, tr, &tb, NULL),
			 CDS_ERR_INVALID);
	assert_int_equal(qlog_ip_forms("203.0.113.5/24", full, &fb, tr, &tb, NULL),
			 CDS_ERR_INVALID);
	assert_int_equal(qlog_ip_forms("", full, &fb, tr, &tb, NULL),
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
	char got[64], *path;

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
		path = day_file(dir, "2030-03-04");
		query_text(path, "SELECT ip FROM records ORDER BY time_us LIMIT 1",
			   got, sizeof(got));
		assert_string_equal(got, cases[i].want4);
		query_text(path, "SELECT ip FROM records ORDER BY time_us DESC LIMIT 1",
			   got, sizeof(got));
		assert_string_equal(got, cases[i].want6);
		query_text(path, "SELECT ip_policy FROM config LIMIT 1", got,
			   sizeof(got));
		assert_string_equal(got, qlog_ip_policy_name(cases[i].p));
		if (cases[i].p != CDS_QLOG_IP_FULL)
			assert_int_equal(query_int(path, "SELECT count(*) FROM records"
						   " WHERE ip LIKE '192.0.2.55'"
						   " OR ip LIKE '%bb::1'"), 0);
		free(path);
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
	char *dir = tmpdir(), *path, got[64];
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	struct cds_qlog_request r = {(struct sockaddr *)&a4, NULL,
				     CDS_EP_DISCOVER, 5, 200, t,
				     CDS_QLOG_VIA_OHTTP};
	struct cds_error err;

	(void)state;
	sin4(&a4, "192.0.2.55");
	assert_int_equal(cds_qlog_submit(q, &r, &err), CDS_OK);
	r.via = CDS_QLOG_VIA_DIRECT;
	r.time_us = t + 1;
	assert_int_equal(cds_qlog_submit(q, &r, &err), CDS_OK);
	cds_qlog_close(q);
	path = day_file(dir, "2030-03-05");
	assert_int_equal(query_int(path, "SELECT count(*) FROM records WHERE"
				   " via = 'ohttp' AND ip IS NULL AND ip_bits = 0"
				   " AND endpoint = 'discover' AND items = 5"), 1);
	query_text(path, "SELECT ip FROM records WHERE via IS NULL", got,
		   sizeof(got));
	assert_string_equal(got, "192.0.2.55");
	free(path);
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
	char *dir = tmpdir(), *path, qdir[512];
	struct cds_qlog *q;
	struct cds_qlog_request r = {NULL, NULL, CDS_EP_DISCOVER, 1, 200, t,
				     CDS_QLOG_VIA_OHTTP};
	struct cds_error err;
	sqlite3 *db;

	(void)state;
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
	char *dir = tmpdir(), *a, *b;
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	struct cds_qlog_stats st;

	(void)state;
	submit_at(q, T("2030-01-01T23:59:59.999999Z"), CDS_OK);
	submit_at(q, T("2030-01-02T00:00:00.000001Z"), CDS_OK);
	submit_at(q, T("2030-01-02T00:00:00Z"), CDS_OK);
	cds_qlog_close(q);
	a = day_file(dir, "2030-01-01");
	b = day_file(dir, "2030-01-02");
	assert_int_equal(query_int(a, "SELECT count(*) FROM records"), 1);
	assert_int_equal(query_int(b, "SELECT count(*) FROM records"), 2);
	assert_int_equal(query_int(a, "SELECT max(time_us) FROM records"),
			 T("2030-01-01T23:59:59.999999Z"));
	assert_int_equal(query_int(b, "SELECT min(time_us) FROM records"),
			 T("2030-01-02T00:00:00Z"));
	/* Every day file states the modes in force. */
	assert_true(query_int(a, "SELECT count(*) FROM config") >= 1);
	assert_true(query_int(b, "SELECT count(*) FROM config") >= 1);
	assert_int_equal(query_int(a, "PRAGMA user_version"), 2);
	/* New files get large pages: fewer writes per record (qlog_day.c). */
	assert_int_equal(query_int(a, "PRAGMA page_size"), 65536);
	(void)st;
	free(a);
	free(b);
	rmtree(dir);
}

static void test_file_modes(void **state)
{
	char *dir = tmpdir(), *a, *qd;
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	struct stat sb;

	(void)state;
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
	free(qd);
	rmtree(dir);
}

static void test_lookup_handles(void **state)
{
	char *dir = tmpdir(), *a, got[256];
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
	a = day_file(dir, "2030-05-05");
	assert_int_equal(query_int(a, "SELECT count(*) FROM records"), 2);
	query_text(a, "SELECT handles FROM records WHERE endpoint='lookup'", got,
		   sizeof(got));
	assert_string_equal(got, "tel:+15551234567\nmailto:bob@example.org");
	assert_int_equal(query_int(a, "SELECT count(*) FROM records WHERE "
				   "endpoint='discover' AND handles IS NULL"), 1);
	query_text(a, "SELECT account FROM records LIMIT 1", got, sizeof(got));
	assert_string_equal(got, "abababababababababababababababab");
	free(a);
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

static void test_sweep(void **state)
{
	char *dir = tmpdir(), *p;
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	int64_t now = T("2030-02-15T12:00:00Z");
	struct cds_error err;
	uint64_t n = 99, expect;
	char today[11];

	(void)state;
	/* Days 2030-01-10 .. 2030-02-15 with one record each. */
	for (int64_t d = T("2030-01-10"); d <= now; d += CDS_USEC_PER_DAY)
		submit_at(q, d + 3600 * CDS_USEC_PER_SEC, CDS_OK);
	cds_qlog_close(q);
	touch(dir, "2030-01-12.sqlite3-wal");
	touch(dir, "2030-01-12.sqlite3-journal");
	touch(dir, "2030-01-05.sqlite3-shm");   /* orphan side file */
	touch(dir, "notes.txt");                /* not ours: left alone */
	touch(dir, "2030-13-01.sqlite3");       /* not a date: left alone */
	/* Retention 30 at 2030-02-15T12: days that ended before 01-16T12:
	 * 01-10 .. 01-15, the orphan 01-05, and the real today's file that
	 * the writer created at start-up to state its modes. */
	cds_time_day(today, cds_now_us());
	p = day_file(dir, today);
	expect = 7 + exists(p);
	free(p);
	assert_int_equal(cds_qlog_sweep(dir, 30, now, &n, &err), CDS_OK);
	assert_int_equal(n, expect);
	p = day_file(dir, "2030-01-15");
	assert_false(exists(p));
	free(p);
	p = day_file(dir, "2030-01-12");
	assert_false(exists(p));
	free(p);
	assert_true(asprintf(&p, "%s/querylog/2030-01-12.sqlite3-wal", dir) > 0);
	assert_false(exists(p));
	free(p);
	assert_true(asprintf(&p, "%s/querylog/2030-01-05.sqlite3-shm", dir) > 0);
	assert_false(exists(p));
	free(p);
	p = day_file(dir, "2030-01-16");
	assert_true(exists(p)); /* ended 29.5 days ago: kept */
	free(p);
	assert_true(asprintf(&p, "%s/querylog/notes.txt", dir) > 0);
	assert_true(exists(p));
	free(p);
	assert_true(asprintf(&p, "%s/querylog/2030-13-01.sqlite3", dir) > 0);
	assert_true(exists(p));
	free(p);
	/* Nothing older than retention + 1 day remains. */
	for (int64_t d = T("2030-01-01"); d < now - 31 * CDS_USEC_PER_DAY;
	     d += CDS_USEC_PER_DAY) {
		char day[11];

		cds_time_day(day, d);
		p = day_file(dir, day);
		assert_false(exists(p));
		free(p);
	}
	/* Idempotent; retention 0 removes everything, negative is refused. */
	assert_int_equal(cds_qlog_sweep(dir, 30, now, &n, &err), CDS_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cds_qlog_sweep(dir, -1, now, &n, &err), CDS_ERR_INVALID);
	assert_int_equal(cds_qlog_sweep(dir, 0, now, &n, &err), CDS_OK);
	assert_int_equal(n, 31);
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
	char *dir = tmpdir(), *old, *cur;
	/* Written under a longer retention, so that this log's own sweeper
	 * leaves it alone; the next one, with 30 days, must remove it. */
	struct cds_qlog *q = open_log(dir, 60, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	int64_t now = cds_now_us();
	struct cds_qlog_stats st;
	char day[11];

	(void)state;
	submit_at(q, now - 40 * CDS_USEC_PER_DAY, CDS_OK);
	cds_qlog_close(q);
	cds_time_day(day, now - 40 * CDS_USEC_PER_DAY);
	old = day_file(dir, day);
	cds_time_day(day, now);
	cur = day_file(dir, day);
	assert_true(exists(old));
	q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 0);
	/* The sweeper counts a file after deleting it: wait for the count. */
	for (int64_t end = cds_monotonic_us() + WAIT_US;
	     cds_monotonic_us() < end; usleep(10000)) {
		cds_qlog_get_stats(q, &st);
		if (st.swept_files == 1)
			break;
	}
	cds_qlog_close(q);
	assert_false(exists(old));
	assert_true(exists(cur)); /* the start-up statement of the modes */
	assert_int_equal(st.swept_files, 1);
	free(old);
	free(cur);
	rmtree(dir);
}

/* A day file swept by another process while the log runs is recreated,
 * not written into as an unlinked file. */
static void test_file_deleted_behind(void **state)
{
	char *dir = tmpdir(), *a;
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	int64_t t = T("2030-04-04T04:00:00Z");
	struct cds_error err;
	uint64_t n;

	(void)state;
	a = day_file(dir, "2030-04-04");
	submit_at(q, t, CDS_OK);
	assert_int_equal(query_int(a, "SELECT count(*) FROM records"), 1);
	assert_int_equal(cds_qlog_sweep(dir, 0, t, &n, &err), CDS_OK);
	assert_false(exists(a));
	submit_at(q, t + 1, CDS_OK);
	assert_true(exists(a));
	assert_int_equal(query_int(a, "SELECT count(*) FROM records"), 1);
	assert_true(query_int(a, "SELECT count(*) FROM config") >= 1);
	cds_qlog_close(q);
	free(a);
	rmtree(dir);
}

/* ---- durability, back-pressure, errors ------------------------------ */

static void test_sync_durability(void **state)
{
	char *dir = tmpdir(), *a;
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_SYNC, CDS_QLOG_IP_FULL, 0);
	int64_t t = T("2030-06-01T08:00:00Z");

	(void)state;
	a = day_file(dir, "2030-06-01");
	for (int i = 1; i <= 5; i++) {
		submit_at(q, t + i, CDS_OK);
		/* Readable by another connection as soon as submit returns. */
		assert_int_equal(query_int(a, "SELECT count(*) FROM records"), i);
	}
	cds_qlog_close(q);
	free(a);
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
	a = day_file(dir, "2030-07-07");
	assert_int_equal(query_int(a, "SELECT count(*) FROM records"), 1000);
	query_text(a, "PRAGMA integrity_check", txt, sizeof(txt));
	assert_string_equal(txt, "ok");
	free(a);
	rmtree(dir);
}

/* A locked day file stalls the writer; the queue fills; submit says BUSY. */
static void test_busy_when_full(void **state)
{
	char *dir = tmpdir(), *a;
	struct cds_qlog *q = open_log(dir, 30, CDS_QLOG_BATCH, CDS_QLOG_IP_FULL, 4);
	int64_t t = T("2030-08-08T08:00:00Z"), t0;
	struct cds_qlog_stats st;
	sqlite3 *db;
	int i;

	(void)state;
	a = day_file(dir, "2030-08-08");
	submit_at(q, t, CDS_OK);
	for (int64_t end = cds_monotonic_us() + WAIT_US;
	     cds_monotonic_us() < end; usleep(2000)) {
		cds_qlog_get_stats(q, &st);
		if (st.written == 1)
			break;
	}
	assert_int_equal(st.written, 1);
	assert_int_equal(sqlite3_open(a, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
			 SQLITE_OK);
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
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cds_qlog_get_stats(q, &st);
	cds_qlog_close(q);
	assert_int_equal(query_int(a, "SELECT count(*) FROM records"), 5);
	free(a);
	rmtree(dir);
}

/* An unwritable data directory: counted and logged, never fatal. */
static void test_write_errors(void **state)
{
	char *dir = tmpdir(), *file;
	struct cds_qlog *q;
	struct cds_qlog_stats st;
	int fd;

	(void)state;
	/* A regular file where the data directory should be: even root
	 * cannot create DIR/querylog under it. */
	assert_true(asprintf(&file, "%s/not-a-dir", dir) > 0);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
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
	submit_at(q, T("2030-09-09T09:09:09Z"), CDS_ERR_IO);
	cds_qlog_get_stats(q, &st);
	assert_int_equal(st.written, 0);
	assert_int_equal(st.write_errors, 1);
	cds_qlog_close(q);
	free(file);
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
		cmocka_unit_test(test_busy_when_full),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
