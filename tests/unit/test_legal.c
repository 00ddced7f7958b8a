/*
 * test_legal.c: legal export (scopes, window, formats, header, note,
 * modes), disclosure (file, ledger entry, refusal to write on bad input)
 * and the transparency report (lib/legal/legal*.c, report*.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "core/codec.h"
#include "core/timeutil.h"
#include "legal/legal.h"
#include "qlog/qlog.h"
#include "qlogtest.h"
#include "store/store.h"

#define ACCT_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ACCT_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define TARGET "tel:+15551234567"

struct fixture {
	char *dir;
	int64_t t1; /* first record */
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void log_one(struct cds_qlog *q, const struct sockaddr *peer,
		    const char *acct_hex, enum cds_endpoint ep, int64_t t,
		    const char *const *h, size_t n)
{
	uint8_t acct[16];
	struct cds_qlog_request r = {peer, acct, ep, (uint32_t)n, 200, t};
	struct cds_error err;

	assert_int_equal(cds_hex_decode_exact(acct, 16, acct_hex, 32, "acct",
					      &err), CDS_OK);
	if (h)
		assert_int_equal(cds_qlog_submit_lookup(q, &r, h, n, &err), CDS_OK);
	else
		assert_int_equal(cds_qlog_submit(q, &r, &err), CDS_OK);
}

static struct cds_qlog *start(const char *dir, enum cds_qlog_ip_policy p,
			      bool plain)
{
	struct cds_qlog_config cfg = {dir, 30, CDS_QLOG_SYNC, p, 0, plain};
	struct cds_qlog *q;
	struct cds_error err;

	assert_int_equal(cds_qlog_open(&q, &cfg, &err), CDS_OK);
	return q;
}

/*
 * Two days ago: A looks up TARGET and bob, A looks up a longer number that
 * contains TARGET as a prefix, B discovers from IPv6, B looks up bob; then
 * (truncated policy, plain off) A discovers; then (policy none) A again.
 */
static int setup(void **state)
{
	static const char *h1[] = {TARGET, "mailto:bob@example.org"};
	static const char *h2[] = {"tel:+155512345678"};
	static const char *h4[] = {"mailto:bob@example.org"};
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_in v4, v4b;
	struct sockaddr_in6 v6;
	struct cds_qlog *q;

	/* The store holds the ledger mark (legal_verify.c). */
	f->dir = qlogtest_dir(true);
	f->t1 = cds_time_day_start(cds_now_us()) - 2 * CDS_USEC_PER_DAY +
		10 * 3600 * CDS_USEC_PER_SEC;
	memset(&v4, 0, sizeof(v4));
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, "203.0.113.7", &v4.sin_addr);
	v4b = v4;
	inet_pton(AF_INET, "198.51.100.23", &v4b.sin_addr);
	memset(&v6, 0, sizeof(v6));
	v6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::5", &v6.sin6_addr);

	q = start(f->dir, CDS_QLOG_IP_FULL, true);
	log_one(q, (struct sockaddr *)&v4, ACCT_A, CDS_EP_LOOKUP, f->t1, h1, 2);
	log_one(q, (struct sockaddr *)&v4, ACCT_A, CDS_EP_LOOKUP, f->t1 + 1, h2, 1);
	log_one(q, (struct sockaddr *)&v6, ACCT_B, CDS_EP_DISCOVER, f->t1 + 2,
		NULL, 0);
	log_one(q, (struct sockaddr *)&v4, ACCT_B, CDS_EP_LOOKUP, f->t1 + 3, h4, 1);
	cds_qlog_close(q);
	q = start(f->dir, CDS_QLOG_IP_TRUNCATED, false);
	log_one(q, (struct sockaddr *)&v4b, ACCT_A, CDS_EP_DISCOVER, f->t1 + 4,
		NULL, 0);
	cds_qlog_close(q);
	q = start(f->dir, CDS_QLOG_IP_NONE, false);
	log_one(q, (struct sockaddr *)&v4, ACCT_A, CDS_EP_DISCOVER, f->t1 + 5,
		NULL, 0);
	cds_qlog_close(q);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->dir);
	free(f);
	return 0;
}

static struct cds_legal_request req(enum cds_legal_scope s, const char *v)
{
	struct cds_legal_request r = {"ORDER-42", s, v, INT64_MIN, INT64_MAX,
				      CDS_LEGAL_JSON};
	return r;
}

static json_t *export_json(const struct fixture *f,
			   const struct cds_legal_request *r)
{
	struct cds_buf b;
	struct cds_error err;
	uint64_t n = 0;
	json_t *root;

	cds_buf_init(&b);
	cds_error_clear(&err);
	if (cds_legal_export(f->dir, r, cds_now_us(), &b, &n, &err))
		fail_msg("export failed: %s", err.msg);
	root = json_loads((const char *)b.data, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "record_count")),
			 n);
	assert_int_equal(json_array_size(json_object_get(root, "records")), n);
	cds_buf_fini(&b);
	return root;
}

static size_t count(const struct fixture *f, enum cds_legal_scope s,
		    const char *v)
{
	struct cds_legal_request r = req(s, v);
	json_t *root = export_json(f, &r);
	size_t n = json_array_size(json_object_get(root, "records"));

	json_decref(root);
	return n;
}

static const char *rec_str(json_t *root, size_t i, const char *key)
{
	return json_string_value(
		json_object_get(json_array_get(json_object_get(root, "records"), i),
				key));
}

static void test_requester(void **state)
{
	struct fixture *f = *state;
	struct cds_legal_request r = req(CDS_LEGAL_REQUESTER, ACCT_A);
	json_t *root = export_json(f, &r);

	assert_int_equal(json_array_size(json_object_get(root, "records")), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(rec_str(root, i, "account"), ACCT_A);
	/* Upper-case hex is the same account. */
	assert_int_equal(count(f, CDS_LEGAL_REQUESTER,
			       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 4);
	assert_int_equal(count(f, CDS_LEGAL_REQUESTER, ACCT_B), 2);
	assert_int_equal(count(f, CDS_LEGAL_REQUESTER,
			       "cccccccccccccccccccccccccccccccc"), 0);
	json_decref(root);
}

static void test_target_exact(void **state)
{
	struct fixture *f = *state;
	struct cds_legal_request r = req(CDS_LEGAL_TARGET, TARGET);
	json_t *root = export_json(f, &r), *h;

	/* Not the lookup of tel:+155512345678, which contains TARGET. */
	assert_int_equal(json_array_size(json_object_get(root, "records")), 1);
	h = json_object_get(json_array_get(json_object_get(root, "records"), 0),
			    "handles");
	assert_int_equal(json_array_size(h), 1); /* only the target */
	assert_string_equal(json_string_value(json_array_get(h, 0)), TARGET);
	assert_non_null(strstr(json_string_value(json_object_get(root, "note")),
			       "only find plain lookups"));
	json_decref(root);
	assert_int_equal(count(f, CDS_LEGAL_TARGET, "mailto:bob@example.org"), 2);
	assert_int_equal(count(f, CDS_LEGAL_TARGET, "tel:+155512345678"), 1);
	assert_int_equal(count(f, CDS_LEGAL_TARGET, "tel:+1555123456"), 0);
	assert_int_equal(count(f, CDS_LEGAL_TARGET, "mailto:ob@example.org"), 0);
}

static void test_ip(void **state)
{
	struct fixture *f = *state;

	(void)f;
	assert_int_equal(count(f, CDS_LEGAL_IP, "203.0.113.7"), 3);
	assert_int_equal(count(f, CDS_LEGAL_IP, "::ffff:203.0.113.7"), 3);
	assert_int_equal(count(f, CDS_LEGAL_IP, "203.0.113.8"), 0);
	/* Truncated record 198.51.100.0/24 matches any address in it. */
	assert_int_equal(count(f, CDS_LEGAL_IP, "198.51.100.23"), 1);
	assert_int_equal(count(f, CDS_LEGAL_IP, "198.51.100.200"), 1);
	assert_int_equal(count(f, CDS_LEGAL_IP, "198.51.101.23"), 0);
	assert_int_equal(count(f, CDS_LEGAL_IP, "2001:db8:1:2::5"), 1);
	assert_int_equal(count(f, CDS_LEGAL_IP, "2001:DB8:1:2:0:0:0:5"), 1);
	assert_int_equal(count(f, CDS_LEGAL_IP, "2001:db8:1:2::6"), 0);
}

static void test_window(void **state)
{
	struct fixture *f = *state;
	struct cds_legal_request r = req(CDS_LEGAL_REQUESTER, ACCT_B);
	json_t *root;

	r.since_us = f->t1 + 2;
	r.until_us = f->t1 + 4;
	root = export_json(f, &r);
	assert_int_equal(json_array_size(json_object_get(root, "records")), 2);
	assert_non_null(json_string_value(
		json_object_get(json_object_get(root, "window"), "since")));
	json_decref(root);
	r.until_us = f->t1 + 3; /* until is exclusive */
	root = export_json(f, &r);
	assert_int_equal(json_array_size(json_object_get(root, "records")), 1);
	json_decref(root);
	r.since_us = f->t1 + 100;
	r.until_us = INT64_MAX;
	root = export_json(f, &r);
	assert_int_equal(json_array_size(json_object_get(root, "records")), 0);
	json_decref(root);
}

static void test_header(void **state)
{
	struct fixture *f = *state;
	struct cds_legal_request r = req(CDS_LEGAL_IP, "203.0.113.7");
	json_t *root = export_json(f, &r), *modes, *m;
	bool on = false, off = false;
	const char *note;
	size_t i;

	assert_string_equal(json_string_value(json_object_get(root, "order")),
			    "ORDER-42");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(root, "scope"), "type")), "ip");
	assert_true(json_is_null(json_object_get(json_object_get(root, "window"),
						 "since")));
	assert_non_null(json_string_value(json_object_get(root, "generated")));
	assert_int_equal(json_integer_value(json_object_get(root,
							    "retention_days")), 30);
	modes = json_object_get(root, "modes_in_window");
	json_array_foreach(modes, i, m) {
		json_t *p = json_object_get(m, "plain_lookup");

		on = on || json_is_true(p);
		off = off || json_is_false(p);
	}
	assert_true(on && off);
	note = json_string_value(json_object_get(root, "note"));
	assert_non_null(strstr(note, "truncated"));
	assert_non_null(strstr(note, "no longer exist")); /* open window */
	json_decref(root);
	/* A window inside retention says nothing about deleted records. */
	r.since_us = f->t1;
	root = export_json(f, &r);
	note = json_string_value(json_object_get(root, "note"));
	assert_null(strstr(note, "no longer exist"));
	json_decref(root);
}

static void test_csv(void **state)
{
	struct fixture *f = *state;
	struct cds_legal_request r = req(CDS_LEGAL_REQUESTER, ACCT_A);
	size_t comments = 0, rows = 0;
	struct cds_error err;
	struct cds_buf b;
	uint64_t n;
	char *line, *save = NULL;

	r.format = CDS_LEGAL_CSV;
	cds_buf_init(&b);
	assert_int_equal(cds_legal_export(f->dir, &r, cds_now_us(), &b, &n, &err),
			 CDS_OK);
	assert_non_null(strstr((char *)b.data, "# order: ORDER-42\n"));
	assert_non_null(strstr((char *)b.data, "# record_count: 4\n"));
	assert_non_null(strstr((char *)b.data, "\ntime,time_us,ip,ip_bits,account,"
					       "endpoint,items,status,handles,via\n"));
	assert_non_null(strstr((char *)b.data, "tel:+15551234567 mailto:bob@"));
	for (line = strtok_r((char *)b.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			comments++;
		else
			rows++;
	}
	assert_true(comments >= 8);
	assert_int_equal(rows, 1 + 4);
	cds_buf_fini(&b);
}

static bool legal_dir_exists(const struct fixture *f)
{
	char *p;
	bool e;

	assert_true(asprintf(&p, "%s/legal", f->dir) > 0);
	e = access(p, F_OK) == 0;
	free(p);
	return e;
}

static void test_bad_input(void **state)
{
	struct fixture *f = *state;
	struct {
		enum cds_legal_scope s;
		const char *order, *v;
	} bad[] = {
		{CDS_LEGAL_REQUESTER, "", ACCT_A},
		{CDS_LEGAL_REQUESTER, "   ", ACCT_A},
		{CDS_LEGAL_REQUESTER, "ORD\nER", ACCT_A},
		{CDS_LEGAL_REQUESTER, "O", "aaaa"},
		{CDS_LEGAL_REQUESTER, "O", ACCT_A "aa"},
		{CDS_LEGAL_REQUESTER, "O", "gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{CDS_LEGAL_TARGET, "O", "+15551234567"},
		{CDS_LEGAL_TARGET, "O", "mailto:Bob@example.org"},
		{CDS_LEGAL_TARGET, "O", ""},
		{CDS_LEGAL_IP, "O", "203.0.113"},
		{CDS_LEGAL_IP, "O", "203.0.113.7/24"},
		{CDS_LEGAL_IP, "O", "localhost"},
		{(enum cds_legal_scope)9, "O", ACCT_A},
	};
	struct cds_legal_result res;
	struct cds_error err;
	char *out;

	assert_true(asprintf(&out, "%s/export.json", f->dir) > 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cds_legal_request r = req(bad[i].s, bad[i].v);

		r.order_id = bad[i].order;
		cds_error_clear(&err);
		assert_int_equal(cds_legal_disclose(f->dir, &r, out, NULL,
						    cds_now_us(), &res, &err),
				 CDS_ERR_USAGE);
		assert_true(err.msg[0] != '\0');
	}
	{
		struct cds_legal_request r = req(CDS_LEGAL_REQUESTER, ACCT_A);

		r.since_us = 10;
		r.until_us = 10;
		assert_int_equal(cds_legal_disclose(f->dir, &r, out, NULL,
						    cds_now_us(), &res, &err),
				 CDS_ERR_USAGE);
		r.since_us = INT64_MIN;
		assert_int_equal(cds_legal_disclose("/nonexistent/cds", &r, NULL,
						    stdout, cds_now_us(), &res,
						    &err), CDS_ERR_USAGE);
		assert_int_equal(cds_legal_disclose(f->dir, &r,
						    "/nonexistent/dir/x.json",
						    NULL, cds_now_us(), &res,
						    &err), CDS_ERR_USAGE);
		assert_int_equal(cds_legal_disclose(f->dir, &r, f->dir, NULL,
						    cds_now_us(), &res, &err),
				 CDS_ERR_USAGE);
	}
	assert_false(legal_dir_exists(f));
	assert_int_equal(access(out, F_OK), -1);
	free(out);
}

static void sha256_file(const char *path, char hex[65])
{
	uint8_t buf[65536], h[32];
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	crypto_hash_sha256(h, buf, n);
	cds_hex_encode(hex, h, 32);
}

struct seen {
	int n;
	char sha[65];
	char scope[16];
	uint64_t records;
};

static int last_entry(void *ctx, const struct cds_ledger_entry *e)
{
	struct seen *s = ctx;

	s->n++;
	snprintf(s->sha, sizeof(s->sha), "%s", e->export_sha256);
	snprintf(s->scope, sizeof(s->scope), "%s", e->scope_type);
	s->records = e->record_count;
	return 0;
}

static void test_disclose_file(void **state)
{
	struct fixture *f = *state;
	struct cds_legal_request r = req(CDS_LEGAL_TARGET, TARGET);
	struct cds_legal_result res;
	struct cds_ledger *l;
	struct cds_error err;
	struct seen s = {0};
	struct stat sb;
	char *out, hex[65];
	uint64_t n;

	assert_true(asprintf(&out, "%s/order-42.json", f->dir) > 0);
	assert_int_equal(cds_legal_disclose(f->dir, &r, out, NULL, cds_now_us(),
					    &res, &err), CDS_OK);
	assert_int_equal(res.records, 1);
	assert_int_equal(res.seq, 1);
	assert_int_equal(stat(out, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	sha256_file(out, hex);
	assert_string_equal(hex, res.export_sha256);
	assert_int_equal(cds_ledger_open(&l, f->dir, false, &err), CDS_OK);
	assert_int_equal(cds_ledger_scan(l, last_entry, &s, &err), CDS_OK);
	assert_int_equal(cds_ledger_verify(l, &n, &err), CDS_OK);
	cds_ledger_close(l);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.sha, hex);
	assert_string_equal(s.scope, "target");
	assert_int_equal(s.records, 1);
	/* An existing export is never overwritten, and no entry is added. */
	assert_int_equal(cds_legal_disclose(f->dir, &r, out, NULL, cds_now_us(),
					    &res, &err), CDS_ERR_USAGE);
	assert_int_equal(cds_ledger_open(&l, f->dir, false, &err), CDS_OK);
	assert_int_equal(cds_ledger_verify(l, &n, &err), CDS_OK);
	cds_ledger_close(l);
	assert_int_equal(n, 1);
	free(out);
}

static void test_disclose_stream_and_transparency(void **state)
{
	struct fixture *f = *state;
	struct cds_legal_request r = req(CDS_LEGAL_IP, "203.0.113.7");
	struct cds_legal_result res;
	struct cds_error err;
	struct cds_buf b;
	FILE *fp = tmpfile();
	json_t *root, *p;
	int64_t now = cds_now_us();

	r.order_id = "ORDER-7";
	assert_int_equal(cds_legal_disclose(f->dir, &r, NULL, fp, now, &res, &err),
			 CDS_OK);
	assert_int_equal(ftell(fp) > 0, 1);
	fclose(fp);
	fp = tmpfile();
	r.format = CDS_LEGAL_CSV;
	assert_int_equal(cds_legal_disclose(f->dir, &r, NULL, fp, now, &res, &err),
			 CDS_OK);
	fclose(fp);
	assert_int_equal(res.seq, 3); /* after test_disclose_file's entry */

	cds_buf_init(&b);
	assert_int_equal(cds_legal_transparency(f->dir, INT64_MIN, INT64_MAX, now,
						CDS_REPORT_JSON, &b, &err), CDS_OK);
	root = json_loads((const char *)b.data, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root,
							    "ledger_entries")), 3);
	p = json_array_get(json_object_get(root, "periods"),
			   json_array_size(json_object_get(root, "periods")) - 1);
	assert_int_equal(json_integer_value(json_object_get(p, "exports")), 3);
	assert_int_equal(json_integer_value(json_object_get(p, "orders")), 2);
	assert_int_equal(json_integer_value(json_object_get(p, "records")),
			 1 + 3 + 3);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(json_object_get(p, "by_scope"), "ip"),
				 "orders")), 1);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(json_object_get(p, "by_scope"), "ip"),
				 "exports")), 2);
	json_decref(root);
	cds_buf_reset(&b);
	assert_int_equal(cds_legal_transparency(f->dir, now - CDS_USEC_PER_DAY,
						INT64_MAX, now, CDS_REPORT_MD, &b,
						&err), CDS_OK);
	assert_non_null(strstr((char *)b.data, "| window | 2 | 3 | 7 |"));
	/* A window with no disclosures counts zero. */
	cds_buf_reset(&b);
	assert_int_equal(cds_legal_transparency(f->dir, INT64_MIN,
						now - CDS_USEC_PER_DAY, now,
						CDS_REPORT_MD, &b, &err), CDS_OK);
	assert_non_null(strstr((char *)b.data, "| window | 0 | 0 | 0 |"));
	cds_buf_fini(&b);
}

static void test_transparency_broken(void **state)
{
	struct fixture *f = *state;
	struct cds_error err;
	struct cds_buf b;
	char *path;
	sqlite3 *db;

	if (storetest_pg()) {
		qlogtest_sql("SET session_replication_role = replica;"
			     "UPDATE cds.ledger SET record_count = 0");
	} else {
		assert_true(asprintf(&path, "%s/legal/ledger.sqlite3", f->dir) > 0);
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "DROP TRIGGER ledger_no_update;"
						  "UPDATE ledger SET record_count = 0;",
					      NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		free(path);
	}
	cds_buf_init(&b);
	assert_int_equal(cds_legal_transparency(f->dir, INT64_MIN, INT64_MAX,
						cds_now_us(), CDS_REPORT_JSON,
						&b, &err), CDS_ERR_CRYPTO);
	cds_buf_fini(&b);
}

static void test_transparency_empty(void **state)
{
	char *dir = qlogtest_dir(true);
	struct cds_error err;
	struct cds_buf b;
	json_t *root;

	(void)state;
	cds_buf_init(&b);
	assert_int_equal(cds_legal_transparency(dir, INT64_MIN, INT64_MAX,
						cds_now_us(), CDS_REPORT_JSON,
						&b, &err), CDS_OK);
	root = json_loads((const char *)b.data, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(root, "periods")), 0);
	json_decref(root);
	cds_buf_fini(&b);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requester),
		cmocka_unit_test(test_target_exact),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_disclose_file),
		cmocka_unit_test(test_disclose_stream_and_transparency),
		cmocka_unit_test(test_transparency_broken),
		cmocka_unit_test(test_transparency_empty),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
