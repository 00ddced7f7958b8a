/*
 * ledger_head.c: head encoding, parsing and signing with the ledger key
 * (ledger_head.h; where the key lives: ledger_key.h).
 *
 * Invariant: the secret key is held here only in locked memory
 * (core/secrets.h), freed and wiped on every path.
 */
#include "legal/ledger_head.h"

#include <string.h>

#include "core/codec.h"
#include "core/secrets.h"
#include "legal/ledger_key.h"

#define HEAD_DOMAIN "cds/v1/ledger-head"

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

enum cds_err cds_ledger_key_ensure(const char *datadir, struct cds_error *err)
{
	uint8_t *sk = cds_secret_alloc(crypto_sign_SECRETKEYBYTES);
	enum cds_err rc;

	if (!sk)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for the ledger key");
	rc = cds_ledger_key_load(datadir, true, sk, err);
	cds_secret_free(sk, crypto_sign_SECRETKEYBYTES);
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
	uint8_t *sk = cds_secret_alloc(crypto_sign_SECRETKEYBYTES);
	uint8_t m[sizeof(HEAD_DOMAIN) - 1 + CDS_LEDGER_HEAD_BYTES];
	enum cds_err rc;

	if (!sk)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for the ledger key");
	rc = cds_ledger_key_load(datadir, true, sk, err);
	if (!rc) {
		signed_bytes(m, h);
		crypto_sign_detached(sig, NULL, m, sizeof(m), sk);
		crypto_sign_ed25519_sk_to_pk(pk, sk);
	}
	cds_secret_free(sk, crypto_sign_SECRETKEYBYTES);
	return rc;
}

enum cds_err cds_ledger_head_check(const char *datadir,
				   const struct cds_ledger_head *h,
				   const uint8_t sig[static CDS_LEDGER_SIG_BYTES],
				   struct cds_error *err)
{
	uint8_t *sk = cds_secret_alloc(crypto_sign_SECRETKEYBYTES);
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t m[sizeof(HEAD_DOMAIN) - 1 + CDS_LEDGER_HEAD_BYTES];
	enum cds_err rc;

	if (!sk)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for the ledger key");
	rc = cds_ledger_key_load(datadir, false, sk, err);
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
	cds_secret_free(sk, crypto_sign_SECRETKEYBYTES);
	return rc;
}
