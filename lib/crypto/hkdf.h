/*
 * hkdf.h: HKDF-SHA256 (RFC 5869) over libsodium's HMAC-SHA256, for HPKE
 * (RFC 9180) and Oblivious HTTP responses (RFC 9458 §4.4).  libsodium
 * 1.0.18 (Debian 12) has no HKDF of its own; this is the RFC's two steps,
 * nothing more.
 */
#ifndef CDS_CRYPTO_HKDF_H
#define CDS_CRYPTO_HKDF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CDS_HKDF_SHA256_BYTES 32
/* RFC 5869: L <= 255 * HashLen. */
#define CDS_HKDF_SHA256_MAX_OUT (255 * CDS_HKDF_SHA256_BYTES)

/*
 * Extract over the concatenation of the n parts of the input keying
 * material (so that callers can label without copying).  An empty salt is
 * HashLen zero bytes, as the RFC says.
 */
void cds_hkdf_extract(uint8_t prk[static CDS_HKDF_SHA256_BYTES],
		      const uint8_t *salt, size_t salt_len,
		      const uint8_t *const *ikm, const size_t *ikm_len,
		      size_t n);

/*
 * Expand prk with the concatenation of the n parts of info into out_len
 * bytes.  CDS_ERR_INVALID if out_len exceeds CDS_HKDF_SHA256_MAX_OUT (out is
 * then zeroed).
 */
enum cds_err cds_hkdf_expand(uint8_t *out, size_t out_len,
			     const uint8_t prk[static CDS_HKDF_SHA256_BYTES],
			     const uint8_t *const *info, const size_t *info_len,
			     size_t n, struct cds_error *err) CDS_MUST_CHECK;

#endif
