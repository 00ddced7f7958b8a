/*
 * test_keys.c: OPRF key epochs on disk (lib/crypto/keys.h): init, rotate,
 * load newest first, file modes, destroy, malformed and hostile files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sodium.h>

#include "core/timeutil.h"
#include "crypto/keys.h"
#include "storetest.h"

static int setup(void **state)
{
	*state = tmpdir_new();
	return 0;
}

static int teardown(void **state)
{
	tmpdir_free(*state);
	return 0;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void load(const char *dir, const uint32_t *want, size_t n)
{
	struct cds_epoch_key *k = NULL;
	struct cds_error err;
	uint8_t pk[32];
	size_t got = 0;

	cds_error_clear(&err);
	assert_int_equal(cds_keys_load(dir, &k, &got, &err), CDS_OK);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(k[i].epoch, want[i]);
		assert_int_equal(crypto_scalarmult_ristretto255_base(pk, k[i].sk), 0);
		assert_memory_equal(pk, k[i].pk, 32);
		assert_true(k[i].created_us > cds_now_us() - 60 * CDS_USEC_PER_SEC);
		assert_true(k[i].created_us <= cds_now_us());
		if (i)
			assert_memory_not_equal(k[i].sk, k[i - 1].sk, 32);
	}
	cds_keys_free(k, got);
}

static void test_init_rotate_load(void **state)
{
	const char *dir = *state;
	struct cds_epoch_key *k = (void *)1;
	struct cds_error err;
	uint32_t epoch = 0;
	size_t n = 7;

	cds_error_clear(&err);
	assert_int_equal(cds_keys_load(dir, &k, &n, &err), CDS_ERR_NOT_FOUND);
	assert_null(k);
	assert_int_equal(n, 0);
	assert_int_equal(cds_keys_rotate(dir, &epoch, &err), CDS_ERR_NOT_FOUND);

	assert_int_equal(cds_keys_init(dir, &err), CDS_OK);
	assert_int_equal(mode_of(tmpdir_path(dir, "keys")), 0700);
	assert_int_equal(mode_of(tmpdir_path(dir, "keys/epoch-1.key")), 0600);
	load(dir, (uint32_t[]){1}, 1);
	assert_int_equal(cds_keys_init(dir, &err), CDS_ERR_EXISTS);

	assert_int_equal(cds_keys_rotate(dir, &epoch, &err), CDS_OK);
	assert_int_equal(epoch, 2);
	assert_int_equal(cds_keys_rotate(dir, &epoch, &err), CDS_OK);
	assert_int_equal(epoch, 3);
	load(dir, (uint32_t[]){3, 2, 1}, 3);
	assert_int_equal(cds_keys_load("/nonexistent/cds", &k, &n, &err),
			 CDS_ERR_NOT_FOUND);
}

static void put(const char *dir, const char *name, const char *text,
		mode_t mode)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/keys/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_modes_and_strays(void **state)
{
	const char *dir = *state;
	struct cds_epoch_key *k = NULL;
	struct cds_error err;
	char path[4096];
	size_t n = 0;

	cds_error_clear(&err);
	/* A hand-made keys directory is tightened by init. */
	assert_int_equal(mkdir(tmpdir_path(dir, "keys"), 0755), 0);
	assert_int_equal(cds_keys_init(dir, &err), CDS_OK);
	assert_int_equal(mode_of(tmpdir_path(dir, "keys")), 0700);

	/* Files that are not epoch keys are ignored. */
	put(dir, "epoch-01.key", "junk", 0600);
	put(dir, "epoch-5.key.tmp-123", "junk", 0600);
	put(dir, "epoch-0.key", "junk", 0600);
	put(dir, "epoch-4294967296.key", "junk", 0600);
	put(dir, "README", "junk", 0644);
	load(dir, (uint32_t[]){1}, 1);

	/* A key others can read is refused, naming the file. */
	snprintf(path, sizeof(path), "%s/keys/epoch-1.key", dir);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(cds_keys_load(dir, &k, &n, &err), CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "0640"));
	assert_int_equal(chmod(path, 0600), 0);
	load(dir, (uint32_t[]){1}, 1);

	/* So is a symbolic link in place of a key. */
	assert_int_equal(symlink(path, tmpdir_path(dir, "keys/epoch-7.key")), 0);
	assert_int_equal(cds_keys_load(dir, &k, &n, &err), CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "epoch-7.key"));
}

static void test_destroy(void **state)
{
	const char *dir = *state;
	struct cds_error err;
	uint32_t epoch = 0;
	struct stat st;

	cds_error_clear(&err);
	assert_int_equal(cds_keys_init(dir, &err), CDS_OK);
	assert_int_equal(cds_keys_destroy(dir, 1, &err), CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "newest"));
	assert_int_equal(cds_keys_rotate(dir, &epoch, &err), CDS_OK);
	assert_int_equal(cds_keys_rotate(dir, &epoch, &err), CDS_OK);
	assert_int_equal(cds_keys_destroy(dir, 1, &err), CDS_OK);
	assert_int_equal(stat(tmpdir_path(dir, "keys/epoch-1.key"), &st), -1);
	load(dir, (uint32_t[]){3, 2}, 2);
	assert_int_equal(cds_keys_destroy(dir, 1, &err), CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_keys_destroy(dir, 9, &err), CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_keys_destroy(dir, 2, &err), CDS_OK);
	/* Numbers keep growing past destroyed epochs. */
	assert_int_equal(cds_keys_rotate(dir, &epoch, &err), CDS_OK);
	assert_int_equal(epoch, 4);
	load(dir, (uint32_t[]){4, 3}, 2);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"cds-oprf-key v2\nepoch 2\ncreated_us 1\nsecret 0100000000000000000000000000000000000000000000000000000000000000\n",
		"cds-oprf-key v1\nepoch 3\ncreated_us 1\nsecret 0100000000000000000000000000000000000000000000000000000000000000\n",
		"cds-oprf-key v1\nepoch 02\ncreated_us 1\nsecret 0100000000000000000000000000000000000000000000000000000000000000\n",
		"cds-oprf-key v1\nepoch 2\ncreated_us -1\nsecret 0100000000000000000000000000000000000000000000000000000000000000\n",
		"cds-oprf-key v1\nepoch 2\ncreated_us 1\nsecret 01000000000000000000000000000000000000000000000000000000000000\n",
		"cds-oprf-key v1\nepoch 2\ncreated_us 1\nsecret 0100000000000000000000000000000000000000000000000000000000000000",
		"cds-oprf-key v1\nepoch 2\ncreated_us 1\nsecret 0100000000000000000000000000000000000000000000000000000000000000\nmore\n",
		"cds-oprf-key v1\nepoch 2\ncreated_us 1\nsecret 0000000000000000000000000000000000000000000000000000000000000000\n",
		"cds-oprf-key v1\nepoch 2\ncreated_us 1\nsecret ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n",
		"cds-oprf-key v1\nepoch 2\nsecret 0100000000000000000000000000000000000000000000000000000000000000\ncreated_us 1\n",
		"cds-oprf-key v1\r\nepoch 2\ncreated_us 1\nsecret 0100000000000000000000000000000000000000000000000000000000000000\n",
	};
	static const char good[] =
		"cds-oprf-key v1\nepoch 2\ncreated_us 1\nsecret 0100000000000000000000000000000000000000000000000000000000000000\n";
	const char *dir = *state;
	struct cds_epoch_key *k = NULL;
	struct cds_error err;
	char big[2048];
	size_t n = 0;

	cds_error_clear(&err);
	assert_int_equal(cds_keys_init(dir, &err), CDS_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(dir, "epoch-2.key", bad[i], 0600);
		assert_int_equal(cds_keys_load(dir, &k, &n, &err), CDS_ERR_INVALID);
		assert_non_null(strstr(err.msg, "epoch-2.key"));
		assert_null(k);
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(dir, "epoch-2.key", big, 0600);
	assert_int_equal(cds_keys_load(dir, &k, &n, &err), CDS_ERR_INVALID);

	/* The same file, well formed: scalar 1, so the public key is G. */
	put(dir, "epoch-2.key", good, 0600);
	assert_int_equal(cds_keys_load(dir, &k, &n, &err), CDS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(k[0].epoch, 2);
	assert_int_equal(k[0].created_us, 1);
	assert_int_equal(k[0].sk[0], 1);
	cds_keys_free(k, n);
	cds_keys_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_rotate_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes_and_strays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
