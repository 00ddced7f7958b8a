/*
 * keysrc_tkey.c: the transparency key's seed (keysrc.h cds_keysrc_tkey),
 * from DIR/keys/transparency.key or the sealed row ("transparency", 1).
 *
 * The file is the base64 of the 32-byte Ed25519 seed and a newline, mode
 * 0600.  Invariants:
 *  1. A key is never replaced: the file is written under a temporary name
 *     and link(2)ed into place (not renamed, which would replace a key
 *     another process made meanwhile), and the row is sealed only if there
 *     is none; both then read back what won, so two processes creating the
 *     key at once (cdsctl init and a cdsd) agree on one.
 *  2. The seed leaves only through the caller's buffer; the text and every
 *     other copy are wiped on every path.
 */
#include "store/keysrc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/os.h"
#include "store/store_impl.h"

#define SEED_BYTES 32
#define SEED_B64 (CDS_B64_LEN(SEED_BYTES) - 1) /* 44 characters */
#define SEALED_KIND "transparency"
#define FILE_NAME "transparency.key"

static enum cds_err key_path(char out[PATH_MAX], const char *datadir,
			     const char *name, struct cds_error *err)
{
	if (snprintf(out, PATH_MAX, "%s/keys/%s", datadir, name) >= PATH_MAX)
		return cds_fail(err, CDS_ERR_INVALID, "data directory path too long");
	return CDS_OK;
}

/* The seed of the file at path; CDS_ERR_NOT_FOUND if there is none. */
static enum cds_err file_read(const char *path, uint8_t seed[SEED_BYTES],
			      struct cds_error *err)
{
	char text[SEED_B64 + 2];
	size_t n = 0;
	enum cds_err rc = cds_read_head(path, text, sizeof(text), &n, err);

	if (!rc && (n != SEED_B64 + 1 || text[SEED_B64] != '\n' ||
		    cds_b64_decode_exact(seed, SEED_BYTES, text, SEED_B64,
					 "transparency key", NULL) != CDS_OK))
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "the transparency key '%s' is malformed (want the "
			      "base64 of 32 bytes and a newline)", path);
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* A fresh seed under a temporary name, linked to path (invariant 1). */
static enum cds_err file_create(const char *datadir, const char *path,
				struct cds_error *err)
{
	uint8_t seed[SEED_BYTES];
	char tmp[PATH_MAX], name[64], text[SEED_B64 + 1];
	enum cds_err rc;

	snprintf(name, sizeof(name), ".%s.%ld", FILE_NAME, (long)getpid());
	if ((rc = key_path(tmp, datadir, name, err)))
		return rc;
	randombytes_buf(seed, sizeof(seed));
	cds_b64_encode(text, seed, sizeof(seed));
	rc = cds_token_write_file(tmp, text, err);
	if (!rc && link(tmp, path) != 0 && errno != EEXIST)
		rc = cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", path,
			      strerror(errno));
	unlink(tmp);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(text, sizeof(text));
	return rc;
}

static enum cds_err file_tkey(const char *datadir, bool create,
			      uint8_t seed[SEED_BYTES], struct cds_error *err)
{
	char path[PATH_MAX];
	enum cds_err rc = key_path(path, datadir, FILE_NAME, err);

	if (!rc)
		rc = file_read(path, seed, err);
	if (rc == CDS_ERR_NOT_FOUND && create &&
	    !(rc = file_create(datadir, path, err)))
		rc = file_read(path, seed, err);
	else if (rc == CDS_ERR_NOT_FOUND)
		rc = cds_fail(err, rc, "no transparency key '%s' (cdsctl init "
			      "makes it, and so does cdsd)", path);
	return rc;
}

enum cds_err cds_keysrc_tkey(struct cds_keysrc *ks, bool create,
			     uint8_t seed[32], struct cds_error *err)
{
	enum cds_err rc;

	if (!cds_keysrc_sealed(ks))
		rc = file_tkey(ks->datadir, create, seed, err);
	else if (create)
		rc = cds_keysrc_secret(ks, SEALED_KIND, seed, SEED_BYTES, err);
	else
		rc = cds_keysrc_secret_get(ks, SEALED_KIND, NULL, seed,
					   SEED_BYTES, err);
	if (rc)
		sodium_memzero(seed, SEED_BYTES);
	return rc;
}
