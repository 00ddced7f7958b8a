/*
 * codec.h: base64 (RFC 4648, standard alphabet, with padding, as the HTTP API
 * uses) and lower-case hex, over libsodium's constant-time codecs.
 *
 * Decoders are strict: no whitespace, no missing padding, no trailing bytes,
 * and the decoded length must be what the caller expects (or fit the buffer).
 */
#ifndef CDS_CORE_CODEC_H
#define CDS_CORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Bytes needed to hold the base64 text of n bytes, with its terminator. */
#define CDS_B64_LEN(n) ((((n) + 2) / 3) * 4 + 1)

/* Encode bin[0..n) into out (CDS_B64_LEN(n) bytes, NUL-terminated). */
void cds_b64_encode(char *out, const uint8_t *bin, size_t n);

/*
 * Decode a NUL-free string s[0..slen) into out (cap bytes).  *outlen gets the
 * decoded length.  CDS_ERR_INVALID if s is not canonical padded base64 or
 * decodes to more than cap bytes.
 */
enum cds_err cds_b64_decode(uint8_t *out, size_t cap, size_t *outlen,
			    const char *s, size_t slen,
			    struct cds_error *err) CDS_MUST_CHECK;

/* Decode exactly n bytes or fail with CDS_ERR_INVALID naming `what`. */
enum cds_err cds_b64_decode_exact(uint8_t *out, size_t n, const char *s,
				  size_t slen, const char *what,
				  struct cds_error *err) CDS_MUST_CHECK;

/* out must hold 2n+1 bytes. */
void cds_hex_encode(char *out, const uint8_t *bin, size_t n);

/* Decode exactly n bytes from 2n hex digits (either case). */
enum cds_err cds_hex_decode_exact(uint8_t *out, size_t n, const char *s,
				  size_t slen, const char *what,
				  struct cds_error *err) CDS_MUST_CHECK;

/* Big-endian integers, as the protocol's byte layouts write them. */
static inline void cds_put_u32be(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

static inline void cds_put_u64be(uint8_t out[8], uint64_t v)
{
	cds_put_u32be(out, (uint32_t)(v >> 32));
	cds_put_u32be(out + 4, (uint32_t)v);
}

static inline uint32_t cds_get_u32be(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
	       (uint32_t)in[2] << 8 | in[3];
}

static inline uint64_t cds_get_u64be(const uint8_t in[8])
{
	return (uint64_t)cds_get_u32be(in) << 32 | cds_get_u32be(in + 4);
}

#endif
