/*
 * fe51.h (internal to lib/crypto): arithmetic in GF(2^255 - 19), five
 * 51-bit limbs, products in unsigned __int128.  VARIABLE TIME where noted:
 * only ge_vt.c and msm.c use it, and only on public values (see ge_vt.h).
 *
 * Invariant: every function returns a weakly reduced element (each limb
 * below 2^51 + 2^15) and accepts any weakly reduced input, so values can be
 * chained without thinking about carries (the _nc forms are the one
 * exception, see there).  Only cds_fe_tobytes produces the canonical
 * (fully reduced) form.
 */
#ifndef CDS_CRYPTO_FE51_H
#define CDS_CRYPTO_FE51_H

#include <stdint.h>
#include <string.h>

/* An encoded field element: 255 bits, little-endian. */
#define CDS_FE_BYTES 32

typedef uint64_t cds_fe[5];
__extension__ typedef unsigned __int128 cds_u128;

#define CDS_FE_MASK ((UINT64_C(1) << 51) - 1)

static inline void cds_fe_copy(cds_fe h, const cds_fe f)
{
	memcpy(h, f, sizeof(cds_fe));
}

static inline void cds_fe_set(cds_fe h, uint64_t v)
{
	h[0] = v;
	h[1] = h[2] = h[3] = h[4] = 0;
}

/* Propagate carries once: limbs end below 2^51, limb 0 below 2^51 + 2^18. */
static inline void cds_fe_carry(cds_fe h)
{
	uint64_t c;

	c = h[0] >> 51; h[0] &= CDS_FE_MASK; h[1] += c;
	c = h[1] >> 51; h[1] &= CDS_FE_MASK; h[2] += c;
	c = h[2] >> 51; h[2] &= CDS_FE_MASK; h[3] += c;
	c = h[3] >> 51; h[3] &= CDS_FE_MASK; h[4] += c;
	c = h[4] >> 51; h[4] &= CDS_FE_MASK; h[0] += 19 * c;
}

static inline void cds_fe_add(cds_fe h, const cds_fe f, const cds_fe g)
{
	for (int i = 0; i < 5; i++)
		h[i] = f[i] + g[i];
	cds_fe_carry(h);
}

/* h = f - g, computed as f + 2p - g so that no limb goes negative. */
static inline void cds_fe_sub(cds_fe h, const cds_fe f, const cds_fe g)
{
	h[0] = f[0] + UINT64_C(0xfffffffffffda) - g[0];
	for (int i = 1; i < 5; i++)
		h[i] = f[i] + UINT64_C(0xffffffffffffe) - g[i];
	cds_fe_carry(h);
}

/*
 * The carry-free forms for hot paths.  Their inputs must be weakly reduced
 * and their output (limbs below 2^53) may ONLY be passed to cds_fe_mul or
 * cds_fe_sq, which accept limbs up to 2^54.
 */
static inline void cds_fe_add_nc(cds_fe h, const cds_fe f, const cds_fe g)
{
	for (int i = 0; i < 5; i++)
		h[i] = f[i] + g[i];
}

static inline void cds_fe_sub_nc(cds_fe h, const cds_fe f, const cds_fe g)
{
	h[0] = f[0] + UINT64_C(0xfffffffffffda) - g[0];
	for (int i = 1; i < 5; i++)
		h[i] = f[i] + UINT64_C(0xffffffffffffe) - g[i];
}

static inline void cds_fe_neg(cds_fe h, const cds_fe f)
{
	static const cds_fe zero = { 0, 0, 0, 0, 0 };

	cds_fe_sub(h, zero, f);
}

/* Fold the five 128-bit column sums back into weakly reduced limbs. */
static inline void cds_fe_fold(cds_fe h, cds_u128 r0, cds_u128 r1,
			       cds_u128 r2, cds_u128 r3, cds_u128 r4)
{
	uint64_t c;

	r1 += (uint64_t)(r0 >> 51);
	r2 += (uint64_t)(r1 >> 51);
	r3 += (uint64_t)(r2 >> 51);
	r4 += (uint64_t)(r3 >> 51);
	c = (uint64_t)(r4 >> 51);
	h[0] = ((uint64_t)r0 & CDS_FE_MASK) + 19 * c;
	h[1] = (uint64_t)r1 & CDS_FE_MASK;
	h[2] = (uint64_t)r2 & CDS_FE_MASK;
	h[3] = (uint64_t)r3 & CDS_FE_MASK;
	h[4] = (uint64_t)r4 & CDS_FE_MASK;
	c = h[0] >> 51;
	h[0] &= CDS_FE_MASK;
	h[1] += c;
}

static inline void cds_fe_mul(cds_fe h, const cds_fe f, const cds_fe g)
{
	uint64_t g1 = 19 * g[1], g2 = 19 * g[2], g3 = 19 * g[3], g4 = 19 * g[4];
	cds_u128 r0, r1, r2, r3, r4;

	r0 = (cds_u128)f[0] * g[0] + (cds_u128)f[1] * g4 +
	     (cds_u128)f[2] * g3 + (cds_u128)f[3] * g2 + (cds_u128)f[4] * g1;
	r1 = (cds_u128)f[0] * g[1] + (cds_u128)f[1] * g[0] +
	     (cds_u128)f[2] * g4 + (cds_u128)f[3] * g3 + (cds_u128)f[4] * g2;
	r2 = (cds_u128)f[0] * g[2] + (cds_u128)f[1] * g[1] +
	     (cds_u128)f[2] * g[0] + (cds_u128)f[3] * g4 + (cds_u128)f[4] * g3;
	r3 = (cds_u128)f[0] * g[3] + (cds_u128)f[1] * g[2] +
	     (cds_u128)f[2] * g[1] + (cds_u128)f[3] * g[0] +
	     (cds_u128)f[4] * g4;
	r4 = (cds_u128)f[0] * g[4] + (cds_u128)f[1] * g[3] +
	     (cds_u128)f[2] * g[2] + (cds_u128)f[3] * g[1] +
	     (cds_u128)f[4] * g[0];
	cds_fe_fold(h, r0, r1, r2, r3, r4);
}

static inline void cds_fe_sq(cds_fe h, const cds_fe f)
{
	uint64_t d0 = 2 * f[0], d1 = 2 * f[1], d3_19 = 38 * f[3];
	uint64_t f3_19 = 19 * f[3], f4_19 = 19 * f[4], d2 = 2 * f[2];
	cds_u128 r0, r1, r2, r3, r4;

	r0 = (cds_u128)f[0] * f[0] + (cds_u128)d1 * f4_19 +
	     (cds_u128)d2 * f3_19;
	r1 = (cds_u128)d0 * f[1] + (cds_u128)d2 * f4_19 +
	     (cds_u128)f[3] * f3_19;
	r2 = (cds_u128)d0 * f[2] + (cds_u128)f[1] * f[1] +
	     (cds_u128)d3_19 * f[4];
	r3 = (cds_u128)d0 * f[3] + (cds_u128)d1 * f[2] +
	     (cds_u128)f[4] * f4_19;
	r4 = (cds_u128)d0 * f[4] + (cds_u128)d1 * f[3] +
	     (cds_u128)f[2] * f[2];
	cds_fe_fold(h, r0, r1, r2, r3, r4);
}

/* h = f^(2^n), n >= 1 */
static inline void cds_fe_sqn(cds_fe h, const cds_fe f, int n)
{
	cds_fe_sq(h, f);
	while (--n > 0)
		cds_fe_sq(h, h);
}

/* Little-endian CDS_FE_BYTES; bit 255 is ignored (callers check
 * canonicity). */
void cds_fe_frombytes(cds_fe h, const uint8_t s[CDS_FE_BYTES]);

/* Canonical little-endian encoding (fully reduced mod p). */
void cds_fe_tobytes(uint8_t s[CDS_FE_BYTES], const cds_fe f);

/* h = f^((p-5)/8) = f^(2^252 - 3), the exponent of SQRT_RATIO_M1. */
void cds_fe_pow22523(cds_fe h, const cds_fe f);

/* Variable time: 1 if f == 0 mod p. */
int cds_fe_iszero(const cds_fe f);

/* Variable time: 1 if f == g mod p. */
int cds_fe_equal(const cds_fe f, const cds_fe g);

/* RFC 9496 IS_NEGATIVE: the low bit of the canonical encoding. */
int cds_fe_isnegative(const cds_fe f);

#endif
