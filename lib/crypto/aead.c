/*
 * aead.c: ChaCha20-Poly1305 (libsodium) and AES-128-GCM (OpenSSL EVP),
 * behind one seal/open pair keyed by the HPKE AEAD id.
 *
 * Invariants: 1. a failed open leaves no plaintext behind (zeroed);
 * 2. EVP contexts are freed on every path (they hold the key schedule and
 * OpenSSL clears them on free).
 */
#include "crypto/aead.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#define AES128_KEY_BYTES 16

bool cds_aead_supported(uint16_t aead_id)
{
	return aead_id == CDS_AEAD_AES128GCM ||
	       aead_id == CDS_AEAD_CHACHA20POLY1305;
}

size_t cds_aead_key_bytes(uint16_t aead_id)
{
	switch (aead_id) {
	case CDS_AEAD_AES128GCM: return AES128_KEY_BYTES;
	case CDS_AEAD_CHACHA20POLY1305:
		return crypto_aead_chacha20poly1305_ietf_KEYBYTES;
	}
	return 0;
}

/* One EVP AES-128-GCM pass; enc selects seal or open.  0 on success. */
static int gcm_run(int enc, uint8_t *out, const uint8_t *key,
		   const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		   const uint8_t *in, size_t in_len, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ok, n = 0;

	if (!c)
		return -1;
	ok = aad_len <= INT_MAX && in_len <= INT_MAX &&
	     EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, key, nonce, enc) &&
	     (aad_len == 0 ||
	      EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len)) &&
	     (in_len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)in_len)) &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
					 CDS_AEAD_TAG_BYTES, tag)) &&
	     EVP_CipherFinal_ex(c, out + n, &n) &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
					  CDS_AEAD_TAG_BYTES, tag));
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

enum cds_err cds_aead_seal(uint16_t aead_id, uint8_t *ct, const uint8_t *key,
			   const uint8_t nonce[static CDS_AEAD_NONCE_BYTES],
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *pt, size_t pt_len,
			   struct cds_error *err)
{
	if (aead_id == CDS_AEAD_CHACHA20POLY1305) {
		crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, pt_len,
							  aad, aad_len, NULL,
							  nonce, key);
		return CDS_OK;
	}
	if (aead_id != CDS_AEAD_AES128GCM)
		return cds_fail(err, CDS_ERR_INVALID,
				"AEAD 0x%04x is not supported", aead_id);
	if (gcm_run(1, ct, key, nonce, aad, aad_len, pt, pt_len, ct + pt_len))
		return cds_fail(err, CDS_ERR_INTERNAL, "AES-128-GCM seal failed");
	return CDS_OK;
}

enum cds_err cds_aead_open(uint16_t aead_id, uint8_t *pt, const uint8_t *key,
			   const uint8_t nonce[static CDS_AEAD_NONCE_BYTES],
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *ct, size_t ct_len,
			   struct cds_error *err)
{
	size_t pt_len = ct_len - CDS_AEAD_TAG_BYTES;
	uint8_t tag[CDS_AEAD_TAG_BYTES];
	int bad;

	if (!cds_aead_supported(aead_id))
		return cds_fail(err, CDS_ERR_INVALID,
				"AEAD 0x%04x is not supported", aead_id);
	if (ct_len < CDS_AEAD_TAG_BYTES)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"ciphertext of %zu bytes is shorter than a tag",
				ct_len);
	if (aead_id == CDS_AEAD_CHACHA20POLY1305) {
		bad = crypto_aead_chacha20poly1305_ietf_decrypt(
			pt, NULL, NULL, ct, ct_len, aad, aad_len, nonce, key);
	} else {
		memcpy(tag, ct + pt_len, sizeof(tag));
		bad = gcm_run(0, pt, key, nonce, aad, aad_len, ct, pt_len, tag);
	}
	if (bad) {
		sodium_memzero(pt, pt_len);
		return cds_fail(err, CDS_ERR_CRYPTO,
				"the AEAD tag does not verify");
	}
	return CDS_OK;
}
