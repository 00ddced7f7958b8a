/*
 * test_cache.c: the client cache (lib/client/cache*.c): file mode 0600,
 * schema and refusal of foreign files, binding to one server (a changed
 * URL or key starts afresh), rows round-tripping, and crash safety: a
 * transaction that never commits leaves nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "client/cache.h"
#include "client/cache_int.h"
#include "addressbook/contacts.h"

#define URL "http://127.0.0.1:8080"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_cache.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/cache.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int fresh(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static struct cds_cache *open_ok(void)
{
	struct cds_cache *c = NULL;
	struct cds_error err;

	cds_error_clear(&err);
	if (cds_cache_open(&c, path, &err) != CDS_OK)
		fail_msg("open: %s", err.msg);
	return c;
}

static void test_mode_0600(void **state)
{
	struct stat st;
	mode_t old = umask(0);
	struct cds_cache *c = open_ok();
	FILE *f;

	(void)state;
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	cds_cache_close(c);
	/* A looser existing (empty) file is tightened. */
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	c = open_ok();
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	cds_cache_close(c);
}

static long query_long(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_schema(void **state)
{
	struct cds_cache *c = open_ok();
	sqlite3 *db;

	(void)state;
	cds_cache_close(c);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(query_long(db, "PRAGMA user_version"),
			 CDS_CACHE_SCHEMA_VERSION);
	assert_int_equal(query_long(db, "PRAGMA application_id"), 0x63647363);
	assert_int_equal(query_long(db,
		"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
		" ('meta', 'contacts', 'contact_items', 'handles', 'buckets')"), 5);
	/* A newer schema is refused, not misread. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 9", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	{
		struct cds_cache *c2 = NULL;
		struct cds_error err;

		assert_int_equal(cds_cache_open(&c2, path, &err), CDS_ERR_STORE);
		assert_non_null(strstr(err.msg, "schema version 9"));
		assert_null(c2);
	}
}

static void test_foreign_files(void **state)
{
	struct cds_cache *c = NULL;
	struct cds_error err;
	sqlite3 *db;
	FILE *f;

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(cds_cache_open(&c, path, &err), CDS_ERR_STORE);
	assert_non_null(strstr(err.msg, "not a cds cache"));
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a database, just some text that is long enough..."
	      "................................................................",
	      f);
	fclose(f);
	assert_int_equal(cds_cache_open(&c, path, &err), CDS_ERR_STORE);
	assert_non_null(strstr(err.msg, "not a cds cache"));
	assert_int_equal(cds_cache_open(&c, dir, &err), CDS_ERR_IO);
	assert_int_equal(cds_cache_open(&c, "/nonexistent-dir/x.db", &err),
			 CDS_ERR_NOT_FOUND);
}

static void put_some(struct cds_cache *c, uint32_t epoch)
{
	uint8_t out[CDS_OPRF_OUTPUT_BYTES], acc[16], key[32], e[CDS_ENTRY_BYTES];
	struct cds_error err;

	memset(out, 0xaa, sizeof(out));
	memset(acc, 0x01, sizeof(acc));
	memset(key, 0x02, sizeof(key));
	memset(e, 0x03, sizeof(e));
	assert_int_equal(cds_cache_begin(c, &err), CDS_OK);
	assert_int_equal(cds_cache_handle_put_output(c, "tel:+15551234567", epoch,
						     out, 1, &err), CDS_OK);
	assert_int_equal(cds_cache_handle_put_result(c, "tel:+15551234567", true,
						     acc, key, 2, &err), CDS_OK);
	assert_int_equal(cds_cache_bucket_put(c, CDS_CACHE_SYNC, epoch, 7, "\"etag-1\"", e, 1, 3,
					      &err), CDS_OK);
	assert_int_equal(cds_cache_commit(c, &err), CDS_OK);
}

static bool has_handle(struct cds_cache *c)
{
	struct cds_cache_handle row;
	struct cds_error err;
	bool found;

	assert_int_equal(cds_cache_handle_get(c, "tel:+15551234567", &row, &found,
					      &err), CDS_OK);
	return found;
}

static bool has_bucket(struct cds_cache *c, uint32_t epoch)
{
	struct cds_cache_bucket b;
	struct cds_error err;
	bool found;

	assert_int_equal(cds_cache_bucket_get(c, CDS_CACHE_SYNC, epoch, 7, &b, &found, &err), CDS_OK);
	cds_cache_bucket_fini(&b);
	return found;
}

static bool reconcile(struct cds_cache *c, const char *url, uint32_t epoch,
		      uint8_t pkbyte, unsigned bits)
{
	uint8_t pk[32];
	bool reset = true;
	struct cds_error err;

	memset(pk, pkbyte, sizeof(pk));
	assert_int_equal(cds_cache_reconcile(c, url, epoch, pk, bits, &reset, &err),
			 CDS_OK);
	return reset;
}

static void test_server_binding(void **state)
{
	struct cds_cache *c = open_ok();
	struct cds_error err;
	uint8_t pk[32];
	bool reset;

	(void)state;
	assert_false(reconcile(c, URL, 3, 0x10, 8)); /* new cache: no reset */
	put_some(c, 3);
	assert_false(reconcile(c, URL, 3, 0x10, 8)); /* same server: kept */
	assert_true(has_handle(c));
	assert_true(has_bucket(c, 3));
	assert_false(reconcile(c, URL, 4, 0x11, 8)); /* rotation: kept */
	assert_true(has_handle(c));
	assert_false(reconcile(c, URL, 4, 0x11, 9)); /* new prefix_bits */
	assert_true(has_handle(c));
	assert_false(has_bucket(c, 3));
	put_some(c, 4);
	/* Same server, same epoch, another key: refused, nothing wiped. */
	memset(pk, 0x12, sizeof(pk));
	assert_int_equal(cds_cache_reconcile(c, URL, 4, pk, 9, &reset, &err),
			 CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "tagging"));
	assert_true(has_handle(c));
	assert_false(reconcile(c, URL, 4, 0x11, 9)); /* the pinned key: fine */
	assert_true(reconcile(c, "http://other:1", 4, 0x12, 9)); /* new URL */
	assert_false(has_handle(c));
	assert_false(has_bucket(c, 4));
	put_some(c, 4);
	assert_true(reconcile(c, "http://other:1", 2, 0x12, 9)); /* older epoch */
	assert_false(has_handle(c));
	cds_cache_close(c);
}

static void test_rows(void **state)
{
	struct cds_cache *c = open_ok();
	struct cds_cache_handle row;
	struct cds_cache_bucket b;
	struct cds_error err;
	const char *keep[] = {"mailto:a@b.org"};
	const uint32_t keep_b[] = {7};
	uint8_t out[64], e[2 * CDS_ENTRY_BYTES];
	bool found;
	size_t n;

	(void)state;
	put_some(c, 5);
	assert_int_equal(cds_cache_handle_get(c, "tel:+15551234567", &row, &found,
					      &err), CDS_OK);
	assert_true(found && row.evaluated && row.checked && row.registered);
	assert_int_equal(row.epoch, 5);
	memset(out, 0xaa, 64);
	assert_memory_equal(row.out, out, 64);
	assert_int_equal(row.account[0], 1);
	assert_int_equal(row.identity_key[31], 2);
	/* A result without an output, then unregistered. */
	assert_int_equal(cds_cache_handle_put_result(c, "mailto:a@b.org", false, NULL,
						     NULL, 9, &err), CDS_OK);
	assert_int_equal(cds_cache_handle_get(c, "mailto:a@b.org", &row, &found, &err),
			 CDS_OK);
	assert_true(found && !row.evaluated && row.checked && !row.registered);
	assert_int_equal(cds_cache_handle_count(c, &n, &err), CDS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(cds_cache_handles_keep(c, keep, 1, &err), CDS_OK);
	assert_int_equal(cds_cache_handle_count(c, &n, &err), CDS_OK);
	assert_int_equal(n, 1);
	assert_false(has_handle(c));

	assert_int_equal(cds_cache_bucket_get(c, CDS_CACHE_SYNC, 5, 7, &b, &found, &err), CDS_OK);
	assert_true(found);
	assert_string_equal(b.etag, "\"etag-1\"");
	assert_int_equal(b.n, 1);
	cds_cache_bucket_fini(&b);
	memset(e, 1, CDS_ENTRY_BYTES);
	memset(e + CDS_ENTRY_BYTES, 2, CDS_ENTRY_BYTES);
	assert_int_equal(cds_cache_bucket_put(c, CDS_CACHE_SYNC, 5, 8, "x", e, 2, 1, &err), CDS_OK);
	assert_int_equal(cds_cache_bucket_put(c, CDS_CACHE_SYNC, 5, 9, "y", NULL, 0, 1, &err), CDS_OK);
	assert_int_equal(cds_cache_bucket_get(c, CDS_CACHE_SYNC, 5, 9, &b, &found, &err), CDS_OK);
	assert_true(found);
	assert_int_equal(b.n, 0);
	cds_cache_bucket_fini(&b);
	assert_int_equal(cds_cache_buckets_keep(c, 5, keep_b, 1, &err), CDS_OK);
	assert_true(has_bucket(c, 5));
	assert_int_equal(cds_cache_bucket_get(c, CDS_CACHE_SYNC, 5, 8, &b, &found, &err), CDS_OK);
	assert_false(found);
	assert_int_equal(cds_cache_buckets_keep(c, 6, keep_b, 1, &err), CDS_OK);
	assert_false(has_bucket(c, 5));
	cds_cache_close(c);
}

static void test_contacts(void **state)
{
	struct cds_cache *c = open_ok();
	struct cds_contact_list l, back;
	struct cds_contact_rec r;
	struct cds_error err;

	(void)state;
	cds_contacts_init(&l);
	memset(&r, 0, sizeof(r));
	r.name = strdup("Alice Ærø");
	assert_int_equal(cds_strv_add(&r.handles, &r.n_handles, "tel:+15551234567"), 0);
	assert_int_equal(cds_strv_add(&r.handles, &r.n_handles, "mailto:a@b.org"), 0);
	assert_int_equal(cds_strv_add(&r.problems, &r.n_problems, "'12': too short"), 0);
	r.id = (uint64_t)INT64_MAX + 5; /* above INT64_MAX: must round-trip */
	assert_int_equal(cds_contacts_append(&l, &r, &err), CDS_OK);
	memset(&r, 0, sizeof(r));
	r.name = strdup("");
	assert_int_equal(cds_contacts_append(&l, &r, &err), CDS_OK);
	assert_int_equal(cds_cache_begin(c, &err), CDS_OK);
	assert_int_equal(cds_cache_contacts_save(c, &l, &err), CDS_OK);
	assert_int_equal(cds_cache_commit(c, &err), CDS_OK);
	cds_cache_close(c);

	c = open_ok();
	cds_contacts_init(&back);
	assert_int_equal(cds_cache_contacts_load(c, &back, &err), CDS_OK);
	assert_int_equal(back.n, 2);
	assert_true(back.v[0].id == (uint64_t)INT64_MAX + 5);
	assert_true(back.v[1].id == (uint64_t)INT64_MAX + 6);
	assert_string_equal(back.v[0].name, "Alice Ærø");
	assert_int_equal(back.v[0].n_handles, 2);
	assert_string_equal(back.v[0].handles[1], "mailto:a@b.org");
	assert_int_equal(back.v[0].n_problems, 1);
	assert_int_equal(back.v[1].n_handles, 0);
	assert_true(back.next_id == l.next_id);
	cds_contacts_fini(&back);
	cds_contacts_fini(&l);
	cds_cache_close(c);
}

/* Crash safety: a child writes inside a transaction and dies without
 * committing; the parent finds the cache as it was, and intact. */
static void test_crash_safety(void **state)
{
	struct cds_cache *c = open_ok();
	struct cds_error err;
	pid_t pid;
	int status;
	sqlite3 *db;
	sqlite3_stmt *st;

	(void)state;
	assert_false(reconcile(c, URL, 3, 0x10, 8));
	cds_cache_close(c);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t out[64] = {0};
		struct cds_cache *cc = NULL;

		if (cds_cache_open(&cc, path, &err) ||
		    cds_cache_begin(cc, &err) ||
		    cds_cache_handle_put_output(cc, "tel:+15551234567", 3, out, 1, &err) ||
		    cds_cache_exec(cc, "DELETE FROM meta", &err))
			_exit(2);
		_exit(0); /* no commit, no close: like a crash */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	c = open_ok();
	assert_false(has_handle(c));
	assert_false(reconcile(c, URL, 3, 0x10, 8)); /* meta survived */
	cds_cache_close(c);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* The same steps committed do land. */
	c = open_ok();
	put_some(c, 3);
	cds_cache_close(c);
	c = open_ok();
	assert_true(has_handle(c));
	cds_cache_close(c);
}

static void test_damaged_row(void **state)
{
	struct cds_cache *c = open_ok();
	struct cds_cache_handle row;
	struct cds_error err;
	bool found;
	sqlite3 *db;

	(void)state;
	cds_cache_close(c);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"INSERT INTO handles(handle, epoch, oprf_out) VALUES"
		" ('tel:+15551234567', 3, x'0102')", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"INSERT INTO buckets VALUES (3, 7, 'e', x'0102', 0)",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	c = open_ok();
	assert_int_equal(cds_cache_handle_get(c, "tel:+15551234567", &row, &found,
					      &err), CDS_ERR_STORE);
	assert_non_null(strstr(err.msg, "damaged"));
	{
		struct cds_cache_bucket b;

		assert_int_equal(cds_cache_bucket_get(c, CDS_CACHE_SYNC, 3, 7, &b, &found, &err),
				 CDS_ERR_STORE);
		assert_false(found);
	}
	cds_cache_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_mode_0600, fresh),
		cmocka_unit_test_setup(test_schema, fresh),
		cmocka_unit_test_setup(test_foreign_files, fresh),
		cmocka_unit_test_setup(test_server_binding, fresh),
		cmocka_unit_test_setup(test_rows, fresh),
		cmocka_unit_test_setup(test_contacts, fresh),
		cmocka_unit_test_setup(test_crash_safety, fresh),
		cmocka_unit_test_setup(test_damaged_row, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
