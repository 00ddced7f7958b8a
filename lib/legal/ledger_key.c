/*
 * ledger_key.c: the ledger's Ed25519 key, from a file of DIR/keys or
 * sealed in the store (ledger_key.h).
 *
 * Invariants:
 *  1. The secret key leaves only through the caller's buffer; every other
 *     copy here (hex text, seed) is wiped on every path.
 *  2. A key is never replaced.  The file is written under a temporary name
 *     and link(2)ed into place, and the row is sealed only if there is
 *     none (store/keysrc.h): two processes creating the key at once agree
 *     on one.
 *  3. A data directory whose key source is sealed never writes the file.
 */
#include "legal/ledger_key.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/os.h"
#include "store/keysrc.h"
#include "store/store_impl.h"

#define SK_HEX (2 * crypto_sign_SECRETKEYBYTES)
#define SEALED_KIND "ledger"

static enum cds_err key_path(char out[PATH_MAX], const char *datadir,
			     const char *name, struct cds_error *err)
{
	if (snprintf(out, PATH_MAX, "%s/keys/%s", datadir, name) >= PATH_MAX)
		return cds_fail(err, CDS_ERR_INVALID, "data directory path too long");
	return CDS_OK;
}

/* ---- the file ---- */

/* A fresh key under a temporary name, linked to path (invariant 2). */
static enum cds_err file_create(const char *datadir, const char *path,
				struct cds_error *err)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char tmp[PATH_MAX], name[64], text[SK_HEX + 1];
	enum cds_err rc;

	snprintf(name, sizeof(name), ".ledger.key.%ld", (long)getpid());
	if ((rc = key_path(tmp, datadir, name, err)))
		return rc;
	/* DIR/keys exists after init; a bare directory (tests) gets it here. */
	*strrchr(tmp, '/') = '\0';
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", tmp,
				strerror(errno));
	tmp[strlen(tmp)] = '/';
	crypto_sign_keypair(pk, sk);
	cds_hex_encode(text, sk, sizeof(sk));
	rc = cds_token_write_file(tmp, text, err);
	if (!rc && link(tmp, path) != 0 && errno != EEXIST)
		rc = cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", path,
			      strerror(errno));
	unlink(tmp);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* Read DIR/keys/ledger.key; CDS_ERR_NOT_FOUND if there is none. */
static enum cds_err file_read(const char *path,
			      uint8_t sk[static crypto_sign_SECRETKEYBYTES],
			      struct cds_error *err)
{
	char text[SK_HEX + 2];
	size_t n = 0;
	enum cds_err rc = cds_read_head(path, text, sizeof(text), &n, err);

	if (!rc && (n < SK_HEX ||
		    cds_hex_decode_exact(sk, crypto_sign_SECRETKEYBYTES, text,
					 SK_HEX, "ledger key", NULL) != CDS_OK))
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "the ledger key '%s' is malformed", path);
	sodium_memzero(text, sizeof(text));
	return rc;
}

static enum cds_err file_load(const char *datadir, bool create,
			      uint8_t sk[static crypto_sign_SECRETKEYBYTES],
			      struct cds_error *err)
{
	char path[PATH_MAX];
	enum cds_err rc = key_path(path, datadir, "ledger.key", err);

	if (!rc)
		rc = file_read(path, sk, err);
	if (rc == CDS_ERR_NOT_FOUND && create &&
	    !(rc = file_create(datadir, path, err)))
		rc = file_read(path, sk, err);
	return rc;
}

/* ---- the sealed row ---- */

/*
 * The seed to seal when the row is missing: that of DIR/keys/ledger.key
 * if this directory has one (ledger_key.h), else a fresh one if create;
 * CDS_ERR_NOT_FOUND if neither.
 */
static enum cds_err first_seed(const char *datadir, bool create,
			       uint8_t seed[static crypto_sign_SEEDBYTES],
			       struct cds_error *err)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	char path[PATH_MAX];
	enum cds_err rc = key_path(path, datadir, "ledger.key", err);

	if (!rc)
		rc = file_read(path, sk, err);
	if (!rc)
		crypto_sign_ed25519_sk_to_seed(seed, sk);
	else if (rc == CDS_ERR_NOT_FOUND && create) {
		randombytes_buf(seed, crypto_sign_SEEDBYTES);
		rc = CDS_OK;
	} else if (rc == CDS_ERR_NOT_FOUND)
		rc = cds_fail(err, rc, "the database holds no ledger key (no "
			      "ledger head was ever signed)");
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

static enum cds_err sealed_load(struct cds_keysrc *ks, const char *datadir,
				bool create,
				uint8_t sk[static crypto_sign_SECRETKEYBYTES],
				struct cds_error *err)
{
	uint8_t seed[crypto_sign_SEEDBYTES], first[crypto_sign_SEEDBYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	enum cds_err rc = cds_keysrc_secret_get(ks, SEALED_KIND, NULL, seed,
						sizeof(seed), err);

	if (rc == CDS_ERR_NOT_FOUND && !(rc = first_seed(datadir, create, first,
							  err)))
		rc = cds_keysrc_secret_get(ks, SEALED_KIND, first, seed,
					   sizeof(seed), err);
	if (!rc)
		crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(first, sizeof(first));
	return rc;
}

/* ---- choosing ---- */

enum cds_err cds_ledger_key_load(const char *datadir, bool create,
				 uint8_t sk[static crypto_sign_SECRETKEYBYTES],
				 struct cds_error *err)
{
	struct cds_keysrc ks;
	enum cds_err rc = cds_keysrc_open(&ks, datadir, err);

	if (!rc && cds_keysrc_sealed(&ks))
		rc = sealed_load(&ks, datadir, create, sk, err);
	else if (!rc)
		rc = file_load(datadir, create, sk, err);
	cds_keysrc_fini(&ks);
	if (rc)
		sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
	return rc;
}
