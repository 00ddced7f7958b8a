/*
 * entry.c: the bucket layer of protocol v1 (entry.h, DESIGN.md "Step 2").
 *
 * Invariants:
 *  1. Byte layout is fixed by the protocol: fp (16) || nonce (24) || ct (64),
 *     ct = XChaCha20-Poly1305-IETF(out[32..64), nonce, ad, plaintext) with
 *     ad = "cds/v1/label" || u32be(epoch), plaintext = account || key.
 *  2. Plaintext copies are wiped after use (the label key stays the caller's).
 *  3. An entry that does not authenticate yields no output bytes.
 */
#include "crypto/entry.h"

#include <string.h>

#include <sodium.h>

#define BUCKET_TAG "cds/v1/bucket"
#define LABEL_TAG "cds/v1/label"
#define AD_BYTES (sizeof(LABEL_TAG) - 1 + 4)
#define PT_BYTES (CDS_ACCOUNT_ID_BYTES + CDS_IDENTITY_KEY_BYTES)

_Static_assert(PT_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES ==
	       CDS_ENTRY_CT_BYTES, "entry ciphertext size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ==
	       CDS_ENTRY_NONCE_BYTES, "entry nonce size");

/* The label key: the last bytes of the OPRF output, out[32..64) (invariant
 * 1), apart from the fingerprint at its start. */
#define LABEL_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define LABEL_KEY(out) ((out) + CDS_OPRF_OUTPUT_BYTES - LABEL_KEY_BYTES)
_Static_assert(CDS_FP_BYTES + LABEL_KEY_BYTES <= CDS_OPRF_OUTPUT_BYTES,
	       "fingerprint and label key overlap");

/*
 * The first prefix_bits bits of the digest as a big-endian number.  The
 * protocol uses 0..24; up to 32 is well defined, larger values count as 32.
 */
uint32_t cds_bucket_of(const uint8_t *h, size_t len, unsigned prefix_bits)
{
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	uint32_t top;

	if (prefix_bits == 0)
		return 0;
	if (prefix_bits > 32)
		prefix_bits = 32;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)BUCKET_TAG,
				  sizeof(BUCKET_TAG) - 1);
	crypto_hash_sha256_update(&st, h, len);
	crypto_hash_sha256_final(&st, d);
	top = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
	      (uint32_t)d[2] << 8 | d[3];
	return top >> (32 - prefix_bits);
}

static void label_ad(uint8_t ad[AD_BYTES], uint32_t epoch)
{
	size_t t = sizeof(LABEL_TAG) - 1;

	memcpy(ad, LABEL_TAG, t);
	ad[t] = (uint8_t)(epoch >> 24);
	ad[t + 1] = (uint8_t)(epoch >> 16);
	ad[t + 2] = (uint8_t)(epoch >> 8);
	ad[t + 3] = (uint8_t)epoch;
}

void cds_entry_seal(uint8_t entry[static CDS_ENTRY_BYTES],
		    const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
		    uint32_t epoch,
		    const uint8_t account[static CDS_ACCOUNT_ID_BYTES],
		    const uint8_t identity_key[static CDS_IDENTITY_KEY_BYTES],
		    const uint8_t *nonce)
{
	uint8_t ad[AD_BYTES], pt[PT_BYTES];
	uint8_t *np = entry + CDS_FP_BYTES;
	uint8_t *ct = np + CDS_ENTRY_NONCE_BYTES;

	memcpy(entry, out, CDS_FP_BYTES);
	if (nonce)
		memcpy(np, nonce, CDS_ENTRY_NONCE_BYTES);
	else
		randombytes_buf(np, CDS_ENTRY_NONCE_BYTES);
	label_ad(ad, epoch);
	memcpy(pt, account, CDS_ACCOUNT_ID_BYTES);
	memcpy(pt + CDS_ACCOUNT_ID_BYTES, identity_key, CDS_IDENTITY_KEY_BYTES);
	/* Cannot fail for these sizes; the length output is not needed. */
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(
		ct, NULL, pt, sizeof(pt), ad, sizeof(ad), NULL, np, LABEL_KEY(out));
	sodium_memzero(pt, sizeof(pt));
}

enum cds_err cds_entry_open(uint8_t account[static CDS_ACCOUNT_ID_BYTES],
			    uint8_t identity_key[static CDS_IDENTITY_KEY_BYTES],
			    const uint8_t entry[static CDS_ENTRY_BYTES],
			    const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
			    uint32_t epoch,
			    struct cds_error *err)
{
	uint8_t ad[AD_BYTES], pt[PT_BYTES];
	const uint8_t *np = entry + CDS_FP_BYTES;
	const uint8_t *ct = np + CDS_ENTRY_NONCE_BYTES;
	enum cds_err rc = CDS_OK;

	if (sodium_memcmp(entry, out, CDS_FP_BYTES) != 0) {
		rc = cds_fail(err, CDS_ERR_CRYPTO, "entry fingerprint does not "
			      "match the OPRF output");
		goto out;
	}
	label_ad(ad, epoch);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    pt, NULL, NULL, ct, CDS_ENTRY_CT_BYTES, ad, sizeof(ad), np,
		    LABEL_KEY(out)) != 0) {
		rc = cds_fail(err, CDS_ERR_CRYPTO, "entry does not "
			      "authenticate for epoch %u", (unsigned)epoch);
		goto out;
	}
	memcpy(account, pt, CDS_ACCOUNT_ID_BYTES);
	memcpy(identity_key, pt + CDS_ACCOUNT_ID_BYTES, CDS_IDENTITY_KEY_BYTES);
out:
	sodium_memzero(pt, sizeof(pt));
	return rc;
}

const uint8_t *cds_entry_find(const uint8_t *entries, size_t n,
			      const uint8_t fp[static CDS_FP_BYTES])
{
	size_t lo = 0, hi = n;

	if (!entries)
		return NULL;
	/* Binary search over entries sorted by fp as unsigned bytes. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const uint8_t *e = entries + mid * CDS_ENTRY_BYTES;
		int c = memcmp(e, fp, CDS_FP_BYTES);

		if (c == 0)
			return e;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
