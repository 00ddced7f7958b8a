/*
 * aead.h: the two AEADs of HPKE that cds offers (RFC 9180 §7.3):
 * ChaCha20-Poly1305 (0x0003, libsodium's IETF construction) and AES-128-GCM
 * (0x0001, OpenSSL's EVP: libsodium's AES-GCM is AES-256 only and needs
 * AES-NI).  Both take a 12-byte nonce and add a 16-byte tag.
 */
#ifndef CDS_CRYPTO_AEAD_H
#define CDS_CRYPTO_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CDS_AEAD_AES128GCM 0x0001
#define CDS_AEAD_CHACHA20POLY1305 0x0003
#define CDS_AEAD_NONCE_BYTES 12
#define CDS_AEAD_TAG_BYTES 16
#define CDS_AEAD_KEY_MAX_BYTES 32

/* True for the ids above. */
bool cds_aead_supported(uint16_t aead_id);

/* Nk of the AEAD (16 or 32); 0 for an unsupported id. */
size_t cds_aead_key_bytes(uint16_t aead_id);

/*
 * ct (pt_len + CDS_AEAD_TAG_BYTES bytes) = Seal(key, nonce, aad, pt).  ct
 * may be pt itself (in place: both libraries allow it) but may not
 * otherwise overlap it.  CDS_ERR_INVALID for an unsupported id,
 * CDS_ERR_INTERNAL if the library fails.
 */
enum cds_err cds_aead_seal(uint16_t aead_id, uint8_t *ct, const uint8_t *key,
			   const uint8_t nonce[static CDS_AEAD_NONCE_BYTES],
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *pt, size_t pt_len,
			   struct cds_error *err) CDS_MUST_CHECK;

/*
 * pt (ct_len - CDS_AEAD_TAG_BYTES bytes) = Open(...); pt may be ct
 * itself, as for seal.  CDS_ERR_CRYPTO if
 * the tag does not verify or ct is shorter than a tag (pt is then zeroed
 * up to its length).
 */
enum cds_err cds_aead_open(uint16_t aead_id, uint8_t *pt, const uint8_t *key,
			   const uint8_t nonce[static CDS_AEAD_NONCE_BYTES],
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *ct, size_t ct_len,
			   struct cds_error *err) CDS_MUST_CHECK;

#endif
