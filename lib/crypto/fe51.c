/*
 * fe51.c: the non-inline part of fe51.h: byte conversion, the
 * SQRT_RATIO_M1 exponentiation and comparisons.  VARIABLE TIME comparisons:
 * public values only.
 */
#include "crypto/fe51.h"

static uint64_t load64_le(const uint8_t *s)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | s[i];
	return v;
}

static void store64_le(uint8_t *s, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(v >> (8 * i));
}

void cds_fe_frombytes(cds_fe h, const uint8_t s[CDS_FE_BYTES])
{
	uint64_t w0 = load64_le(s), w1 = load64_le(s + 8);
	uint64_t w2 = load64_le(s + 16), w3 = load64_le(s + 24);

	h[0] = w0 & CDS_FE_MASK;
	h[1] = ((w0 >> 51) | (w1 << 13)) & CDS_FE_MASK;
	h[2] = ((w1 >> 38) | (w2 << 26)) & CDS_FE_MASK;
	h[3] = ((w2 >> 25) | (w3 << 39)) & CDS_FE_MASK;
	h[4] = (w3 >> 12) & CDS_FE_MASK;
}

void cds_fe_tobytes(uint8_t s[CDS_FE_BYTES], const cds_fe f)
{
	cds_fe t;
	uint64_t q;

	/* Two carry passes leave t in [0, 2^255) with limbs below 2^51. */
	cds_fe_copy(t, f);
	cds_fe_carry(t);
	cds_fe_carry(t);
	/* q = 1 exactly when t >= p, i.e. when t + 19 overflows 2^255. */
	q = (t[0] + 19) >> 51;
	q = (t[1] + q) >> 51;
	q = (t[2] + q) >> 51;
	q = (t[3] + q) >> 51;
	q = (t[4] + q) >> 51;
	t[0] += 19 * q;
	t[1] += t[0] >> 51; t[0] &= CDS_FE_MASK;
	t[2] += t[1] >> 51; t[1] &= CDS_FE_MASK;
	t[3] += t[2] >> 51; t[2] &= CDS_FE_MASK;
	t[4] += t[3] >> 51; t[3] &= CDS_FE_MASK;
	t[4] &= CDS_FE_MASK; /* drops the 2^255 that q * p added */
	store64_le(s, t[0] | (t[1] << 51));
	store64_le(s + 8, (t[1] >> 13) | (t[2] << 38));
	store64_le(s + 16, (t[2] >> 26) | (t[3] << 25));
	store64_le(s + 24, (t[3] >> 39) | (t[4] << 12));
}

/* The addition chain of ref10's fe_pow22523. */
void cds_fe_pow22523(cds_fe h, const cds_fe z)
{
	cds_fe t0, t1, t2;

	cds_fe_sq(t0, z);                  /* z^2 */
	cds_fe_sqn(t1, t0, 2);             /* z^8 */
	cds_fe_mul(t1, z, t1);             /* z^9 */
	cds_fe_mul(t0, t0, t1);            /* z^11 */
	cds_fe_sq(t0, t0);                 /* z^22 */
	cds_fe_mul(t0, t1, t0);            /* z^(2^5 - 1) */
	cds_fe_sqn(t1, t0, 5);
	cds_fe_mul(t0, t1, t0);            /* z^(2^10 - 1) */
	cds_fe_sqn(t1, t0, 10);
	cds_fe_mul(t1, t1, t0);            /* z^(2^20 - 1) */
	cds_fe_sqn(t2, t1, 20);
	cds_fe_mul(t1, t2, t1);            /* z^(2^40 - 1) */
	cds_fe_sqn(t1, t1, 10);
	cds_fe_mul(t0, t1, t0);            /* z^(2^50 - 1) */
	cds_fe_sqn(t1, t0, 50);
	cds_fe_mul(t1, t1, t0);            /* z^(2^100 - 1) */
	cds_fe_sqn(t2, t1, 100);
	cds_fe_mul(t1, t2, t1);            /* z^(2^200 - 1) */
	cds_fe_sqn(t1, t1, 50);
	cds_fe_mul(t0, t1, t0);            /* z^(2^250 - 1) */
	cds_fe_sqn(t0, t0, 2);             /* z^(2^252 - 4) */
	cds_fe_mul(h, t0, z);              /* z^(2^252 - 3) */
}

int cds_fe_iszero(const cds_fe f)
{
	uint8_t s[CDS_FE_BYTES];
	uint8_t acc = 0;

	cds_fe_tobytes(s, f);
	for (int i = 0; i < CDS_FE_BYTES; i++)
		acc |= s[i];
	return acc == 0;
}

int cds_fe_equal(const cds_fe f, const cds_fe g)
{
	cds_fe d;

	cds_fe_sub(d, f, g);
	return cds_fe_iszero(d);
}

int cds_fe_isnegative(const cds_fe f)
{
	uint8_t s[CDS_FE_BYTES];

	cds_fe_tobytes(s, f);
	return s[0] & 1;
}
