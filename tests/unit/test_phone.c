/*
 * test_phone.c: phone normalisation over libphonenumber (normalize.c,
 * phone_shim.cc): national, international (+, 00, 011, 010) and vanity
 * forms in six regions, invalid numbers with their reasons, regions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addressbook/addressbook.h"

struct ok_case {
	const char *region, *raw, *handle;
};

static const struct ok_case valid[] = {
	/* United States: national, +1, 1-prefixed, 011 out, vanity, URI. */
	{ "US", "(201) 555-0123", "tel:+12015550123" },
	{ "US", "201.555.0123", "tel:+12015550123" },
	{ "US", "1 (201) 555-0123", "tel:+12015550123" },
	{ "US", "+1 201 555 0123", "tel:+12015550123" },
	{ "US", "  +1 201 555 0123  ", "tel:+12015550123" },
	{ "US", "201-555-0123 ext. 44", "tel:+12015550123" },
	{ "US", "tel:+1-201-555-0123;ext=5", "tel:+12015550123" },
	{ "US", "011 44 20 7946 0958", "tel:+442079460958" },
	{ "US", "0044 20 7946 0958", "tel:+442079460958" },
	{ "US", "1-800-FLOWERS", "tel:+18003569377" },
	{ "US", "1-800-flowers", "tel:+18003569377" },
	{ "US", "+1 800 FLOWERS", "tel:+18003569377" },
	/* Full-width and Arabic-Indic digits are digits too. */
	{ "US", "\xef\xbc\x8b\xef\xbc\x91 \xef\xbc\x92\xef\xbc\x90\xef\xbc\x91 "
		"\xef\xbc\x95\xef\xbc\x95\xef\xbc\x95 \xef\xbc\x90\xef\xbc\x91"
		"\xef\xbc\x92\xef\xbc\x93", "tel:+12015550123" },
	/* United Kingdom: trunk 0, 00 out, vanity. */
	{ "GB", "020 7946 0958", "tel:+442079460958" },
	{ "GB", "+44 20 7946 0958", "tel:+442079460958" },
	{ "GB", "+44 (0)20 7946 0958", "tel:+442079460958" },
	{ "GB", "0044 20 7946 0958", "tel:+442079460958" },
	{ "GB", "07400 123456", "tel:+447400123456" },
	{ "GB", "00 1 201 555 0123", "tel:+12015550123" },
	{ "GB", "0800 FLOWERS", "tel:+448003569377" },
	/* Germany. */
	{ "DE", "030 1234567", "tel:+49301234567" },
	{ "DE", "+49 30 1234567", "tel:+49301234567" },
	{ "DE", "0049 30 1234567", "tel:+49301234567" },
	{ "DE", "0151 23456789", "tel:+4915123456789" },
	{ "DE", "00 1 201 555 0123", "tel:+12015550123" },
	/* India: with and without the trunk 0. */
	{ "IN", "098765 43210", "tel:+919876543210" },
	{ "IN", "98765 43210", "tel:+919876543210" },
	{ "IN", "+91 98765 43210", "tel:+919876543210" },
	{ "IN", "0091 98765 43210", "tel:+919876543210" },
	{ "IN", "011 2345 6789", "tel:+911123456789" },
	/* Brazil: carrier-coded 00xx out, and a bare 00. */
	{ "BR", "(11) 98765-4321", "tel:+5511987654321" },
	{ "BR", "+55 11 98765-4321", "tel:+5511987654321" },
	{ "BR", "0055 11 98765-4321", "tel:+5511987654321" },
	{ "BR", "0021 44 20 7946 0958", "tel:+442079460958" },
	{ "BR", "00 44 20 7946 0958", "tel:+442079460958" },
	/* Japan: 010 out, 00 as well, vanity. */
	{ "JP", "03-1234-5678", "tel:+81312345678" },
	{ "JP", "090-1234-5678", "tel:+819012345678" },
	{ "JP", "+81 90-1234-5678", "tel:+819012345678" },
	{ "JP", "010 81 3 1234 5678", "tel:+81312345678" },
	{ "JP", "0081 3 1234 5678", "tel:+81312345678" },
	{ "JP", "010 1 201 555 0123", "tel:+12015550123" },
	{ "JP", "0120-FLOWER", "tel:+81120356937" },
};

struct bad_case {
	const char *region, *raw, *reason;
};

static const struct bad_case invalid[] = {
	{ "US", "(555) 123-4567", "'(555) 123-4567': not a valid phone number for region US" },
	{ "US", "555-0123", "not a valid phone number for region US" },
	{ "US", "+1 201 555 01234567", "not a valid phone number for region US" },
	{ "US", "+44 20 7946", "not a valid phone number for region GB" },
	{ "US", "+1 800 MICROSOFT", "not a valid phone number for region US" },
	{ "US", "+999 1234567", "'+999 1234567': unknown country calling code" },
	{ "US", "hello", "'hello': not a phone number" },
	{ "US", "", "'': not a phone number" },
	{ "US", "+", "not a phone number" },
	{ "US", "+44 1", "'+44 1': too short for a phone number" },
	{ "US", "011 4", "too short for a phone number" },
	{ "US", "12345678901234567890", "too long for a phone number" },
	{ "GB", "020 7946", "not a valid phone number for region GB" },
	{ "GB", "011 1 201 555 0123", "not a valid phone number for region GB" },
	{ "DE", "030 12", "not a valid phone number for region DE" },
	{ "IN", "12345", "not a valid phone number for region IN" },
	{ "BR", "11 98765", "not a valid phone number for region BR" },
	{ "JP", "03-1234", "not a valid phone number for region JP" },
	{ "US", "201\xff" "5550123", "phone number is not valid UTF-8" },
};

static void test_valid_numbers(void **state)
{
	struct cds_error err;
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		cds_error_clear(&err);
		if (cds_phone_normalize(out, sizeof(out), valid[i].raw,
					valid[i].region, &err) != CDS_OK)
			fail_msg("%s '%s': %s", valid[i].region, valid[i].raw,
				 err.msg);
		if (strcmp(out, valid[i].handle) != 0)
			fail_msg("%s '%s': got %s, want %s", valid[i].region,
				 valid[i].raw, out, valid[i].handle);
	}
}

static void test_invalid_numbers(void **state)
{
	struct cds_error err;
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		cds_error_clear(&err);
		strcpy(out, "unchanged");
		if (cds_phone_normalize(out, sizeof(out), invalid[i].raw,
					invalid[i].region, &err) != CDS_ERR_INVALID)
			fail_msg("%s '%s' accepted as %s", invalid[i].region,
				 invalid[i].raw, out);
		if (!strstr(err.msg, invalid[i].reason))
			fail_msg("%s '%s': '%s' does not say '%s'",
				 invalid[i].region, invalid[i].raw, err.msg,
				 invalid[i].reason);
		assert_string_equal(out, "");
	}
}

/* Long input is refused before libphonenumber sees it, quoted briefly. */
static void test_long_input(void **state)
{
	char raw[400], out[32];
	struct cds_error err;

	(void)state;
	memset(raw, '1', sizeof(raw) - 1);
	raw[sizeof(raw) - 1] = '\0';
	cds_error_clear(&err);
	assert_int_equal(cds_phone_normalize(out, sizeof(out), raw, "US", &err),
			 CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "...': too long for a phone number"));
	assert_true(strlen(err.msg) < 100);
}

static void test_output_buffer(void **state)
{
	struct cds_error err;
	char out[21];

	(void)state;
	/* "tel:+" + 15 digits + NUL fits exactly; one byte less does not. */
	assert_int_equal(cds_phone_normalize(out, sizeof(out), "201-555-0123",
					     "US", &err), CDS_OK);
	assert_int_equal(cds_phone_normalize(out, sizeof(out) - 1, "201-555-0123",
					     "US", &err), CDS_ERR_INVALID);
	assert_int_equal(cds_phone_normalize(out, sizeof(out), NULL, "US", &err),
			 CDS_ERR_INVALID);
}

static void test_regions(void **state)
{
	static const char *bad[] = { "us", "USA", "U", "", "1A", "U1", "ZZ", "XX" };
	struct cds_error err;
	char out[32];
	size_t i;

	(void)state;
	assert_int_equal(cds_region_check("US", &err), CDS_OK);
	assert_int_equal(cds_region_check("JP", &err), CDS_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cds_error_clear(&err);
		assert_int_equal(cds_region_check(bad[i], &err), CDS_ERR_INVALID);
		assert_non_null(strstr(err.msg, "region"));
	}
	assert_int_equal(cds_region_check("us", &err), CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "'us' must be two upper-case letters"));
	assert_int_equal(cds_region_check("ZZ", &err), CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "unknown region 'ZZ'"));
	assert_int_equal(cds_phone_normalize(out, sizeof(out), "201-555-0123",
					     "usa", &err), CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "'usa'"));
}

/* LC_ALL beats LC_CTYPE beats LANG; no territory or an unknown one: US. */
static void test_default_region(void **state)
{
	struct cds_error err;
	char out[32];

	(void)state;
	unsetenv("LC_ALL");
	unsetenv("LC_CTYPE");
	unsetenv("LANG");
	assert_string_equal(cds_default_region(), "US");
	setenv("LANG", "en_GB.UTF-8", 1);
	assert_string_equal(cds_default_region(), "GB");
	setenv("LC_CTYPE", "de_DE@euro", 1);
	assert_string_equal(cds_default_region(), "DE");
	setenv("LC_ALL", "ja_jp", 1);
	assert_string_equal(cds_default_region(), "JP");
	setenv("LC_ALL", "C", 1);
	assert_string_equal(cds_default_region(), "US");
	setenv("LC_ALL", "", 1); /* empty means unset */
	assert_string_equal(cds_default_region(), "DE");
	setenv("LC_CTYPE", "xx_QQ.UTF-8", 1);
	assert_string_equal(cds_default_region(), "US");
	setenv("LC_CTYPE", "pt_BRX", 1);
	assert_string_equal(cds_default_region(), "US");
	/* A NULL region means the default one. */
	setenv("LC_CTYPE", "en_IN", 1);
	assert_int_equal(cds_phone_normalize(out, sizeof(out), "98765 43210", NULL,
					     &err), CDS_OK);
	assert_string_equal(out, "tel:+919876543210");
	unsetenv("LC_ALL");
	unsetenv("LC_CTYPE");
	unsetenv("LANG");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_numbers),
		cmocka_unit_test(test_invalid_numbers),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_output_buffer),
		cmocka_unit_test(test_regions),
		cmocka_unit_test(test_default_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
