/*
 * test_keysrc.c: the key source (lib/store/keysrc.h) and sealing
 * (lib/crypto/seal.h).  On SQLite (the plain run) the source is the key
 * files, as before; under CDS_TEST_PG (keysrc_pg) a store made with a KEK
 * keeps its keys sealed: rotation and destruction, the gateway key set and
 * the shared verification key through the table, a secret sealed from a
 * value kept elsewhere (the ledger key's); the transparency key, as a
 * file or sealed; a wrong or missing KEK refused with a clear message; an
 * altered or moved row refused; and no
 * row of the database holding a secret key in the clear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "core/codec.h"
#include "crypto/seal.h"
#include "store/keysrc.h"
#include "storetest.h"

struct fx {
	char *dir;
	struct cds_store *s;
	struct cds_keysrc ks;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cds_error err;
	char path[4096];

	f->dir = tmpdir_new();
	assert_int_equal(storetest_create(f->dir, 4, &err), CDS_OK);
	snprintf(path, sizeof(path), "%s/keys", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(cds_store_open(&f->s, f->dir, &err), CDS_OK);
	if (storetest_pg()) {
		assert_int_equal(cds_kek_path(path, f->dir, &err), CDS_OK);
		assert_int_equal(cds_kek_create(path, &err), CDS_OK);
		assert_int_equal(cds_keysrc_seal_new(f->dir, f->s, &err), CDS_OK);
	} else {
		rmdir(path);
		assert_int_equal(cds_keys_init(f->dir, &err), CDS_OK);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cds_keysrc_fini(&f->ks);
	cds_store_close(f->s);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void expect_epochs(struct cds_keysrc *ks, const uint32_t *want, size_t n)
{
	struct cds_epoch_key *k = NULL;
	struct cds_error err;
	size_t got = 0;

	assert_int_equal(cds_keysrc_epochs_load(ks, &k, &got, &err), CDS_OK);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(k[i].epoch, want[i]);
	cds_keys_free(k, got);
}

/* Rotate, list newest first, refuse to destroy the newest, destroy. */
static void test_epochs(void **state)
{
	struct fx *f = *state;
	struct cds_error err;
	uint64_t st1 = 0, st2 = 0;
	uint32_t e = 0;

	assert_int_equal(cds_keysrc_init(&f->ks, f->dir, f->s, &err), CDS_OK);
	assert_int_equal(cds_keysrc_sealed(&f->ks), storetest_pg() != NULL);
	expect_epochs(&f->ks, (uint32_t[]){1}, 1);
	assert_int_equal(cds_keysrc_epochs_stamp(&f->ks, &st1, &err), CDS_OK);
	assert_int_equal(cds_keysrc_epoch_rotate(&f->ks, &e, &err), CDS_OK);
	assert_int_equal(e, 2);
	assert_int_equal(cds_keysrc_epochs_stamp(&f->ks, &st2, &err), CDS_OK);
	if (storetest_pg()) /* a directory's mtime may not tick within 1 ms */
		assert_true(st1 != st2);
	expect_epochs(&f->ks, (uint32_t[]){2, 1}, 2);
	assert_int_equal(cds_keysrc_epoch_destroy(&f->ks, 2, &err),
			 CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "newest"));
	assert_int_equal(cds_keysrc_epoch_destroy(&f->ks, 1, &err), CDS_OK);
	expect_epochs(&f->ks, (uint32_t[]){2}, 1);
	assert_int_equal(cds_keysrc_epoch_destroy(&f->ks, 1, &err),
			 CDS_ERR_NOT_FOUND);
}

/* The gateway key set: load, rotate (new current key, old retired). */
static void test_gateway(void **state)
{
	struct fx *f = *state;
	struct cds_gwkey k[CDS_GWKEYS_MAX];
	struct cds_error err;
	size_t n = 0;
	uint8_t id = 0;

	assert_int_equal(cds_keysrc_init(&f->ks, f->dir, f->s, &err), CDS_OK);
	if (!storetest_pg()) /* init made none: cdsctl init does */
		assert_int_equal(cds_keysrc_gw_create(&f->ks, &err), CDS_OK);
	assert_int_equal(cds_keysrc_gw_load(&f->ks, 1, k, &n, &err), CDS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(k[0].key.id, 1);
	assert_int_equal(cds_keysrc_gw_create(&f->ks, &err), CDS_ERR_EXISTS);
	assert_int_equal(cds_keysrc_gw_rotate(&f->ks, k[0].created_us + 1, &id,
					      &err), CDS_OK);
	assert_int_equal(id, 2);
	assert_int_equal(cds_keysrc_gw_load(&f->ks, k[0].created_us + 2, k, &n,
					    &err), CDS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(k[0].key.id, 2);
	assert_int_equal(k[0].retired_us, 0);
	assert_int_equal(k[1].key.id, 1);
	assert_true(k[1].retired_us != 0);
	sodium_memzero(k, sizeof(k));
}

/* Run SQL on the test database (PostgreSQL runs only). */
static void sql(const char *q)
{
	PGconn *c = PQconnectdb(storetest_pg());
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, q);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", q, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* A KEK file other than the database's is refused, naming the file. */
static void test_wrong_kek(void **state)
{
	struct fx *f = *state;
	struct cds_error err;
	char path[4096];

	if (!storetest_pg())
		skip();
	assert_int_equal(cds_kek_path(path, f->dir, &err), CDS_OK);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cds_keysrc_init(&f->ks, f->dir, f->s, &err),
			 CDS_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "join"));
	assert_int_equal(cds_kek_create(path, &err), CDS_OK);
	assert_int_equal(cds_keysrc_init(&f->ks, f->dir, f->s, &err),
			 CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "is not the key-encryption key"));
	assert_non_null(strstr(err.msg, path));
	assert_false(cds_keysrc_sealed(&f->ks));
	/* Readable by others: refused before it is read. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(cds_keysrc_init(&f->ks, f->dir, f->s, &err),
			 CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "chmod 600"));
}

/* An altered box, or a box moved to another row, does not open. */
static void test_tampered(void **state)
{
	struct fx *f = *state;
	struct cds_epoch_key *k = NULL;
	struct cds_error err;
	size_t n = 0;
	uint32_t e = 0;

	if (!storetest_pg())
		skip();
	assert_int_equal(cds_keysrc_init(&f->ks, f->dir, f->s, &err), CDS_OK);
	sql("UPDATE cds.sealed SET box = set_byte(box, 40, get_byte(box, 40) # 1)"
	    " WHERE kind = 'oprf' AND id = 1");
	assert_int_equal(cds_keysrc_epochs_load(&f->ks, &k, &n, &err),
			 CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "oprf/1"));
	assert_non_null(strstr(err.msg, "altered"));
	assert_null(k);
	assert_int_equal(cds_keysrc_epoch_rotate(&f->ks, &e, &err), CDS_OK);
	sql("DELETE FROM cds.sealed WHERE kind = 'oprf' AND id = 1");
	expect_epochs(&f->ks, (uint32_t[]){2}, 1);
	/* Epoch 2's box renamed epoch 3: refused, not served as epoch 3. */
	sql("UPDATE cds.sealed SET id = 3 WHERE kind = 'oprf' AND id = 2");
	assert_int_equal(cds_keysrc_epochs_load(&f->ks, &k, &n, &err),
			 CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "oprf/3"));
}

/* Does any sealed row hold bytes (raw or hex) of the secret? */
static bool rows_hold(const uint8_t *secret, size_t len)
{
	char hex[2 * 64 + 1];
	PGconn *c = PQconnectdb(storetest_pg());
	PGresult *r;
	bool found = false;

	cds_hex_encode(hex, secret, len);
	r = PQexec(c, "SELECT encode(box, 'escape') || kind || id::text "
		      "FROM cds.sealed");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *v = PQgetvalue(r, i, 0);

		found |= strstr(v, hex) != NULL ||
			 memmem(v, strlen(v), secret, len) != NULL;
	}
	PQclear(r);
	PQfinish(c);
	return found;
}

/* No OPRF, gateway or verification key is in the database in the clear. */
static void test_no_plaintext(void **state)
{
	struct fx *f = *state;
	struct cds_epoch_key *k = NULL;
	struct cds_gwkey g[CDS_GWKEYS_MAX];
	struct cds_error err;
	uint8_t v[32], v2[32];
	size_t n = 0;

	if (!storetest_pg())
		skip();
	assert_int_equal(cds_keysrc_init(&f->ks, f->dir, f->s, &err), CDS_OK);
	assert_int_equal(cds_keysrc_epochs_load(&f->ks, &k, &n, &err), CDS_OK);
	assert_false(rows_hold(k[0].sk, sizeof(k[0].sk)));
	cds_keys_free(k, n);
	assert_int_equal(cds_keysrc_gw_load(&f->ks, 1, g, &n, &err), CDS_OK);
	assert_false(rows_hold(g[0].key.sk, sizeof(g[0].key.sk)));
	assert_int_equal(cds_keysrc_secret(&f->ks, "verify", v, sizeof(v), &err),
			 CDS_OK);
	assert_false(rows_hold(v, sizeof(v)));
	/* The same key every time (every replica). */
	assert_int_equal(cds_keysrc_secret(&f->ks, "verify", v2, sizeof(v2),
					   &err), CDS_OK);
	assert_memory_equal(v, v2, sizeof(v));
	sodium_memzero(g, sizeof(g));
}

/*
 * A secret kept elsewhere until now is sealed as given, once: NOT_FOUND
 * without one, the first value given wins, later ones are ignored.
 */
static void test_secret_get(void **state)
{
	struct fx *f = *state;
	struct cds_error err;
	uint8_t a[32], b[32], out[32];

	randombytes_buf(a, sizeof(a));
	randombytes_buf(b, sizeof(b));
	assert_int_equal(cds_keysrc_init(&f->ks, f->dir, f->s, &err), CDS_OK);
	if (!storetest_pg()) {
		assert_int_equal(cds_keysrc_secret_get(&f->ks, "ledger", a, out,
						       sizeof(out), &err),
				 CDS_ERR_DISABLED);
		return;
	}
	assert_int_equal(cds_keysrc_secret_get(&f->ks, "ledger", NULL, out,
					       sizeof(out), &err),
			 CDS_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "ledger/1"));
	assert_int_equal(cds_keysrc_secret_get(&f->ks, "ledger", a, out,
					       sizeof(out), &err), CDS_OK);
	assert_memory_equal(out, a, sizeof(a));
	assert_false(rows_hold(a, sizeof(a)));
	assert_int_equal(cds_keysrc_secret_get(&f->ks, "ledger", b, out,
					       sizeof(out), &err), CDS_OK);
	assert_memory_equal(out, a, sizeof(a));
	assert_int_equal(cds_keysrc_secret(&f->ks, "ledger", out, sizeof(out),
					   &err), CDS_OK);
	assert_memory_equal(out, a, sizeof(a));
	/* A length other than the one sealed is refused. */
	assert_int_equal(cds_keysrc_secret_get(&f->ks, "ledger", NULL, out, 16,
					       &err), CDS_ERR_INVALID);
}

/* The transparency key's file: "DIR/keys/transparency.key". */
static const char *tkey_path(struct fx *f)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/keys/transparency.key", f->dir);
	return path;
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* SQLite: a file, made once (0600, base64 and a newline), never replaced. */
static void tkey_file(struct fx *f, const uint8_t *seed)
{
	char text[64];
	uint8_t again[32], back[32];
	struct stat st;
	struct cds_error err;
	FILE *fp;

	assert_int_equal(stat(tkey_path(f), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 45);
	fp = fopen(tkey_path(f), "r");
	assert_non_null(fp);
	assert_non_null(fgets(text, sizeof(text), fp));
	fclose(fp);
	assert_int_equal(cds_b64_decode_exact(back, 32, text, 44, "key", &err),
			 CDS_OK);
	assert_memory_equal(back, seed, 32);
	/* Malformed files are refused, not replaced. */
	write_text(tkey_path(f), "not base64 at all\n");
	assert_int_equal(cds_keysrc_tkey(&f->ks, true, again, &err),
			 CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "malformed"));
	assert_true(sodium_is_zero(again, sizeof(again)));
	text[44] = '\0';
	strcat(text, "\nmore\n");
	write_text(tkey_path(f), text);
	assert_int_equal(cds_keysrc_tkey(&f->ks, false, again, &err),
			 CDS_ERR_INVALID);
}

/* PostgreSQL with a KEK: the sealed row, no file, no plaintext. */
static void tkey_sealed(struct fx *f, const uint8_t *seed)
{
	struct cds_keysrc other;
	struct cds_error err;
	uint8_t again[32];
	struct stat st;

	assert_int_equal(stat(tkey_path(f), &st), -1);
	assert_false(rows_hold(seed, 32));
	/* Another replica's source reads the same key. */
	assert_int_equal(cds_keysrc_init(&other, f->dir, f->s, &err), CDS_OK);
	assert_int_equal(cds_keysrc_tkey(&other, false, again, &err), CDS_OK);
	assert_memory_equal(again, seed, 32);
	cds_keysrc_fini(&other);
}

/*
 * The transparency key: none until made; made once, then the same seed
 * whether asked to create or not.
 */
static void test_tkey(void **state)
{
	struct fx *f = *state;
	struct cds_error err;
	uint8_t seed[32], again[32];

	assert_int_equal(cds_keysrc_init(&f->ks, f->dir, f->s, &err), CDS_OK);
	assert_int_equal(cds_keysrc_tkey(&f->ks, false, seed, &err),
			 CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_keysrc_tkey(&f->ks, true, seed, &err), CDS_OK);
	assert_false(sodium_is_zero(seed, sizeof(seed)));
	assert_int_equal(cds_keysrc_tkey(&f->ks, false, again, &err), CDS_OK);
	assert_memory_equal(again, seed, sizeof(seed));
	assert_int_equal(cds_keysrc_tkey(&f->ks, true, again, &err), CDS_OK);
	assert_memory_equal(again, seed, sizeof(seed));
	if (storetest_pg())
		tkey_sealed(f, seed);
	else
		tkey_file(f, seed);
}

/* Boxes: round trip; a flipped byte or another name does not open. */
static void test_seal(void **state)
{
	uint8_t kek[CDS_KEK_BYTES], box[5 + CDS_SEAL_OVERHEAD_BYTES], out[5];
	struct cds_error err;
	size_t len = 0;

	(void)state;
	randombytes_buf(kek, sizeof(kek));
	cds_seal(box, (const uint8_t *)"hello", 5, "a/1", kek);
	assert_int_equal(cds_unseal(out, &len, box, sizeof(box), "a/1", kek, &err),
			 CDS_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(cds_unseal(out, &len, box, sizeof(box), "a/2", kek, &err),
			 CDS_ERR_CRYPTO);
	box[CDS_SEAL_NONCE_BYTES] ^= 1;
	assert_int_equal(cds_unseal(out, &len, box, sizeof(box), "a/1", kek, &err),
			 CDS_ERR_CRYPTO);
	assert_true(sodium_is_zero(out, sizeof(out)));
	assert_int_equal(cds_unseal(out, &len, box, 10, "a/1", kek, &err),
			 CDS_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_epochs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_kek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_plaintext, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tkey, setup, teardown),
		cmocka_unit_test(test_seal),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
