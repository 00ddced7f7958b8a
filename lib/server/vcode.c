/*
 * vcode.c: verification codes and their keyed hash (vcode.h).
 *
 * Invariants: codes come from libsodium's CSPRNG by rejection sampling
 * (randombytes_uniform), so every code is equally likely; the key and every
 * copy of a code are wiped on every path.
 */
#include "server/vcode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/os.h"

#define HASH_LABEL "cds/v1/code"

/* Create path with a fresh key; EEXIST is not an error (a race). */
static enum cds_err key_create(const char *path, struct cds_error *err)
{
	uint8_t key[CDS_VCODE_KEY_BYTES];
	enum cds_err rc;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST)
		return CDS_OK;
	if (fd < 0)
		return cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", path,
				strerror(errno));
	crypto_generichash_keygen(key);
	rc = cds_write_all_sync(fd, path, key, sizeof(key), err);
	close(fd);
	if (rc)
		unlink(path);
	sodium_memzero(key, sizeof(key));
	return rc;
}

static enum cds_err key_read(uint8_t *key, const char *path,
			     struct cds_error *err)
{
	uint8_t buf[CDS_VCODE_KEY_BYTES + 1]; /* one more: too long a file */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return cds_fail(err, CDS_ERR_IO, "cannot open '%s': %s", path,
				strerror(errno));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == CDS_VCODE_KEY_BYTES)
		memcpy(key, buf, CDS_VCODE_KEY_BYTES);
	sodium_memzero(buf, sizeof(buf));
	if (n == CDS_VCODE_KEY_BYTES)
		return CDS_OK;
	return cds_fail(err, CDS_ERR_INVALID,
			"'%s' must hold exactly %d bytes", path,
			CDS_VCODE_KEY_BYTES);
}

enum cds_err cds_vcode_key_load(uint8_t key[static CDS_VCODE_KEY_BYTES],
				const char *datadir, struct cds_error *err)
{
	char path[4096];
	enum cds_err rc;

	if (snprintf(path, sizeof(path), "%s/keys/verify.key", datadir) >=
	    (int)sizeof(path))
		return cds_fail(err, CDS_ERR_INVALID,
				"data directory path too long: '%s'", datadir);
	rc = key_create(path, err);
	return rc ? rc : key_read(key, path, err);
}

void cds_vcode_new(char code[static CDS_VCODE_DIGITS + 1])
{
	for (int i = 0; i < CDS_VCODE_DIGITS; i++)
		code[i] = (char)('0' + randombytes_uniform(10));
	code[CDS_VCODE_DIGITS] = '\0';
}

void cds_vcode_hash(uint8_t out[static CDS_VERIFY_HASH_BYTES],
		    const uint8_t key[static CDS_VCODE_KEY_BYTES],
		    const uint8_t id[static CDS_VERIFY_ID_BYTES],
		    const char *code, size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, CDS_VCODE_KEY_BYTES,
				CDS_VERIFY_HASH_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)HASH_LABEL,
				  sizeof(HASH_LABEL) - 1);
	crypto_generichash_update(&st, id, CDS_VERIFY_ID_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)code, len);
	crypto_generichash_final(&st, out, CDS_VERIFY_HASH_BYTES);
	sodium_memzero(&st, sizeof(st));
}
