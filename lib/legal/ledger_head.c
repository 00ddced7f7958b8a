/*
 * ledger_head.c: head encoding, parsing and signing with the ledger key
 * (ledger_head.h).
 *
 * Invariants:
 *  1. The secret key exists only in DIR/keys/ledger.key and, briefly, in a
 *     buffer of this file that is wiped on every path.
 *  2. The key file is never replaced: it is written under a temporary name
 *     and link(2)ed into place, so two processes creating it at once agree
 *     on one key.
 */
#include "legal/ledger_head.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/os.h"
#include "store/store_impl.h"

#define HEAD_DOMAIN "cds/v1/ledger-head"
#define SK_HEX (2 * crypto_sign_SECRETKEYBYTES)

void cds_ledger_head_encode(uint8_t out[static CDS_LEDGER_HEAD_BYTES],
			    const struct cds_ledger_head *h)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(h->entries >> (56 - 8 * i));
	memcpy(out + 8, h->hash, sizeof(h->hash));
}

enum cds_err cds_ledger_head_parse(struct cds_ledger_head *h,
				   uint8_t sig[static CDS_LEDGER_SIG_BYTES],
				   bool *has_sig, const char *hex,
				   struct cds_error *err)
{
	uint8_t b[CDS_LEDGER_SIGNED_HEAD_BYTES];
	size_t len = strlen(hex), n = len / 2;

	if ((n != CDS_LEDGER_HEAD_BYTES && n != CDS_LEDGER_SIGNED_HEAD_BYTES) ||
	    len % 2 ||
	    cds_hex_decode_exact(b, n, hex, len, "head", NULL) != CDS_OK)
		return cds_fail(err, CDS_ERR_USAGE,
				"--head: '%.40s%s' is not a ledger head (%d hex "
				"digits, or %d with its signature)",
				hex, len > 40 ? "..." : "",
				2 * CDS_LEDGER_HEAD_BYTES,
				2 * CDS_LEDGER_SIGNED_HEAD_BYTES);
	h->entries = 0;
	for (int i = 0; i < 8; i++)
		h->entries = h->entries << 8 | b[i];
	memcpy(h->hash, b + 8, sizeof(h->hash));
	*has_sig = n == CDS_LEDGER_SIGNED_HEAD_BYTES;
	if (*has_sig)
		memcpy(sig, b + CDS_LEDGER_HEAD_BYTES, CDS_LEDGER_SIG_BYTES);
	return CDS_OK;
}

static enum cds_err key_path(char out[PATH_MAX], const char *datadir,
			     const char *name, struct cds_error *err)
{
	if (snprintf(out, PATH_MAX, "%s/keys/%s", datadir, name) >= PATH_MAX)
		return cds_fail(err, CDS_ERR_INVALID, "data directory path too long");
	return CDS_OK;
}

/* A fresh key under a temporary name, linked to path (invariant 2). */
static enum cds_err key_create(const char *datadir, const char *path,
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

/* Read the secret key; create it first if `create` and it is missing. */
static enum cds_err key_load(const char *datadir, bool create,
			     uint8_t sk[static crypto_sign_SECRETKEYBYTES],
			     struct cds_error *err)
{
	char path[PATH_MAX], text[SK_HEX + 2];
	enum cds_err rc;
	size_t n = 0;

	if ((rc = key_path(path, datadir, "ledger.key", err)))
		return rc;
	rc = cds_read_head(path, text, sizeof(text), &n, err);
	if (rc == CDS_ERR_NOT_FOUND && create &&
	    !(rc = key_create(datadir, path, err)))
		rc = cds_read_head(path, text, sizeof(text), &n, err);
	if (!rc && (n < SK_HEX ||
		    cds_hex_decode_exact(sk, crypto_sign_SECRETKEYBYTES, text,
					 SK_HEX, "ledger key", NULL) != CDS_OK))
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "the ledger key '%s' is malformed", path);
	sodium_memzero(text, sizeof(text));
	return rc;
}

enum cds_err cds_ledger_key_ensure(const char *datadir, struct cds_error *err)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	enum cds_err rc = key_load(datadir, true, sk, err);

	sodium_memzero(sk, sizeof(sk));
	return rc;
}

/* The signed bytes of h. */
static void signed_bytes(uint8_t out[sizeof(HEAD_DOMAIN) - 1 + CDS_LEDGER_HEAD_BYTES],
			 const struct cds_ledger_head *h)
{
	memcpy(out, HEAD_DOMAIN, sizeof(HEAD_DOMAIN) - 1);
	cds_ledger_head_encode(out + sizeof(HEAD_DOMAIN) - 1, h);
}

enum cds_err cds_ledger_head_sign(const char *datadir,
				  const struct cds_ledger_head *h,
				  uint8_t sig[static CDS_LEDGER_SIG_BYTES],
				  uint8_t pk[static CDS_LEDGER_PK_BYTES],
				  struct cds_error *err)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t m[sizeof(HEAD_DOMAIN) - 1 + CDS_LEDGER_HEAD_BYTES];
	enum cds_err rc = key_load(datadir, true, sk, err);

	if (!rc) {
		signed_bytes(m, h);
		crypto_sign_detached(sig, NULL, m, sizeof(m), sk);
		crypto_sign_ed25519_sk_to_pk(pk, sk);
	}
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

enum cds_err cds_ledger_head_check(const char *datadir,
				   const struct cds_ledger_head *h,
				   const uint8_t sig[static CDS_LEDGER_SIG_BYTES],
				   struct cds_error *err)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t m[sizeof(HEAD_DOMAIN) - 1 + CDS_LEDGER_HEAD_BYTES];
	enum cds_err rc = key_load(datadir, false, sk, err);

	if (rc)
		goto out;
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	signed_bytes(m, h);
	if (crypto_sign_verify_detached(sig, m, sizeof(m), pk) != 0)
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "the published head's signature does not verify "
			      "with this ledger's key (a forged head, or the key "
			      "was replaced)");
out:
	sodium_memzero(sk, sizeof(sk));
	return rc;
}
