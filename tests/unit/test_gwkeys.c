/*
 * test_gwkeys.c: the Oblivious HTTP gateway's key file (lib/crypto/
 * gwkeys*.c): creation (once), rotation (next free id, old key kept for
 * its grace period, then dropped), the public key derived from the secret,
 * and refusals: wrong mode, malformed lines, duplicate ids, no current key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/gwkeys.h"
#include "storetest.h"

#define HOUR_US (INT64_C(3600) * 1000000)

static int setup(void **state)
{
	char path[512];

	*state = tmpdir_new();
	snprintf(path, sizeof(path), "%s/keys", (char *)*state);
	assert_int_equal(mkdir(path, 0700), 0);
	return 0;
}

static int teardown(void **state)
{
	tmpdir_free(*state);
	return 0;
}

static void write_file(const char *dir, const char *text, mode_t mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys/ohttp-gateway.keys", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_create_and_rotate(void **state)
{
	const char *dir = *state;
	struct cds_gwkey k[CDS_GWKEYS_MAX];
	struct cds_error err = {0};
	uint8_t pk[32], id = 0;
	int64_t t = 1800000000LL * 1000000;
	size_t n;

	assert_int_equal(cds_gwkeys_load(dir, t, k, &n, &err), CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_gwkeys_create(dir, &err), CDS_OK);
	assert_int_equal(cds_gwkeys_create(dir, &err), CDS_ERR_EXISTS);
	assert_int_equal(cds_gwkeys_load(dir, t, k, &n, &err), CDS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(k[0].key.id, 1);
	assert_int_equal(k[0].retired_us, 0);
	crypto_scalarmult_base(pk, k[0].key.sk);
	assert_memory_equal(pk, k[0].key.pk, 32);

	assert_int_equal(cds_gwkeys_rotate(dir, t, &id, &err), CDS_OK);
	assert_int_equal(id, 2);
	assert_int_equal(cds_gwkeys_load(dir, t + HOUR_US, k, &n, &err), CDS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(k[0].key.id, 2);       /* current first */
	assert_int_equal(k[1].key.id, 1);
	assert_int_equal(k[1].retired_us, t);
	/* past the grace period the old key is no longer loaded... */
	assert_int_equal(cds_gwkeys_load(dir, t + CDS_GWKEYS_GRACE_US + 1, k, &n,
					 &err), CDS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(k[0].key.id, 2);
	/* ...and the next rotation drops it from the file */
	assert_int_equal(cds_gwkeys_rotate(dir, t + CDS_GWKEYS_GRACE_US + 2, &id,
					   &err), CDS_OK);
	assert_int_equal(id, 3);
	assert_int_equal(cds_gwkeys_load(dir, t + CDS_GWKEYS_GRACE_US + 3, k, &n,
					 &err), CDS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(k[0].key.id, 3);
	assert_int_equal(k[1].key.id, 2);
}

/* Many rotations in a day: ids stay distinct and the file bounded. */
static void test_many_rotations(void **state)
{
	const char *dir = *state;
	struct cds_gwkey k[CDS_GWKEYS_MAX];
	struct cds_error err = {0};
	int64_t t = 1800000000LL * 1000000;
	uint8_t id = 0;
	size_t n;

	assert_int_equal(cds_gwkeys_create(dir, &err), CDS_OK);
	for (int i = 0; i < 300; i++)
		assert_int_equal(cds_gwkeys_rotate(dir, t + i, &id, &err), CDS_OK);
	assert_int_equal(cds_gwkeys_load(dir, t + 300, k, &n, &err), CDS_OK);
	assert_int_equal(n, CDS_GWKEYS_MAX);
	assert_int_equal(k[0].key.id, id);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_int_not_equal(k[i].key.id, k[j].key.id);
}

static void expect_refused(const char *dir, const char *text, mode_t mode,
			   const char *why)
{
	struct cds_gwkey k[CDS_GWKEYS_MAX];
	struct cds_error err = {0};
	size_t n = 99;

	write_file(dir, text, mode);
	assert_int_equal(cds_gwkeys_load(dir, 1, k, &n, &err), CDS_ERR_INVALID);
	assert_int_equal(n, 0);
	if (!strstr(err.msg, why))
		fail_msg("message '%s' lacks '%s'", err.msg, why);
}

#define SK "0101010101010101010101010101010101010101010101010101010101010101"

static void test_malformed(void **state)
{
	const char *dir = *state;
	struct cds_gwkey k[CDS_GWKEYS_MAX];
	struct cds_error err = {0};
	size_t n;

	write_file(dir, "cds-ohttp-keys v1\nkey 7 5 0 " SK "\n", 0600);
	assert_int_equal(cds_gwkeys_load(dir, 1, k, &n, &err), CDS_OK);
	assert_int_equal(k[0].key.id, 7);
	expect_refused(dir, "cds-ohttp-keys v1\nkey 7 5 0 " SK "\n", 0644,
		       "mode 0600");
	expect_refused(dir, "cds-ohttp-keys v2\nkey 7 5 0 " SK "\n", 0600,
		       "first line");
	expect_refused(dir, "cds-ohttp-keys v1\nkey 256 5 0 " SK "\n", 0600,
		       "malformed");
	expect_refused(dir, "cds-ohttp-keys v1\nkey 7 5 0 0101\n", 0600,
		       "malformed");
	expect_refused(dir, "cds-ohttp-keys v1\nkey 7 5 0 " SK " extra\n", 0600,
		       "malformed");
	expect_refused(dir, "cds-ohttp-keys v1\nkey 7 5 0 " SK "\nkey 7 6 0 "
		       SK "\n", 0600, "share a key id");
	expect_refused(dir, "cds-ohttp-keys v1\nkey 7 5 9 " SK "\n", 0600,
		       "not exactly one current key");
	expect_refused(dir, "cds-ohttp-keys v1\n", 0600,
		       "not exactly one current key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_rotate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_rotations, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
