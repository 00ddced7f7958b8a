/*
 * test_vcard.c: vCard 2.1/3.0/4.0 address books (lib/addressbook/vcard*.c),
 * through the public parser and the fixtures in tests/data/addressbooks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abtest.h"

static const char *parse_fail(const char *data, size_t len, enum cds_err code)
{
	static struct cds_error err;
	struct cds_addressbook *ab = NULL;

	cds_error_clear(&err);
	assert_int_equal(cds_addressbook_parse(&ab, data, len ? len : strlen(data),
					       CDS_AB_VCARD, "US", &err),
			 code);
	assert_null(ab);
	assert_true(err.msg[0] != '\0');
	return err.msg;
}

/* 2.1: QUOTED-PRINTABLE with a soft line break, CHARSET UTF-8 and
 * ISO-8859-1, bare parameters, PREF first, an unsupported CHARSET. */
static void test_v21(void **state)
{
	struct cds_addressbook *ab = abt_load("v21.vcf", "DE");
	const struct cds_contact *c;

	(void)state;
	assert_int_equal(ab->n, 3);
	c = abt_find(ab, "J\xc3\xb6rg M\xc3\xbcller");
	ABT_HANDLES(c, "tel:+4915123456789", "tel:+49301234567",
		    "mailto:joerg@example.de");
	assert_int_equal(c->n_problems, 0);
	c = abt_find(ab, "Mar\xc3\xad" "a Gonz\xc3\xa1lez");
	ABT_HANDLES(c, "tel:+49307654321");
	/* N in Shift_JIS is reported; FN still names the card. */
	c = abt_find(ab, "Taro");
	ABT_HANDLES(c, "tel:+819012345678");
	abt_problem(c, "line 17: N in CHARSET 'SHIFT_JIS' not read");
	cds_addressbook_free(ab);
}

/* 3.0 as Apple writes it: groups, TYPE lists, type=pref, folds, escapes. */
static void test_v30(void **state)
{
	struct cds_addressbook *ab = abt_load("v30.vcf", "US");
	const struct cds_contact *c;

	(void)state;
	assert_int_equal(ab->n, 2);
	c = abt_find(ab, "Johnny Appleseed");
	ABT_HANDLES(c, "tel:+12015550199", "mailto:johnny.appleseed@work.example",
		    "tel:+12015550123", "mailto:johnny@example.com");
	assert_int_equal(c->n_problems, 0);
	/* N joined as "Given Family"; \, and \; unescaped; folded TEL. */
	c = abt_find(ab, "Se;n O'Brien, Jr.");
	ABT_HANDLES(c, "tel:+12025550143");
	cds_addressbook_free(ab);
}

/* 4.0: tel: URIs lose scheme and parameters; PREF=1 before PREF=2. */
static void test_v40(void **state)
{
	struct cds_addressbook *ab = abt_load("v40.vcf", "US");
	const struct cds_contact *c;

	(void)state;
	assert_int_equal(ab->n, 1);
	c = abt_find(ab, "Carol Danvers");
	ABT_HANDLES(c, "tel:+12125550100", "tel:+14155550132", "tel:+442079460958",
		    "mailto:carol@example.org");
	assert_int_equal(c->n_problems, 0);
	cds_addressbook_free(ab);
}

/* LF line ends, tab folds, no VERSION, blank lines between cards. */
static void test_folded_lf(void **state)
{
	struct cds_addressbook *ab = abt_load("folded_lf.vcf", "US");

	(void)state;
	assert_int_equal(ab->n, 2);
	ABT_HANDLES(abt_find(ab, "Dana Scully"), "tel:+12025550143");
	ABT_HANDLES(abt_find(ab, "Fox Mulder"), "mailto:fox@example.org");
	cds_addressbook_free(ab);
}

/* Lone CR line ends (classic Mac OS) and a BOM are read too. */
static void test_cr_and_bom(void **state)
{
	struct cds_addressbook *ab = abt_parse(
		"\xef\xbb\xbf" "BEGIN:VCARD\rFN:Old Mac\rTEL:201-555-0123\rEND:VCARD\r",
		0, CDS_AB_AUTO, "US");

	(void)state;
	assert_int_equal(ab->n, 1);
	ABT_HANDLES(abt_find(ab, "Old Mac"), "tel:+12015550123");
	cds_addressbook_free(ab);
}

/* FN wins over N wherever it comes; N alone is joined; none gives "". */
static void test_names(void **state)
{
	struct cds_addressbook *ab = abt_parse(
		"BEGIN:VCARD\nVERSION:3.0\nN:Doe;Jane;Q;Dr.;PhD\nFN:Jane Doe\n"
		"EMAIL:jane@example.com\nEND:VCARD\n"
		"BEGIN:VCARD\nVERSION:3.0\nN:Roe;Richard,Rick;;;\n"
		"EMAIL:rick@example.com\nEND:VCARD\n"
		"BEGIN:VCARD\nVERSION:3.0\nFN:  \nN:;;;;\n"
		"EMAIL:anon@example.com\nEND:VCARD\n"
		"BEGIN:VCARD\nVERSION:3.0\nN:Solo;;;;\nFN:\tSpaced   \\n Out \n"
		"EMAIL:solo@example.com\nEND:VCARD\n",
		0, CDS_AB_VCARD, "US");

	(void)state;
	assert_int_equal(ab->n, 4);
	assert_string_equal(ab->contacts[0].name, "Jane Doe");
	assert_string_equal(ab->contacts[1].name, "Richard Rick Roe");
	assert_string_equal(ab->contacts[2].name, "");
	ABT_HANDLES(&ab->contacts[2], "mailto:anon@example.com");
	assert_string_equal(ab->contacts[3].name, "Spaced Out");
	cds_addressbook_free(ab);
}

/* A '=' at the end of a line continues it only for QUOTED-PRINTABLE. */
static void test_qp_only_joins_qp(void **state)
{
	struct cds_addressbook *ab = abt_parse(
		"BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE:sum=\r\nTEL;HOME:201 555 0123\r\n"
		"FN;ENCODING=QUOTED-PRINTABLE:A=\r\n=3D=\r\nB\r\nEND:VCARD\r\n",
		0, CDS_AB_VCARD, "US");

	(void)state;
	ABT_HANDLES(&ab->contacts[0], "tel:+12015550123");
	assert_string_equal(ab->contacts[0].name, "A=B");
	cds_addressbook_free(ab);
}

/* Quoted parameter values may hold ':' and ';'. */
static void test_quoted_params(void **state)
{
	struct cds_addressbook *ab = abt_parse(
		"BEGIN:VCARD\nVERSION:4.0\nFN:Q\n"
		"TEL;TYPE=\"cell;x:y\";PREF=1:tel:+12015550123\nEND:VCARD\n",
		0, CDS_AB_VCARD, "US");

	(void)state;
	ABT_HANDLES(&ab->contacts[0], "tel:+12015550123");
	cds_addressbook_free(ab);
}

/* Values we cannot read become problems, and the card stays. */
static void test_value_problems(void **state)
{
	struct cds_addressbook *ab = abt_parse(
		"BEGIN:VCARD\nVERSION:2.1\nFN:P\nTEL;ENCODING=BASE64:MjAxNTU1MDEyMw==\n"
		"TEL;CELL:(555) 12\nEMAIL:b\xc3\xa9@example.org\nEMAIL:no-at-sign\n"
		"END:VCARD\n", 0, CDS_AB_VCARD, "US");
	const struct cds_contact *c;

	(void)state;
	c = abt_find(ab, "P");
	assert_int_equal(c->n_handles, 0);
	assert_int_equal(c->n_problems, 4);
	abt_problem(c, "line 4: base64-encoded TEL not supported");
	abt_problem(c, "'(555) 12': not a valid phone number for region US");
	abt_problem(c, "non-ASCII e-mail address not supported");
	abt_problem(c, "'no-at-sign': e-mail address has no '@'");
	cds_addressbook_free(ab);
}

static void test_truncated(void **state)
{
	const char *msg = abt_fail("truncated.vcf", "US", CDS_ERR_INVALID);

	(void)state;
	assert_non_null(strstr(msg, "line 6:"));
	assert_non_null(strstr(msg, "no END:VCARD"));
}

static void test_nesting(void **state)
{
	const char *msg = abt_fail("nested.vcf", "US", CDS_ERR_INVALID);

	(void)state;
	assert_non_null(strstr(msg, "line 5: BEGIN:VCARD inside the card begun at line 1"));
	msg = abt_fail("end_without_begin.vcf", "US", CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 4: END:VCARD without BEGIN:VCARD"));
	msg = parse_fail("BEGIN:VCARD\nFN:x\nEND:VCALENDAR\n", 0, CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 3: END:VCALENDAR inside the card"));
	msg = parse_fail("BEGIN:VCALENDAR\nEND:VCALENDAR\n", 0, CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 1: BEGIN:VCALENDAR is not a vCard"));
}

static void test_structure_errors(void **state)
{
	static const char nul[] = "BEGIN:VCARD\nFN:a\0b\nEND:VCARD\n";
	const char *msg;

	(void)state;
	msg = parse_fail("FN:Loose\nBEGIN:VCARD\nEND:VCARD\n", 0, CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 1: 'FN:Loose' outside BEGIN:VCARD"));
	msg = parse_fail("BEGIN:VCARD\nVERSION:5.0\nEND:VCARD\n", 0,
			 CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 2: unsupported vCard VERSION '5.0'"));
	msg = parse_fail("BEGIN:VCARD\nno colon here\nEND:VCARD\n", 0,
			 CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 2: 'no colon here' is not a vCard property"));
	msg = parse_fail("BEGIN:VCARD\nT(E)L:1\nEND:VCARD\n", 0, CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 2: 'T(E)L' is not a vCard property name"));
	msg = parse_fail("\n\n  \n", 0, CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "no vCard found"));
	msg = parse_fail(nul, sizeof(nul) - 1, CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 2: NUL byte"));
}

static void test_invalid_utf8(void **state)
{
	const char *msg = abt_fail("invalid_utf8.vcf", "US", CDS_ERR_INVALID);

	(void)state;
	assert_non_null(strstr(msg, "line 7: invalid UTF-8 in FN"));
	/* Bytes that QUOTED-PRINTABLE decodes are checked as well. */
	msg = parse_fail("BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=UTF-8;"
			 "ENCODING=QUOTED-PRINTABLE:=C3=28;;;;\nEND:VCARD\n", 0,
			 CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 3: invalid UTF-8 in N"));
	/* Overlong forms and surrogates are not UTF-8 either. */
	parse_fail("BEGIN:VCARD\nFN:\xc0\xaf\nEND:VCARD\n", 0, CDS_ERR_INVALID);
	parse_fail("BEGIN:VCARD\nFN:\xed\xa0\x80\nEND:VCARD\n", 0, CDS_ERR_INVALID);
}

/* A 10 MB line, and a line over 1 MiB made only of folds. */
static void test_long_lines(void **state)
{
	size_t big = 10u << 20, i, n;
	char *s = malloc(big + 64);
	const char *msg;

	(void)state;
	assert_non_null(s);
	n = (size_t)sprintf(s, "BEGIN:VCARD\r\nFN:");
	memset(s + n, 'a', big);
	n += big;
	n += (size_t)sprintf(s + n, "\r\nEND:VCARD\r\n");
	msg = parse_fail(s, n, CDS_ERR_TOO_LARGE);
	assert_non_null(strstr(msg, "line 2: line longer than 1 MiB"));

	n = (size_t)sprintf(s, "BEGIN:VCARD\nNOTE:");
	for (i = 0; i < (1u << 20) + 10; i++) {
		memcpy(s + n, "x\n ", 3);
		n += 3;
	}
	n += (size_t)sprintf(s + n, "x\nEND:VCARD\n");
	msg = parse_fail(s, n, CDS_ERR_TOO_LARGE);
	assert_non_null(strstr(msg, "line 2:"));
	free(s);
}

/* Random bytes, as vCard and sniffed: an error, never a crash. */
static void test_binary_garbage(void **state)
{
	struct cds_addressbook *ab;
	struct cds_error err;
	uint32_t x = 0x9e3779b9u;
	char buf[65536];
	size_t i;
	int round;

	(void)state;
	for (round = 0; round < 4; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (char)x;
		}
		if (round & 1)
			memcpy(buf, "BEGIN:VCARD\r\n", 13);
		ab = NULL;
		cds_error_clear(&err);
		assert_int_not_equal(cds_addressbook_parse(&ab, buf, sizeof(buf),
							   CDS_AB_VCARD, "US", &err),
				     CDS_OK);
		assert_null(ab);
		assert_true(strlen(err.msg) > 0);
		assert_true(cds_addressbook_parse(&ab, buf, sizeof(buf), CDS_AB_AUTO,
						  "US", &err) != CDS_OK);
		assert_null(ab);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v21),
		cmocka_unit_test(test_v30),
		cmocka_unit_test(test_v40),
		cmocka_unit_test(test_folded_lf),
		cmocka_unit_test(test_cr_and_bom),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_qp_only_joins_qp),
		cmocka_unit_test(test_quoted_params),
		cmocka_unit_test(test_value_problems),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_binary_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
