/*
 * test_ohttp.c: Oblivious HTTP encapsulation (lib/crypto/ohttp*.c) with
 * Binary HTTP inside (lib/core/bhttp.c): the RFC 9458 Appendix A exchange
 * ($CDS_TEST_DATA/vectors/ohttp_rfc9458_appendix_a.json) from both sides,
 * byte for byte; then what a gateway must refuse: an unknown key id, a
 * flipped byte anywhere in the request, a wrong or unsupported AEAD id, a
 * truncated request; a tampered response; malformed key lists.  The
 * in-place forms (response_begin/finish, response_open_in) give the same
 * bytes as the vector, with both AEADs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/bhttp.h"
#include "crypto/ohttp.h"
#include "vectest.h"

#define VEC "ohttp_rfc9458_appendix_a.json"

static json_t *vec;
static struct cds_ohttp_key gw;

static int setup(void **state)
{
	uint8_t cfg[64];
	size_t n;
	uint8_t *c;

	(void)state;
	vec = vec_load(VEC);
	vec_hex_exact(gw.sk, 32, vec, "gateway_secret_key");
	crypto_scalarmult_base(gw.pk, gw.sk);
	c = vec_hex(vec, "key_config", &n);
	assert_true(n <= sizeof(cfg));
	memcpy(cfg, c, n);
	gw.id = cfg[0];
	free(c);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(vec);
	return 0;
}

/* application/ohttp-keys is the vector's key config behind its length. */
static void test_key_config(void **state)
{
	struct cds_buf b;
	struct cds_ohttp_config cfg;
	struct cds_error err = {0};

	(void)state;
	cds_buf_init(&b);
	assert_int_equal(cds_ohttp_keys_encode(&b, &gw, 1, &err), CDS_OK);
	assert_int_equal(b.len, 2 + 45);
	assert_int_equal(b.data[0] << 8 | b.data[1], 45);
	vec_expect(b.data + 2, 45, vec, "key_config");
	assert_int_equal(cds_ohttp_keys_pick(&cfg, b.data, b.len, &err), CDS_OK);
	assert_int_equal(cfg.id, gw.id);
	assert_int_equal(cfg.aead_id, CDS_AEAD_AES128GCM);
	assert_memory_equal(cfg.pk, gw.pk, 32);
	cds_buf_fini(&b);
}

static void client_config(struct cds_ohttp_config *cfg)
{
	cfg->id = gw.id;
	memcpy(cfg->pk, gw.pk, 32);
	cfg->aead_id = CDS_AEAD_AES128GCM;
}

/* The client's side of Appendix A: the same encapsulated request. */
static void test_appendix_a_client_request(void **state)
{
	struct cds_ohttp_exchange x;
	struct cds_ohttp_config cfg;
	struct cds_buf out;
	struct cds_error err = {0};
	uint8_t skE[32];
	size_t req_len;
	uint8_t *req = vec_hex(vec, "bhttp_request", &req_len);

	(void)state;
	client_config(&cfg);
	vec_hex_exact(skE, 32, vec, "client_ephemeral_secret_key");
	cds_buf_init(&out);
	assert_int_equal(cds_ohttp_request_seal(&x, &out, &cfg, req, req_len,
						skE, &err), CDS_OK);
	vec_expect(out.data, out.len, vec, "encapsulated_request");
	vec_expect(x.enc, 32, vec, "client_ephemeral_public_key");
	cds_ohttp_exchange_wipe(&x);
	cds_buf_fini(&out);
	free(req);
}

/*
 * The gateway's side: decrypt the request with the given key, find GET
 * https://example.com/ inside, and with the given nonce produce exactly
 * the encapsulated response; the client then opens it.
 */
static void test_appendix_a_gateway(void **state)
{
	struct cds_ohttp_exchange x;
	struct cds_buf pt, res, back;
	struct cds_bhttp_msg m;
	struct cds_error err = {0};
	uint8_t nonce[16];
	size_t len, rlen;
	uint8_t *enc_req = vec_hex(vec, "encapsulated_request", &len);
	uint8_t *bres = vec_hex(vec, "bhttp_response", &rlen);

	(void)state;
	cds_buf_init(&pt);
	cds_buf_init(&res);
	cds_buf_init(&back);
	assert_int_equal(cds_ohttp_request_open(&x, &pt, enc_req, len, &gw, 1,
						&err), CDS_OK);
	vec_expect(pt.data, pt.len, vec, "bhttp_request");
	assert_int_equal(cds_bhttp_parse_request(&m, pt.data, pt.len, &err),
			 CDS_OK);
	assert_string_equal(m.method, "GET");
	assert_string_equal(m.scheme, "https");
	assert_string_equal(m.authority, "example.com");
	assert_string_equal(m.path, "/");
	assert_int_equal(m.n_fields, 0);
	assert_int_equal(m.content_len, 0);
	cds_bhttp_fini(&m);

	vec_hex_exact(nonce, 16, vec, "response_nonce");
	assert_int_equal(cds_ohttp_response_seal(&x, &res, bres, rlen, nonce,
						 &err), CDS_OK);
	vec_expect(res.data, res.len, vec, "encapsulated_response");
	assert_int_equal(cds_ohttp_response_open(&x, &back, res.data, res.len,
						 &err), CDS_OK);
	assert_int_equal(back.len, rlen);
	assert_memory_equal(back.data, bres, rlen);
	assert_int_equal(cds_bhttp_parse_response(&m, back.data, back.len,
						  &err), CDS_OK);
	assert_int_equal(m.status, 200);
	cds_bhttp_fini(&m);

	/* one flipped byte of the response: the client refuses it */
	res.data[res.len - 1] ^= 0x80;
	cds_buf_reset(&back);
	assert_int_equal(cds_ohttp_response_open(&x, &back, res.data, res.len,
						 &err), CDS_ERR_PROTO);
	assert_int_equal(cds_ohttp_response_open(&x, &back, res.data, 20, &err),
			 CDS_ERR_PROTO);
	cds_ohttp_exchange_wipe(&x);
	cds_buf_fini(&pt);
	cds_buf_fini(&res);
	cds_buf_fini(&back);
	free(enc_req);
	free(bres);
}

static enum cds_err gateway_open(const uint8_t *req, size_t len)
{
	struct cds_ohttp_exchange x;
	struct cds_buf pt;
	struct cds_error err = {0};
	enum cds_err rc;

	cds_buf_init(&pt);
	rc = cds_ohttp_request_open(&x, &pt, req, len, &gw, 1, &err);
	if (rc)
		assert_int_equal(pt.len, 0);
	cds_buf_fini(&pt);
	cds_ohttp_exchange_wipe(&x);
	return rc;
}

static void test_gateway_refusals(void **state)
{
	size_t len;
	uint8_t *req = vec_hex(vec, "encapsulated_request", &len);

	(void)state;
	assert_int_equal(gateway_open(req, len), CDS_OK);
	/* a key id the gateway does not have */
	req[0] ^= 0x42;
	assert_int_equal(gateway_open(req, len), CDS_ERR_NOT_FOUND);
	req[0] ^= 0x42;
	/* the other offered AEAD: the info differs, so it cannot decrypt */
	req[6] = 0x03;
	assert_int_equal(gateway_open(req, len), CDS_ERR_CRYPTO);
	/* AEADs and KEM/KDF not offered */
	req[6] = 0x02;
	assert_int_equal(gateway_open(req, len), CDS_ERR_INVALID);
	req[6] = 0x01;
	req[2] = 0x21;
	assert_int_equal(gateway_open(req, len), CDS_ERR_INVALID);
	req[2] = 0x20;
	req[4] = 0x02;
	assert_int_equal(gateway_open(req, len), CDS_ERR_INVALID);
	req[4] = 0x01;
	/* every flipped byte of enc or ciphertext */
	for (size_t i = CDS_OHTTP_HDR_BYTES; i < len; i++) {
		req[i] ^= 0x01;
		assert_int_not_equal(gateway_open(req, len), CDS_OK);
		req[i] ^= 0x01;
	}
	/* truncated */
	assert_int_equal(gateway_open(req, len - 1), CDS_ERR_CRYPTO);
	assert_int_equal(gateway_open(req, 7 + 32 + 15), CDS_ERR_INVALID);
	assert_int_equal(gateway_open(req, 0), CDS_ERR_INVALID);
	assert_int_equal(gateway_open(req, len), CDS_OK);
	free(req);
}

/* A fresh exchange with ChaCha20-Poly1305 and a random ephemeral key. */
static void test_round_trip_chacha(void **state)
{
	struct cds_ohttp_exchange c, g;
	struct cds_ohttp_config cfg;
	struct cds_buf req, pt, res, back;
	struct cds_error err = {0};
	static const uint8_t body[] = "inner request";

	(void)state;
	client_config(&cfg);
	cfg.aead_id = CDS_AEAD_CHACHA20POLY1305;
	cds_buf_init(&req);
	cds_buf_init(&pt);
	cds_buf_init(&res);
	cds_buf_init(&back);
	assert_int_equal(cds_ohttp_request_seal(&c, &req, &cfg, body,
						sizeof(body), NULL, &err), CDS_OK);
	assert_int_equal(req.data[6], 0x03);
	assert_int_equal(cds_ohttp_request_open(&g, &pt, req.data, req.len, &gw,
						1, &err), CDS_OK);
	assert_memory_equal(pt.data, body, sizeof(body));
	assert_int_equal(cds_ohttp_response_seal(&g, &res, (const uint8_t *)"ok",
						 2, NULL, &err), CDS_OK);
	assert_int_equal(res.len, 32 + 2 + 16);
	assert_int_equal(cds_ohttp_response_open(&c, &back, res.data, res.len,
						 &err), CDS_OK);
	assert_memory_equal(back.data, "ok", 2);
	cds_buf_fini(&req);
	cds_buf_fini(&pt);
	cds_buf_fini(&res);
	cds_buf_fini(&back);
}

/* The gateway's exchange of Appendix A, opened from its request. */
static void appendix_a_exchange(struct cds_ohttp_exchange *x)
{
	struct cds_error err = {0};
	struct cds_buf pt;
	size_t len;
	uint8_t *req = vec_hex(vec, "encapsulated_request", &len);

	cds_buf_init(&pt);
	assert_int_equal(cds_ohttp_request_open(x, &pt, req, len, &gw, 1, &err),
			 CDS_OK);
	cds_buf_fini(&pt);
	free(req);
}

/* Appendix A's response again, sealed and opened in place (begin, the
 * caller's own append, finish; open_in), behind bytes already in out. */
static void test_appendix_a_in_place(void **state)
{
	struct cds_ohttp_exchange x;
	struct cds_error err = {0};
	struct cds_buf out;
	uint8_t nonce[16];
	size_t rlen, elen, off = 0, len = 0;
	uint8_t *bres = vec_hex(vec, "bhttp_response", &rlen);
	uint8_t *eres = vec_hex(vec, "encapsulated_response", &elen);

	(void)state;
	appendix_a_exchange(&x);
	vec_hex_exact(nonce, 16, vec, "response_nonce");
	cds_buf_init(&out);
	assert_int_equal(cds_buf_append(&out, "head", 4), CDS_OK);
	assert_int_equal(cds_ohttp_response_begin(&x, &out, nonce, &err), CDS_OK);
	assert_int_equal(cds_buf_append(&out, bres, rlen), CDS_OK);
	assert_int_equal(cds_ohttp_response_finish(&x, &out, 4, &err), CDS_OK);
	assert_memory_equal(out.data, "head", 4);
	vec_expect(out.data + 4, out.len - 4, vec, "encapsulated_response");
	assert_int_equal(cds_ohttp_response_open_in(&x, out.data + 4, out.len - 4,
						    &off, &len, &err), CDS_OK);
	assert_int_equal(off, 16);
	assert_int_equal(len, rlen);
	assert_memory_equal(out.data + 4 + off, bres, rlen);
	/* a flipped byte: refused, and no plaintext left where it lay */
	memcpy(out.data + 4, eres, elen);
	out.data[4 + elen - 1] ^= 0x01;
	assert_int_equal(cds_ohttp_response_open_in(&x, out.data + 4, elen, &off,
						    &len, &err), CDS_ERR_PROTO);
	assert_memory_not_equal(out.data + 4 + 16, bres, rlen);
	assert_int_equal(cds_ohttp_response_open_in(&x, eres, 16 + 15, &off,
						    &len, &err), CDS_ERR_PROTO);
	/* finish with no room for a nonce at `at`: refused, out cut back */
	cds_buf_reset(&out);
	assert_int_equal(cds_buf_append(&out, "0123456789", 10), CDS_OK);
	assert_int_equal(cds_ohttp_response_finish(&x, &out, 0, &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_ohttp_response_finish(&x, &out, 11, &err),
			 CDS_ERR_INVALID);
	assert_int_equal(out.len, 10);
	cds_ohttp_exchange_wipe(&x);
	cds_buf_fini(&out);
	free(bres);
	free(eres);
}

/* Both AEADs in place over a megabyte, as the gateway seals a bucket
 * group: what the client opens is what the gateway sealed. */
static void test_in_place_both_aeads(void **state)
{
	static const uint16_t aeads[] = {CDS_AEAD_AES128GCM,
					 CDS_AEAD_CHACHA20POLY1305};
	const size_t big = 1 << 20;
	uint8_t *body = malloc(big);

	(void)state;
	assert_non_null(body);
	randombytes_buf(body, big);
	for (size_t i = 0; i < 2; i++) {
		struct cds_ohttp_exchange c, g;
		struct cds_ohttp_config cfg;
		struct cds_error err = {0};
		struct cds_buf req, pt, res;
		size_t off = 0, len = 0;

		client_config(&cfg);
		cfg.aead_id = aeads[i];
		cds_buf_init(&req);
		cds_buf_init(&pt);
		cds_buf_init(&res);
		assert_int_equal(cds_ohttp_request_seal(&c, &req, &cfg, body, 8,
							NULL, &err), CDS_OK);
		assert_int_equal(cds_ohttp_request_open(&g, &pt, req.data, req.len,
							&gw, 1, &err), CDS_OK);
		assert_int_equal(cds_ohttp_response_begin(&g, &res, NULL, &err),
				 CDS_OK);
		assert_int_equal(cds_buf_append(&res, body, big), CDS_OK);
		assert_int_equal(cds_ohttp_response_finish(&g, &res, 0, &err),
				 CDS_OK);
		assert_int_equal(res.len, (i ? 32 : 16) + big + 16);
		assert_memory_not_equal(res.data + (i ? 32 : 16), body, 64);
		assert_int_equal(cds_ohttp_response_open_in(&c, res.data, res.len,
							    &off, &len, &err),
				 CDS_OK);
		assert_int_equal(len, big);
		assert_memory_equal(res.data + off, body, big);
		cds_buf_fini(&req);
		cds_buf_fini(&pt);
		cds_buf_fini(&res);
	}
	free(body);
}

static enum cds_err pick(const char *hex)
{
	uint8_t b[256];
	size_t n = 0;
	struct cds_ohttp_config cfg;
	struct cds_error err = {0};

	assert_int_equal(sodium_hex2bin(b, sizeof(b), hex, strlen(hex), NULL,
					&n, NULL), 0);
	return cds_ohttp_keys_pick(&cfg, b, n, &err);
}

static void test_key_list_malformed(void **state)
{
	char hex[512];
	const char *cfg = vec_str(vec, "key_config");

	(void)state;
	snprintf(hex, sizeof(hex), "002d%s", cfg);
	assert_int_equal(pick(hex), CDS_OK);
	/* a foreign KEM first is skipped, ours found after it */
	snprintf(hex, sizeof(hex), "0005020010abcd002d%s", cfg);
	assert_int_equal(pick(hex), CDS_OK);
	/* empty list, only foreign configs, only foreign AEADs */
	assert_int_equal(pick(""), CDS_ERR_PROTO);
	assert_int_equal(pick("0005020010abcd"), CDS_ERR_PROTO);
	snprintf(hex, sizeof(hex), "0029%.*s00040001ffff", 70, cfg);
	assert_int_equal(pick(hex), CDS_ERR_PROTO);
	/* length past the end, trailing byte, algorithm length inconsistent */
	snprintf(hex, sizeof(hex), "002e%s", cfg);
	assert_int_equal(pick(hex), CDS_ERR_PROTO);
	snprintf(hex, sizeof(hex), "002d%s00", cfg);
	assert_int_equal(pick(hex), CDS_ERR_PROTO);
	snprintf(hex, sizeof(hex), "002d%.*s000a%s", 70, cfg, cfg + 74);
	assert_int_equal(pick(hex), CDS_ERR_PROTO);
	assert_int_equal(pick("000301"), CDS_ERR_PROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_config),
		cmocka_unit_test(test_appendix_a_client_request),
		cmocka_unit_test(test_appendix_a_gateway),
		cmocka_unit_test(test_gateway_refusals),
		cmocka_unit_test(test_round_trip_chacha),
		cmocka_unit_test(test_appendix_a_in_place),
		cmocka_unit_test(test_in_place_both_aeads),
		cmocka_unit_test(test_key_list_malformed),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
