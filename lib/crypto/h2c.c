/*
 * h2c.c: RFC 9380 expand_message_xmd (SHA-512) and the RFC 9497
 * HashToGroup / HashToScalar of suite ristretto255-SHA512.
 *
 * Invariant: every intermediate digest is wiped before returning, because
 * some messages are secret (DeriveKeyPair hashes the key seed).
 */
#include "crypto/h2c.h"

#include <string.h>

#include <sodium.h>

#define SUITE_ID "ristretto255-SHA512"
#define H_BYTES crypto_hash_sha512_BYTES /* b_in_bytes = 64 */
#define H_BLOCK 128                      /* s_in_bytes of SHA-512 */

void cds_oprf_context(uint8_t ctx[static CDS_OPRF_CONTEXT_BYTES],
		      enum cds_oprf_mode mode)
{
	memcpy(ctx, "OPRFV1-", 7);
	ctx[7] = (uint8_t)mode;
	ctx[8] = '-';
	memcpy(ctx + 9, SUITE_ID, sizeof(SUITE_ID) - 1);
}

size_t cds_oprf_dst(uint8_t dst[static CDS_H2C_DST_MAX], const char *prefix,
		    enum cds_oprf_mode mode)
{
	size_t n = strlen(prefix);

	/* The prefixes are the suite's own constants, all short. */
	if (n > CDS_H2C_DST_MAX - CDS_OPRF_CONTEXT_BYTES)
		n = CDS_H2C_DST_MAX - CDS_OPRF_CONTEXT_BYTES;
	memcpy(dst, prefix, n);
	cds_oprf_context(dst + n, mode);
	return n + CDS_OPRF_CONTEXT_BYTES;
}

/* b_i = H(prev || I2OSP(i, 1) || DST_prime) */
static void xmd_block(uint8_t out[H_BYTES], const uint8_t prev[H_BYTES],
		      uint8_t i, const uint8_t *dst, uint8_t dst_len)
{
	crypto_hash_sha512_state st;

	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, prev, H_BYTES);
	crypto_hash_sha512_update(&st, &i, 1);
	crypto_hash_sha512_update(&st, dst, dst_len);
	crypto_hash_sha512_update(&st, &dst_len, 1);
	crypto_hash_sha512_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

int cds_h2c_expand_xmd(uint8_t *out, size_t out_len,
		       const struct cds_bytes *msg, size_t nmsg,
		       const uint8_t *dst, size_t dst_len)
{
	static const uint8_t z_pad[H_BLOCK];
	crypto_hash_sha512_state st;
	uint8_t b0[H_BYTES], bi[H_BYTES], chain[H_BYTES], tail[3];
	size_t ell = (out_len + H_BYTES - 1) / H_BYTES;
	uint8_t dl = (uint8_t)dst_len;

	if (out_len == 0 || ell > 255 || dst_len > 255)
		return -1;
	/* b_0 = H(Z_pad || msg || I2OSP(len, 2) || I2OSP(0, 1) || DST_prime) */
	cds_put_u16(tail, out_len);
	tail[2] = 0;
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, z_pad, sizeof(z_pad));
	for (size_t i = 0; i < nmsg; i++)
		crypto_hash_sha512_update(&st, msg[i].p, msg[i].n);
	crypto_hash_sha512_update(&st, tail, sizeof(tail));
	crypto_hash_sha512_update(&st, dst, dl);
	crypto_hash_sha512_update(&st, &dl, 1);
	crypto_hash_sha512_final(&st, b0);

	/* b_1 = H(b_0 || 1 || DST'), b_i = H((b_0 xor b_(i-1)) || i || DST') */
	memcpy(chain, b0, H_BYTES);
	for (size_t i = 1; i <= ell; i++) {
		size_t off = (i - 1) * H_BYTES;
		size_t take = out_len - off < H_BYTES ? out_len - off : H_BYTES;

		xmd_block(bi, chain, (uint8_t)i, dst, dl);
		memcpy(out + off, bi, take);
		for (size_t j = 0; j < H_BYTES; j++)
			chain[j] = b0[j] ^ bi[j];
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(b0, sizeof(b0));
	sodium_memzero(bi, sizeof(bi));
	sodium_memzero(chain, sizeof(chain));
	return 0;
}

void cds_h2c_hash_to_group(uint8_t p[static CDS_OPRF_ELEMENT_BYTES],
			   enum cds_oprf_mode mode, const uint8_t *msg,
			   size_t len)
{
	uint8_t dst[CDS_H2C_DST_MAX],
		uniform[crypto_core_ristretto255_HASHBYTES];
	size_t dst_len = cds_oprf_dst(dst, "HashToGroup-", mode);
	struct cds_bytes m = { msg, len };

	(void)cds_h2c_expand_xmd(uniform, sizeof(uniform), &m, 1, dst, dst_len);
	/* from_hash cannot fail on 64 bytes (it returns int for symmetry). */
	(void)crypto_core_ristretto255_from_hash(p, uniform);
	sodium_memzero(uniform, sizeof(uniform));
}

void cds_h2c_hash_to_scalar_dst(uint8_t s[static CDS_OPRF_SCALAR_BYTES],
				const struct cds_bytes *msg, size_t nmsg,
				const uint8_t *dst, size_t dst_len)
{
	uint8_t uniform[crypto_core_ristretto255_HASHBYTES];

	(void)cds_h2c_expand_xmd(uniform, sizeof(uniform), msg, nmsg, dst,
				 dst_len);
	crypto_core_ristretto255_scalar_reduce(s, uniform);
	sodium_memzero(uniform, sizeof(uniform));
}

void cds_h2c_hash_to_scalar(uint8_t s[static CDS_OPRF_SCALAR_BYTES],
			    enum cds_oprf_mode mode,
			    const struct cds_bytes *msg, size_t nmsg)
{
	uint8_t dst[CDS_H2C_DST_MAX];
	size_t dst_len = cds_oprf_dst(dst, "HashToScalar-", mode);

	cds_h2c_hash_to_scalar_dst(s, msg, nmsg, dst, dst_len);
}
