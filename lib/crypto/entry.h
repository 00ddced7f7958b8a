/*
 * entry.h: the bucket layer of protocol v1 (DESIGN.md "Step 2, buckets").
 *
 *   bucket(h) = first prefix_bits bits of SHA-256("cds/v1/bucket" || h)
 *   entry     = fp (16) || nonce (24) || ct (64), 104 bytes
 *   fp        = out[0..16)
 *   ct        = XChaCha20-Poly1305-IETF(key = out[32..64), nonce,
 *                 ad = "cds/v1/label" || u32be(epoch),
 *                 account_id (16) || identity_key (32))
 */
#ifndef CDS_CRYPTO_ENTRY_H
#define CDS_CRYPTO_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/oprf.h"

#define CDS_PREFIX_BITS_MAX 24
#define CDS_FP_BYTES 16
#define CDS_ENTRY_NONCE_BYTES 24
#define CDS_ENTRY_CT_BYTES 64
#define CDS_ENTRY_BYTES (CDS_FP_BYTES + CDS_ENTRY_NONCE_BYTES + CDS_ENTRY_CT_BYTES)
#define CDS_ACCOUNT_ID_BYTES 16
#define CDS_IDENTITY_KEY_BYTES 32

/* Bucket number of handle h[0..len) for prefix_bits in 0..24. */
uint32_t cds_bucket_of(const uint8_t *h, size_t len, unsigned prefix_bits);

/*
 * Build an entry from an OPRF output.  nonce NULL = fresh random nonce (the
 * normal case: every entry version gets a new one); the vectors pass one.
 */
void cds_entry_seal(uint8_t entry[static CDS_ENTRY_BYTES],
		    const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
		    uint32_t epoch,
		    const uint8_t account[static CDS_ACCOUNT_ID_BYTES],
		    const uint8_t identity_key[static CDS_IDENTITY_KEY_BYTES],
		    const uint8_t *nonce);

/*
 * Decrypt an entry whose fingerprint matched.  CDS_ERR_CRYPTO if it does not
 * authenticate (tampered bucket, wrong epoch).
 */
enum cds_err cds_entry_open(uint8_t account[static CDS_ACCOUNT_ID_BYTES],
			    uint8_t identity_key[static CDS_IDENTITY_KEY_BYTES],
			    const uint8_t entry[static CDS_ENTRY_BYTES],
			    const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
			    uint32_t epoch,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Find the entry with fingerprint fp in a bucket (n entries sorted by fp,
 * as served).  Returns a pointer into entries, or NULL.
 */
const uint8_t *cds_entry_find(const uint8_t *entries, size_t n,
			      const uint8_t fp[static CDS_FP_BYTES]);

#endif
