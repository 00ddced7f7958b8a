/*
 * test_ledger.c: the disclosure ledger (lib/store/ledger.c): the chain
 * holds across appends and reopening; altering, deleting (in the middle
 * or at the end), inserting and reordering entries are each caught, and
 * the message names the first broken entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/ledger.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/cds-ledger-XXXXXX";
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

static void append(const char *dir, const char *order, uint64_t records)
{
	struct cds_ledger_entry e = {0};
	struct cds_ledger *l;
	struct cds_error err;

	assert_int_equal(cds_ledger_open(&l, dir, true, &err), CDS_OK);
	e.time_us = 1800000000000000 + (int64_t)records;
	e.order_id = order;
	e.scope_type = "target";
	e.scope_value = "tel:+15551234567";
	e.window = "../..";
	e.record_count = records;
	memset(e.export_sha256, 'a', 64);
	assert_int_equal(cds_ledger_append(l, &e, &err), CDS_OK);
	cds_ledger_close(l);
}

/* Three entries; returns the directory. */
static char *ledger3(void)
{
	char *dir = tmpdir();

	append(dir, "ORDER-1", 1);
	append(dir, "ORDER-2", 2);
	append(dir, "ORDER-3", 3);
	return dir;
}

static enum cds_err verify(const char *dir, uint64_t *n, struct cds_error *err)
{
	struct cds_ledger *l;
	enum cds_err rc;

	cds_error_clear(err);
	assert_int_equal(cds_ledger_open(&l, dir, false, err), CDS_OK);
	rc = cds_ledger_verify(l, n, err);
	cds_ledger_close(l);
	return rc;
}

/* Run SQL on the ledger as a tamperer would (triggers dropped first). */
static void tamper(const char *dir, const char *sql)
{
	char *path;
	sqlite3 *db;

	assert_true(asprintf(&path, "%s/legal/ledger.sqlite3", dir) > 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TRIGGER ledger_no_update;"
				      "DROP TRIGGER ledger_no_delete;", NULL,
				      NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(path);
}

static void expect_broken(const char *dir, const char *where)
{
	struct cds_error err;
	uint64_t n = 77;

	assert_int_equal(verify(dir, &n, &err), CDS_ERR_CRYPTO);
	assert_int_equal(n, 0);
	if (!strstr(err.msg, where))
		fail_msg("message '%s' does not name '%s'", err.msg, where);
}

static void test_chain_ok(void **state)
{
	char *dir = ledger3(), *path;
	struct cds_error err;
	struct stat sb;
	uint64_t n = 0;

	(void)state;
	assert_int_equal(verify(dir, &n, &err), CDS_OK);
	assert_int_equal(n, 3);
	append(dir, "ORDER-4", 4); /* reopened: the chain continues */
	assert_int_equal(verify(dir, &n, &err), CDS_OK);
	assert_int_equal(n, 4);
	assert_true(asprintf(&path, "%s/legal/ledger.sqlite3", dir) > 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(path);
	rmtree(dir);
}

static void test_missing(void **state)
{
	char *dir = tmpdir(), *legal;
	struct cds_ledger *l = NULL;
	struct cds_error err;

	(void)state;
	assert_int_equal(cds_ledger_open(&l, dir, false, &err), CDS_ERR_NOT_FOUND);
	assert_null(l);
	assert_true(asprintf(&legal, "%s/legal", dir) > 0);
	assert_int_equal(access(legal, F_OK), -1); /* nothing created */
	free(legal);
	rmtree(dir);
}

static void test_append_only_triggers(void **state)
{
	char *dir = ledger3(), *path;
	sqlite3 *db;

	(void)state;
	assert_true(asprintf(&path, "%s/legal/ledger.sqlite3", dir) > 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE ledger SET record_count = 9",
					  NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM ledger", NULL, NULL,
					  NULL), SQLITE_OK);
	sqlite3_close(db);
	free(path);
	rmtree(dir);
}

static void test_altered(void **state)
{
	static const char *edits[] = {
		"UPDATE ledger SET record_count = 20 WHERE seq = 2",
		"UPDATE ledger SET order_id = 'ORDER-X' WHERE seq = 2",
		"UPDATE ledger SET scope_value = 'tel:+15550000000' WHERE seq = 2",
		"UPDATE ledger SET time_window = 'x/y' WHERE seq = 2",
		"UPDATE ledger SET time_us = time_us + 1 WHERE seq = 2",
		"UPDATE ledger SET export_sha256 = replace(export_sha256, 'a', 'b') WHERE seq = 2",
		"UPDATE ledger SET scope_type = 'ip' WHERE seq = 2",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *dir = ledger3();

		tamper(dir, edits[i]);
		expect_broken(dir, "entry 2");
		rmtree(dir);
	}
}

static void test_deleted_middle(void **state)
{
	char *dir = ledger3();

	(void)state;
	tamper(dir, "DELETE FROM ledger WHERE seq = 2");
	expect_broken(dir, "entry 2");
	rmtree(dir);
}

static void test_deleted_last(void **state)
{
	char *dir = ledger3();

	(void)state;
	/* The chain of entries 1-2 is intact; only the head shows the loss. */
	tamper(dir, "DELETE FROM ledger WHERE seq = 3");
	expect_broken(dir, "entry 3");
	rmtree(dir);
}

static void test_deleted_all(void **state)
{
	char *dir = ledger3();

	(void)state;
	tamper(dir, "DELETE FROM ledger");
	expect_broken(dir, "entry 1");
	rmtree(dir);
}

static void test_reordered(void **state)
{
	char *dir = ledger3();

	(void)state;
	/* Swap entries 2 and 3 by renumbering them. */
	tamper(dir, "UPDATE ledger SET seq = 100 WHERE seq = 2;"
		    "UPDATE ledger SET seq = 2 WHERE seq = 3;"
		    "UPDATE ledger SET seq = 3 WHERE seq = 100;");
	expect_broken(dir, "entry 2");
	rmtree(dir);
}

static void test_rehashed_forgery(void **state)
{
	char *dir = ledger3();

	(void)state;
	/* A forger who edits entry 3 and fixes its own hash still breaks the
	 * head (and would break any later entry's prev_hash). */
	tamper(dir, "UPDATE ledger SET record_count = 0, entry_hash = "
		    "'0000000000000000000000000000000000000000000000000000000000000001'"
		    " WHERE seq = 3");
	expect_broken(dir, "entry 3");
	rmtree(dir);
}

static void test_hash_covers_fields(void **state)
{
	struct cds_ledger_entry e = {0}, f;
	char h0[CDS_LEDGER_HASH_HEX_BYTES], h[CDS_LEDGER_HASH_HEX_BYTES];

	(void)state;
	e.seq = 1;
	e.time_us = 5;
	e.order_id = "A";
	e.scope_type = "ip";
	e.scope_value = "203.0.113.1";
	e.window = "../..";
	e.record_count = 2;
	memset(e.export_sha256, 'c', 64);
	memset(e.prev_hash, '0', 64);
	cds_ledger_entry_hash(h0, &e);
	assert_int_equal(strlen(h0), 64);
	f = e, f.seq = 2, cds_ledger_entry_hash(h, &f);
	assert_string_not_equal(h, h0);
	f = e, f.time_us = 6, cds_ledger_entry_hash(h, &f);
	assert_string_not_equal(h, h0);
	f = e, f.record_count = 3, cds_ledger_entry_hash(h, &f);
	assert_string_not_equal(h, h0);
	f = e, f.prev_hash[5] = '1', cds_ledger_entry_hash(h, &f);
	assert_string_not_equal(h, h0);
	/* Length prefixes: moving a character between fields changes it. */
	f = e, f.order_id = "Aip", f.scope_type = "", cds_ledger_entry_hash(h, &f);
	assert_string_not_equal(h, h0);
	f = e, cds_ledger_entry_hash(h, &f);
	assert_string_equal(h, h0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_ok),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_append_only_triggers),
		cmocka_unit_test(test_altered),
		cmocka_unit_test(test_deleted_middle),
		cmocka_unit_test(test_deleted_last),
		cmocka_unit_test(test_deleted_all),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_rehashed_forgery),
		cmocka_unit_test(test_hash_covers_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
