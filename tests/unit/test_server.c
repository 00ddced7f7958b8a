/*
 * test_server.c: the pure parts of lib/server: request decoders, rate
 * limits, the per-IP guard, routing, --listen parsing, error replies and
 * metrics text.  The HTTP behaviour is tested black-box in
 * tests/integration/test_api.py and friends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/codec.h"
#include "core/timeutil.h"
#include "server/pubenc.h"
#include "server/server_int.h"

/* The ristretto255 base point, a valid element. */
static const char BASE_B64[] = "4vKuCmq8TnGohKlhxQBRX1jjC2qlgt2NtqZZReCNLXY=";

static void expect_fail(enum cds_err rc, const struct cds_error *err,
			enum cds_err code, long index)
{
	assert_int_equal(rc, code);
	assert_int_equal(err->code, code);
	assert_int_equal(err->index, index);
	assert_true(err->msg[0] != '\0');
}

static enum cds_err discover(const char *body, struct cds_error *err)
{
	struct cds_discover_req r;
	enum cds_err rc;

	cds_error_clear(err);
	rc = cds_decode_discover(&r, body, strlen(body), 4, err);
	if (rc)
		assert_null(r.elements);
	cds_discover_req_fini(&r);
	return rc;
}

static void test_decode_discover(void **state)
{
	struct cds_discover_req r;
	struct cds_error err = {0};
	char body[512], zero[CDS_B64_LEN(32)], ff[CDS_B64_LEN(32)];
	uint8_t z[32] = {0}, f[32];

	(void)state;
	snprintf(body, sizeof(body), "{\"epoch\":3,\"elements\":[\"%s\",\"%s\"]}",
		 BASE_B64, BASE_B64);
	assert_int_equal(cds_decode_discover(&r, body, strlen(body), 4, &err),
			 CDS_OK);
	assert_int_equal(r.epoch, 3);
	assert_int_equal(r.n, 2);
	assert_memory_equal(r.elements, r.elements + 32, 32);
	cds_discover_req_fini(&r);

	memset(f, 0xff, sizeof(f));
	cds_b64_encode(zero, z, 32);
	cds_b64_encode(ff, f, 32);
	snprintf(body, sizeof(body), "{\"epoch\":1,\"elements\":[\"%s\",\"%s\"]}",
		 BASE_B64, zero);
	expect_fail(discover(body, &err), &err, CDS_ERR_INVALID, 1);
	snprintf(body, sizeof(body), "{\"epoch\":1,\"elements\":[\"%s\"]}", ff);
	expect_fail(discover(body, &err), &err, CDS_ERR_INVALID, 0);
	expect_fail(discover("{\"epoch\":1,\"elements\":[\"AAAA\"]}", &err),
		    &err, CDS_ERR_INVALID, 0);
	expect_fail(discover("{\"epoch\":1,\"elements\":[]}", &err), &err,
		    CDS_ERR_INVALID, -1);
	expect_fail(discover("{\"epoch\":1,\"elements\":[1,2,3,4,5]}", &err),
		    &err, CDS_ERR_TOO_LARGE, -1);
	expect_fail(discover("{\"epoch\":0,\"elements\":[1]}", &err), &err,
		    CDS_ERR_INVALID, -1);
	expect_fail(discover("{\"epoch\":4294967296,\"elements\":[1]}", &err),
		    &err, CDS_ERR_INVALID, -1);
	expect_fail(discover("{\"epoch\":1,\"epoch\":1,\"elements\":[1]}", &err),
		    &err, CDS_ERR_INVALID, -1);
	expect_fail(discover("{\"epoch\":1,\"elements\":[1],\"x\":0}", &err),
		    &err, CDS_ERR_INVALID, -1);
	assert_non_null(strstr(err.msg, "'x'"));
	expect_fail(discover("[]", &err), &err, CDS_ERR_INVALID, -1);
	expect_fail(discover("", &err), &err, CDS_ERR_INVALID, -1);
}

static void test_decode_buckets(void **state)
{
	struct cds_buckets_req r;
	struct cds_error err = {0};
	const char *ok = "{\"epoch\":2,\"prefixes\":[0,15,7]}";
	const char *bad = "{\"epoch\":2,\"prefixes\":[0,16]}";
	const char *any = "{\"epoch\":2,\"prefixes\":[0]}";

	(void)state;
	assert_int_equal(cds_decode_buckets(&r, ok, strlen(ok), 8, 4, &err),
			 CDS_OK);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.prefixes[1], 15);
	cds_buckets_req_fini(&r);
	expect_fail(cds_decode_buckets(&r, bad, strlen(bad), 8, 4, &err), &err,
		    CDS_ERR_INVALID, 1);
	expect_fail(cds_decode_buckets(&r, ok, strlen(ok), 2, 4, &err), &err,
		    CDS_ERR_TOO_LARGE, -1);
	/* prefix_bits 0: only bucket 0 exists. */
	assert_int_equal(cds_decode_buckets(&r, any, strlen(any), 8, 0, &err),
			 CDS_OK);
	assert_null(r.etags);
	cds_buckets_req_fini(&r);
}

static enum cds_err buckets(struct cds_buckets_req *r, const char *body,
			    struct cds_error *err)
{
	return cds_decode_buckets(r, body, strlen(body), 8, 4, err);
}

static void test_decode_buckets_etags(void **state)
{
	struct cds_buckets_req r;
	struct cds_error err = {0};
	char long_tag[128];

	(void)state;
	assert_int_equal(buckets(&r, "{\"epoch\":1,\"prefixes\":[3,4],"
				 "\"etags\":[\"\\\"1.3.a.j\\\"\",null]}", &err),
			 CDS_OK);
	assert_string_equal(r.etags[0], "\"1.3.a.j\"");
	assert_null(r.etags[1]);
	cds_buckets_req_fini(&r);
	assert_int_equal(buckets(&r, "{\"epoch\":1,\"prefixes\":[3],"
				 "\"etags\":[\"W/\\\"x\\\"\"]}", &err), CDS_OK);
	cds_buckets_req_fini(&r);
	/* Duplicates name the repeat. */
	expect_fail(buckets(&r, "{\"epoch\":1,\"prefixes\":[3,0,5,0]}", &err),
		    &err, CDS_ERR_INVALID, 3);
	/* Not parallel: the first index without a partner. */
	expect_fail(buckets(&r, "{\"epoch\":1,\"prefixes\":[3,4],"
			    "\"etags\":[null]}", &err), &err, CDS_ERR_INVALID, 1);
	expect_fail(buckets(&r, "{\"epoch\":1,\"prefixes\":[3],"
			    "\"etags\":[null,null]}", &err), &err,
		    CDS_ERR_INVALID, 1);
	expect_fail(buckets(&r, "{\"epoch\":1,\"prefixes\":[3],"
			    "\"etags\":{}}", &err), &err, CDS_ERR_INVALID, -1);
	/* Malformed items. */
	expect_fail(buckets(&r, "{\"epoch\":1,\"prefixes\":[3,4],"
			    "\"etags\":[null,7]}", &err), &err, CDS_ERR_INVALID, 1);
	expect_fail(buckets(&r, "{\"epoch\":1,\"prefixes\":[3,4],"
			    "\"etags\":[null,\"1.3.a.j\"]}", &err), &err,
		    CDS_ERR_INVALID, 1);
	expect_fail(buckets(&r, "{\"epoch\":1,\"prefixes\":[3],"
			    "\"etags\":[\"\\\"a b\\\"\"]}", &err), &err,
		    CDS_ERR_INVALID, 0);
	/* Wrong length: over CDS_ETAG_MAX_BYTES. */
	snprintf(long_tag, sizeof(long_tag),
		 "{\"epoch\":1,\"prefixes\":[3],\"etags\":[\"\\\"%0*d\\\"\"]}",
		 CDS_ETAG_MAX_BYTES, 0);
	expect_fail(buckets(&r, long_tag, &err), &err, CDS_ERR_INVALID, 0);
}

static void test_decode_handles(void **state)
{
	struct cds_error err = {0};
	struct cds_lookup_req l;
	struct cds_account_req a;
	struct cds_handles_req h;
	const char *lk = "{\"handles\":[\"tel:+15551234567\",\"tel:+1 555\"]}";
	const char *ac = "{\"identity_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
			 "\"handles\":[\"tel:+15551234567\",\"mailto:a@b.org\",\"tel:+15551234567\"]}";
	const char *up = "{\"add\":[\"tel:+15551234567\",\"mailto:a@b.org\"],"
			 "\"remove\":[\"tel:+15550000000\",\"mailto:a@b.org\"]}";
	const char *good = "{\"remove\":[\"mailto:a@b.org\"]}";
	const char *rm3 = "{\"remove\":[\"mailto:a@b.org\",\"tel:+15550000001\","
			  "\"mailto:a@b.org\"]}";

	(void)state;
	expect_fail(cds_decode_lookup(&l, lk, strlen(lk), 10, &err), &err,
		    CDS_ERR_INVALID, 1);
	assert_null(l.doc);
	expect_fail(cds_decode_account(&a, ac, strlen(ac), 10, &err), &err,
		    CDS_ERR_INVALID, 2);
	/* An "add" is refused whatever else the body holds. */
	expect_fail(cds_decode_handles(&h, up, strlen(up), 10, &err), &err,
		    CDS_ERR_INVALID, -1);
	assert_non_null(strstr(err.msg, "proof of control"));
	expect_fail(cds_decode_handles(&h, "{}", 2, 10, &err), &err,
		    CDS_ERR_INVALID, -1);
	expect_fail(cds_decode_handles(&h, rm3, strlen(rm3), 2, &err), &err,
		    CDS_ERR_TOO_LARGE, -1);
	expect_fail(cds_decode_handles(&h, rm3, strlen(rm3), 10, &err), &err,
		    CDS_ERR_INVALID, 2);
	assert_int_equal(cds_decode_handles(&h, good, strlen(good), 10, &err),
			 CDS_OK);
	assert_int_equal(h.remove.n, 1);
	assert_string_equal(h.remove.v[0], "mailto:a@b.org");
	cds_handles_req_fini(&h);
}

static void test_decode_verify(void **state)
{
	struct cds_verify_req v;
	struct cds_redeem_req r;
	struct cds_error err = {0};
	const char *ok = "{\"handle\":\"tel:+15551234567\"}";
	const char *id = "\"verification\":\"000102030405060708090a0b0c0d0e0f\"";
	char body[256];

	(void)state;
	assert_int_equal(cds_decode_verify(&v, ok, strlen(ok), &err), CDS_OK);
	assert_string_equal(v.handle, "tel:+15551234567");
	assert_int_equal(v.kind, CDS_HANDLE_TEL);
	cds_verify_req_fini(&v);
	expect_fail(cds_decode_verify(&v, "{\"handle\":\"tel:555\"}", 20,
				      &err), &err, CDS_ERR_INVALID, -1);
	expect_fail(cds_decode_verify(&v, "{\"handle\":1}", 12, &err), &err,
		    CDS_ERR_INVALID, -1);
	snprintf(body, sizeof(body), "{%s,\"code\":\"01234567\"}", id);
	assert_int_equal(cds_decode_redeem(&r, body, strlen(body), false, &err),
			 CDS_OK);
	assert_string_equal(r.code, "01234567");
	assert_int_equal(r.id[15], 15);
	cds_redeem_req_fini(&r);
	/* Registration needs the identity key; binding refuses one. */
	expect_fail(cds_decode_redeem(&r, body, strlen(body), true, &err), &err,
		    CDS_ERR_INVALID, -1);
	snprintf(body, sizeof(body), "{%s,\"code\":\"12a4\"}", id);
	expect_fail(cds_decode_redeem(&r, body, strlen(body), false, &err), &err,
		    CDS_ERR_INVALID, -1);
	snprintf(body, sizeof(body), "{%s,\"code\":\"1\",\"identity_key\":"
		 "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}", id);
	expect_fail(cds_decode_redeem(&r, body, strlen(body), false, &err), &err,
		    CDS_ERR_INVALID, -1);
	assert_int_equal(cds_decode_redeem(&r, body, strlen(body), true, &err),
			 CDS_OK);
	cds_redeem_req_fini(&r);
	snprintf(body, sizeof(body), "{\"verification\":\"00ff\",\"code\":\"1\"}");
	expect_fail(cds_decode_redeem(&r, body, strlen(body), false, &err), &err,
		    CDS_ERR_INVALID, -1);
}

static void test_decode_u32(void **state)
{
	struct cds_error err = {0};
	uint32_t v = 0;

	(void)state;
	assert_int_equal(cds_decode_u32(&v, "0", 1, 0, 10, "x", &err), CDS_OK);
	assert_int_equal(v, 0);
	assert_int_equal(cds_decode_u32(&v, "4294967295", 10, 0, UINT32_MAX,
					"x", &err), CDS_OK);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(cds_decode_u32(&v, "4294967296", 10, 0, UINT32_MAX,
					"x", &err), CDS_ERR_INVALID);
	assert_int_equal(cds_decode_u32(&v, "01", 2, 0, 10, "x", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_decode_u32(&v, "+1", 2, 0, 10, "x", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_decode_u32(&v, "", 0, 0, 10, "x", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_decode_u32(&v, "11", 2, 0, 10, "x", &err),
			 CDS_ERR_INVALID);
}

static void test_ratelimit(void **state)
{
	struct cds_ratelimit *rl;
	struct cds_error err = {0};
	uint8_t a[16] = {1}, b[16] = {2};
	int64_t t = 1000 * CDS_USEC_PER_SEC;
	uint32_t retry;

	(void)state;
	/* allowance 10, refill 86400/day = 1 token per second, capacity 86400 */
	assert_int_equal(cds_ratelimit_new(&rl, 10, 86400, &err), CDS_OK);
	assert_int_equal(cds_ratelimit_charge(rl, a, 8, t, &retry, &err), CDS_OK);
	expect_fail(cds_ratelimit_charge(rl, a, 5, t, &retry, &err), &err,
		    CDS_ERR_RATE, -1);
	assert_int_equal(retry, 3);
	/* Refused requests cost nothing: 2 tokens are still there. */
	assert_int_equal(cds_ratelimit_charge(rl, a, 2, t, &retry, &err), CDS_OK);
	/* Refill: 3 s later, 3 tokens. */
	assert_int_equal(cds_ratelimit_charge(rl, a, 3, t + 3 * CDS_USEC_PER_SEC,
					      &retry, &err), CDS_OK);
	cds_ratelimit_refund(rl, a, 4);
	assert_int_equal(cds_ratelimit_charge(rl, a, 4, t + 3 * CDS_USEC_PER_SEC,
					      &retry, &err), CDS_OK);
	/* Other accounts are independent. */
	assert_int_equal(cds_ratelimit_charge(rl, b, 10, t, &retry, &err), CDS_OK);
	expect_fail(cds_ratelimit_charge(rl, b, 86401, t, &retry, &err), &err,
		    CDS_ERR_TOO_LARGE, -1);
	assert_int_equal(cds_ratelimit_accounts(rl), 2);
	cds_ratelimit_forget(rl, b);
	assert_int_equal(cds_ratelimit_accounts(rl), 1);
	/* Forgotten: b starts again with the allowance. */
	assert_int_equal(cds_ratelimit_charge(rl, b, 10, t, &retry, &err), CDS_OK);
	cds_ratelimit_free(rl);

	/* No refill: the allowance is all there is. */
	assert_int_equal(cds_ratelimit_new(&rl, 3, 0, &err), CDS_OK);
	assert_int_equal(cds_ratelimit_charge(rl, a, 3, t, &retry, &err), CDS_OK);
	expect_fail(cds_ratelimit_charge(rl, a, 1, t + CDS_USEC_PER_DAY, &retry,
					 &err), &err, CDS_ERR_RATE, -1);
	cds_ratelimit_free(rl);
	assert_int_equal(cds_ratelimit_new(&rl, -1, 0, &err), CDS_ERR_USAGE);
}

/* Many accounts in and out: the table's probing and deletion hold. */
static void test_ratelimit_many(void **state)
{
	struct cds_ratelimit *rl;
	struct cds_error err = {0};
	uint8_t id[16] = {0};
	uint32_t retry;

	(void)state;
	assert_int_equal(cds_ratelimit_new(&rl, 5, 0, &err), CDS_OK);
	for (uint32_t i = 0; i < 20000; i++) {
		memcpy(id, &i, sizeof(i));
		assert_int_equal(cds_ratelimit_charge(rl, id, 5, 0, &retry, &err),
				 CDS_OK);
	}
	for (uint32_t i = 0; i < 20000; i += 2) {
		memcpy(id, &i, sizeof(i));
		cds_ratelimit_forget(rl, id);
	}
	assert_int_equal(cds_ratelimit_accounts(rl), 10000);
	for (uint32_t i = 0; i < 20000; i++) {
		memcpy(id, &i, sizeof(i));
		/* Kept accounts are spent; forgotten ones start afresh. */
		assert_int_equal(cds_ratelimit_charge(rl, id, 1, 0, &retry, &err),
				 i % 2 ? CDS_ERR_RATE : CDS_OK);
	}
	cds_ratelimit_free(rl);
}

static void test_iplimit(void **state)
{
	struct cds_iplimit *il;
	struct cds_error err = {0};
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct sockaddr_in6 b = {.sin6_family = AF_INET6}, c = b;
	uint32_t retry;

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
	inet_pton(AF_INET6, "2001:db8::1", &b.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::2", &c.sin6_addr); /* same /64 */
	assert_int_equal(cds_iplimit_new(&il, 2, 4, &err), CDS_OK);
	/* Admitted while the balance is positive, then charged. */
	for (int i = 0; i < 4; i++) {
		assert_true(cds_iplimit_admit(il, (void *)&a, 0, &retry));
		cds_iplimit_charge(il, (void *)&a, 1, 0);
	}
	assert_false(cds_iplimit_admit(il, (void *)&a, 0, &retry));
	assert_int_equal(retry, 1);
	assert_true(cds_iplimit_admit(il, (void *)&a, CDS_USEC_PER_SEC, &retry));
	/* A large reply leaves a debt, paid off at the rate (down to -4). */
	cds_iplimit_charge(il, (void *)&a, 100, CDS_USEC_PER_SEC);
	assert_false(cds_iplimit_admit(il, (void *)&a, CDS_USEC_PER_SEC, &retry));
	assert_int_equal(retry, 3);
	assert_false(cds_iplimit_admit(il, (void *)&a, 3 * CDS_USEC_PER_SEC,
				       &retry));
	assert_true(cds_iplimit_admit(il, (void *)&a, 4 * CDS_USEC_PER_SEC,
				      &retry));
	/* IPv6 addresses share their /64. */
	assert_true(cds_iplimit_admit(il, (void *)&b, 0, &retry));
	cds_iplimit_charge(il, (void *)&b, 4, 0);
	assert_false(cds_iplimit_admit(il, (void *)&c, 0, &retry));
	assert_true(cds_iplimit_admit(il, NULL, 0, &retry));
	cds_iplimit_free(il);
	assert_int_equal(cds_iplimit_new(&il, 0, 0, &err), CDS_OK);
	for (int i = 0; i < 100; i++) {
		cds_iplimit_charge(il, (void *)&a, 1000, 0);
		assert_true(cds_iplimit_admit(il, (void *)&a, 0, &retry));
	}
	cds_iplimit_free(il);
}

static void test_router(void **state)
{
	char allow[64];
	const struct cds_route *r;

	(void)state;
	r = cds_route_find("GET", "/v1/health", allow);
	assert_non_null(r);
	assert_int_equal(r->ep, CDS_EP_HEALTH);
	assert_non_null(cds_route_find("HEAD", "/v1/params", allow));
	r = cds_route_find("GET", "/v1/buckets/12", allow);
	assert_non_null(r);
	assert_int_equal(r->ep, CDS_EP_BUCKET_GET);
	assert_null(cds_route_find("GET", "/v1/buckets/12/3", allow));
	assert_string_equal(allow, "");
	assert_null(cds_route_find("GET", "/v1/lookup", allow));
	assert_string_equal(allow, "POST");
	assert_null(cds_route_find("POST", "/v1/health", allow));
	assert_string_equal(allow, "GET, HEAD");
	assert_null(cds_route_find("GET", "/v1/buckets", allow));
	assert_string_equal(allow, "POST");
	assert_null(cds_route_find("GET", "/v1/health/", allow));
	assert_string_equal(allow, "");
	r = cds_route_find("PUT", "/v1/accounts/me/handles", allow);
	assert_true(r && r->has_body && r->mutating);
}

static void test_listen(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct cds_error err = {0};
	const struct sockaddr_in *s4 = (const void *)&ss;
	const struct sockaddr_in6 *s6 = (const void *)&ss;

	(void)state;
	assert_int_equal(cds_server_parse_listen(&ss, &len, "127.0.0.1:8080",
						 &err), CDS_OK);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 8080);
	assert_int_equal(cds_server_parse_listen(&ss, &len, "[::1]:9", &err),
			 CDS_OK);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 9);
	assert_int_equal(cds_server_parse_listen(&ss, &len, ":0", &err), CDS_OK);
	static const char *const bad[] = {"127.0.0.1", "::1:80", "[::1]80",
		"1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:", "[]:1", "x y:1", NULL};
	for (int i = 0; bad[i]; i++)
		assert_int_equal(cds_server_parse_listen(&ss, &len, bad[i], &err),
				 CDS_ERR_USAGE);
}

static void test_reply(void **state)
{
	struct cds_reply r;
	struct cds_error err = {0};
	json_t *doc, *e;

	(void)state;
	cds_reply_init(&r);
	cds_fail_at(&err, CDS_ERR_INVALID, 3, "bad \xff\x01 handle");
	cds_reply_from_err(&r, &err);
	assert_int_equal(r.status, 400);
	doc = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(doc);
	e = json_object_get(doc, "error");
	assert_string_equal(json_string_value(json_object_get(e, "code")),
			    "invalid");
	assert_string_equal(json_string_value(json_object_get(e, "message")),
			    "bad ?? handle");
	assert_int_equal(json_integer_value(json_object_get(e, "index")), 3);
	json_decref(doc);

	cds_reply_epoch(&r, 7, 2);
	assert_int_equal(r.status, 409);
	doc = json_loadb(r.body, r.len, 0, NULL);
	e = json_object_get(doc, "error");
	assert_int_equal(json_integer_value(json_object_get(e, "epoch")), 2);
	assert_null(json_object_get(e, "index"));
	json_decref(doc);

	/* 5xx: no internals to the client, Retry-After on 503. */
	cds_fail(&err, CDS_ERR_STORE, "sqlite: disk I/O error at /secret/path");
	cds_reply_from_err(&r, &err);
	assert_int_equal(r.status, 500);
	assert_null(strstr(r.body, "secret"));
	assert_int_equal(cds_reply_status_of(CDS_ERR_RATE), 429);
	assert_int_equal(cds_reply_status_of(CDS_ERR_DISABLED), 403);
	assert_int_equal(cds_reply_status_of(CDS_ERR_EPOCH), 409);
	cds_reply_fini(&r);
}

static void test_metrics(void **state)
{
	struct cds_metrics *m;
	struct cds_metrics_gauges g;
	struct cds_error err = {0};
	struct cds_buf b;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.params.handles = 42;
	assert_int_equal(cds_metrics_new(&m, &err), CDS_OK);
	cds_metrics_request(m, CDS_EP_LOOKUP, 200, 300);
	cds_metrics_request(m, CDS_EP_LOOKUP, 200, 3000000);
	cds_metrics_request(m, CDS_EP_LOOKUP, 418, 10);
	cds_metrics_add(m, CDS_M_ELEMENTS_EVALUATED, 5);
	cds_buf_init(&b);
	assert_int_equal(cds_metrics_render(m, &g, &b, &err), CDS_OK);
	assert_non_null(strstr((char *)b.data,
		"cds_http_requests_total{endpoint=\"lookup\",status=\"200\"} 2\n"));
	assert_non_null(strstr((char *)b.data,
		"cds_http_requests_total{endpoint=\"lookup\",status=\"other\"} 1\n"));
	assert_non_null(strstr((char *)b.data,
		"cds_http_request_seconds_bucket{endpoint=\"lookup\",le=\"0.0005\"} 2\n"));
	assert_non_null(strstr((char *)b.data,
		"cds_http_request_seconds_bucket{endpoint=\"lookup\",le=\"2.5\"} 2\n"));
	assert_non_null(strstr((char *)b.data,
		"cds_http_request_seconds_bucket{endpoint=\"lookup\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr((char *)b.data,
		"cds_oprf_elements_evaluated_total 5\n"));
	assert_non_null(strstr((char *)b.data, "cds_index_handles 42\n"));
	cds_buf_fini(&b);
	cds_metrics_free(m);
}

/* The fast public encoders give exactly the constant-time ones' output. */
static void test_pubenc(void **state)
{
	uint8_t bin[100];
	char a[CDS_B64_LEN(100)], b[CDS_B64_LEN(100)];
	char ha[201], hb[201];

	(void)state;
	for (size_t n = 0; n <= sizeof(bin); n++) {
		randombytes_buf(bin, sizeof(bin));
		cds_b64_encode(a, bin, n);
		cds_pubenc_b64(b, bin, n);
		assert_string_equal(a, b);
		cds_hex_encode(ha, bin, n);
		cds_pubenc_hex(hb, bin, n);
		assert_string_equal(ha, hb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_discover),
		cmocka_unit_test(test_decode_buckets),
		cmocka_unit_test(test_decode_buckets_etags),
		cmocka_unit_test(test_decode_handles),
		cmocka_unit_test(test_decode_verify),
		cmocka_unit_test(test_decode_u32),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_ratelimit_many),
		cmocka_unit_test(test_iplimit),
		cmocka_unit_test(test_router),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_pubenc),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
