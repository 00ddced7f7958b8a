/*
 * ge_vt.c: ristretto255 decode/encode (RFC 9496 section 4.3) and
 * edwards25519 point addition and doubling in extended coordinates
 * (Hisil-Wong-Carter-Dawson 2008, a = -1).  VARIABLE TIME: public points
 * only (ge_vt.h invariant 1).
 *
 * The formulas are complete on edwards25519 (a = -1 is a square, d is not),
 * so the identity and doublings need no special cases.
 */
#include "crypto/ge_vt.h"

#include <string.h>

/* Constants of RFC 9496 section 4.1, in 51-bit limbs. */
static const cds_fe ed_d = {
	0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL,
	0x739c663a03cbbULL, 0x52036cee2b6ffULL,
};
static const cds_fe ed_2d = {
	0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL,
	0x6738cc7407977ULL, 0x2406d9dc56dffULL,
};
static const cds_fe sqrt_m1 = {
	0x61b274a0ea0b0ULL, 0x0d5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL,
	0x78595a6804c9eULL, 0x2b8324804fc1dULL,
};
static const cds_fe invsqrt_a_minus_d = {
	0x0fdaa805d40eaULL, 0x2eb482e57d339ULL, 0x007610274bc58ULL,
	0x6510b613dc8ffULL, 0x786c8905cfaffULL,
};

static void fe_abs(cds_fe h, const cds_fe f)
{
	if (cds_fe_isnegative(f))
		cds_fe_neg(h, f);
	else
		cds_fe_copy(h, f);
}

/*
 * RFC 9496 SQRT_RATIO_M1(u, v): r = sqrt(u/v) (non-negative) and 1 if u/v
 * is square; otherwise r = sqrt(i*u/v) and 0.
 */
static int sqrt_ratio_m1(cds_fe r, const cds_fe u, const cds_fe v)
{
	cds_fe v3, v7, uv7, check, neg_u, neg_u_i;
	int correct, flipped, flipped_i;

	cds_fe_sq(v3, v);
	cds_fe_mul(v3, v3, v);           /* v^3 */
	cds_fe_sq(v7, v3);
	cds_fe_mul(v7, v7, v);           /* v^7 */
	cds_fe_mul(uv7, u, v7);
	cds_fe_pow22523(uv7, uv7);       /* (u v^7)^((p-5)/8) */
	cds_fe_mul(r, u, v3);
	cds_fe_mul(r, r, uv7);
	cds_fe_sq(check, r);
	cds_fe_mul(check, check, v);
	cds_fe_neg(neg_u, u);
	cds_fe_mul(neg_u_i, neg_u, sqrt_m1);
	correct = cds_fe_equal(check, u);
	flipped = cds_fe_equal(check, neg_u);
	flipped_i = cds_fe_equal(check, neg_u_i);
	if (flipped || flipped_i)
		cds_fe_mul(r, r, sqrt_m1);
	fe_abs(r, r);
	return correct || flipped;
}

void cds_ge_identity(struct cds_ge *p)
{
	cds_fe_set(p->X, 0);
	cds_fe_set(p->Y, 1);
	cds_fe_set(p->Z, 1);
	cds_fe_set(p->T, 0);
}

int cds_ge_decode(struct cds_ge *p, const uint8_t in[CDS_GE_BYTES])
{
	cds_fe s, ss, one, u1, u2, u2sq, v, t, inv, den_x, den_y;
	uint8_t canon[CDS_GE_BYTES];

	/* s must be canonical (below p, bit 255 clear) and non-negative. */
	cds_fe_frombytes(s, in);
	cds_fe_tobytes(canon, s);
	if (memcmp(canon, in, CDS_GE_BYTES) != 0 || (in[0] & 1))
		return -1;
	cds_fe_set(one, 1);
	cds_fe_sq(ss, s);
	cds_fe_sub(u1, one, ss);           /* 1 - s^2 */
	cds_fe_add(u2, one, ss);           /* 1 + s^2 */
	cds_fe_sq(u2sq, u2);
	cds_fe_sq(t, u1);
	cds_fe_mul(t, t, ed_d);
	cds_fe_neg(t, t);
	cds_fe_sub(v, t, u2sq);            /* -(d u1^2) - u2^2 */
	cds_fe_mul(t, v, u2sq);
	if (!sqrt_ratio_m1(inv, one, t))
		return -1;
	cds_fe_mul(den_x, inv, u2);
	cds_fe_mul(den_y, inv, den_x);
	cds_fe_mul(den_y, den_y, v);
	cds_fe_add(t, s, s);
	cds_fe_mul(t, t, den_x);
	fe_abs(p->X, t);                   /* |2 s den_x| */
	cds_fe_mul(p->Y, u1, den_y);
	cds_fe_set(p->Z, 1);
	cds_fe_mul(p->T, p->X, p->Y);
	if (cds_fe_isnegative(p->T) || cds_fe_iszero(p->Y))
		return -1;
	return 0;
}

void cds_ge_encode(uint8_t out[CDS_GE_BYTES], const struct cds_ge *p)
{
	cds_fe u1, u2, t, one, inv, den1, den2, z_inv, x, y, den_inv;

	cds_fe_add(u1, p->Z, p->Y);
	cds_fe_sub(t, p->Z, p->Y);
	cds_fe_mul(u1, u1, t);             /* (Z + Y)(Z - Y) */
	cds_fe_mul(u2, p->X, p->Y);
	cds_fe_sq(t, u2);
	cds_fe_mul(t, t, u1);
	cds_fe_set(one, 1);
	(void)sqrt_ratio_m1(inv, one, t);  /* always square for a valid point */
	cds_fe_mul(den1, inv, u1);
	cds_fe_mul(den2, inv, u2);
	cds_fe_mul(z_inv, den1, den2);
	cds_fe_mul(z_inv, z_inv, p->T);
	cds_fe_mul(t, p->T, z_inv);
	if (cds_fe_isnegative(t)) {
		/* rotate: (x, y) = (iY, iX), denominator "enchanted" */
		cds_fe_mul(x, p->Y, sqrt_m1);
		cds_fe_mul(y, p->X, sqrt_m1);
		cds_fe_mul(den_inv, den1, invsqrt_a_minus_d);
	} else {
		cds_fe_copy(x, p->X);
		cds_fe_copy(y, p->Y);
		cds_fe_copy(den_inv, den2);
	}
	cds_fe_mul(t, x, z_inv);
	if (cds_fe_isnegative(t))
		cds_fe_neg(y, y);
	cds_fe_sub(t, p->Z, y);
	cds_fe_mul(t, den_inv, t);
	fe_abs(t, t);
	cds_fe_tobytes(out, t);
}

void cds_ge_to_cached(struct cds_ge_cached *c, const struct cds_ge *p)
{
	cds_fe_add(c->YplusX, p->Y, p->X);
	cds_fe_sub(c->YminusX, p->Y, p->X);
	cds_fe_add(c->Z2, p->Z, p->Z);
	cds_fe_mul(c->T2d, p->T, ed_2d);
	c->affine = p->Z[0] == 1 && p->Z[1] == 0 && p->Z[2] == 0 &&
		    p->Z[3] == 0 && p->Z[4] == 0;
}

/*
 * The shared tail of addition and doubling: from E, F, G, H to
 * X3 = E F, Y3 = G H, T3 = E H, Z3 = F G.
 */
static void finish(struct cds_ge *r, const cds_fe e, const cds_fe f,
		   const cds_fe g, const cds_fe h)
{
	cds_fe_mul(r->X, e, f);
	cds_fe_mul(r->Y, g, h);
	cds_fe_mul(r->T, e, h);
	cds_fe_mul(r->Z, f, g);
}

/*
 * add-2008-hwcd-3; with negate set it adds -q, that is (-x, y).  This is
 * the inner loop of msm.c: every sum and difference here has weakly
 * reduced inputs and feeds only a multiplication, so the carry-free forms
 * apply (fe51.h).
 */
static void add_signed(struct cds_ge *r, const struct cds_ge *p,
		       const struct cds_ge_cached *q, int negate)
{
	/* Pointer selects rather than branches: signs are random in msm.c. */
	const uint64_t *qa = negate ? q->YplusX : q->YminusX;
	const uint64_t *qb = negate ? q->YminusX : q->YplusX;
	cds_fe a, b, c, d, e, h, t, dpc, dmc;

	cds_fe_sub_nc(t, p->Y, p->X);
	cds_fe_mul(a, t, qa);
	cds_fe_add_nc(t, p->Y, p->X);
	cds_fe_mul(b, t, qb);
	cds_fe_mul(c, p->T, q->T2d);
	if (q->affine)
		cds_fe_add(d, p->Z, p->Z);     /* 2 Z1 Z2 with Z2 = 1 */
	else
		cds_fe_mul(d, p->Z, q->Z2);
	cds_fe_sub_nc(e, b, a);
	cds_fe_add_nc(h, b, a);
	cds_fe_add_nc(dpc, d, c);
	cds_fe_sub_nc(dmc, d, c);
	/* F = D - C, G = D + C; adding -q negates C and swaps them. */
	finish(r, e, negate ? dpc : dmc, negate ? dmc : dpc, h);
}

void cds_ge_add_cached(struct cds_ge *r, const struct cds_ge *p,
		       const struct cds_ge_cached *q)
{
	add_signed(r, p, q, 0);
}

void cds_ge_sub_cached(struct cds_ge *r, const struct cds_ge *p,
		       const struct cds_ge_cached *q)
{
	add_signed(r, p, q, 1);
}

void cds_ge_add(struct cds_ge *r, const struct cds_ge *p,
		const struct cds_ge *q)
{
	struct cds_ge_cached c;

	cds_ge_to_cached(&c, q);
	add_signed(r, p, &c, 0);
}

/* dbl-2008-hwcd with a = -1. */
void cds_ge_dbl(struct cds_ge *r, const struct cds_ge *p)
{
	cds_fe a, b, c, e, f, g, h, t;

	cds_fe_sq(a, p->X);
	cds_fe_sq(b, p->Y);
	cds_fe_sq(c, p->Z);
	cds_fe_add(c, c, c);               /* 2 Z^2 */
	cds_fe_add(t, p->X, p->Y);
	cds_fe_sq(e, t);
	cds_fe_sub(e, e, a);
	cds_fe_sub(e, e, b);               /* 2XY */
	cds_fe_sub(g, b, a);               /* -A + B */
	cds_fe_sub(f, g, c);
	cds_fe_add(h, a, b);
	cds_fe_neg(h, h);                  /* -A - B */
	finish(r, e, f, g, h);
}
