/*
 * h2c.h (internal to lib/crypto): hashing into ristretto255 and its scalar
 * field the way RFC 9497 suite ristretto255-SHA512 does it.
 *
 *   expand_message_xmd   RFC 9380 5.3.1 with SHA-512 (libsodium 1.0.18 has
 *                        no from_string helper, so it is done here)
 *   HashToGroup(x)       from_hash(expand(x, "HashToGroup-" || ctx, 64))
 *   HashToScalar(x)      reduce(expand(x, "HashToScalar-" || ctx, 64))
 *   ctx                  "OPRFV1-" || I2OSP(mode, 1) || "-ristretto255-SHA512"
 *
 * Messages are passed as a list of byte strings that are hashed back to back,
 * so that transcripts need no concatenation buffer.  Nothing here fails on
 * valid lengths: callers keep messages and DSTs within the RFC's bounds
 * (DST at most 255 bytes, output at most 255 * 64 bytes).
 */
#ifndef CDS_CRYPTO_H2C_H
#define CDS_CRYPTO_H2C_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/oprf.h"

/* One piece of a message: p[0..n). */
struct cds_bytes {
	const uint8_t *p;
	size_t n;
};

#define CDS_OPRF_CONTEXT_BYTES 28 /* "OPRFV1-" 0x0m "-ristretto255-SHA512" */
#define CDS_H2C_DST_MAX 64

/* contextString of RFC 9497 section 3.1 for mode. */
void cds_oprf_context(uint8_t ctx[static CDS_OPRF_CONTEXT_BYTES],
		      enum cds_oprf_mode mode);

/*
 * dst = prefix || contextString(mode); returns its length.  prefix is one of
 * the suite's short labels ("HashToGroup-", "DeriveKeyPair", "Seed-"...).
 */
size_t cds_oprf_dst(uint8_t dst[static CDS_H2C_DST_MAX], const char *prefix,
		    enum cds_oprf_mode mode);

/*
 * RFC 9380 expand_message_xmd with SHA-512: out_len bytes (1..255*64) from
 * the concatenation of the nmsg pieces and dst (at most 255 bytes).
 * Returns 0, or -1 if a length is out of range.
 */
int cds_h2c_expand_xmd(uint8_t *out, size_t out_len,
		       const struct cds_bytes *msg, size_t nmsg,
		       const uint8_t *dst, size_t dst_len);

/* G.HashToGroup: 64 expanded bytes mapped with ristretto255's from_hash. */
void cds_h2c_hash_to_group(uint8_t p[static CDS_OPRF_ELEMENT_BYTES],
			   enum cds_oprf_mode mode, const uint8_t *msg,
			   size_t len);

/* G.HashToScalar with the default DST "HashToScalar-" || contextString. */
void cds_h2c_hash_to_scalar(uint8_t s[static CDS_OPRF_SCALAR_BYTES],
			    enum cds_oprf_mode mode,
			    const struct cds_bytes *msg, size_t nmsg);

/* G.HashToScalar with an explicit DST (DeriveKeyPair uses its own). */
void cds_h2c_hash_to_scalar_dst(uint8_t s[static CDS_OPRF_SCALAR_BYTES],
				const struct cds_bytes *msg, size_t nmsg,
				const uint8_t *dst, size_t dst_len);

/* I2OSP(v, 2): v must be below 65536 (callers check). */
static inline void cds_put_u16(uint8_t b[static 2], size_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

#endif
