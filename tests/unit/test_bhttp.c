/*
 * test_bhttp.c: Binary HTTP (lib/core/bhttp.c) and QUIC varints: request
 * and response round trips through the encoder and the parser, RFC 9292's
 * own examples, and malformed input: truncated and huge lengths, trailing
 * bytes, bad framing, bad names, values, methods and paths, too many
 * fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/bhttp.h"

static struct cds_buf hexbuf(const char *hex)
{
	struct cds_buf b;

	cds_buf_init(&b);
	for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
		char t[3] = {hex[i], hex[i + 1], 0};
		uint8_t v = (uint8_t)strtoul(t, NULL, 16);

		assert_int_equal(cds_buf_append(&b, &v, 1), CDS_OK);
	}
	return b;
}

static enum cds_err parse_req_hex(const char *hex)
{
	struct cds_buf b = hexbuf(hex);
	struct cds_bhttp_msg m;
	struct cds_error err = {0};
	enum cds_err rc = cds_bhttp_parse_request(&m, b.data, b.len, &err);

	if (rc)
		assert_null(m.method);
	cds_bhttp_fini(&m);
	cds_buf_fini(&b);
	return rc;
}

static enum cds_err parse_res_hex(const char *hex, unsigned *status)
{
	struct cds_buf b = hexbuf(hex);
	struct cds_bhttp_msg m;
	struct cds_error err = {0};
	enum cds_err rc = cds_bhttp_parse_response(&m, b.data, b.len, &err);

	*status = m.status;
	cds_bhttp_fini(&m);
	cds_buf_fini(&b);
	return rc;
}

static void test_varint(void **state)
{
	static const uint64_t vals[] = {0, 63, 64, 16383, 16384, 1073741823,
					1073741824, CDS_VARINT_MAX};
	struct cds_buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t pos = 0;
		uint64_t v;

		cds_buf_init(&b);
		assert_int_equal(cds_varint_append(&b, vals[i]), CDS_OK);
		assert_true(cds_varint_read(b.data, b.len, &pos, &v));
		assert_int_equal(v, vals[i]);
		assert_int_equal(pos, b.len);
		pos = 0;
		assert_false(cds_varint_read(b.data, b.len - 1, &pos, &v));
		cds_buf_fini(&b);
	}
	cds_buf_init(&b);
	assert_int_equal(cds_varint_append(&b, CDS_VARINT_MAX + 1),
			 CDS_ERR_INVALID);
	cds_buf_fini(&b);
}

static void test_request_round_trip(void **state)
{
	struct cds_bhttp_msg m, p;
	struct cds_buf b;
	struct cds_error err = {0};
	static const char body[] = "{\"epoch\":1,\"prefixes\":[3]}";

	(void)state;
	cds_bhttp_init(&m);
	m.method = "POST";
	m.scheme = "https";
	m.authority = "cds.example";
	m.path = "/v1/buckets?x=1";
	m.fields[0] = (struct cds_bhttp_field){"Content-Type", "application/json"};
	m.fields[1] = (struct cds_bhttp_field){"authorization", "Bearer t0k"};
	m.n_fields = 2;
	m.content = (const uint8_t *)body;
	m.content_len = sizeof(body) - 1;
	cds_buf_init(&b);
	assert_int_equal(cds_bhttp_encode(&b, &m, &err), CDS_OK);
	assert_int_equal(cds_bhttp_parse_request(&p, b.data, b.len, &err), CDS_OK);
	assert_string_equal(p.method, "POST");
	assert_string_equal(p.scheme, "https");
	assert_string_equal(p.authority, "cds.example");
	assert_string_equal(p.path, "/v1/buckets?x=1");
	assert_int_equal(p.n_fields, 2);
	assert_string_equal(p.fields[0].name, "content-type");
	assert_string_equal(cds_bhttp_field(&p, "Content-Type"), "application/json");
	assert_string_equal(cds_bhttp_field(&p, "authorization"), "Bearer t0k");
	assert_null(cds_bhttp_field(&p, "cookie"));
	assert_int_equal(p.content_len, sizeof(body) - 1);
	assert_memory_equal(p.content, body, sizeof(body) - 1);
	cds_bhttp_fini(&p);
	/* zero padding after the message is allowed */
	assert_int_equal(cds_buf_append(&b, "\0\0\0", 3), CDS_OK);
	assert_int_equal(cds_bhttp_parse_request(&p, b.data, b.len, &err), CDS_OK);
	cds_bhttp_fini(&p);
	/* every strict prefix that cuts a length or a string is refused */
	for (size_t n = 1; n < b.len - 3; n++) {
		enum cds_err rc = cds_bhttp_parse_request(&p, b.data, n, &err);

		if (rc == CDS_OK)
			cds_bhttp_fini(&p);
		else
			assert_int_equal(rc, CDS_ERR_INVALID);
	}
	cds_buf_fini(&b);
}

static void test_response_round_trip(void **state)
{
	struct cds_bhttp_msg m, p;
	struct cds_buf b;
	struct cds_error err = {0};

	(void)state;
	cds_bhttp_init(&m);
	m.status = 404;
	m.fields[0] = (struct cds_bhttp_field){"content-type", "application/json"};
	m.n_fields = 1;
	m.content = (const uint8_t *)"{}";
	m.content_len = 2;
	cds_buf_init(&b);
	assert_int_equal(cds_bhttp_encode(&b, &m, &err), CDS_OK);
	assert_int_equal(cds_bhttp_parse_response(&p, b.data, b.len, &err), CDS_OK);
	assert_int_equal(p.status, 404);
	assert_string_equal(cds_bhttp_field(&p, "content-type"), "application/json");
	assert_int_equal(p.content_len, 2);
	/* a response is not a request, and the reverse */
	cds_bhttp_fini(&p);
	assert_int_equal(cds_bhttp_parse_request(&p, b.data, b.len, &err),
			 CDS_ERR_INVALID);
	cds_buf_fini(&b);
	/* status out of range and a request without a path cannot be encoded */
	m.status = 99;
	cds_buf_init(&b);
	assert_int_equal(cds_bhttp_encode(&b, &m, &err), CDS_ERR_INVALID);
	m.method = "GET";
	assert_int_equal(cds_bhttp_encode(&b, &m, &err), CDS_ERR_INVALID);
	cds_buf_fini(&b);
}

/* The _ref parse: same message, the content where it lies in the input;
 * every cut that loses part of it is refused, and so is trailing junk. */
static void test_response_ref(void **state)
{
	static const char body[] = "{\"buckets\":[]}";
	struct cds_bhttp_msg m, p;
	struct cds_buf b;
	struct cds_error err = {0};
	size_t at;

	(void)state;
	cds_bhttp_init(&m);
	m.status = 200;
	m.fields[0] = (struct cds_bhttp_field){"etag", "\"1.2.j\""};
	m.n_fields = 1;
	m.content = (const uint8_t *)body;
	m.content_len = sizeof(body) - 1;
	cds_buf_init(&b);
	assert_int_equal(cds_bhttp_encode(&b, &m, &err), CDS_OK);
	at = b.len - m.content_len;
	assert_int_equal(cds_bhttp_parse_response_ref(&p, b.data, b.len, &err),
			 CDS_OK);
	assert_int_equal(p.status, 200);
	assert_string_equal(cds_bhttp_field(&p, "etag"), "\"1.2.j\"");
	assert_ptr_equal(p.content, b.data + at);
	assert_int_equal(p.content_len, sizeof(body) - 1);
	cds_bhttp_fini(&p);
	for (size_t n = at; n < b.len; n++)
		assert_int_equal(cds_bhttp_parse_response_ref(&p, b.data, n, &err),
				 CDS_ERR_INVALID);
	assert_int_equal(cds_buf_append(&b, "x", 1), CDS_OK);
	assert_int_equal(cds_bhttp_parse_response_ref(&p, b.data, b.len, &err),
			 CDS_ERR_INVALID);
	assert_null(p.arena_);
	cds_buf_fini(&b);
}

/* RFC 9458's truncated messages, and a full one with padding. */
static void test_rfc_examples(void **state)
{
	unsigned st;

	(void)state;
	/* RFC 9458 A: GET https://example.com/, truncated after the path */
	assert_int_equal(parse_req_hex("00034745540568747470730b6578616d706c652e636f6d012f"),
			 CDS_OK);
	assert_int_equal(parse_res_hex("0140c8", &st), CDS_OK);
	assert_int_equal(st, 200);
	/* GET https:///hello.txt with a host field, empty content and
	 * trailers written out, then padding */
	assert_int_equal(parse_req_hex(
		"0003474554056874747073000a2f68656c6c6f2e747874"
		"0d04686f7374076578616d706c6500000000"), CDS_OK);
}

/* GET with empty scheme and authority and the path "/" */
#define P "00034745540000012f"

static void test_malformed(void **state)
{
	unsigned st;

	(void)state;
	assert_int_equal(parse_req_hex(""), CDS_ERR_INVALID);
	/* indeterminate-length framing (2) and a response framing (1) */
	assert_int_equal(parse_req_hex("02034745540568747470730b6578616d706c652e636f6d012f"),
			 CDS_ERR_INVALID);
	/* method length runs past the end; a huge 8-byte length */
	assert_int_equal(parse_req_hex("00094745540568747470730b"), CDS_ERR_INVALID);
	assert_int_equal(parse_req_hex("00ffffffffffffffff474554"), CDS_ERR_INVALID);
	/* truncated inside a length varint */
	assert_int_equal(parse_req_hex("00034745540568747470730b6578616d706c652e636f6d01"),
			 CDS_ERR_INVALID);
	assert_int_equal(parse_req_hex("0003474554056874747073"), CDS_ERR_INVALID);
	/* trailing non-zero byte after the message */
	assert_int_equal(parse_req_hex(P "000000ff"), CDS_ERR_INVALID);
	assert_int_equal(parse_req_hex(P "00000000000001"), CDS_ERR_INVALID);
	assert_int_equal(parse_req_hex(P "00000000000000"), CDS_OK);
	/* path not absolute, method not a token */
	assert_int_equal(parse_req_hex("000347455400000178"), CDS_ERR_INVALID);
	assert_int_equal(parse_req_hex("00034720450000012f"), CDS_ERR_INVALID);
	/* field section longer than the message; upper-case name; CR in value */
	assert_int_equal(parse_req_hex(P "20"), CDS_ERR_INVALID);
	assert_int_equal(parse_req_hex(P "0401410161"), CDS_ERR_INVALID);
	assert_int_equal(parse_req_hex(P "040161010d"),
			 CDS_ERR_INVALID);
	/* field section with a dangling name */
	assert_int_equal(parse_req_hex(P "020161"),
			 CDS_ERR_INVALID);
	/* content length past the end */
	assert_int_equal(parse_req_hex(P "000561"),
			 CDS_ERR_INVALID);
	/* responses: status out of range, truncated, informational skipped */
	assert_int_equal(parse_res_hex("01", &st), CDS_ERR_INVALID);
	assert_int_equal(parse_res_hex("0163", &st), CDS_ERR_INVALID);
	assert_int_equal(parse_res_hex("014258", &st), CDS_ERR_INVALID);
	assert_int_equal(parse_res_hex("014066" "00" "40c8", &st), CDS_OK);
	assert_int_equal(st, 200);
}

static void test_too_many_fields(void **state)
{
	struct cds_bhttp_msg m;
	struct cds_buf b, sec;
	struct cds_error err = {0};

	(void)state;
	cds_buf_init(&b);
	cds_buf_init(&sec);
	assert_int_equal(cds_buf_append(&b, "\x00\x03GET\x00\x00\x01/", 9), CDS_OK);
	for (int i = 0; i <= CDS_BHTTP_MAX_FIELDS; i++)
		assert_int_equal(cds_buf_append(&sec, "\x01x\x01y", 4), CDS_OK);
	assert_int_equal(cds_varint_append(&b, sec.len), CDS_OK);
	assert_int_equal(cds_buf_append(&b, sec.data, sec.len), CDS_OK);
	assert_int_equal(cds_bhttp_parse_request(&m, b.data, b.len, &err),
			 CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "fields"));
	/* one fewer fits */
	b.len -= sec.len + 2;
	assert_int_equal(cds_varint_append(&b, sec.len - 4), CDS_OK);
	assert_int_equal(cds_buf_append(&b, sec.data, sec.len - 4), CDS_OK);
	assert_int_equal(cds_bhttp_parse_request(&m, b.data, b.len, &err), CDS_OK);
	assert_int_equal(m.n_fields, CDS_BHTTP_MAX_FIELDS);
	cds_bhttp_fini(&m);
	cds_buf_fini(&b);
	cds_buf_fini(&sec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_response_round_trip),
		cmocka_unit_test(test_response_ref),
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_many_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
