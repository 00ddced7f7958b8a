/*
 * test_client_protocol.c: the client's JSON codecs (lib/client/protocol.c)
 * and its parser of the binary buckets reply (protocol_bucketsbin.c):
 * well-formed replies parse to the right bytes, and every kind of malformed
 * server reply is CDS_ERR_PROTO with a message naming what was wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/protocol.h"
#include "client/protocol_tlog.h"
#include "core/bucketsbin.h"
#include "core/codec.h"
#include "crypto/entry.h"
#include "crypto/oprf.h"

static char pk_b64[CDS_B64_LEN(32)];

static int setup(void **state)
{
	uint8_t sk[32], pk[32];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	cds_oprf_keygen(sk, pk);
	cds_b64_encode(pk_b64, pk, 32);
	return 0;
}

static enum cds_err params(struct cds_params *p, const char *json,
			   struct cds_error *err)
{
	cds_error_clear(err);
	return cds_proto_parse_params(p, json, strlen(json), err);
}

/* Build a params reply with one field replaced (NULL = as valid). */
static void params_json(char *out, size_t cap, const char *version,
			const char *suite, const char *epoch, const char *pk,
			const char *bits, const char *batch, const char *plain)
{
	snprintf(out, cap,
		 "{\"version\":%s,\"suite\":%s,\"mode\":\"voprf\",\"epoch\":%s,"
		 "\"public_key\":%s,\"prefix_bits\":%s,\"max_batch\":%s,"
		 "\"plain_lookup\":%s,\"transparency_key\":\"%s\"}",
		 version ? version : "1",
		 suite ? suite : "\"ristretto255-SHA512\"",
		 epoch ? epoch : "3", pk, bits ? bits : "8",
		 batch ? batch : "1000", plain ? plain : "false", pk_b64);
}

static void test_params_ok(void **state)
{
	struct cds_params p;
	struct cds_error err;
	char pk[64], json[512];
	uint8_t want[32];
	size_t n;

	(void)state;
	snprintf(pk, sizeof(pk), "\"%s\"", pk_b64);
	params_json(json, sizeof(json), NULL, NULL, NULL, pk, NULL, NULL, "true");
	assert_int_equal(params(&p, json, &err), CDS_OK);
	assert_int_equal(p.epoch, 3);
	assert_int_equal(p.prefix_bits, 8);
	assert_int_equal(p.max_batch, 1000);
	assert_true(p.plain_lookup);
	assert_int_equal(cds_b64_decode(want, 32, &n, pk_b64, strlen(pk_b64), NULL),
			 CDS_OK);
	assert_memory_equal(p.public_key, want, 32);
	/* Extra fields are allowed; prefix_bits 0 and 24 are the bounds. */
	snprintf(json, sizeof(json),
		 "{\"version\":1,\"suite\":\"ristretto255-SHA512\",\"mode\":\"voprf\","
		 "\"epoch\":1,\"public_key\":\"%s\",\"prefix_bits\":0,"
		 "\"max_batch\":1,\"plain_lookup\":false,\"extra\":[1,2],"
		 "\"transparency_key\":\"%s\"}", pk_b64, pk_b64);
	assert_int_equal(params(&p, json, &err), CDS_OK);
	assert_int_equal(p.prefix_bits, 0);
	assert_false(p.plain_lookup);
}

static void expect_params_proto(const char *json, const char *needle)
{
	struct cds_params p;
	struct cds_error err;

	assert_int_equal(params(&p, json, &err), CDS_ERR_PROTO);
	if (!strstr(err.msg, needle))
		fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_params_bad(void **state)
{
	char pk[64], json[512];
	uint8_t zero[32] = {0};
	char zero_b64[CDS_B64_LEN(32)], bad_pk[64];

	(void)state;
	snprintf(pk, sizeof(pk), "\"%s\"", pk_b64);
	params_json(json, sizeof(json), "2", NULL, NULL, pk, NULL, NULL, NULL);
	expect_params_proto(json, "version 2");
	params_json(json, sizeof(json), NULL, "\"P256-SHA256\"", NULL, pk, NULL,
		    NULL, NULL);
	expect_params_proto(json, "suite");
	params_json(json, sizeof(json), NULL, NULL, "0", pk, NULL, NULL, NULL);
	expect_params_proto(json, "\"epoch\"");
	params_json(json, sizeof(json), NULL, NULL, "4294967296", pk, NULL, NULL, NULL);
	expect_params_proto(json, "\"epoch\"");
	params_json(json, sizeof(json), NULL, NULL, "\"3\"", pk, NULL, NULL, NULL);
	expect_params_proto(json, "\"epoch\"");
	params_json(json, sizeof(json), NULL, NULL, NULL, pk, "25", NULL, NULL);
	expect_params_proto(json, "prefix_bits");
	params_json(json, sizeof(json), NULL, NULL, NULL, pk, "-1", NULL, NULL);
	expect_params_proto(json, "prefix_bits");
	params_json(json, sizeof(json), NULL, NULL, NULL, pk, NULL, "0", NULL);
	expect_params_proto(json, "max_batch");
	params_json(json, sizeof(json), NULL, NULL, NULL, pk, NULL, NULL, "1");
	expect_params_proto(json, "plain_lookup");
	params_json(json, sizeof(json), NULL, NULL, NULL, "\"AAAA\"", NULL, NULL, NULL);
	expect_params_proto(json, "public_key");
	params_json(json, sizeof(json), NULL, NULL, NULL, "null", NULL, NULL, NULL);
	expect_params_proto(json, "public_key");
	/* 32 bytes, but the identity: not a usable key. */
	cds_b64_encode(zero_b64, zero, 32);
	snprintf(bad_pk, sizeof(bad_pk), "\"%s\"", zero_b64);
	params_json(json, sizeof(json), NULL, NULL, NULL, bad_pk, NULL, NULL, NULL);
	expect_params_proto(json, "ristretto255");
	expect_params_proto("", "not valid JSON");
	expect_params_proto("{\"version\":1", "not valid JSON");
	expect_params_proto("[1]", "not a JSON object");
	expect_params_proto("{\"version\":1,\"version\":1}", "not valid JSON");
	expect_params_proto("{}", "\"version\"");
	/* The transparency key is required: 32 bytes of base64. */
	snprintf(json, sizeof(json),
		 "{\"version\":1,\"suite\":\"ristretto255-SHA512\",\"mode\":\"voprf\","
		 "\"epoch\":1,\"public_key\":\"%s\",\"prefix_bits\":0,"
		 "\"max_batch\":1,\"plain_lookup\":false}", pk_b64);
	expect_params_proto(json, "transparency_key");
	snprintf(json, sizeof(json),
		 "{\"version\":1,\"suite\":\"ristretto255-SHA512\",\"mode\":\"voprf\","
		 "\"epoch\":1,\"public_key\":\"%s\",\"prefix_bits\":0,"
		 "\"max_batch\":1,\"plain_lookup\":false,\"transparency_key\":\"AAAA\"}",
		 pk_b64);
	expect_params_proto(json, "transparency_key");
}

static void test_discover_build(void **state)
{
	uint8_t el[64];
	struct cds_buf b;
	struct cds_error err;
	char a[CDS_B64_LEN(32)], c[CDS_B64_LEN(32)], want[256];

	(void)state;
	for (int i = 0; i < 64; i++)
		el[i] = (uint8_t)i;
	cds_b64_encode(a, el, 32);
	cds_b64_encode(c, el + 32, 32);
	snprintf(want, sizeof(want), "{\"epoch\":7,\"elements\":[\"%s\",\"%s\"]}", a, c);
	cds_buf_init(&b);
	assert_int_equal(cds_proto_build_discover(&b, 7, el, 2, &err), CDS_OK);
	assert_string_equal((char *)b.data, want);
	cds_buf_fini(&b);
}

/* A discover reply for n evaluated elements 0x11.. and proof 0x22..;
 * fields replaced when non-NULL. */
static void discover_json(char *out, size_t cap, const char *epoch, size_t n,
			  const char *proof)
{
	uint8_t el[32], pr[64];
	char e64[CDS_B64_LEN(32)], p64[CDS_B64_LEN(64)];
	size_t off;

	memset(el, 0x11, sizeof(el));
	memset(pr, 0x22, sizeof(pr));
	cds_b64_encode(e64, el, 32);
	cds_b64_encode(p64, pr, 64);
	off = (size_t)snprintf(out, cap, "{\"epoch\":%s,\"evaluated\":[",
			       epoch ? epoch : "5");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s\"%s\"",
					i ? "," : "", e64);
	if (proof)
		snprintf(out + off, cap - off, "],\"proof\":%s}", proof);
	else
		snprintf(out + off, cap - off, "],\"proof\":\"%s\"}", p64);
}

static enum cds_err discover(const char *json, size_t n, struct cds_error *err)
{
	uint8_t ev[3 * 32], proof[64];

	cds_error_clear(err);
	return cds_proto_parse_discover(ev, proof, 5, n, json, strlen(json), err);
}

static void test_discover_parse(void **state)
{
	uint8_t ev[2 * 32], proof[64], want[64];
	struct cds_error err;
	char json[1024];

	(void)state;
	discover_json(json, sizeof(json), NULL, 2, NULL);
	assert_int_equal(cds_proto_parse_discover(ev, proof, 5, 2, json,
						  strlen(json), &err), CDS_OK);
	memset(want, 0x11, 64);
	assert_memory_equal(ev, want, 64);
	memset(want, 0x22, 64);
	assert_memory_equal(proof, want, 64);

	discover_json(json, sizeof(json), "6", 2, NULL);
	assert_int_equal(discover(json, 2, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "epoch 6"));
	discover_json(json, sizeof(json), NULL, 1, NULL);
	assert_int_equal(discover(json, 2, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "array of 2"));
	discover_json(json, sizeof(json), NULL, 3, NULL);
	assert_int_equal(discover(json, 2, &err), CDS_ERR_PROTO);
	discover_json(json, sizeof(json), NULL, 2, "\"AAAA\"");
	assert_int_equal(discover(json, 2, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "proof"));
	discover_json(json, sizeof(json), NULL, 2, "17");
	assert_int_equal(discover(json, 2, &err), CDS_ERR_PROTO);
	assert_int_equal(discover("{\"epoch\":5,\"evaluated\":[\"!!!!\"],\"proof\":\"\"}",
				  1, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "evaluated[0]"));
	assert_int_equal(discover("{\"epoch\":5,\"evaluated\":{},\"proof\":\"\"}", 1,
				  &err), CDS_ERR_PROTO);
	assert_int_equal(discover("{\"epoch\":5}", 1, &err), CDS_ERR_PROTO);
	assert_int_equal(discover("nonsense", 1, &err), CDS_ERR_PROTO);
}

/* Two entries with fingerprints 0x01.. and 0x02.. (order per `sorted`). */
static void two_entries(uint8_t e[2 * CDS_ENTRY_BYTES], int sorted)
{
	memset(e, sorted ? 0x01 : 0x02, CDS_ENTRY_BYTES);
	memset(e + CDS_ENTRY_BYTES, sorted ? 0x02 : 0x01, CDS_ENTRY_BYTES);
}

static const uint32_t want42 = 42;

/* One bucket, prefix 42 asked for, answered as `prefix`. */
static enum cds_err bucket(const uint8_t *entries, size_t nbytes,
			   const char *prefix, struct cds_proto_bucket *b,
			   struct cds_error *err)
{
	char *b64 = malloc(CDS_B64_LEN(nbytes)), json[1024];
	enum cds_err rc;

	cds_b64_encode(b64, entries, nbytes);
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":%s,\"version\":1,\"proof\":\"\",\"entries\":\"%s\"}]}",
		 prefix, b64);
	free(b64);
	cds_error_clear(err);
	rc = cds_proto_parse_buckets(b, 5, 0, &want42, NULL, 1, json, strlen(json),
				     err);
	return rc;
}

static enum cds_err bucket_text(const char *json, struct cds_error *err)
{
	struct cds_proto_bucket b;
	enum cds_err rc;

	cds_error_clear(err);
	rc = cds_proto_parse_buckets(&b, 5, 0, &want42, NULL, 1, json, strlen(json),
				     err);
	if (rc == CDS_OK)
		free(b.entries);
	else
		assert_null(b.entries);
	return rc;
}

static void test_bucket_parse(void **state)
{
	uint8_t e[2 * CDS_ENTRY_BYTES];
	struct cds_proto_bucket b;
	struct cds_error err;

	(void)state;
	two_entries(e, 1);
	assert_int_equal(bucket(e, sizeof(e), "42", &b, &err), CDS_OK);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.prefix, 42);
	assert_memory_equal(b.entries, e, sizeof(e));
	free(b.entries);
	assert_int_equal(bucket(e, 0, "42", &b, &err), CDS_OK);
	assert_int_equal(b.n, 0);
	free(b.entries);

	assert_int_equal(bucket(e, sizeof(e), "43", &b, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "bucket 43"));
	assert_null(b.entries);
	assert_int_equal(bucket(e, sizeof(e) - 1, "42", &b, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "whole number"));
	two_entries(e, 0);
	assert_int_equal(bucket(e, sizeof(e), "42", &b, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "fingerprint order"));
	memset(e, 7, sizeof(e)); /* duplicate fingerprint */
	assert_int_equal(bucket(e, sizeof(e), "42", &b, &err), CDS_ERR_PROTO);
	assert_int_equal(bucket(e, sizeof(e), "16777216", &b, &err), CDS_ERR_PROTO);
	cds_error_clear(&err);
	assert_int_equal(bucket_text("{\"epoch\":5,\"buckets\":[{\"prefix\":42,\"version\":1,\"proof\":\"\",\"entries\":\"AA=\"}]}",
				     &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "base64"));
	assert_int_equal(bucket_text("{\"epoch\":4,\"buckets\":[{\"prefix\":42,\"version\":1,\"proof\":\"\",\"entries\":\"\"}]}",
				     &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "epoch 4"));
	assert_int_equal(bucket_text("{\"epoch\":5,\"buckets\":[{\"prefix\":42,\"version\":1,\"proof\":\"\"}]}", &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "entries"));
	assert_int_equal(bucket_text("{\"epoch\":5,\"buckets\":[{\"prefix\":42,\"version\":1,\"proof\":\"\",\"entries\":7}]}",
				     &err), CDS_ERR_PROTO);
}

static void test_buckets_parse(void **state)
{
	uint8_t e[2 * CDS_ENTRY_BYTES];
	char b64[CDS_B64_LEN(2 * CDS_ENTRY_BYTES)], json[2048];
	const uint32_t want[2] = {9, 3};
	struct cds_proto_bucket out[2];
	struct cds_buf req;
	struct cds_error err;

	(void)state;
	cds_buf_init(&req);
	assert_int_equal(cds_proto_build_buckets(&req, 5, want, NULL, 2, &err), CDS_OK);
	assert_string_equal((char *)req.data, "{\"epoch\":5,\"prefixes\":[9,3]}");
	cds_buf_fini(&req);

	two_entries(e, 1);
	cds_b64_encode(b64, e, sizeof(e));
	/* Answered in another order: matched by prefix. */
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":3,\"version\":1,\"proof\":\"\",\"entries\":\"\"},"
		 "{\"prefix\":9,\"version\":1,\"proof\":\"\",\"entries\":\"%s\"}]}", b64);
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, NULL, 2, json,
						 strlen(json), &err), CDS_OK);
	assert_int_equal(out[0].n, 2);
	assert_int_equal(out[1].n, 0);
	free(out[0].entries);
	free(out[1].entries);

	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":9,\"version\":1,\"proof\":\"\",\"entries\":\"\"},"
		 "{\"prefix\":9,\"version\":1,\"proof\":\"\",\"entries\":\"\"}]}");
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, NULL, 2, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "twice"));
	assert_null(out[0].entries);
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":9,\"version\":1,\"proof\":\"\",\"entries\":\"\"},"
		 "{\"prefix\":4,\"version\":1,\"proof\":\"\",\"entries\":\"\"}]}");
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, NULL, 2, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":9,\"version\":1,\"proof\":\"\",\"entries\":\"\"}]}");
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, NULL, 2, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":9,\"version\":1,\"proof\":\"\",\"entries\":\"\"}, 3]}");
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, NULL, 2, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	snprintf(json, sizeof(json),
		 "{\"epoch\":6,\"buckets\":[{\"prefix\":9,\"version\":1,\"proof\":\"\",\"entries\":\"\"},"
		 "{\"prefix\":3,\"version\":1,\"proof\":\"\",\"entries\":\"\"}]}");
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, NULL, 2, json,
						 strlen(json), &err), CDS_ERR_PROTO);
}

/* Revalidation: ETags go out parallel to the prefixes (null for none);
 * not_modified comes back only for a prefix sent with one. */
static void test_buckets_etags(void **state)
{
	const uint32_t want[3] = {9, 3, 4};
	const char *tags[3] = {"\"5.9.a.j\"", NULL, "W/\"5.4.1.b\""};
	struct cds_proto_bucket out[3];
	struct cds_buf req;
	struct cds_error err;
	char json[512];

	(void)state;
	cds_buf_init(&req);
	assert_int_equal(cds_proto_build_buckets(&req, 5, want, tags, 3, &err),
			 CDS_OK);
	assert_string_equal((char *)req.data,
			    "{\"epoch\":5,\"prefixes\":[9,3,4],\"etags\":"
			    "[\"\\\"5.9.a.j\\\"\",null,\"W/\\\"5.4.1.b\\\"\"]}");
	cds_buf_fini(&req);
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":9,\"version\":1,\"proof\":\"\",\"not_modified\":true},"
		 "{\"prefix\":3,\"version\":1,\"proof\":\"\",\"etag\":\"\\\"5.3.b.j\\\"\",\"entries\":\"\"},"
		 "{\"prefix\":4,\"version\":1,\"proof\":\"\",\"etag\":7,\"entries\":\"\"}]}");
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, tags, 3, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "etag"));
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":9,\"version\":1,\"proof\":\"\",\"not_modified\":true},"
		 "{\"prefix\":3,\"version\":1,\"proof\":\"\",\"etag\":\"\\\"5.3.b.j\\\"\",\"entries\":\"\"},"
		 "{\"prefix\":4,\"version\":1,\"proof\":\"\",\"entries\":\"\"}]}");
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, tags, 3, json,
						 strlen(json), &err), CDS_OK);
	assert_true(out[0].not_modified);
	assert_null(out[0].entries);
	assert_false(out[1].not_modified);
	assert_string_equal(out[1].etag, "\"5.3.b.j\"");
	assert_string_equal(out[2].etag, "");
	for (int i = 0; i < 3; i++)
		free(out[i].entries);
	/* not_modified for a bucket sent without an ETag, or not true. */
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":9,\"version\":1,\"proof\":\"\",\"not_modified\":true},"
		 "{\"prefix\":3,\"version\":1,\"proof\":\"\",\"not_modified\":true},"
		 "{\"prefix\":4,\"version\":1,\"proof\":\"\",\"entries\":\"\"}]}");
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, tags, 3, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "not_modified"));
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, NULL, 3, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":9,\"version\":1,\"proof\":\"\",\"not_modified\":false},"
		 "{\"prefix\":3,\"version\":1,\"proof\":\"\",\"entries\":\"\"},"
		 "{\"prefix\":4,\"version\":1,\"proof\":\"\",\"entries\":\"\"}]}");
	assert_int_equal(cds_proto_parse_buckets(out, 5, 0, want, tags, 3, json,
						 strlen(json), &err), CDS_ERR_PROTO);
}

static void test_lookup(void **state)
{
	const char *h[2] = {"tel:+15551234567", "mailto:a@b.org"};
	struct cds_proto_lookup out[2];
	uint8_t key[32];
	char k64[CDS_B64_LEN(32)], json[1024];
	struct cds_buf req;
	struct cds_error err;

	(void)state;
	cds_buf_init(&req);
	assert_int_equal(cds_proto_build_lookup(&req, h, 2, &err), CDS_OK);
	assert_string_equal((char *)req.data,
			    "{\"handles\":[\"tel:+15551234567\",\"mailto:a@b.org\"]}");
	cds_buf_fini(&req);

	memset(key, 0x5a, 32);
	cds_b64_encode(k64, key, 32);
	snprintf(json, sizeof(json),
		 "{\"results\":[{\"handle\":\"mailto:a@b.org\",\"registered\":false},"
		 "{\"handle\":\"tel:+15551234567\",\"registered\":true,"
		 "\"account\":\"000102030405060708090a0b0c0d0e0f\","
		 "\"identity_key\":\"%s\"}]}", k64);
	assert_int_equal(cds_proto_parse_lookup(out, h, 2, json, strlen(json), &err),
			 CDS_OK);
	assert_true(out[0].registered);
	assert_false(out[1].registered);
	assert_int_equal(out[0].account[15], 15);
	assert_memory_equal(out[0].identity_key, key, 32);

	snprintf(json, sizeof(json),
		 "{\"results\":[{\"handle\":\"tel:+15551234567\",\"registered\":true,"
		 "\"account\":\"0001\",\"identity_key\":\"%s\"},"
		 "{\"handle\":\"mailto:a@b.org\",\"registered\":false}]}", k64);
	assert_int_equal(cds_proto_parse_lookup(out, h, 2, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "account"));
	snprintf(json, sizeof(json),
		 "{\"results\":[{\"handle\":\"tel:+15551234567\",\"registered\":true},"
		 "{\"handle\":\"mailto:a@b.org\",\"registered\":false}]}");
	assert_int_equal(cds_proto_parse_lookup(out, h, 2, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	snprintf(json, sizeof(json),
		 "{\"results\":[{\"handle\":\"tel:+15551234567\",\"registered\":false},"
		 "{\"handle\":\"tel:+15551234567\",\"registered\":false}]}");
	assert_int_equal(cds_proto_parse_lookup(out, h, 2, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "twice"));
	snprintf(json, sizeof(json),
		 "{\"results\":[{\"handle\":\"tel:+15551234567\",\"registered\":\"no\"},"
		 "{\"handle\":\"mailto:a@b.org\",\"registered\":false}]}");
	assert_int_equal(cds_proto_parse_lookup(out, h, 2, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	snprintf(json, sizeof(json), "{\"results\":[]}");
	assert_int_equal(cds_proto_parse_lookup(out, h, 2, json, strlen(json), &err),
			 CDS_ERR_PROTO);
}

static void test_status_error(void **state)
{
	struct cds_error err;
	const char *body = "{\"error\":{\"code\":\"rate_limited\","
			   "\"message\":\"too many\\nevaluations\"}}";

	(void)state;
	assert_int_equal(cds_proto_status_error(429, 7, body, strlen(body),
						"POST /v1/discover", &err),
			 CDS_ERR_RATE);
	assert_non_null(strstr(err.msg, "retry after 7 s"));
	assert_non_null(strstr(err.msg, "too many?evaluations"));
	body = "{\"error\":{\"code\":\"epoch\",\"message\":\"epoch 2 not served\","
	       "\"index\":3}}";
	assert_int_equal(cds_proto_status_error(409, -1, body, strlen(body), "x",
						&err), CDS_ERR_EPOCH);
	assert_int_equal(err.index, 3);
	assert_non_null(strstr(err.msg, "epoch 2 not served"));
	assert_int_equal(cds_proto_status_error(401, -1, "", 0, "x", &err),
			 CDS_ERR_AUTH);
	assert_int_equal(cds_proto_status_error(400, -1, "x", 1, "x", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_proto_status_error(413, -1, NULL, 0, "x", &err),
			 CDS_ERR_TOO_LARGE);
	assert_int_equal(cds_proto_status_error(503, 2, NULL, 0, "x", &err),
			 CDS_ERR_BUSY);
	assert_non_null(strstr(err.msg, "retry after 2 s"));
	assert_int_equal(cds_proto_status_error(500, -1, "<html>", 6, "GET /v1/params",
						&err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "HTTP 500"));
}

/* Base64 of n bytes of value x. */
static const char *b64of(int x, size_t n)
{
	static char out[4][CDS_B64_LEN(256)];
	static int turn;
	uint8_t bin[256];
	char *o = out[turn++ % 4];

	memset(bin, x, n);
	cds_b64_encode(o, bin, n);
	return o;
}

static void test_thead_parse(void **state)
{
	struct cds_thead h;
	struct cds_error err;
	char json[1024];
	const char *fmt = "{\"epoch\":%s,\"version\":%s,\"time_ms\":5,\"root\":\"%s\","
			  "\"log_root\":\"%s\",\"signature\":\"%s\"}";

	(void)state;
	snprintf(json, sizeof(json), fmt, "2", "9", b64of(1, 32), b64of(2, 32),
		 b64of(3, 64));
	assert_int_equal(cds_proto_parse_thead(&h, 9, json, strlen(json), &err),
			 CDS_OK);
	assert_int_equal(h.epoch, 2);
	assert_int_equal(h.version, 9);
	assert_int_equal(h.time_ms, 5);
	assert_int_equal(h.root[0], 1);
	assert_int_equal(h.log_root[31], 2);
	assert_int_equal(h.signature[63], 3);
	assert_int_equal(cds_proto_parse_thead(&h, 0, json, strlen(json), &err),
			 CDS_OK);
	assert_int_equal(cds_proto_parse_thead(&h, 8, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "version 9"));
	snprintf(json, sizeof(json), fmt, "2", "0", b64of(1, 32), b64of(2, 32),
		 b64of(3, 64));
	assert_int_equal(cds_proto_parse_thead(&h, 0, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	snprintf(json, sizeof(json), fmt, "2", "9", b64of(1, 31), b64of(2, 32),
		 b64of(3, 64));
	assert_int_equal(cds_proto_parse_thead(&h, 0, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "root"));
	snprintf(json, sizeof(json), fmt, "2", "9", b64of(1, 32), "!!", b64of(3, 64));
	assert_int_equal(cds_proto_parse_thead(&h, 0, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "log_root"));
	snprintf(json, sizeof(json), fmt, "2", "9", b64of(1, 32), b64of(2, 32),
		 b64of(3, 63));
	assert_int_equal(cds_proto_parse_thead(&h, 0, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "signature"));
	snprintf(json, sizeof(json), "{\"epoch\":2,\"version\":9}");
	assert_int_equal(cds_proto_parse_thead(&h, 0, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "time_ms"));
}

static void test_consistency_parse(void **state)
{
	uint8_t proof[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES];
	struct cds_error err;
	char json[8192];
	size_t n, at;

	(void)state;
	snprintf(json, sizeof(json), "{\"from\":3,\"to\":7,\"proof\":[\"%s\",\"%s\"]}",
		 b64of(4, 32), b64of(5, 32));
	assert_int_equal(cds_proto_parse_consistency(proof, &n, 3, 7, json,
						     strlen(json), &err), CDS_OK);
	assert_int_equal(n, 2);
	assert_int_equal(proof[1][0], 5);
	assert_int_equal(cds_proto_parse_consistency(proof, &n, 3, 8, json,
						     strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "from 3 to 7"));
	snprintf(json, sizeof(json), "{\"from\":3,\"to\":7,\"proof\":[\"%s\"]}",
		 b64of(4, 33));
	assert_int_equal(cds_proto_parse_consistency(proof, &n, 3, 7, json,
						     strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "proof[0]"));
	at = (size_t)snprintf(json, sizeof(json), "{\"from\":3,\"to\":7,\"proof\":[");
	for (int i = 0; i <= CDS_MLOG_PROOF_MAX; i++)
		at += (size_t)snprintf(json + at, sizeof(json) - at, "%s\"%s\"",
				       i ? "," : "", b64of(1, 32));
	snprintf(json + at, sizeof(json) - at, "]}");
	assert_int_equal(cds_proto_parse_consistency(proof, &n, 3, 7, json,
						     strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "at most"));
}

/* A versions page with two changes; `second` replaces the second one. */
static enum cds_err tversion(struct cds_proto_tversion *v, const char *second,
			     const char *next, struct cds_error *err)
{
	char json[4096], fp1[64], fp2[64], e1[256];
	enum cds_err rc;

	snprintf(fp1, sizeof(fp1), "%s", b64of(1, CDS_FP_BYTES));
	snprintf(fp2, sizeof(fp2), "%s", b64of(2, CDS_FP_BYTES));
	snprintf(e1, sizeof(e1), "%s", b64of(3, CDS_ENTRY_BYTES));
	snprintf(json, sizeof(json),
		 "{\"epoch\":4,\"version\":12,\"time_ms\":1,\"root\":\"%s\","
		 "\"changes\":[{\"prefix\":5,\"removed\":[\"%s\",\"%s\"],"
		 "\"added\":[\"%s\"]},%s]%s%s}",
		 b64of(9, 32), fp1, fp2, e1,
		 second ? second : "{\"prefix\":6,\"removed\":[],\"added\":[]}",
		 next ? ",\"next\":" : "", next ? next : "");
	rc = cds_proto_parse_tversion(v, 12, 4, 2, json, strlen(json), err);
	if (rc)
		cds_proto_tversion_fini(v);
	return rc;
}

static void test_tversion_parse(void **state)
{
	struct cds_proto_tversion v;
	struct cds_error err;
	char bad[512];

	(void)state;
	assert_int_equal(tversion(&v, NULL, "9", &err), CDS_OK);
	assert_int_equal(v.epoch, 4);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.ch[0].prefix, 5);
	assert_int_equal(v.ch[0].n_removed, 2);
	assert_int_equal(v.ch[0].n_added, 1);
	assert_int_equal(v.ch[0].added[0], 3);
	assert_true(v.more);
	assert_int_equal(v.next, 9);
	cds_proto_tversion_fini(&v);
	assert_int_equal(tversion(&v, NULL, NULL, &err), CDS_OK);
	assert_false(v.more);
	cds_proto_tversion_fini(&v);
	/* next must be past the page and below 2^K = 16 */
	assert_int_equal(tversion(&v, NULL, "6", &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "next"));
	assert_int_equal(tversion(&v, NULL, "16", &err), CDS_ERR_PROTO);
	/* prefixes strictly ascending, below 2^K */
	assert_int_equal(tversion(&v, "{\"prefix\":5,\"removed\":[],\"added\":[]}",
				  NULL, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "changes[1]"));
	assert_int_equal(tversion(&v, "{\"prefix\":16,\"removed\":[],\"added\":[]}",
				  NULL, &err), CDS_ERR_PROTO);
	/* removed ascending, of 16 bytes; added whole entries */
	snprintf(bad, sizeof(bad), "{\"prefix\":7,\"removed\":[\"%s\",\"%s\"],\"added\":[]}",
		 b64of(2, CDS_FP_BYTES), b64of(1, CDS_FP_BYTES));
	assert_int_equal(tversion(&v, bad, NULL, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "removed[1]"));
	snprintf(bad, sizeof(bad), "{\"prefix\":7,\"removed\":[\"%s\"],\"added\":[]}",
		 b64of(2, CDS_FP_BYTES + 1));
	assert_int_equal(tversion(&v, bad, NULL, &err), CDS_ERR_PROTO);
	snprintf(bad, sizeof(bad), "{\"prefix\":7,\"removed\":[],\"added\":[\"%s\"]}",
		 b64of(2, CDS_ENTRY_BYTES - 1));
	assert_int_equal(tversion(&v, bad, NULL, &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "added[0]"));
	assert_int_equal(tversion(&v, "{\"prefix\":7,\"added\":[]}", NULL, &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "\"removed\""));
	assert_int_equal(tversion(&v, "{\"prefix\":7,\"removed\":[],\"added\":[7]}",
				  NULL, &err), CDS_ERR_PROTO);
}

static void test_thistory_parse(void **state)
{
	struct cds_proto_thistory h;
	struct cds_error err;
	char json[1024];
	const char *fmt = "{\"epoch\":%d,\"prefix\":%d,\"versions\":["
			  "{\"version\":4,\"removed\":[],\"added\":[\"%s\"]},"
			  "{\"version\":%d,\"removed\":[\"%s\"],\"added\":[]}]}";

	(void)state;
	snprintf(json, sizeof(json), fmt, 2, 77, b64of(1, CDS_ENTRY_BYTES), 6,
		 b64of(1, CDS_FP_BYTES));
	assert_int_equal(cds_proto_parse_thistory(&h, 2, 77, 3, json,
						  strlen(json), &err), CDS_OK);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.ch[1].version, 6);
	assert_int_equal(h.ch[1].prefix, 77);
	assert_int_equal(h.ch[1].n_removed, 1);
	assert_false(h.more);
	cds_proto_thistory_fini(&h);
	/* A history cut short names its last version as "next". */
	json[strlen(json) - 1] = '\0';
	strcat(json, ",\"next\":6}");
	assert_int_equal(cds_proto_parse_thistory(&h, 2, 77, 3, json,
						  strlen(json), &err), CDS_OK);
	assert_true(h.more);
	assert_int_equal(h.next, 6);
	cds_proto_thistory_fini(&h);
	json[strlen(json) - 2] = '5';
	assert_int_equal(cds_proto_parse_thistory(&h, 2, 77, 3, json,
						  strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "next"));
	cds_proto_thistory_fini(&h);
	snprintf(json, sizeof(json), fmt, 2, 77, b64of(1, CDS_ENTRY_BYTES), 6,
		 b64of(1, CDS_FP_BYTES));
	/* since 4: version 4 is not after it */
	assert_int_equal(cds_proto_parse_thistory(&h, 2, 77, 4, json,
						  strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "versions[0]"));
	cds_proto_thistory_fini(&h);
	assert_int_equal(cds_proto_parse_thistory(&h, 3, 77, 0, json,
						  strlen(json), &err),
			 CDS_ERR_PROTO);
	cds_proto_thistory_fini(&h);
	assert_int_equal(cds_proto_parse_thistory(&h, 2, 78, 0, json,
						  strlen(json), &err),
			 CDS_ERR_PROTO);
	cds_proto_thistory_fini(&h);
	snprintf(json, sizeof(json), fmt, 2, 77, b64of(1, CDS_ENTRY_BYTES), 4,
		 b64of(1, CDS_FP_BYTES));
	assert_int_equal(cds_proto_parse_thistory(&h, 2, 77, 0, json,
						  strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "versions[1]"));
	cds_proto_thistory_fini(&h);
}

static void test_me_parse(void **state)
{
	struct cds_proto_me m;
	struct cds_error err;
	char json[512];
	const char *fmt = "{\"account\":\"%s\",\"identity_key\":\"%s\",\"handles\":[%s]}";
	const char *acct = "000102030405060708090a0b0c0d0e0f";

	(void)state;
	snprintf(json, sizeof(json), fmt, acct, b64of(6, 32),
		 "\"tel:+12015550123\",\"mailto:a@example.org\"");
	assert_int_equal(cds_proto_parse_me(&m, json, strlen(json), &err), CDS_OK);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.handles[1], "mailto:a@example.org");
	assert_int_equal(m.account[15], 15);
	assert_int_equal(m.identity_key[0], 6);
	cds_proto_me_fini(&m);
	snprintf(json, sizeof(json), fmt, acct, b64of(6, 32), "\"Alice@Example.org\"");
	assert_int_equal(cds_proto_parse_me(&m, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "handles[0]"));
	cds_proto_me_fini(&m);
	snprintf(json, sizeof(json), fmt, "0001", b64of(6, 32), "");
	assert_int_equal(cds_proto_parse_me(&m, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "account"));
	cds_proto_me_fini(&m);
	snprintf(json, sizeof(json), fmt, acct, b64of(6, 31), "");
	assert_int_equal(cds_proto_parse_me(&m, json, strlen(json), &err),
			 CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "identity_key"));
	cds_proto_me_fini(&m);
}

/* version/proof on bucket answers: JSON (not_modified too) and raw headers. */
static void test_bucket_tproof(void **state)
{
	const uint32_t want[2] = {1, 2};
	const char *tags[2] = {"\"t\"", NULL};
	struct cds_proto_bucket out[2];
	uint8_t proof[CDS_TPROOF_MAX_BYTES];
	uint64_t v;
	struct cds_error err;
	char json[1024], p2[CDS_B64_LEN(64)];

	(void)state;
	snprintf(p2, sizeof(p2), "%s", b64of(8, 64));
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":1,\"not_modified\":true,"
		 "\"version\":3,\"proof\":\"%s\"},{\"prefix\":2,\"entries\":\"\","
		 "\"version\":4,\"proof\":\"%s\"}]}", p2, p2);
	assert_int_equal(cds_proto_parse_buckets(out, 5, 2, want, tags, 2, json,
						 strlen(json), &err), CDS_OK);
	assert_int_equal(out[0].version, 3);
	assert_int_equal(out[1].version, 4);
	assert_int_equal(out[0].proof[63], 8);
	free(out[1].entries);
	/* K = 3 wants 96 bytes: refused, naming the bucket */
	assert_int_equal(cds_proto_parse_buckets(out, 5, 3, want, tags, 2, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "bucket 1: proof"));
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":1,\"not_modified\":true,"
		 "\"proof\":\"%s\"},{\"prefix\":2,\"entries\":\"\","
		 "\"version\":4,\"proof\":\"%s\"}]}", p2, p2);
	assert_int_equal(cds_proto_parse_buckets(out, 5, 2, want, tags, 2, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "\"version\""));
	snprintf(json, sizeof(json),
		 "{\"epoch\":5,\"buckets\":[{\"prefix\":1,\"not_modified\":true,"
		 "\"version\":3,\"proof\":\"%s\"},{\"prefix\":2,\"entries\":\"\","
		 "\"version\":4}]}", p2);
	assert_int_equal(cds_proto_parse_buckets(out, 5, 2, want, tags, 2, json,
						 strlen(json), &err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "\"proof\""));

	assert_int_equal(cds_proto_parse_tproof_headers(&v, proof, 2, "17", p2,
							&err), CDS_OK);
	assert_int_equal(v, 17);
	assert_int_equal(proof[0], 8);
	assert_int_equal(cds_proto_parse_tproof_headers(&v, proof, 0, "1", "",
							&err), CDS_OK);
	assert_int_equal(cds_proto_parse_tproof_headers(&v, proof, 2, NULL, p2,
							&err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "CDS-Version"));
	assert_int_equal(cds_proto_parse_tproof_headers(&v, proof, 2, "0", p2,
							&err), CDS_ERR_PROTO);
	assert_int_equal(cds_proto_parse_tproof_headers(&v, proof, 2, "1x", p2,
							&err), CDS_ERR_PROTO);
	assert_int_equal(cds_proto_parse_tproof_headers(&v, proof, 2, "1", NULL,
							&err), CDS_ERR_PROTO);
	assert_non_null(strstr(err.msg, "CDS-Proof"));
	assert_int_equal(cds_proto_parse_tproof_headers(&v, proof, 3, "1", p2,
							&err), CDS_ERR_PROTO);
	assert_int_equal(cds_proto_parse_tproof_headers(&v, proof, 2, "1",
							"AA=", &err), CDS_ERR_PROTO);
}

/*
 * The binary form of the buckets reply (core/bucketsbin.h), written by the
 * server's own writer so that writer and parser are checked against each
 * other.  Three prefixes at K = 8 (256-byte proofs): 7 sent with an ETag
 * and answered with two entries and a new one, 9 sent without and empty,
 * 200 sent with an ETag and not modified.
 */
#define BIN_BITS 8
#define BIN_PROOF (BIN_BITS * CDS_HASH_BYTES)

static const uint32_t bin_want[3] = {7, 9, 200};
static const char *const bin_tags[3] = {"\"5.7.a\"", NULL, "\"5.200.c\""};

/* One item as the writer takes it; proof bytes are all proof_byte. */
struct bin_item {
	uint32_t prefix;
	uint64_t version;
	size_t proof_len;
	uint8_t proof_byte;
	const char *etag; /* NULL: not modified */
	const uint8_t *entries;
	size_t entries_len;
};

/* One test's reply: its items, their entries, its body, what it parsed
 * to. */
struct bin_case {
	uint8_t e[2 * CDS_ENTRY_BYTES];
	struct bin_item items[3];
	struct cds_buf b;
	struct cds_proto_bucket out[3];
	struct cds_error err;
};

/* The items of the well-formed reply, and their entries. */
static void bin_items(struct bin_case *c)
{
	const struct bin_item good[3] = {
		{7, 12, BIN_PROOF, 0xa7, "\"5.7.b\"", c->e, sizeof(c->e)},
		{9, 3, BIN_PROOF, 0xa9, "\"5.9.c\"", NULL, 0},
		{200, (uint64_t)INT64_MAX, BIN_PROOF, 0xc8, NULL, NULL, 0},
	};

	two_entries(c->e, 1);
	c->e[CDS_FP_BYTES] = 0x55; /* entries differ past the fingerprint */
	memcpy(c->items, good, sizeof(good));
}

/* c->b = epoch || count || the first n of c->items. */
static void bin_reply(struct bin_case *c, uint32_t epoch, uint32_t count,
		      size_t n)
{
	uint8_t proof[CDS_TPROOF_MAX_BYTES + 64];
	size_t want = CDS_BUCKETSBIN_HEAD_BYTES;

	cds_buf_init(&c->b);
	assert_int_equal(cds_bucketsbin_head(&c->b, epoch, count), CDS_OK);
	for (size_t i = 0; i < n; i++) {
		const struct bin_item *t = &c->items[i];

		memset(proof, t->proof_byte, sizeof(proof));
		assert_int_equal(cds_bucketsbin_item(&c->b, t->prefix,
						     t->version, proof,
						     t->proof_len, t->etag,
						     t->entries,
						     t->entries_len), CDS_OK);
		want += cds_bucketsbin_item_size(t->proof_len, t->etag,
						 t->entries_len);
	}
	assert_int_equal(c->b.len, want);
}

/* The well-formed reply. */
static void bin_good(struct bin_case *c)
{
	bin_items(c);
	bin_reply(c, 5, 3, 3);
}

/* Parse body[0..len) as the answer to bin_want (epoch 5, K = 8). */
static enum cds_err bin_parse(struct bin_case *c, const char *const *tags,
			      const uint8_t *body, size_t len)
{
	cds_error_clear(&c->err);
	return cds_proto_parse_buckets_bin(c->out, 5, BIN_BITS, bin_want, tags,
					   3, body, len, &c->err);
}

/* c->b parses; the caller looks at c->out, then frees it (bin_free). */
static void expect_bin_ok(struct bin_case *c)
{
	assert_int_equal(bin_parse(c, bin_tags, c->b.data, c->b.len), CDS_OK);
	cds_buf_fini(&c->b);
}

static void bin_free(struct bin_case *c)
{
	for (int i = 0; i < 3; i++)
		free(c->out[i].entries);
}

/* c->b is refused with a message containing needle, nothing kept; frees
 * c->b. */
static void expect_bin_proto(struct bin_case *c, const char *const *tags,
			     const char *needle)
{
	assert_int_equal(bin_parse(c, tags, c->b.data, c->b.len),
			 CDS_ERR_PROTO);
	if (!strstr(c->err.msg, needle))
		fail_msg("message '%s' lacks '%s'", c->err.msg, needle);
	for (int i = 0; i < 3; i++)
		assert_null(c->out[i].entries);
	cds_buf_fini(&c->b);
}

/* The reply of c->items (3 of them, epoch 5) is refused naming needle. */
static void expect_items_proto(struct bin_case *c, const char *needle)
{
	bin_reply(c, 5, 3, 3);
	expect_bin_proto(c, bin_tags, needle);
}

/* What b must hold but its entries (proof bytes all proof_byte). */
static void assert_bin_bucket(const struct cds_proto_bucket *b, uint32_t prefix,
			      size_t n, const char *etag, uint64_t version,
			      uint8_t proof_byte, bool not_modified)
{
	uint8_t want[BIN_PROOF];

	memset(want, proof_byte, sizeof(want));
	assert_int_equal(b->prefix, prefix);
	assert_int_equal(b->n, n);
	assert_string_equal(b->etag, etag);
	assert_int_equal(b->version, version);
	assert_memory_equal(b->proof, want, sizeof(want));
	assert_int_equal(b->not_modified, not_modified);
	/* entries are NULL exactly when not modified (an empty bucket has a
	 * buffer of its own) */
	assert_int_equal(b->entries == NULL, not_modified);
}

static void test_buckets_bin_parse(void **state)
{
	struct bin_case c;

	(void)state;
	bin_good(&c);
	expect_bin_ok(&c);
	assert_bin_bucket(&c.out[0], 7, 2, "\"5.7.b\"", 12, 0xa7, false);
	assert_memory_equal(c.out[0].entries, c.e, sizeof(c.e));
	assert_bin_bucket(&c.out[1], 9, 0, "\"5.9.c\"", 3, 0xa9, false);
	assert_bin_bucket(&c.out[2], 200, 0, "", (uint64_t)INT64_MAX, 0xc8,
			  true);
	bin_free(&c);
}

/* Every proper prefix of a good reply is refused, and nothing kept. */
static void test_buckets_bin_truncated(void **state)
{
	struct bin_case c;

	(void)state;
	bin_good(&c);
	for (size_t len = 0; len < c.b.len; len++) {
		/* Exactly len bytes, so ASan sees a read past them. */
		uint8_t *cut = malloc(len ? len : 1);

		assert_non_null(cut);
		memcpy(cut, c.b.data, len);
		assert_int_equal(bin_parse(&c, bin_tags, cut, len),
				 CDS_ERR_PROTO);
		assert_true(c.err.msg[0] != '\0');
		for (int i = 0; i < 3; i++)
			assert_null(c.out[i].entries);
		free(cut);
	}
	cds_buf_fini(&c.b);
}

/* The reply as a whole: epoch, count, order, what follows. */
static void test_buckets_bin_framing(void **state)
{
	struct bin_case c;
	struct bin_item swapped;

	(void)state;
	bin_good(&c);
	assert_int_equal(cds_buf_append(&c.b, "", 1), CDS_OK);
	expect_bin_proto(&c, bin_tags, "bytes after the last bucket");
	bin_reply(&c, 6, 3, 3);
	expect_bin_proto(&c, bin_tags, "epoch 6");
	bin_reply(&c, 5, 2, 2);
	expect_bin_proto(&c, bin_tags, "2 buckets");
	bin_reply(&c, 5, 4, 3);
	expect_bin_proto(&c, bin_tags, "4 buckets");
	/* Items in another order than asked (JSON's may be; these not). */
	swapped = c.items[0];
	c.items[0] = c.items[1];
	c.items[1] = swapped;
	expect_items_proto(&c, "bucket 9 where bucket 7");
	bin_items(&c);
	c.items[1].prefix = 8;
	expect_items_proto(&c, "bucket 8 where bucket 9");
}

/* Each item's fixed fields: version, proof, kind. */
static void test_buckets_bin_items(void **state)
{
	struct bin_case c;

	(void)state;
	bin_items(&c);
	c.items[1].version = 0;
	expect_items_proto(&c, "bucket 9: version 0 is out");
	c.items[1].version = (uint64_t)INT64_MAX + 1;
	expect_items_proto(&c, "version 9223372036854775808");
	bin_items(&c);
	c.items[2].proof_len = BIN_PROOF - CDS_HASH_BYTES;
	expect_items_proto(&c, "bucket 200: proof is not 256");
	c.items[2].proof_len = BIN_PROOF + 1;
	expect_items_proto(&c, "bucket 200: proof is not 256");
	/* kind 2 is neither a bucket nor not modified */
	bin_good(&c);
	c.b.data[CDS_BUCKETSBIN_HEAD_BYTES + 4] = 2;
	expect_bin_proto(&c, bin_tags, "bucket 7: kind 2");
}

/* Not modified only where an ETag was sent; ETags kept only if usable. */
static void test_buckets_bin_etags(void **state)
{
	const char *const unsent[2][3] = {
		{"\"5.7.a\"", NULL, NULL},
		{"\"5.7.a\"", NULL, ""},
	};
	const char *const odd[] = {"\"a b\"", "\"a\x01\"", "\"a\x7f\"", ""};
	struct bin_case c;

	(void)state;
	bin_good(&c);
	expect_bin_proto(&c, NULL, "bucket 200: kind 1");
	bin_good(&c);
	expect_bin_proto(&c, unsent[0], "bucket 200: kind 1");
	bin_good(&c);
	expect_bin_proto(&c, unsent[1], "bucket 200: kind 1");
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		c.items[0].etag = odd[i];
		bin_reply(&c, 5, 3, 3);
		expect_bin_ok(&c);
		assert_string_equal(c.out[0].etag, "");
		assert_int_equal(c.out[0].n, 2);
		bin_free(&c);
	}
}

/* A bucket's entries: whole, strictly sorted by fingerprint. */
static void test_buckets_bin_entries(void **state)
{
	struct bin_case c;

	(void)state;
	bin_items(&c);
	c.items[0].entries_len = CDS_ENTRY_BYTES + 1;
	expect_items_proto(&c, "105 bytes of entries");
	c.items[0].entries_len = 2 * CDS_ENTRY_BYTES;
	two_entries(c.e, 0);
	expect_items_proto(&c, "bucket 7: entry 1 is not in");
	/* Equal fingerprints, the rest of the entries differing. */
	memset(c.e, 7, sizeof(c.e));
	c.e[CDS_ENTRY_BYTES + CDS_FP_BYTES] = 8;
	expect_items_proto(&c, "bucket 7: entry 1 is not in");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_ok),
		cmocka_unit_test(test_params_bad),
		cmocka_unit_test(test_discover_build),
		cmocka_unit_test(test_discover_parse),
		cmocka_unit_test(test_bucket_parse),
		cmocka_unit_test(test_buckets_parse),
		cmocka_unit_test(test_buckets_etags),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_status_error),
		cmocka_unit_test(test_thead_parse),
		cmocka_unit_test(test_consistency_parse),
		cmocka_unit_test(test_tversion_parse),
		cmocka_unit_test(test_thistory_parse),
		cmocka_unit_test(test_me_parse),
		cmocka_unit_test(test_bucket_tproof),
		cmocka_unit_test(test_buckets_bin_parse),
		cmocka_unit_test(test_buckets_bin_truncated),
		cmocka_unit_test(test_buckets_bin_framing),
		cmocka_unit_test(test_buckets_bin_items),
		cmocka_unit_test(test_buckets_bin_etags),
		cmocka_unit_test(test_buckets_bin_entries),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
