/*
 * test_hpke.c: HPKE (lib/crypto/hpke.c, hkdf.c, aead.c) against every value
 * of RFC 9180 A.2 ($CDS_TEST_DATA/vectors/hpke_rfc9180_a2_x25519_sha256_
 * chacha20poly1305.json): both derived key pairs, the encapsulation, the
 * shared secret, the key schedule (context, secret-derived key, base
 * nonce, exporter secret), each encryption's nonce and ciphertext, the
 * export; then the failures: flipped ciphertext, tag and AAD bytes, a wrong
 * recipient key, a small-order public key, an unsupported AEAD.  AES-128-
 * GCM has no A.2 vector; test_ohttp.c checks it through RFC 9458's example.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto/hpke.h"
#include "vectest.h"

#define VEC "hpke_rfc9180_a2_x25519_sha256_chacha20poly1305.json"

static json_t *vec;

static int setup(void **state)
{
	(void)state;
	vec = vec_load(VEC);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(vec);
	return 0;
}

static void derive(const char *ikm_key, const char *sk_key,
		   const char *pk_key)
{
	uint8_t sk[CDS_HPKE_SK_BYTES], pk[CDS_HPKE_PK_BYTES];
	size_t ikm_len;
	uint8_t *ikm = vec_hex(vec, ikm_key, &ikm_len);

	cds_hpke_derive_keypair(sk, pk, ikm, ikm_len);
	vec_expect(sk, sizeof(sk), vec, sk_key);
	vec_expect(pk, sizeof(pk), vec, pk_key);
	free(ikm);
}

static void test_derive_keypairs(void **state)
{
	(void)state;
	derive("ikmE", "skEm", "pkEm");
	derive("ikmR", "skRm", "pkRm");
}

/* Encap with the vector's skE, decap with skR: the same shared secret. */
static void test_encap_decap(void **state)
{
	uint8_t skE[32], pkR[32], skR[32], enc[32], ss[32], ss2[32];
	struct cds_error err = {0};

	(void)state;
	vec_hex_exact(skE, 32, vec, "skEm");
	vec_hex_exact(pkR, 32, vec, "pkRm");
	vec_hex_exact(skR, 32, vec, "skRm");
	assert_int_equal(cds_hpke_encap(ss, enc, pkR, skE, &err), CDS_OK);
	vec_expect(enc, 32, vec, "enc");
	vec_expect(ss, 32, vec, "shared_secret");
	assert_int_equal(cds_hpke_decap(ss2, enc, skR, NULL, &err), CDS_OK);
	vec_expect(ss2, 32, vec, "shared_secret");
}

static void schedule(struct cds_hpke_ctx *ctx, struct cds_hpke_ks_trace *ks)
{
	uint8_t ss[32];
	size_t info_len;
	uint8_t *info = vec_hex(vec, "info", &info_len);
	struct cds_error err = {0};

	vec_hex_exact(ss, 32, vec, "shared_secret");
	assert_int_equal(cds_hpke_key_schedule(ctx, CDS_AEAD_CHACHA20POLY1305,
					       ss, info, info_len, ks, &err),
			 CDS_OK);
	free(info);
}

static void test_key_schedule(void **state)
{
	struct cds_hpke_ctx ctx;
	struct cds_hpke_ks_trace ks;

	(void)state;
	schedule(&ctx, &ks);
	vec_expect(ks.context, sizeof(ks.context), vec, "key_schedule_context");
	vec_expect(ks.secret, sizeof(ks.secret), vec, "secret");
	assert_int_equal(ctx.key_len, 32);
	vec_expect(ctx.key, 32, vec, "key");
	vec_expect(ctx.base_nonce, 12, vec, "base_nonce");
	vec_expect(ctx.exporter_secret, 32, vec, "exporter_secret");
	cds_hpke_ctx_wipe(&ctx);
}

/* Each encryption at its sequence number, sealed and opened. */
static void test_encryptions(void **state)
{
	json_t *encs = json_object_get(vec, "encryptions"), *e;
	size_t i;

	(void)state;
	assert_true(json_array_size(encs) >= 6);
	json_array_foreach(encs, i, e) {
		struct cds_hpke_ctx s, r;
		struct cds_error err = {0};
		size_t pt_len, aad_len, ct_len;
		uint8_t *pt = vec_hex(e, "pt", &pt_len);
		uint8_t *aad = vec_hex(e, "aad", &aad_len);
		uint8_t *ct = vec_hex(e, "ct", &ct_len);
		uint8_t out[128], nonce[12];
		uint64_t seq = (uint64_t)json_integer_value(json_object_get(e, "seq"));

		schedule(&s, NULL);
		schedule(&r, NULL);
		s.seq = r.seq = seq;
		cds_hpke_nonce(&s, seq, nonce);
		vec_expect(nonce, sizeof(nonce), e, "nonce");
		assert_int_equal(ct_len, pt_len + 16);
		assert_int_equal(cds_hpke_seal(&s, out, aad, aad_len, pt, pt_len,
					       &err), CDS_OK);
		vec_expect(out, ct_len, e, "ct");
		assert_int_equal(s.seq, seq + 1);
		assert_int_equal(cds_hpke_open(&r, out, aad, aad_len, ct, ct_len,
					       &err), CDS_OK);
		assert_memory_equal(out, pt, pt_len);
		free(pt);
		free(aad);
		free(ct);
	}
}

static void test_export(void **state)
{
	json_t *ex = json_array_get(json_object_get(vec, "exports"), 0);
	struct cds_hpke_ctx ctx;
	struct cds_error err = {0};
	size_t cl;
	uint8_t *c = vec_hex(ex, "exporter_context", &cl);
	size_t L = (size_t)json_integer_value(json_object_get(ex, "L"));
	uint8_t out[64];

	(void)state;
	assert_true(L <= sizeof(out));
	schedule(&ctx, NULL);
	assert_int_equal(cds_hpke_export(&ctx, out, L, c, cl, &err), CDS_OK);
	vec_expect(out, L, ex, "exported_value");
	free(c);
}

/* SetupBaseS / SetupBaseR end where the vector's key schedule does. */
static void test_setup_sender_recipient(void **state)
{
	uint8_t skE[32], pkR[32], skR[32], enc[32];
	struct cds_hpke_ctx s, r;
	struct cds_error err = {0};
	size_t info_len;
	uint8_t *info = vec_hex(vec, "info", &info_len);

	(void)state;
	vec_hex_exact(skE, 32, vec, "skEm");
	vec_hex_exact(pkR, 32, vec, "pkRm");
	vec_hex_exact(skR, 32, vec, "skRm");
	assert_int_equal(cds_hpke_setup_sender(&s, enc, CDS_AEAD_CHACHA20POLY1305,
					       pkR, info, info_len, skE, &err),
			 CDS_OK);
	assert_int_equal(cds_hpke_setup_recipient(&r, CDS_AEAD_CHACHA20POLY1305,
						  enc, skR, pkR, info, info_len,
						  &err), CDS_OK);
	vec_expect(s.key, 32, vec, "key");
	vec_expect(r.key, 32, vec, "key");
	vec_expect(r.exporter_secret, 32, vec, "exporter_secret");
	free(info);
}

/* A round trip under ctx; then each flipped byte must fail to open. */
static void check_tamper(uint16_t aead)
{
	uint8_t sk[32], pk[32], enc[32], ct[48], pt[32];
	static const uint8_t msg[32] = "thirty-two bytes of plaintext..";
	struct cds_hpke_ctx s, r;
	struct cds_error err = {0};

	cds_hpke_generate_keypair(sk, pk);
	assert_int_equal(cds_hpke_setup_sender(&s, enc, aead, pk, NULL, 0, NULL,
					       &err), CDS_OK);
	assert_int_equal(cds_hpke_seal(&s, ct, (const uint8_t *)"a", 1, msg,
				       sizeof(msg), &err), CDS_OK);
	for (size_t i = 0; i < sizeof(ct); i++) {
		ct[i] ^= 1;
		assert_int_equal(cds_hpke_setup_recipient(&r, aead, enc, sk, NULL, NULL,
							  0, &err), CDS_OK);
		assert_int_equal(cds_hpke_open(&r, pt, (const uint8_t *)"a", 1,
					       ct, sizeof(ct), &err),
				 CDS_ERR_CRYPTO);
		assert_int_equal(r.seq, 0);
		ct[i] ^= 1;
	}
	/* wrong AAD, then the right one */
	assert_int_equal(cds_hpke_open(&r, pt, (const uint8_t *)"b", 1, ct,
				       sizeof(ct), &err), CDS_ERR_CRYPTO);
	assert_int_equal(cds_hpke_open(&r, pt, (const uint8_t *)"a", 1, ct,
				       sizeof(ct), &err), CDS_OK);
	assert_memory_equal(pt, msg, sizeof(msg));
}

static void test_tamper_both_aeads(void **state)
{
	(void)state;
	check_tamper(CDS_AEAD_CHACHA20POLY1305);
	check_tamper(CDS_AEAD_AES128GCM);
}

static void test_wrong_key_and_bad_input(void **state)
{
	uint8_t sk[32], pk[32], sk2[32], pk2[32], enc[32], ct[20], pt[4];
	static const uint8_t zero[32];
	struct cds_hpke_ctx s, r;
	struct cds_error err = {0};

	(void)state;
	cds_hpke_generate_keypair(sk, pk);
	cds_hpke_generate_keypair(sk2, pk2);
	assert_int_equal(cds_hpke_setup_sender(&s, enc, CDS_AEAD_AES128GCM, pk,
					       NULL, 0, NULL, &err), CDS_OK);
	assert_int_equal(cds_hpke_seal(&s, ct, NULL, 0, (const uint8_t *)"ping",
				       4, &err), CDS_OK);
	assert_int_equal(cds_hpke_setup_recipient(&r, CDS_AEAD_AES128GCM, enc,
						  sk2, NULL, NULL, 0, &err), CDS_OK);
	assert_int_equal(cds_hpke_open(&r, pt, NULL, 0, ct, sizeof(ct), &err),
			 CDS_ERR_CRYPTO);
	/* small-order (all-zero) points: refused both ways */
	assert_int_equal(cds_hpke_setup_sender(&s, enc, CDS_AEAD_AES128GCM, zero,
					       NULL, 0, NULL, &err),
			 CDS_ERR_CRYPTO);
	assert_int_equal(s.aead_id, 0);
	assert_int_equal(cds_hpke_setup_recipient(&r, CDS_AEAD_AES128GCM, zero,
						  sk, NULL, NULL, 0, &err),
			 CDS_ERR_CRYPTO);
	/* unsupported AEAD (0x0002 AES-256-GCM, 0xffff export-only) */
	assert_int_equal(cds_hpke_setup_sender(&s, enc, 0x0002, pk, NULL, 0,
					       NULL, &err), CDS_ERR_INVALID);
	assert_int_equal(cds_hpke_setup_sender(&s, enc, 0xffff, pk, NULL, 0,
					       NULL, &err), CDS_ERR_INVALID);
	/* a context never set up cannot seal */
	assert_int_equal(cds_hpke_seal(&s, ct, NULL, 0, (const uint8_t *)"ping",
				       4, &err), CDS_ERR_INTERNAL);
	/* a ciphertext shorter than a tag */
	assert_int_equal(cds_hpke_setup_recipient(&r, CDS_AEAD_AES128GCM, enc,
						  sk, NULL, NULL, 0, &err), CDS_OK);
	assert_int_equal(cds_hpke_open(&r, pt, NULL, 0, ct, 15, &err),
			 CDS_ERR_CRYPTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_keypairs),
		cmocka_unit_test(test_encap_decap),
		cmocka_unit_test(test_key_schedule),
		cmocka_unit_test(test_encryptions),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_setup_sender_recipient),
		cmocka_unit_test(test_tamper_both_aeads),
		cmocka_unit_test(test_wrong_key_and_bad_input),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
