/*
 * test_msm.c: the variable-time ristretto255 arithmetic of lib/crypto
 * (fe51, ge_vt.c, msm.c), checked against libsodium: decode/encode, point
 * addition and doubling, and multi-scalar multiplication against sums of
 * crypto_scalarmult_ristretto255.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/ge_vt.h"
#include "crypto/msm.h"

static void decode_ok(struct cds_ge *p, const uint8_t s[32])
{
	assert_int_equal(cds_ge_decode(p, s), 0);
}

/* libsodium's s * P, with the identity as 32 zero bytes. */
static void ref_mul(uint8_t out[32], const uint8_t s[32], const uint8_t P[32])
{
	uint8_t red[32], wide[64] = { 0 };

	memcpy(wide, s, 32);
	crypto_core_ristretto255_scalar_reduce(red, wide);
	if (crypto_scalarmult_ristretto255(out, red, P) != 0)
		memset(out, 0, 32);
}

static void test_decode_encode_random(void **state)
{
	uint8_t s[32], back[32];
	struct cds_ge p;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		crypto_core_ristretto255_random(s);
		decode_ok(&p, s);
		cds_ge_encode(back, &p);
		assert_memory_equal(back, s, 32);
	}
}

/* Small multiples of the generator, including the identity (0 * G). */
static void test_generator_multiples(void **state)
{
	uint8_t k[32] = { 0 }, s[32], back[32], sum[32];
	struct cds_ge p, g, acc;

	(void)state;
	k[0] = 1;
	assert_int_equal(crypto_scalarmult_ristretto255_base(s, k), 0);
	decode_ok(&g, s);
	cds_ge_identity(&acc);
	cds_ge_encode(back, &acc);
	assert_true(sodium_is_zero(back, 32));
	decode_ok(&p, back); /* the identity decodes */
	for (int i = 1; i < 64; i++) {
		k[0] = (uint8_t)i;
		assert_int_equal(crypto_scalarmult_ristretto255_base(s, k), 0);
		cds_ge_add(&acc, &acc, &g);
		cds_ge_encode(sum, &acc);
		assert_memory_equal(sum, s, 32);
		decode_ok(&p, s);
		cds_ge_encode(back, &p);
		assert_memory_equal(back, s, 32);
	}
}

/* On arbitrary bytes the decoder agrees with libsodium's validator. */
static void test_decode_agrees(void **state)
{
	uint8_t s[32];
	struct cds_ge p;
	int valid = 0;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		randombytes_buf(s, 32);
		if (i % 2)
			s[31] &= 0x7f;   /* half of them canonical-looking */
		if (i % 4 == 1)
			s[0] &= 0xfe;    /* and non-negative */
		int mine = cds_ge_decode(&p, s) == 0;
		/* libsodium 1.0.18 ignores bit 255; RFC 9496 rejects it */
		int ref = crypto_core_ristretto255_is_valid_point(s) == 1 &&
			  !(s[31] & 0x80);

		assert_int_equal(mine, ref);
		valid += mine;
	}
	assert_true(valid > 100);
}

static void test_bad_encodings(void **state)
{
	/* 2^255 - 19 + k for small k: non-canonical field elements */
	uint8_t s[32];
	struct cds_ge p;

	(void)state;
	for (int k = 0; k < 19; k++) {
		memset(s, 0xff, 32);
		s[31] = 0x7f;
		s[0] = (uint8_t)(0xed + k);
		assert_int_equal(cds_ge_decode(&p, s), -1);
	}
	memset(s, 0xff, 32);
	assert_int_equal(cds_ge_decode(&p, s), -1);
	memset(s, 0, 32);
	s[31] = 0x80; /* zero with bit 255 set */
	assert_int_equal(cds_ge_decode(&p, s), -1);
	/* a valid point with bit 255 set (libsodium 1.0.18 accepts it) */
	crypto_core_ristretto255_random(s);
	s[31] |= 0x80;
	assert_int_equal(cds_ge_decode(&p, s), -1);
}

static void test_add_sub_dbl(void **state)
{
	uint8_t a[32], b[32], want[32], got[32];
	struct cds_ge pa, pb, r;
	struct cds_ge_cached cb;

	(void)state;
	for (int i = 0; i < 500; i++) {
		crypto_core_ristretto255_random(a);
		crypto_core_ristretto255_random(b);
		decode_ok(&pa, a);
		decode_ok(&pb, b);
		cds_ge_to_cached(&cb, &pb);
		assert_int_equal(crypto_core_ristretto255_add(want, a, b), 0);
		cds_ge_add_cached(&r, &pa, &cb);
		cds_ge_encode(got, &r);
		assert_memory_equal(got, want, 32);
		cds_ge_add(&r, &pa, &pb);
		cds_ge_encode(got, &r);
		assert_memory_equal(got, want, 32);
		assert_int_equal(crypto_core_ristretto255_sub(want, a, b), 0);
		cds_ge_sub_cached(&r, &pa, &cb);
		cds_ge_encode(got, &r);
		assert_memory_equal(got, want, 32);
		assert_int_equal(crypto_core_ristretto255_add(want, a, a), 0);
		cds_ge_dbl(&r, &pa);
		cds_ge_encode(got, &r);
		assert_memory_equal(got, want, 32);
		/* P - P is the identity */
		cds_ge_to_cached(&cb, &pa);
		cds_ge_sub_cached(&r, &pa, &cb);
		cds_ge_encode(got, &r);
		assert_true(sodium_is_zero(got, 32));
	}
}

/*
 * msm(scalars, points) == sum of libsodium's scalar multiplications.
 * kind 0: reduced random scalars, 1: every third scalar zero, 2: full
 * 256-bit scalars, 3: small scalars (short windows).
 */
static void check_msm(size_t n, int kind)
{
	uint8_t *sc = malloc(32 * n + 1), *pts = malloc(32 * n + 1);
	struct cds_ge *gp = malloc(sizeof(*gp) * n + 1), out;
	uint8_t want[32] = { 0 }, term[32], got[32];
	struct cds_error err;

	assert_true(sc && pts && gp);
	for (size_t i = 0; i < n; i++) {
		uint8_t *s = sc + 32 * i;

		crypto_core_ristretto255_random(pts + 32 * i);
		decode_ok(&gp[i], pts + 32 * i);
		if (kind == 2) {
			randombytes_buf(s, 32);
		} else if (kind == 3) {
			memset(s, 0, 32);
			s[0] = (uint8_t)(i * 7 + 1);
		} else {
			crypto_core_ristretto255_scalar_random(s);
		}
		if (kind == 1 && i % 3 == 0)
			memset(s, 0, 32);
		ref_mul(term, s, pts + 32 * i);
		assert_int_equal(crypto_core_ristretto255_add(want, want, term),
				 0);
	}
	cds_error_clear(&err);
	assert_int_equal(cds_msm(&out, sc, gp, n, &err), CDS_OK);
	cds_ge_encode(got, &out);
	assert_memory_equal(got, want, 32);
	free(sc);
	free(pts);
	free(gp);
}

static void test_msm_sizes(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 4, 7, 64, 65, 1000 };

	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		for (int kind = 0; kind < 4; kind++)
			check_msm(sizes[k], kind);
}

static void test_msm_zero(void **state)
{
	uint8_t sc[3 * 32] = { 0 }, p[32], got[32];
	struct cds_ge pts[3], out;
	struct cds_error err;

	(void)state;
	for (int i = 0; i < 3; i++) {
		crypto_core_ristretto255_random(p);
		decode_ok(&pts[i], p);
	}
	/* all scalars zero, and n = 0: the identity */
	assert_int_equal(cds_msm(&out, sc, pts, 3, &err), CDS_OK);
	cds_ge_encode(got, &out);
	assert_true(sodium_is_zero(got, 32));
	assert_int_equal(cds_msm(&out, sc, pts, 0, &err), CDS_OK);
	cds_ge_encode(got, &out);
	assert_true(sodium_is_zero(got, 32));
	/* s P + (L - s) P = identity, across the whole batch machinery */
	crypto_core_ristretto255_scalar_random(sc);
	crypto_core_ristretto255_scalar_negate(sc + 32, sc);
	pts[1] = pts[0];
	assert_int_equal(cds_msm(&out, sc, pts, 2, &err), CDS_OK);
	cds_ge_encode(got, &out);
	assert_true(sodium_is_zero(got, 32));
	/* 1 * P = P */
	memset(sc, 0, 32);
	sc[0] = 1;
	cds_ge_encode(p, &pts[0]);
	assert_int_equal(cds_msm(&out, sc, pts, 1, &err), CDS_OK);
	cds_ge_encode(got, &out);
	assert_memory_equal(got, p, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_encode_random),
		cmocka_unit_test(test_generator_multiples),
		cmocka_unit_test(test_decode_agrees),
		cmocka_unit_test(test_bad_encodings),
		cmocka_unit_test(test_add_sub_dbl),
		cmocka_unit_test(test_msm_sizes),
		cmocka_unit_test(test_msm_zero),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
