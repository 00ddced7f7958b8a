/*
 * test_ledger.c: the disclosure ledger (lib/legal/ledger.c): the chain
 * holds across appends and reopening; altering, deleting (in the middle
 * or at the end), inserting and reordering entries are each caught, and
 * the message names the first broken entry; a forger who re-hashes the
 * whole chain and rewrites ledger_head is caught by a published head,
 * which is also signed and parsed here.  On PostgreSQL with sealed keys
 * the head's key is one sealed row that every data directory of the
 * database signs with, and a key file from before is adopted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/codec.h"
#include "crypto/seal.h"
#include "legal/ledger.h"
#include "legal/ledger_key.h"
#include "qlogtest.h"
#include "store/keysrc.h"

/* A fresh data directory on this run's backend (qlogtest.h). */
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

static void append(const char *dir, const char *order, uint64_t records)
{
	struct cds_ledger_entry e = {0};
	struct cds_ledger *l;
	struct cds_error err;

	if (cds_ledger_open(&l, dir, true, &err) != CDS_OK)
		fail_msg("cds_ledger_open: %s", err.msg);
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

/* Three entries in dir; returns it. */
static char *ledger3_in(char *dir)
{
	append(dir, "ORDER-1", 1);
	append(dir, "ORDER-2", 2);
	append(dir, "ORDER-3", 3);
	return dir;
}

/* Three entries; returns the directory. */
static char *ledger3(void)
{
	return ledger3_in(tmpdir());
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

/* Run SQL on the ledger as a tamperer would (triggers off first). */
static void tamper(const char *dir, const char *sql)
{
	char *path;
	sqlite3 *db;

	if (storetest_pg()) {
		assert_true(asprintf(&path, "SET search_path = cds;"
				     " SET session_replication_role = replica; %s",
				     sql) > 0);
		qlogtest_sql(path);
		free(path);
		return;
	}
	assert_true(asprintf(&path, "%s/legal/ledger.sqlite3", dir) > 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TRIGGER IF EXISTS ledger_no_update;"
				      "DROP TRIGGER IF EXISTS ledger_no_delete;", NULL,
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
	if (!storetest_pg()) {
		assert_true(asprintf(&path, "%s/legal/ledger.sqlite3", dir) > 0);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
		free(path);
	}
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

/* Run SQL as an ordinary client would; whether it was accepted. */
static bool try_sql(const char *dir, const char *sql)
{
	PGconn *c;
	PGresult *r;
	bool ok;
	char *path;
	sqlite3 *db;

	if (!storetest_pg()) {
		assert_true(asprintf(&path, "%s/legal/ledger.sqlite3", dir) > 0);
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		ok = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
		sqlite3_close(db);
		free(path);
		return ok;
	}
	c = PQconnectdb(storetest_pg());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "SET search_path = cds"));
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	PQfinish(c);
	return ok;
}

static void test_append_only_triggers(void **state)
{
	char *dir = ledger3();

	(void)state;
	assert_false(try_sql(dir, "UPDATE ledger SET record_count = 9"));
	assert_false(try_sql(dir, "DELETE FROM ledger"));
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

/* The head of the ledger in dir (it must verify). */
static struct cds_ledger_head head_of(const char *dir)
{
	struct cds_ledger_head h;
	struct cds_ledger *l;
	struct cds_error err;

	assert_int_equal(cds_ledger_open(&l, dir, false, &err), CDS_OK);
	assert_int_equal(cds_ledger_verify_head(l, &h, &err), CDS_OK);
	cds_ledger_close(l);
	return h;
}

/* Whether the ledger in dir extends h; err gets the message. */
static enum cds_err extends(const char *dir, const struct cds_ledger_head *h,
			    struct cds_error *err)
{
	struct cds_ledger_head cur;
	struct cds_ledger *l;
	enum cds_err rc;

	assert_int_equal(cds_ledger_open(&l, dir, false, err), CDS_OK);
	rc = cds_ledger_verify_head(l, &cur, err);
	if (!rc)
		rc = cds_ledger_extends(l, &cur, h, "the published head", err);
	cds_ledger_close(l);
	return rc;
}

/* One row as read back for re-hashing (strings owned). */
struct row {
	struct cds_ledger_entry e;
	char *s[4];
};

/*
 * What a forger with write access to DIR/legal does after editing entries:
 * recompute every entry_hash and prev_hash in order, and rewrite
 * ledger_head to match.  The chain then verifies on its own.
 */
static int collect(void *ctx, const struct cds_ledger_entry *e)
{
	struct row *r = ctx, *w;
	size_t i = 0;

	while (i < 16 && r[i].s[0])
		i++;
	if (i == 16)
		return 1;
	w = &r[i];
	w->e = *e;
	w->s[0] = strdup(e->order_id);
	w->s[1] = strdup(e->scope_type);
	w->s[2] = strdup(e->scope_value);
	w->s[3] = strdup(e->window);
	w->e.order_id = w->s[0];
	w->e.scope_type = w->s[1];
	w->e.scope_value = w->s[2];
	w->e.window = w->s[3];
	return 0;
}

static void rehash_all(const char *dir)
{
	char prev[CDS_LEDGER_HASH_HEX_BYTES];
	struct row r[16];
	struct cds_ledger *l;
	struct cds_error err;

	memset(r, 0, sizeof(r));
	assert_int_equal(cds_ledger_open(&l, dir, false, &err), CDS_OK);
	assert_int_equal(cds_ledger_scan(l, collect, r, &err), CDS_OK);
	cds_ledger_close(l);
	memset(prev, '0', 64);
	prev[64] = '\0';
	for (size_t i = 0; i < 16 && r[i].s[0]; i++) {
		char *sql;

		memcpy(r[i].e.prev_hash, prev, sizeof(prev));
		cds_ledger_entry_hash(r[i].e.entry_hash, &r[i].e);
		memcpy(prev, r[i].e.entry_hash, sizeof(prev));
		assert_true(asprintf(&sql, "UPDATE ledger SET prev_hash = '%s',"
				     " entry_hash = '%s' WHERE seq = %llu;"
				     "UPDATE ledger_head SET seq = %llu,"
				     " entry_hash = '%s';",
				     r[i].e.prev_hash, r[i].e.entry_hash,
				     (unsigned long long)r[i].e.seq,
				     (unsigned long long)r[i].e.seq,
				     r[i].e.entry_hash) > 0);
		tamper(dir, sql);
		free(sql);
		for (int k = 0; k < 4; k++)
			free(r[i].s[k]);
	}
}

static void test_rehashed_forgery(void **state)
{
	char *dir = ledger3();
	struct cds_ledger_head published = head_of(dir);
	struct cds_error err;
	uint64_t n = 0;

	(void)state;
	/* Entry 2 altered, then the whole chain and its head re-hashed. */
	tamper(dir, "UPDATE ledger SET record_count = 0 WHERE seq = 2");
	rehash_all(dir);
	/* The chain alone cannot tell: that is why heads are published... */
	assert_int_equal(verify(dir, &n, &err), CDS_OK);
	assert_int_equal(n, 3);
	/* ...and a published head catches it. */
	assert_int_equal(extends(dir, &published, &err), CDS_ERR_CRYPTO);
	if (!strstr(err.msg, "entry 3") || !strstr(err.msg, "rewritten"))
		fail_msg("message '%s'", err.msg);
	rmtree(dir);
}

static void test_truncated_with_rewritten_head(void **state)
{
	char *dir = ledger3();
	struct cds_ledger_head published = head_of(dir);
	struct cds_error err;
	uint64_t n = 0;

	(void)state;
	tamper(dir, "DELETE FROM ledger WHERE seq = 3;"
		    "UPDATE ledger_head SET seq = 2, entry_hash ="
		    " (SELECT entry_hash FROM ledger WHERE seq = 2);");
	assert_int_equal(verify(dir, &n, &err), CDS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(extends(dir, &published, &err), CDS_ERR_CRYPTO);
	if (!strstr(err.msg, "entries removed"))
		fail_msg("message '%s'", err.msg);
	rmtree(dir);
}

static void test_extends_published_head(void **state)
{
	char *dir = ledger3();
	struct cds_ledger_head published = head_of(dir), zero = {0};
	struct cds_error err;

	(void)state;
	append(dir, "ORDER-4", 4);
	assert_int_equal(extends(dir, &published, &err), CDS_OK);
	assert_int_equal(extends(dir, &zero, &err), CDS_OK);
	published.hash[0] ^= 1; /* a head this ledger never had */
	assert_int_equal(extends(dir, &published, &err), CDS_ERR_CRYPTO);
	rmtree(dir);
}

static void test_head_signature_and_parse(void **state)
{
	char *dir = ledger3_in(qlogtest_dir(true)); /* keysrc reads the store */
	struct cds_ledger_head h = head_of(dir), back;
	uint8_t sig[CDS_LEDGER_SIG_BYTES], pk[CDS_LEDGER_PK_BYTES], sig2[64];
	uint8_t b[CDS_LEDGER_SIGNED_HEAD_BYTES];
	char hex[2 * CDS_LEDGER_SIGNED_HEAD_BYTES + 1];
	struct cds_error err;
	bool has_sig;

	(void)state;
	assert_int_equal(cds_ledger_head_sign(dir, &h, sig, pk, &err), CDS_OK);
	assert_int_equal(cds_ledger_head_check(dir, &h, sig, &err), CDS_OK);
	cds_ledger_head_encode(b, &h);
	memcpy(b + CDS_LEDGER_HEAD_BYTES, sig, sizeof(sig));
	cds_hex_encode(hex, b, sizeof(b));
	assert_int_equal(cds_ledger_head_parse(&back, sig2, &has_sig, hex, &err),
			 CDS_OK);
	assert_true(has_sig);
	assert_int_equal(back.entries, 3);
	assert_memory_equal(back.hash, h.hash, sizeof(h.hash));
	assert_memory_equal(sig2, sig, sizeof(sig));
	hex[2 * CDS_LEDGER_HEAD_BYTES] = '\0';
	assert_int_equal(cds_ledger_head_parse(&back, sig2, &has_sig, hex, &err),
			 CDS_OK);
	assert_false(has_sig);
	hex[10] = 'x';
	assert_int_equal(cds_ledger_head_parse(&back, sig2, &has_sig, hex, &err),
			 CDS_ERR_USAGE);
	assert_int_equal(cds_ledger_head_parse(&back, sig2, &has_sig, "00", &err),
			 CDS_ERR_USAGE);
	sig[5] ^= 1;
	assert_int_equal(cds_ledger_head_check(dir, &h, sig, &err),
			 CDS_ERR_CRYPTO);
	sig[5] ^= 1;
	h.entries = 2;
	assert_int_equal(cds_ledger_head_check(dir, &h, sig, &err),
			 CDS_ERR_CRYPTO);
	rmtree(dir);
}

/* Does any sealed row hold these bytes, raw or as hex? */
static bool sealed_rows_hold(const uint8_t *b, size_t len)
{
	char hex[2 * crypto_sign_SECRETKEYBYTES + 1], q[512];
	PGconn *c = PQconnectdb(storetest_pg());
	PGresult *r;
	bool found;

	cds_hex_encode(hex, b, len);
	snprintf(q, sizeof(q), "SELECT count(*) FROM cds.sealed WHERE "
		 "position('\\x%s'::bytea in box) > 0 OR "
		 "position('%s'::bytea in box) > 0", hex, hex);
	r = PQexec(c, q);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	found = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
	PQclear(r);
	PQfinish(c);
	return found;
}

/* Make dir's store keep its keys sealed, as cdsctl init --store does. */
static void seal_store(const char *dir)
{
	struct cds_store *s = NULL;
	struct cds_error err;
	char path[4096];

	assert_int_equal(cds_kek_path(path, dir, &err), CDS_OK);
	assert_int_equal(cds_kek_create(path, &err), CDS_OK);
	assert_int_equal(cds_store_open(&s, dir, &err), CDS_OK);
	assert_int_equal(cds_keysrc_seal_new(dir, s, &err), CDS_OK);
	cds_store_close(s);
}

/* A second data directory of dir's database, as cdsctl join makes it. */
static char *joined(const char *dir)
{
	char *dir2 = tmpdir_new(), src[4096], dst[4096];
	struct cds_error err;

	assert_int_equal(cds_store_join(dir2, storetest_pg(), &err), CDS_OK);
	snprintf(dst, sizeof(dst), "%s/keys", dir2);
	assert_int_equal(mkdir(dst, 0700), 0);
	assert_int_equal(cds_kek_path(src, dir, &err), CDS_OK);
	assert_int_equal(cds_kek_path(dst, dir2, &err), CDS_OK);
	assert_int_equal(cds_kek_copy(dst, src, &err), CDS_OK);
	return dir2;
}

static bool has_key_file(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/keys/ledger.key", dir);
	return access(path, F_OK) == 0;
}

/*
 * PostgreSQL with sealed keys: one ledger key for every data directory,
 * sealed (never in the clear, never a file); a key file from before the
 * key was sealed is adopted, so heads it signed keep verifying.
 */
static void test_head_key_sealed(void **state)
{
	char *dir, *dir2, path[4096];
	struct cds_ledger_head h;
	uint8_t sig[CDS_LEDGER_SIG_BYTES], sig2[CDS_LEDGER_SIG_BYTES];
	uint8_t pk[CDS_LEDGER_PK_BYTES], pk2[CDS_LEDGER_PK_BYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	struct cds_error err;

	(void)state;
	if (!storetest_pg())
		skip();
	dir = ledger3_in(qlogtest_dir(true));
	h = head_of(dir);
	/* Signed while the store kept its keys in files (an older init). */
	assert_int_equal(cds_ledger_head_sign(dir, &h, sig, pk, &err), CDS_OK);
	assert_true(has_key_file(dir));
	seal_store(dir);
	dir2 = joined(dir);
	assert_int_equal(cds_ledger_head_check(dir2, &h, sig, &err),
			 CDS_ERR_NOT_FOUND); /* not sealed yet: dir2 has no file */
	assert_non_null(strstr(err.msg, "no ledger key"));
	assert_int_equal(cds_ledger_head_check(dir, &h, sig, &err), CDS_OK);
	snprintf(path, sizeof(path), "%s/keys/ledger.key", dir);
	assert_int_equal(unlink(path), 0);
	/* Sealed from the file: both directories, no file written. */
	assert_int_equal(cds_ledger_head_check(dir, &h, sig, &err), CDS_OK);
	assert_int_equal(cds_ledger_head_check(dir2, &h, sig, &err), CDS_OK);
	assert_int_equal(cds_ledger_head_sign(dir2, &h, sig2, pk2, &err), CDS_OK);
	assert_memory_equal(pk2, pk, sizeof(pk));
	assert_false(has_key_file(dir));
	assert_false(has_key_file(dir2));
	assert_int_equal(cds_ledger_key_load(dir2, false, sk, &err), CDS_OK);
	assert_false(sealed_rows_hold(sk, crypto_sign_SEEDBYTES));
	assert_false(sealed_rows_hold(sk, sizeof(sk)));
	assert_false(sealed_rows_hold(pk, sizeof(pk)));
	sodium_memzero(sk, sizeof(sk));
	/* An altered row is refused, naming it; nothing falls back. */
	qlogtest_sql("UPDATE cds.sealed SET box = set_byte(box, 30, "
		     "get_byte(box, 30) # 1) WHERE kind = 'ledger'");
	assert_int_equal(cds_ledger_head_sign(dir2, &h, sig2, pk2, &err),
			 CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "ledger/1"));
	assert_false(has_key_file(dir2));
	rmtree(dir2);
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
		cmocka_unit_test(test_truncated_with_rewritten_head),
		cmocka_unit_test(test_extends_published_head),
		cmocka_unit_test(test_head_signature_and_parse),
		cmocka_unit_test(test_head_key_sealed),
		cmocka_unit_test(test_hash_covers_fields),
	};

	if (sodium_init() < 0) /* the ledger key is held in sodium_malloc'd memory */
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
