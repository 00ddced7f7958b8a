/*
 * test_core.c: handles, codecs, time, buffers (lib/core).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/handle.h"
#include "core/timeutil.h"

static enum cds_err check(const char *h)
{
	struct cds_error err;

	cds_error_clear(&err);
	return cds_handle_check(h, strlen(h), NULL, &err);
}

static void test_handle_valid(void **state)
{
	static const char *ok[] = {
		"tel:+15551234567", "tel:+1234567", "tel:+123456789012345",
		"mailto:alice@example.org", "mailto:a.b+c@d-e.example",
		"mailto:x@y",
	};
	enum cds_handle_kind k;
	struct cds_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(check(ok[i]), CDS_OK);
	assert_int_equal(cds_handle_check("tel:+15551234567", 16, &k, &err), CDS_OK);
	assert_int_equal(k, CDS_HANDLE_TEL);
	assert_int_equal(cds_handle_check("mailto:a@b", 10, &k, &err), CDS_OK);
	assert_int_equal(k, CDS_HANDLE_MAILTO);
}

static void test_handle_invalid(void **state)
{
	static const char *bad[] = {
		"", "tel:", "tel:+", "tel:+123456", "tel:+1234567890123456",
		"tel:+05551234567", "tel:15551234567", "tel:+1555 1234567",
		"tel:+1555-123-4567", "TEL:+15551234567", "mailto:",
		"mailto:Alice@example.org", "mailto:alice@Example.org",
		"mailto:alice", "mailto:@example.org", "mailto:alice@",
		"mailto:alice@@example.org", "mailto:.alice@example.org",
		"mailto:al..ice@example.org", "mailto:alice@example..org",
		"mailto:alice@example.org.", "mailto:al ice@example.org",
		"mailto:alicé@example.org", "alice@example.org", "+15551234567",
	};
	struct cds_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cds_error_clear(&err);
		assert_int_equal(cds_handle_check(bad[i], strlen(bad[i]), NULL, &err),
				 CDS_ERR_INVALID);
		assert_non_null(strstr(err.msg, "non-canonical handle"));
	}
	/* An embedded NUL is not canonical either. */
	assert_int_equal(cds_handle_check("tel:+1555\0001234567", 16, NULL, &err),
			 CDS_ERR_INVALID);
}

static void test_handle_mailto_length(void **state)
{
	char h[7 + 256 + 1];

	(void)state;
	memcpy(h, "mailto:", 7);
	memset(h + 7, 'a', 64);
	h[7 + 64] = '@';
	/* domain of labels "aaa...a." to reach exactly 254 address bytes */
	for (size_t i = 7 + 65; i < 7 + 254; i++)
		h[i] = ((i - 72) % 10 == 9) ? '.' : 'b';
	h[7 + 253] = 'c';
	h[7 + 254] = '\0';
	assert_int_equal(check(h), CDS_OK);
	h[7 + 254] = 'd';
	h[7 + 255] = '\0';
	assert_int_equal(check(h), CDS_ERR_INVALID);
}

static void test_b64(void **state)
{
	uint8_t bin[64], out[64];
	char txt[CDS_B64_LEN(64)];
	size_t n;
	struct cds_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 37);
	cds_b64_encode(txt, bin, 32);
	assert_int_equal(strlen(txt), 44);
	assert_int_equal(cds_b64_decode_exact(out, 32, txt, 44, "key", &err), CDS_OK);
	assert_memory_equal(out, bin, 32);
	/* wrong length, missing padding, bad characters, trailing bytes */
	assert_int_equal(cds_b64_decode_exact(out, 31, txt, 44, "key", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_b64_decode_exact(out, 32, txt, 43, "key", &err),
			 CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "key must be 32 bytes"));
	assert_int_equal(cds_b64_decode(out, 64, &n, "AAA*", 4, &err), CDS_ERR_INVALID);
	assert_int_equal(cds_b64_decode(out, 64, &n, "AA==AA==", 8, &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_b64_decode(out, 64, &n, "AA==", 4, &err), CDS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cds_b64_decode(out, 2, &n, "AAAAAAAA", 8, &err),
			 CDS_ERR_INVALID);
}

static void test_hex(void **state)
{
	uint8_t b[2];
	char s[5];
	struct cds_error err;

	(void)state;
	assert_int_equal(cds_hex_decode_exact(b, 2, "0aFf", 4, "id", &err), CDS_OK);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(b[1], 0xff);
	cds_hex_encode(s, b, 2);
	assert_string_equal(s, "0aff");
	assert_int_equal(cds_hex_decode_exact(b, 2, "0aF", 3, "id", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_hex_decode_exact(b, 2, "0aFg", 4, "id", &err),
			 CDS_ERR_INVALID);
}

static void test_time(void **state)
{
	char s[CDS_RFC3339_BYTES], day[11];
	int64_t us;
	struct cds_error err;

	(void)state;
	assert_int_equal(cds_time_parse(&us, "2026-11-27T23:59:59.999999Z", &err),
			 CDS_OK);
	cds_time_format(s, us);
	assert_string_equal(s, "2026-11-27T23:59:59.999999Z");
	cds_time_day(day, us);
	assert_string_equal(day, "2026-11-27");
	cds_time_day(day, us + 2);
	assert_string_equal(day, "2026-11-28");
	assert_int_equal(cds_time_day_start(us + 2), us + 1);
	assert_int_equal(cds_time_parse(&us, "1970-01-01T01:00:00+01:00", &err),
			 CDS_OK);
	assert_int_equal(us, 0);
	assert_int_equal(cds_time_parse(&us, "2024-02-29", &err), CDS_OK);
	assert_int_equal(us, INT64_C(1709164800) * 1000000);
	assert_int_equal(cds_time_parse(&us, "2023-02-29", &err), CDS_ERR_INVALID);
	assert_int_equal(cds_time_parse(&us, "2026-13-01T00:00:00Z", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_time_parse(&us, "2026-11-27T24:00:00Z", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_time_parse(&us, "2026-11-27T12:00:00", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_time_parse(&us, "yesterday", &err), CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "'yesterday'"));
}

static void test_buf(void **state)
{
	struct cds_buf b;
	size_t n;
	uint8_t *p;

	(void)state;
	cds_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(cds_buf_appendf(&b, "%d,", i), CDS_OK);
	assert_int_equal(b.len, strlen((char *)b.data));
	assert_memory_equal(b.data, "0,1,2,", 6);
	p = cds_buf_steal(&b, &n);
	assert_null(b.data);
	assert_int_equal(n, strlen((char *)p));
	free(p);
	cds_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handle_valid),
		cmocka_unit_test(test_handle_invalid),
		cmocka_unit_test(test_handle_mailto_length),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_buf),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
