/*
 * test_entry.c: protocol v1 bucket layer (lib/crypto/entry.c) and the
 * VOPRF as cds uses it, against $CDS_TEST_DATA/vectors/cds-v1.json: key
 * derivation, OPRF outputs (server Evaluate and a full client round trip),
 * bucket numbers, fingerprints, label keys, sealed entries, opening them,
 * and tampered entries, wrong epochs and lookups in a sorted bucket.
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

#include "crypto/entry.h"
#include "crypto/oprf.h"

#define MAXH 8
#define MAXLEN 64

struct handle_vec {
	char handle[MAXLEN];
	size_t len;
	uint32_t bucket[4]; /* prefix bits 0, 8, 16, 24 */
	uint8_t out[64], fp[16], label_key[32], account[16], ikey[32];
	uint8_t nonce[24], ad[16], entry[CDS_ENTRY_BYTES];
};

static struct {
	uint8_t seed[32], sk[32], pk[32];
	char key_info[MAXLEN];
	uint32_t epoch;
	size_t n;
	struct handle_vec h[MAXH];
} v1;

static void unhex(uint8_t *out, size_t n, json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);
	const char *s, *end = NULL;
	size_t got = 0;

	if (!j || !json_is_string(j))
		fail_msg("cds-v1.json: %s missing", key);
	s = json_string_value(j);
	assert_int_equal(sodium_hex2bin(out, n, s, strlen(s), NULL, &got, &end),
			 0);
	assert_int_equal(got, n);
	assert_ptr_equal(end, s + strlen(s));
}

static void copy_str(char *dst, json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	assert_non_null(s);
	assert_true(strlen(s) < MAXLEN);
	strcpy(dst, s);
}

static void load_handle(struct handle_vec *h, json_t *o)
{
	static const char *bucket_keys[4] = {
		"bucket_bits0", "bucket_bits8", "bucket_bits16", "bucket_bits24",
	};

	copy_str(h->handle, o, "handle");
	h->len = strlen(h->handle);
	for (int b = 0; b < 4; b++) {
		json_t *j = json_object_get(o, bucket_keys[b]);

		assert_true(json_is_integer(j));
		h->bucket[b] = (uint32_t)json_integer_value(j);
	}
	unhex(h->out, 64, o, "oprf_output");
	unhex(h->fp, 16, o, "fingerprint");
	unhex(h->label_key, 32, o, "label_key");
	unhex(h->account, 16, o, "account_id");
	unhex(h->ikey, 32, o, "identity_key");
	unhex(h->nonce, 24, o, "nonce");
	unhex(h->ad, 16, o, "associated_data");
	unhex(h->entry, CDS_ENTRY_BYTES, o, "entry");
}

static int load_v1(void **state)
{
	const char *dir = getenv("CDS_TEST_DATA");
	char path[1024];
	json_error_t jerr;
	json_t *root, *hs;

	(void)state;
	if (!dir) {
		fprintf(stderr, "CDS_TEST_DATA is not set\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/vectors/cds-v1.json", dir);
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		return -1;
	}
	unhex(v1.seed, 32, root, "seed");
	unhex(v1.sk, 32, root, "skS");
	unhex(v1.pk, 32, root, "pkS");
	copy_str(v1.key_info, root, "key_info");
	v1.epoch = (uint32_t)json_integer_value(json_object_get(root, "epoch"));
	hs = json_object_get(root, "handles");
	v1.n = json_array_size(hs);
	assert_true(v1.n >= 2 && v1.n <= MAXH);
	for (size_t i = 0; i < v1.n; i++)
		load_handle(&v1.h[i], json_array_get(hs, i));
	json_decref(root);
	return 0;
}

static void test_key(void **state)
{
	uint8_t sk[32], pk[32];
	struct cds_error err;

	(void)state;
	assert_int_equal(cds_oprf_derive_keypair(sk, pk, CDS_OPRF_MODE_VOPRF,
						 v1.seed,
						 (const uint8_t *)v1.key_info,
						 strlen(v1.key_info), &err),
			 CDS_OK);
	assert_memory_equal(sk, v1.sk, 32);
	assert_memory_equal(pk, v1.pk, 32);
}

static void test_oprf_output(void **state)
{
	uint8_t out[64];
	struct cds_error err;

	(void)state;
	for (size_t i = 0; i < v1.n; i++) {
		const struct handle_vec *h = &v1.h[i];

		assert_int_equal(cds_oprf_evaluate(out, CDS_OPRF_MODE_VOPRF,
						   v1.sk,
						   (const uint8_t *)h->handle,
						   h->len, NULL, 0, &err),
				 CDS_OK);
		assert_memory_equal(out, h->out, 64);
		/* fingerprint and label key are the halves the layout says */
		assert_memory_equal(h->fp, h->out, 16);
		assert_memory_equal(h->label_key, h->out + 32, 32);
	}
}

/* The whole batch as a client sends it: blind, evaluate, verify, finalize. */
static void test_round_trip(void **state)
{
	uint8_t blinds[MAXH * 32], bl[MAXH * 32], ev[MAXH * 32];
	uint8_t proof[64], out[MAXH * 64];
	const uint8_t *in[MAXH];
	size_t lens[MAXH];
	struct cds_error err;

	(void)state;
	for (size_t i = 0; i < v1.n; i++) {
		in[i] = (const uint8_t *)v1.h[i].handle;
		lens[i] = v1.h[i].len;
		assert_int_equal(cds_oprf_blind(blinds + 32 * i, bl + 32 * i,
						CDS_OPRF_MODE_VOPRF, in[i],
						lens[i], NULL, &err), CDS_OK);
	}
	assert_int_equal(cds_oprf_blind_evaluate(ev, proof, CDS_OPRF_MODE_VOPRF,
						 v1.sk, bl, v1.n, NULL, 0,
						 NULL, &err), CDS_OK);
	assert_int_equal(cds_oprf_finalize(out, CDS_OPRF_MODE_VOPRF, v1.pk, in,
					   lens, blinds, bl, ev, v1.n, proof,
					   NULL, 0, &err), CDS_OK);
	for (size_t i = 0; i < v1.n; i++)
		assert_memory_equal(out + 64 * i, v1.h[i].out, 64);
}

static void test_buckets(void **state)
{
	static const unsigned bits[4] = { 0, 8, 16, 24 };

	(void)state;
	for (size_t i = 0; i < v1.n; i++) {
		const struct handle_vec *h = &v1.h[i];
		const uint8_t *p = (const uint8_t *)h->handle;

		for (int b = 0; b < 4; b++)
			assert_int_equal(cds_bucket_of(p, h->len, bits[b]),
					 h->bucket[b]);
		/* prefixes nest: fewer bits are the top of more bits */
		assert_int_equal(cds_bucket_of(p, h->len, 12),
				 h->bucket[3] >> 12);
		assert_int_equal(cds_bucket_of(p, h->len, 1),
				 h->bucket[1] >> 7);
		assert_int_equal(cds_bucket_of(p, h->len, 32) >> 8,
				 h->bucket[3]);
		assert_int_equal(cds_bucket_of(p, h->len, 40),
				 cds_bucket_of(p, h->len, 32));
	}
}

static void test_seal_open(void **state)
{
	uint8_t e[CDS_ENTRY_BYTES], e2[CDS_ENTRY_BYTES], acct[16], ikey[32];
	struct cds_error err;

	(void)state;
	for (size_t i = 0; i < v1.n; i++) {
		const struct handle_vec *h = &v1.h[i];

		assert_memory_equal(h->ad, "cds/v1/label", 12);
		assert_int_equal(h->ad[15], v1.epoch);
		cds_entry_seal(e, h->out, v1.epoch, h->account, h->ikey,
			       h->nonce);
		assert_memory_equal(e, h->entry, CDS_ENTRY_BYTES);
		assert_int_equal(cds_entry_open(acct, ikey, h->entry, h->out,
						v1.epoch, &err), CDS_OK);
		assert_memory_equal(acct, h->account, 16);
		assert_memory_equal(ikey, h->ikey, 32);
		/* a random nonce: a new entry that still opens */
		cds_entry_seal(e2, h->out, v1.epoch, h->account, h->ikey, NULL);
		assert_memory_equal(e2, h->fp, 16);
		assert_memory_not_equal(e2 + 16, h->nonce, 24);
		assert_int_equal(cds_entry_open(acct, ikey, e2, h->out,
						v1.epoch, &err), CDS_OK);
		assert_memory_equal(acct, h->account, 16);
	}
}

static void test_tampered(void **state)
{
	const struct handle_vec *h = &v1.h[0];
	uint8_t e[CDS_ENTRY_BYTES], acct[16], ikey[32];
	struct cds_error err;

	(void)state;
	/* every byte of the entry matters */
	for (size_t b = 0; b < CDS_ENTRY_BYTES; b++) {
		memcpy(e, h->entry, CDS_ENTRY_BYTES);
		e[b] ^= 0x20;
		memset(acct, 0x55, sizeof(acct));
		assert_int_equal(cds_entry_open(acct, ikey, e, h->out, v1.epoch,
						&err), CDS_ERR_CRYPTO);
		assert_memory_not_equal(acct, h->account, 16);
	}
	assert_int_equal(cds_entry_open(acct, ikey, h->entry, h->out,
					v1.epoch + 1, &err), CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "epoch 4"));
	assert_int_equal(cds_entry_open(acct, ikey, h->entry, h->out,
					v1.epoch - 1, &err), CDS_ERR_CRYPTO);
	/* another handle's output does not open it */
	assert_int_equal(cds_entry_open(acct, ikey, h->entry, v1.h[1].out,
					v1.epoch, &err), CDS_ERR_CRYPTO);
}

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(a, b, CDS_FP_BYTES);
}

static void test_find(void **state)
{
	uint8_t bucket[MAXH * CDS_ENTRY_BYTES], fp[16];
	const uint8_t *e;

	(void)state;
	for (size_t i = 0; i < v1.n; i++)
		memcpy(bucket + i * CDS_ENTRY_BYTES, v1.h[i].entry,
		       CDS_ENTRY_BYTES);
	qsort(bucket, v1.n, CDS_ENTRY_BYTES, cmp_entry);
	for (size_t n = 1; n <= v1.n; n++) {
		/* every prefix of the sorted bucket finds exactly its own */
		for (size_t i = 0; i < v1.n; i++) {
			const uint8_t *want = bucket + i * CDS_ENTRY_BYTES;

			e = cds_entry_find(bucket, n, want);
			if (i < n)
				assert_ptr_equal(e, want);
			else
				assert_null(e);
		}
	}
	memcpy(fp, v1.h[0].fp, 16);
	fp[15] ^= 1;
	assert_null(cds_entry_find(bucket, v1.n, fp));
	memset(fp, 0, 16);
	assert_null(cds_entry_find(bucket, v1.n, fp));
	memset(fp, 0xff, 16);
	assert_null(cds_entry_find(bucket, v1.n, fp));
	assert_null(cds_entry_find(bucket, 0, v1.h[0].fp));
	assert_null(cds_entry_find(NULL, 0, v1.h[0].fp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_oprf_output),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_find),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, load_v1, NULL);
}
