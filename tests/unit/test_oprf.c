/*
 * test_oprf.c: RFC 9497 ristretto255-SHA512 (lib/crypto/oprf*.c, h2c.c,
 * dleq.c): every value of every vector in
 * $CDS_TEST_DATA/vectors/rfc9497_ristretto255_sha512.json, RFC 9380
 * expand_message_xmd vectors, and the failures: tampered proofs and
 * elements, wrong keys, invalid points and scalars, bad arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "crypto/h2c.h"
#include "crypto/oprf.h"

#define MAXB 4     /* largest batch in the vectors */
#define MAXIN 64   /* longest input / info in the vectors */

struct vec {
	size_t n;
	uint8_t input[MAXB][MAXIN];
	size_t input_len[MAXB];
	uint8_t blind[MAXB * 32], blinded[MAXB * 32], evaluated[MAXB * 32];
	uint8_t output[MAXB * 64], proof[64], r[32];
	uint8_t info[MAXIN];
	size_t info_len;
};

struct suite {
	enum cds_oprf_mode mode;
	uint8_t seed[32], sk[32], pk[32], key_info[MAXIN];
	size_t key_info_len;
	int has_pk;
	size_t nvec;
	struct vec v[4];
};

static struct suite suites[3];

/* ---- reading the vectors ------------------------------------------- */

static size_t unhex(uint8_t *out, size_t cap, const char *s, size_t slen)
{
	size_t n = 0;
	const char *end = NULL;

	assert_int_equal(sodium_hex2bin(out, cap, s, slen, NULL, &n, &end), 0);
	assert_ptr_equal(end, s + slen);
	return n;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v || !json_is_string(v))
		fail_msg("vector field %s missing", key);
	return json_string_value(v);
}

static void unhex_exact(uint8_t *out, size_t n, json_t *o, const char *key)
{
	const char *s = jstr(o, key);

	assert_int_equal(unhex(out, n, s, strlen(s)), n);
}

/*
 * A comma-separated list of hex values into out (stride bytes apart);
 * lens NULL means every value must be exactly stride bytes.
 */
static size_t unhex_list(uint8_t *out, size_t stride, size_t *lens,
			 json_t *o, const char *key)
{
	const char *s = jstr(o, key);
	size_t k = 0;

	for (;;) {
		const char *c = strchr(s, ',');
		size_t l = c ? (size_t)(c - s) : strlen(s);
		size_t got;

		assert_true(k < MAXB);
		got = unhex(out + k * stride, stride, s, l);
		if (lens)
			lens[k] = got;
		else
			assert_int_equal(got, stride);
		k++;
		if (!c)
			return k;
		s = c + 1;
	}
}

static void load_vector(struct vec *v, json_t *o, enum cds_oprf_mode mode)
{
	uint8_t inputs[MAXB * MAXIN];

	v->n = unhex_list(inputs, MAXIN, v->input_len, o, "Input");
	for (size_t i = 0; i < v->n; i++)
		memcpy(v->input[i], inputs + i * MAXIN, MAXIN);
	assert_int_equal(json_integer_value(json_object_get(o, "Batch")), v->n);
	assert_int_equal(unhex_list(v->blind, 32, NULL, o, "Blind"), v->n);
	assert_int_equal(unhex_list(v->blinded, 32, NULL, o, "BlindedElement"),
			 v->n);
	assert_int_equal(unhex_list(v->evaluated, 32, NULL, o,
				    "EvaluationElement"), v->n);
	assert_int_equal(unhex_list(v->output, 64, NULL, o, "Output"), v->n);
	if (mode != CDS_OPRF_MODE_OPRF) {
		unhex_exact(v->proof, 64, o, "Proof");
		unhex_exact(v->r, 32, o, "ProofRandomScalar");
	}
	if (mode == CDS_OPRF_MODE_POPRF) {
		const char *s = jstr(o, "Info");

		v->info_len = unhex(v->info, sizeof(v->info), s, strlen(s));
	}
}

static void load_suite(struct suite *su, json_t *o, enum cds_oprf_mode mode)
{
	json_t *vecs = json_object_get(o, "vectors");
	const char *ki = jstr(o, "KeyInfo");

	su->mode = mode;
	assert_int_equal(json_integer_value(json_object_get(o, "mode")), mode);
	unhex_exact(su->seed, 32, o, "Seed");
	su->key_info_len = unhex(su->key_info, MAXIN, ki, strlen(ki));
	unhex_exact(su->sk, 32, o, "skSm");
	su->has_pk = json_object_get(o, "pkSm") != NULL;
	if (su->has_pk)
		unhex_exact(su->pk, 32, o, "pkSm");
	assert_true(json_is_array(vecs));
	su->nvec = json_array_size(vecs);
	assert_true(su->nvec >= 2 && su->nvec <= 4);
	for (size_t i = 0; i < su->nvec; i++)
		load_vector(&su->v[i], json_array_get(vecs, i), mode);
}

static int load_all(void **state)
{
	static const char *names[3] = { "OPRF", "VOPRF", "POPRF" };
	const char *dir = getenv("CDS_TEST_DATA");
	char path[1024];
	json_error_t jerr;
	json_t *root;

	(void)state;
	if (!dir) {
		fprintf(stderr, "CDS_TEST_DATA is not set\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/vectors/rfc9497_ristretto255_sha512.json",
		 dir);
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		return -1;
	}
	for (int m = 0; m < 3; m++)
		load_suite(&suites[m], json_object_get(root, names[m]),
			   (enum cds_oprf_mode)m);
	json_decref(root);
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static void input_ptrs(const uint8_t *ptrs[MAXB], const struct vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		ptrs[i] = v->input[i];
}

static enum cds_err finalize_vec(uint8_t *out, const struct suite *su,
				 const struct vec *v, const uint8_t *pk,
				 const uint8_t *evaluated, const uint8_t *proof,
				 struct cds_error *err)
{
	const uint8_t *ptrs[MAXB];

	input_ptrs(ptrs, v);
	cds_error_clear(err);
	return cds_oprf_finalize(out, su->mode, pk, ptrs, v->input_len,
				 v->blind, v->blinded, evaluated, v->n, proof,
				 v->info, v->info_len, err);
}

/* The suite's public key (the OPRF section has no pkSm: derive it). */
static void suite_pk(uint8_t pk[32], const struct suite *su)
{
	struct cds_error err;

	assert_int_equal(cds_oprf_public_key(pk, su->sk, &err), CDS_OK);
	if (su->has_pk)
		assert_memory_equal(pk, su->pk, 32);
}

/* ---- vectors ------------------------------------------------------------ */

static void test_expand_xmd(void **state)
{
	static const char dst[] = "QUUX-V01-CS02-with-expander-SHA512-256";
	static const struct {
		const char *msg;
		size_t len;
		const char *hex;
	} v[] = {
		{ "", 32, "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba" },
		{ "abc", 32, "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc" },
		{ "abcdef0123456789", 32, "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58" },
		{ "", 128, "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921"
			   "b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e"
			   "0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e"
			   "b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961" },
	};
	uint8_t out[128], want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct cds_bytes m = { (const uint8_t *)v[i].msg,
				       strlen(v[i].msg) };

		assert_int_equal(unhex(want, sizeof(want), v[i].hex,
				       strlen(v[i].hex)), v[i].len);
		assert_int_equal(cds_h2c_expand_xmd(out, v[i].len, &m, 1,
						    (const uint8_t *)dst,
						    sizeof(dst) - 1), 0);
		assert_memory_equal(out, want, v[i].len);
	}
	/* out of range: empty output, more than 255 blocks, long DST */
	assert_int_equal(cds_h2c_expand_xmd(out, 0, NULL, 0,
					    (const uint8_t *)dst, 4), -1);
	assert_int_equal(cds_h2c_expand_xmd(out, 255 * 64 + 1, NULL, 0,
					    (const uint8_t *)dst, 4), -1);
	assert_int_equal(cds_h2c_expand_xmd(out, 32, NULL, 0,
					    (const uint8_t *)dst, 256), -1);
}

static void test_context_strings(void **state)
{
	static const char *want[3] = {
		"OPRFV1-\x00-ristretto255-SHA512", "OPRFV1-\x01-ristretto255-SHA512",
		"OPRFV1-\x02-ristretto255-SHA512",
	};
	uint8_t ctx[CDS_OPRF_CONTEXT_BYTES];

	(void)state;
	for (int m = 0; m < 3; m++) {
		cds_oprf_context(ctx, (enum cds_oprf_mode)m);
		assert_memory_equal(ctx, want[m], CDS_OPRF_CONTEXT_BYTES);
	}
}

static void test_derive_keypair(void **state)
{
	uint8_t sk[32], pk[32], pk2[32];
	struct cds_error err;

	(void)state;
	for (int m = 0; m < 3; m++) {
		const struct suite *su = &suites[m];

		cds_error_clear(&err);
		assert_int_equal(cds_oprf_derive_keypair(sk, pk, su->mode,
							 su->seed, su->key_info,
							 su->key_info_len, &err),
				 CDS_OK);
		assert_memory_equal(sk, su->sk, 32);
		if (su->has_pk)
			assert_memory_equal(pk, su->pk, 32);
		assert_int_equal(cds_oprf_public_key(pk2, sk, &err), CDS_OK);
		assert_memory_equal(pk2, pk, 32);
	}
	/* each mode derives a different key from the same seed */
	assert_memory_not_equal(suites[0].sk, suites[1].sk, 32);
	assert_memory_not_equal(suites[1].sk, suites[2].sk, 32);
}

/* Every field of every vector of one mode, client and server. */
static void check_mode_vectors(const struct suite *su)
{
	uint8_t blind[32], blinded[MAXB * 32], evaluated[MAXB * 32];
	uint8_t proof[64], out[MAXB * 64], pk[32], one[64];
	struct cds_error err;

	suite_pk(pk, su);
	for (size_t k = 0; k < su->nvec; k++) {
		const struct vec *v = &su->v[k];
		int proving = su->mode != CDS_OPRF_MODE_OPRF;

		for (size_t i = 0; i < v->n; i++) {
			assert_int_equal(cds_oprf_blind(blind, blinded + 32 * i,
							su->mode, v->input[i],
							v->input_len[i],
							v->blind + 32 * i, &err),
					 CDS_OK);
			assert_memory_equal(blind, v->blind + 32 * i, 32);
		}
		assert_memory_equal(blinded, v->blinded, 32 * v->n);
		assert_int_equal(cds_oprf_blind_evaluate(
					 evaluated, proving ? proof : NULL,
					 su->mode, su->sk, v->blinded, v->n,
					 v->info, v->info_len,
					 proving ? v->r : NULL, &err), CDS_OK);
		assert_memory_equal(evaluated, v->evaluated, 32 * v->n);
		if (proving)
			assert_memory_equal(proof, v->proof, 64);
		assert_int_equal(finalize_vec(out, su, v, pk, v->evaluated,
					      v->proof, &err), CDS_OK);
		assert_memory_equal(out, v->output, 64 * v->n);
		for (size_t i = 0; i < v->n; i++) {
			assert_int_equal(cds_oprf_evaluate(one, su->mode, su->sk,
							   v->input[i],
							   v->input_len[i],
							   v->info, v->info_len,
							   &err), CDS_OK);
			assert_memory_equal(one, v->output + 64 * i, 64);
		}
	}
}

static void test_vectors_oprf(void **state)
{
	(void)state;
	check_mode_vectors(&suites[CDS_OPRF_MODE_OPRF]);
}

static void test_vectors_voprf(void **state)
{
	(void)state;
	check_mode_vectors(&suites[CDS_OPRF_MODE_VOPRF]);
}

static void test_vectors_poprf(void **state)
{
	(void)state;
	check_mode_vectors(&suites[CDS_OPRF_MODE_POPRF]);
}

/* ---- failures ------------------------------------------------------------ */

/* The batch vector (n > 1) of a mode. */
static const struct vec *batch_vec(const struct suite *su)
{
	for (size_t k = 0; k < su->nvec; k++)
		if (su->v[k].n > 1)
			return &su->v[k];
	fail_msg("no batch vector");
	return NULL;
}

static void test_tampered_proof(void **state)
{
	static const size_t pos[] = { 0, 1, 17, 31, 32, 40, 62, 63 };
	uint8_t out[MAXB * 64], proof[64], pk[32];
	struct cds_error err;

	(void)state;
	for (int m = 1; m < 3; m++) {
		const struct suite *su = &suites[m];
		const struct vec *v = batch_vec(su);

		suite_pk(pk, su);
		for (size_t p = 0; p < sizeof(pos) / sizeof(pos[0]); p++) {
			for (uint8_t bit = 1; bit; bit <<= 3) {
				memcpy(proof, v->proof, 64);
				proof[pos[p]] ^= bit;
				memset(out, 0xaa, sizeof(out));
				assert_int_equal(finalize_vec(out, su, v, pk,
							      v->evaluated,
							      proof, &err),
						 CDS_ERR_CRYPTO);
				/* nothing unverified escapes */
				assert_true(sodium_is_zero(out, 64 * v->n));
			}
		}
		/* an all-zero proof and a swapped (s, c) fail too */
		memset(proof, 0, 64);
		assert_int_equal(finalize_vec(out, su, v, pk, v->evaluated,
					      proof, &err), CDS_ERR_CRYPTO);
		memcpy(proof, v->proof + 32, 32);
		memcpy(proof + 32, v->proof, 32);
		assert_int_equal(finalize_vec(out, su, v, pk, v->evaluated,
					      proof, &err), CDS_ERR_CRYPTO);
	}
}

/* RFC 9496 validity; libsodium 1.0.18 alone does not check bit 255. */
static int valid_encoding(const uint8_t s[32])
{
	return crypto_core_ristretto255_is_valid_point(s) && !(s[31] & 0x80);
}

static void test_tampered_evaluated(void **state)
{
	uint8_t ev[MAXB * 32], out[MAXB * 64], pk[32];
	struct cds_error err;
	int crypto = 0, invalid = 0;

	(void)state;
	for (int m = 1; m < 3; m++) {
		const struct suite *su = &suites[m];
		const struct vec *v = batch_vec(su);

		suite_pk(pk, su);
		/* valid elements in the wrong place: the proof catches it */
		memcpy(ev, v->evaluated, 32 * v->n);
		memcpy(ev, v->evaluated + 32, 32);
		assert_int_equal(finalize_vec(out, su, v, pk, ev, v->proof,
					      &err), CDS_ERR_CRYPTO);
		memcpy(ev, v->evaluated, 32 * v->n);
		crypto_core_ristretto255_random(ev + 32);
		assert_int_equal(finalize_vec(out, su, v, pk, ev, v->proof,
					      &err), CDS_ERR_CRYPTO);
		/*
		 * One flipped bit gives either another valid point (the proof
		 * fails) or an invalid encoding (rejected, naming item 1).
		 */
		for (size_t b = 0; b < 256; b++) {
			enum cds_err rc;

			memcpy(ev, v->evaluated, 32 * v->n);
			ev[32 + b / 8] ^= (uint8_t)(1u << (b % 8));
			rc = finalize_vec(out, su, v, pk, ev, v->proof, &err);
			if (valid_encoding(ev + 32)) {
				assert_int_equal(rc, CDS_ERR_CRYPTO);
				crypto++;
			} else {
				assert_int_equal(rc, CDS_ERR_INVALID);
				assert_int_equal(err.index, 1);
				invalid++;
			}
		}
	}
	assert_true(crypto > 0 && invalid > 0);
}

static void test_wrong_key(void **state)
{
	uint8_t sk[32], pk[32], seed[32], out[MAXB * 64];
	struct cds_error err;

	(void)state;
	for (int m = 1; m < 3; m++) {
		const struct suite *su = &suites[m];
		const struct vec *v = batch_vec(su);

		memcpy(seed, su->seed, 32);
		seed[0] ^= 1;
		assert_int_equal(cds_oprf_derive_keypair(sk, pk, su->mode, seed,
							 NULL, 0, &err), CDS_OK);
		assert_int_equal(finalize_vec(out, su, v, pk, v->evaluated,
					      v->proof, &err), CDS_ERR_CRYPTO);
		assert_non_null(strstr(err.msg, "proof"));
	}
}

static void test_wrong_info(void **state)
{
	const struct suite *su = &suites[CDS_OPRF_MODE_POPRF];
	struct vec v = *batch_vec(su);
	uint8_t out[MAXB * 64];
	struct cds_error err;

	(void)state;
	v.info[0] ^= 1;
	assert_int_equal(finalize_vec(out, su, &v, su->pk, v.evaluated,
				      v.proof, &err), CDS_ERR_CRYPTO);
}

/* Encodings every decoder must refuse (RFC 9496 A.2 kinds). */
#define NBAD 5

static void bad_encodings(uint8_t bad[NBAD][32])
{
	static const uint8_t p_le[32] = {
		0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0x7f,
	};

	memset(bad[0], 0xff, 32);          /* non-canonical, bit 255 */
	memcpy(bad[1], p_le, 32);          /* s = p, non-canonical */
	memset(bad[2], 0, 32);
	bad[2][0] = 1;                     /* s = 1: negative */
	crypto_core_ristretto255_random(bad[3]);
	bad[3][31] |= 0x80;                /* bit 255 set (libsodium 1.0.18
					      would take it) */
	memset(bad[4], 0, 32);             /* the identity */
}

static void test_bad_blinded(void **state)
{
	uint8_t bad[NBAD][32], bl[3 * 32], ev[3 * 32], proof[64];
	const struct suite *su = &suites[CDS_OPRF_MODE_VOPRF];
	struct cds_error err;

	(void)state;
	bad_encodings(bad);
	for (int m = 0; m < 3; m++) {
		for (size_t b = 0; b < NBAD; b++) {
			for (size_t at = 0; at < 3; at++) {
				for (size_t i = 0; i < 3; i++)
					crypto_core_ristretto255_random(bl + 32 * i);
				memcpy(bl + 32 * at, bad[b], 32);
				cds_error_clear(&err);
				assert_int_equal(cds_oprf_blind_evaluate(
							 ev, proof,
							 (enum cds_oprf_mode)m,
							 su->sk, bl, 3,
							 (const uint8_t *)"i", 1,
							 NULL, &err),
						 CDS_ERR_INVALID);
				assert_int_equal(err.index, (long)at);
				assert_non_null(strstr(err.msg,
						       "blinded element"));
				assert_true(sodium_is_zero(ev, sizeof(ev)));
			}
		}
	}
	assert_non_null(strstr(err.msg, "identity"));
}

static void test_bad_evaluated_and_key(void **state)
{
	uint8_t bad[NBAD][32], ev[MAXB * 32], out[MAXB * 64], pk[32];
	struct cds_error err;

	(void)state;
	bad_encodings(bad);
	for (int m = 0; m < 3; m++) {
		const struct suite *su = &suites[m];
		/* the last vector: the batch one, except in mode OPRF */
		const struct vec *v = &su->v[su->nvec - 1];
		size_t at = v->n - 1;
		char want[32];

		suite_pk(pk, su);
		snprintf(want, sizeof(want), "evaluated element %zu", at);
		for (size_t b = 0; b < NBAD; b++) {
			memcpy(ev, v->evaluated, 32 * v->n);
			memcpy(ev + 32 * at, bad[b], 32);
			assert_int_equal(finalize_vec(out, su, v, pk, ev,
						      v->proof, &err),
					 CDS_ERR_INVALID);
			assert_int_equal(err.index, (long)at);
			assert_non_null(strstr(err.msg, want));
			if (m == CDS_OPRF_MODE_OPRF)
				continue;
			assert_int_equal(finalize_vec(out, su, v, bad[b],
						      v->evaluated, v->proof,
						      &err), CDS_ERR_INVALID);
			assert_non_null(strstr(err.msg, "public key"));
		}
	}
}

static void test_bad_scalars(void **state)
{
	static const uint8_t order[32] = { /* L, not canonical */
		0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c,
		0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x10,
	};
	const struct suite *su = &suites[CDS_OPRF_MODE_VOPRF];
	const struct vec *v = batch_vec(su);
	uint8_t zero[32] = { 0 }, blind[32], el[32], ev[MAXB * 32];
	uint8_t proof[64], out[64], blinds[MAXB * 32];
	const uint8_t *ptrs[MAXB];
	struct cds_error err;
	const uint8_t *bad[2] = { zero, order };

	(void)state;
	input_ptrs(ptrs, v);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(cds_oprf_blind(blind, el, su->mode,
						(const uint8_t *)"x", 1, bad[k],
						&err), CDS_ERR_INVALID);
		assert_non_null(strstr(err.msg, "blind"));
		assert_int_equal(cds_oprf_blind_evaluate(ev, proof, su->mode,
							 bad[k], v->blinded,
							 v->n, NULL, 0, NULL,
							 &err), CDS_ERR_INVALID);
		assert_non_null(strstr(err.msg, "secret key"));
		assert_int_equal(cds_oprf_blind_evaluate(ev, proof, su->mode,
							 su->sk, v->blinded,
							 v->n, NULL, 0, bad[k],
							 &err), CDS_ERR_INVALID);
		assert_non_null(strstr(err.msg, "proof nonce"));
		assert_int_equal(cds_oprf_evaluate(out, su->mode, bad[k],
						   (const uint8_t *)"x", 1,
						   NULL, 0, &err),
				 CDS_ERR_INVALID);
		assert_int_equal(cds_oprf_public_key(el, bad[k], &err),
				 CDS_ERR_INVALID);
		memcpy(blinds, v->blind, 32 * v->n);
		memcpy(blinds + 32, bad[k], 32);
		cds_error_clear(&err);
		assert_int_equal(cds_oprf_finalize(out, su->mode, su->pk, ptrs,
						   v->input_len, blinds,
						   v->blinded, v->evaluated,
						   v->n, v->proof, NULL, 0,
						   &err), CDS_ERR_INVALID);
		assert_int_equal(err.index, 1);
	}
}

static void test_bad_arguments(void **state)
{
	const struct suite *su = &suites[CDS_OPRF_MODE_VOPRF];
	const struct vec *v = batch_vec(su);
	uint8_t ev[MAXB * 32], proof[64], blind[32], el[32], out[64];
	uint8_t *big = calloc(1, CDS_OPRF_INPUT_MAX + 1);
	struct cds_error err;

	(void)state;
	assert_non_null(big);
	assert_int_equal(cds_oprf_blind_evaluate(ev, proof, su->mode, su->sk,
						 v->blinded, 0, NULL, 0, NULL,
						 &err), CDS_ERR_INVALID);
	assert_int_equal(cds_oprf_blind_evaluate(ev, proof, su->mode, su->sk,
						 v->blinded,
						 CDS_OPRF_BATCH_MAX + 1, NULL,
						 0, NULL, &err),
			 CDS_ERR_TOO_LARGE);
	assert_int_equal(cds_oprf_blind_evaluate(ev, NULL, su->mode, su->sk,
						 v->blinded, v->n, NULL, 0,
						 NULL, &err), CDS_ERR_INVALID);
	assert_int_equal(cds_oprf_blind_evaluate(ev, proof,
						 (enum cds_oprf_mode)3, su->sk,
						 v->blinded, v->n, NULL, 0,
						 NULL, &err), CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "mode 3"));
	assert_int_equal(cds_oprf_blind(blind, el, su->mode, big,
					CDS_OPRF_INPUT_MAX + 1, NULL, &err),
			 CDS_ERR_TOO_LARGE);
	assert_int_equal(cds_oprf_blind(blind, el, su->mode, NULL, 3, NULL,
					&err), CDS_ERR_INVALID);
	assert_int_equal(cds_oprf_evaluate(out, CDS_OPRF_MODE_POPRF, su->sk,
					   big, 1, big,
					   CDS_OPRF_INPUT_MAX + 1, &err),
			 CDS_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "POPRF info"));
	assert_int_equal(cds_oprf_derive_keypair(blind, el, su->mode, su->seed,
						 big, CDS_OPRF_INPUT_MAX + 1,
						 &err), CDS_ERR_TOO_LARGE);
	/* the longest input is fine */
	assert_int_equal(cds_oprf_blind(blind, el, su->mode, big,
					CDS_OPRF_INPUT_MAX, NULL, &err), CDS_OK);
	free(big);
}

/* BlindEvaluate = slices evaluated in mode OPRF + Prove over the batch. */
static void test_prove_split(void **state)
{
	uint8_t ev[MAXB * 32], proof[64];
	struct cds_error err;

	(void)state;
	for (int m = 1; m < 3; m++) {
		const struct suite *su = &suites[m];
		const struct vec *v = batch_vec(su);

		if (su->mode == CDS_OPRF_MODE_VOPRF) {
			for (size_t i = 0; i < v->n; i++)
				assert_int_equal(cds_oprf_blind_evaluate(
							 ev + 32 * i, NULL,
							 CDS_OPRF_MODE_OPRF,
							 su->sk,
							 v->blinded + 32 * i, 1,
							 NULL, 0, NULL, &err),
						 CDS_OK);
			assert_memory_equal(ev, v->evaluated, 32 * v->n);
		}
		assert_int_equal(cds_oprf_prove(proof, su->mode, su->sk,
						v->blinded, v->evaluated, v->n,
						v->info, v->info_len, v->r,
						&err), CDS_OK);
		assert_memory_equal(proof, v->proof, 64);
		/* a wrong evaluated element gives a proof that fails */
		memcpy(ev, v->evaluated, 32 * v->n);
		memcpy(ev, v->evaluated + 32, 32);
		assert_int_equal(cds_oprf_prove(proof, su->mode, su->sk,
						v->blinded, ev, v->n, v->info,
						v->info_len, NULL, &err),
				 CDS_OK);
		assert_int_equal(cds_oprf_verify(su->mode, su->pk, v->blinded,
						 ev, v->n, proof, v->info,
						 v->info_len, &err),
				 CDS_ERR_CRYPTO);
	}
	assert_int_equal(cds_oprf_prove(proof, CDS_OPRF_MODE_OPRF,
					suites[0].sk, suites[0].v[0].blinded,
					suites[0].v[0].evaluated, 1, NULL, 0,
					NULL, &err), CDS_ERR_INVALID);
}

/* Finalize = Verify + Unblind, and Unblind works on slices. */
static void test_verify_unblind_split(void **state)
{
	uint8_t out[MAXB * 64], pk[32], ev[MAXB * 32], proof[64];
	const uint8_t *ptrs[MAXB];
	struct cds_error err;

	(void)state;
	for (int m = 1; m < 3; m++) {
		const struct suite *su = &suites[m];
		const struct vec *v = batch_vec(su);

		suite_pk(pk, su);
		input_ptrs(ptrs, v);
		assert_int_equal(cds_oprf_verify(su->mode, pk, v->blinded,
						 v->evaluated, v->n, v->proof,
						 v->info, v->info_len, &err),
				 CDS_OK);
		memcpy(proof, v->proof, 64);
		proof[5] ^= 1;
		assert_int_equal(cds_oprf_verify(su->mode, pk, v->blinded,
						 v->evaluated, v->n, proof,
						 v->info, v->info_len, &err),
				 CDS_ERR_CRYPTO);
		/* each item alone, as a worker thread would take it */
		for (size_t i = 0; i < v->n; i++) {
			assert_int_equal(cds_oprf_unblind(out, su->mode,
							  ptrs + i,
							  v->input_len + i,
							  v->blind + 32 * i,
							  v->evaluated + 32 * i,
							  1, v->info,
							  v->info_len, &err),
					 CDS_OK);
			assert_memory_equal(out, v->output + 64 * i, 64);
		}
		/* a bad element in a slice is named relative to the slice */
		memcpy(ev, v->evaluated, 32 * v->n);
		memset(ev + 32, 0, 32);
		cds_error_clear(&err);
		assert_int_equal(cds_oprf_unblind(out, su->mode, ptrs,
						  v->input_len, v->blind, ev,
						  v->n, v->info, v->info_len,
						  &err), CDS_ERR_INVALID);
		assert_int_equal(err.index, 1);
		assert_true(sodium_is_zero(out, 64 * v->n));
	}
	/* OPRF has no proof to verify */
	assert_int_equal(cds_oprf_verify(CDS_OPRF_MODE_OPRF, pk,
					 suites[0].v[0].blinded,
					 suites[0].v[0].evaluated, 1,
					 suites[1].v[0].proof, NULL, 0, &err),
			 CDS_ERR_INVALID);
}

/* ---- round trips ---------------------------------------------------------- */

/* n random inputs through Blind, BlindEvaluate, Finalize == Evaluate. */
static void round_trip(enum cds_oprf_mode mode, size_t n)
{
	uint8_t sk[32], pk[32], proof[64], want[64];
	uint8_t *in = malloc(n * 40), *blinds = malloc(n * 32);
	uint8_t *bl = malloc(n * 32), *ev = malloc(n * 32), *out = malloc(n * 64);
	const uint8_t **ptrs = malloc(n * sizeof(*ptrs));
	size_t *lens = malloc(n * sizeof(*lens));
	static const uint8_t info[] = "round trip info";
	struct cds_error err;

	assert_true(in && blinds && bl && ev && out && ptrs && lens);
	cds_oprf_keygen(sk, pk);
	randombytes_buf(in, n * 40);
	for (size_t i = 0; i < n; i++) {
		ptrs[i] = in + 40 * i;
		lens[i] = i % 41; /* includes the empty input */
		assert_int_equal(cds_oprf_blind(blinds + 32 * i, bl + 32 * i,
						mode, ptrs[i], lens[i], NULL,
						&err), CDS_OK);
	}
	assert_int_equal(cds_oprf_blind_evaluate(ev, proof, mode, sk, bl, n,
						 info, sizeof(info), NULL,
						 &err), CDS_OK);
	assert_int_equal(cds_oprf_finalize(out, mode, pk, ptrs, lens, blinds,
					   bl, ev, n, proof, info, sizeof(info),
					   &err), CDS_OK);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(cds_oprf_evaluate(want, mode, sk, ptrs[i],
						   lens[i], info, sizeof(info),
						   &err), CDS_OK);
		assert_memory_equal(out + 64 * i, want, 64);
	}
	free(in); free(blinds); free(bl); free(ev); free(out); free(ptrs);
	free(lens);
}

static void test_round_trips(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 17, 100 };

	(void)state;
	for (int m = 0; m < 3; m++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			round_trip((enum cds_oprf_mode)m, sizes[s]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand_xmd),
		cmocka_unit_test(test_context_strings),
		cmocka_unit_test(test_derive_keypair),
		cmocka_unit_test(test_vectors_oprf),
		cmocka_unit_test(test_vectors_voprf),
		cmocka_unit_test(test_vectors_poprf),
		cmocka_unit_test(test_tampered_proof),
		cmocka_unit_test(test_tampered_evaluated),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_wrong_info),
		cmocka_unit_test(test_bad_blinded),
		cmocka_unit_test(test_bad_evaluated_and_key),
		cmocka_unit_test(test_bad_scalars),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_prove_split),
		cmocka_unit_test(test_verify_unblind_split),
		cmocka_unit_test(test_round_trips),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, load_all, NULL);
}
