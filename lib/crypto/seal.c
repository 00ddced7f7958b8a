/*
 * seal.c: the key-encryption key file and sealed boxes (seal.h).
 */
#include "crypto/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/os.h"

#define KEK_MAGIC "cds-kek v1\n"
#define KEK_TEXT_BYTES (sizeof(KEK_MAGIC) - 1 + 2 * CDS_KEK_BYTES + 1)

enum cds_err cds_kek_path(char *out, const char *datadir,
			  struct cds_error *err)
{
	int n = snprintf(out, PATH_MAX, "%s/keys/kek", datadir);

	if (n < 0 || n >= PATH_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"data directory path too long: '%s'", datadir);
	return CDS_OK;
}

/* Write the text of kek to a new file path (0600). */
static enum cds_err write_new(const char *path,
			      const uint8_t kek[static CDS_KEK_BYTES],
			      struct cds_error *err)
{
	char text[KEK_TEXT_BYTES + 1];
	enum cds_err rc;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return cds_fail(err, errno == EEXIST ? CDS_ERR_EXISTS : CDS_ERR_IO,
				"cannot create key-encryption key '%s': %s", path,
				strerror(errno));
	memcpy(text, KEK_MAGIC, sizeof(KEK_MAGIC) - 1);
	cds_hex_encode(text + sizeof(KEK_MAGIC) - 1, kek, CDS_KEK_BYTES);
	text[KEK_TEXT_BYTES - 1] = '\n';
	rc = cds_write_all_sync(fd, path, text, KEK_TEXT_BYTES, err);
	close(fd);
	if (rc)
		unlink(path);
	sodium_memzero(text, sizeof(text));
	return rc;
}

enum cds_err cds_kek_create(const char *path, struct cds_error *err)
{
	uint8_t kek[CDS_KEK_BYTES];
	enum cds_err rc;

	crypto_aead_xchacha20poly1305_ietf_keygen(kek);
	rc = write_new(path, kek, err);
	sodium_memzero(kek, sizeof(kek));
	return rc;
}

enum cds_err cds_kek_copy(const char *dst, const char *src,
			  struct cds_error *err)
{
	uint8_t kek[CDS_KEK_BYTES];
	enum cds_err rc = cds_kek_load(kek, src, err);

	if (!rc)
		rc = write_new(dst, kek, err);
	sodium_memzero(kek, sizeof(kek));
	return rc;
}

/* Open path for reading: a regular file, not a link, owner-only. */
static enum cds_err open_private(const char *path, int *fd,
				 struct cds_error *err)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND
						     : CDS_ERR_IO,
				"cannot open key-encryption key '%s': %s", path,
				errno == ELOOP ? "it is a symbolic link"
					       : strerror(errno));
	if (fstat(*fd, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 077))
		return CDS_OK;
	close(*fd);
	*fd = -1;
	return cds_fail(err, CDS_ERR_INVALID,
			"key-encryption key '%s' must be a regular file readable "
			"by its owner only (chmod 600)", path);
}

enum cds_err cds_kek_load(uint8_t kek[static CDS_KEK_BYTES], const char *path,
			  struct cds_error *err)
{
	char text[KEK_TEXT_BYTES + 2];
	enum cds_err rc;
	ssize_t n;
	int fd;

	memset(kek, 0, CDS_KEK_BYTES);
	rc = open_private(path, &fd, err);
	if (rc)
		return rc;
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n != (ssize_t)KEK_TEXT_BYTES ||
	    memcmp(text, KEK_MAGIC, sizeof(KEK_MAGIC) - 1) != 0 ||
	    text[KEK_TEXT_BYTES - 1] != '\n' ||
	    cds_hex_decode_exact(kek, CDS_KEK_BYTES,
				 text + sizeof(KEK_MAGIC) - 1, 2 * CDS_KEK_BYTES,
				 "kek", NULL) != CDS_OK)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "key-encryption key '%s' is malformed (expected "
			      "'cds-kek v1' and 64 hex digits)", path);
	sodium_memzero(text, sizeof(text));
	if (rc)
		sodium_memzero(kek, CDS_KEK_BYTES);
	return rc;
}

void cds_seal(uint8_t *box, const uint8_t *msg, size_t len, const char *ad,
	      const uint8_t kek[static CDS_KEK_BYTES])
{
	randombytes_buf(box, CDS_SEAL_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		box + CDS_SEAL_NONCE_BYTES, NULL, msg, len,
		(const uint8_t *)ad, strlen(ad), NULL, box, kek);
}

enum cds_err cds_unseal(uint8_t *msg, size_t *len, const uint8_t *box,
			size_t box_len, const char *ad,
			const uint8_t kek[static CDS_KEK_BYTES],
			struct cds_error *err)
{
	unsigned long long n = 0;

	*len = 0;
	if (box_len < CDS_SEAL_OVERHEAD_BYTES)
		return cds_fail(err, CDS_ERR_INVALID,
				"sealed '%s' is %zu bytes, too short to be a box",
				ad, box_len);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    msg, &n, NULL, box + CDS_SEAL_NONCE_BYTES,
		    box_len - CDS_SEAL_NONCE_BYTES, (const uint8_t *)ad,
		    strlen(ad), box, kek) != 0) {
		sodium_memzero(msg, box_len - CDS_SEAL_OVERHEAD_BYTES);
		return cds_fail(err, CDS_ERR_CRYPTO,
				"sealed '%s' does not open: altered, or sealed "
				"under another key-encryption key", ad);
	}
	*len = (size_t)n;
	return CDS_OK;
}
