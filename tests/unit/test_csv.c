/*
 * test_csv.c: CSV address books (lib/addressbook/csv*.c): Google, Outlook and
 * generic exports from tests/data/addressbooks, RFC 4180 details, and bad
 * input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abtest.h"
#include "addressbook/csv.h"

static const char *parse_fail(const char *data, size_t len, enum cds_err code)
{
	static struct cds_error err;
	struct cds_addressbook *ab = NULL;

	cds_error_clear(&err);
	assert_int_equal(cds_addressbook_parse(&ab, data, len ? len : strlen(data),
					       CDS_AB_CSV, "US", &err),
			 code);
	assert_null(ab);
	assert_true(err.msg[0] != '\0');
	return err.msg;
}

/* Google's older export: "Name", "* Home" marks the primary value, " ::: "
 * separates values, a note with a quoted line break and comma. */
static void test_google(void **state)
{
	struct cds_addressbook *ab = abt_load("google.csv", "US");
	const struct cds_contact *c;

	(void)state;
	assert_int_equal(ab->n, 3);
	c = abt_find(ab, "Ana Lima");
	ABT_HANDLES(c, "mailto:ana@example.com", "tel:+12015550123",
		    "tel:+5511987654321");
	c = abt_find(ab, "Raj Patel"); /* no "Name": Given + Family */
	ABT_HANDLES(c, "tel:+919876543210", "tel:+14155550132");
	assert_int_equal(c->n_problems, 0);
	c = abt_find(ab, "Nobody");    /* kept, though it has no handle */
	assert_int_equal(c->n_handles, 0);
	cds_addressbook_free(ab);
}

/* Google's newer export: First/Middle/Last Name, "- Label" columns. */
static void test_google_new(void **state)
{
	struct cds_addressbook *ab = abt_load("google_new.csv", "US");

	(void)state;
	assert_int_equal(ab->n, 1);
	ABT_HANDLES(abt_find(ab, "Rear Adm. Grace Brewster Hopper"),
		    "mailto:grace@navy.example", "tel:+442079460958",
		    "tel:+12025550143");
	cds_addressbook_free(ab);
}

/* Outlook: every field quoted, CRLF, "Primary Phone" first, fax skipped. */
static void test_outlook(void **state)
{
	struct cds_addressbook *ab = abt_load("outlook.csv", "GB");
	const struct cds_contact *c;

	(void)state;
	assert_int_equal(ab->n, 2);
	c = abt_find(ab, "Ada Lovelace");
	ABT_HANDLES(c, "tel:+442079460958", "tel:+447400123456",
		    "mailto:ada@example.co.uk", "mailto:ada@analytical.example");
	assert_int_equal(c->n_problems, 0);
	c = abt_find(ab, "Charles Babbage");
	assert_int_equal(c->n_handles, 0);
	abt_problem(c, "'not known': not a phone number");
	cds_addressbook_free(ab);
}

/* Generic names, ';' separator, BOM, a quoted line break, a blank row. */
static void test_generic_semicolon(void **state)
{
	struct cds_addressbook *ab = abt_load("generic_semicolon.csv", "DE");

	(void)state;
	assert_int_equal(ab->n, 2);
	ABT_HANDLES(abt_find(ab, "Zo\xc3\xab Zimmermann"), "tel:+4915123456789",
		    "mailto:zoe@example.de");
	ABT_HANDLES(abt_find(ab, "Yusuf"), "tel:+902125551212");
	cds_addressbook_free(ab);
}

/* "" escapes, an exact duplicate row, a handle shared by two people. */
static void test_generic(void **state)
{
	struct cds_addressbook *ab = abt_load("generic.csv", "US");
	const struct cds_contact *c;

	(void)state;
	assert_int_equal(ab->n, 4);
	ABT_HANDLES(abt_find(ab, "Bob \"The Builder\""), "tel:+12015550199");
	ABT_HANDLES(abt_find(ab, "Carol"), "mailto:carol@example.org");
	c = abt_find(ab, "Alice Again");
	assert_int_equal(c->n_handles, 0);
	abt_problem(c, "'tel:+12015550123': also on contact 1 ('Alice'), kept there");
	cds_addressbook_free(ab);
}

static void test_rfc4180_details(void **state)
{
	struct cds_addressbook *ab;

	(void)state;
	/* CRLF, a quoted CRLF, extra and missing fields, no final newline. */
	ab = abt_parse("Name,Phone,Email\r\n\"A\r\nB\",201-555-0123,,extra,more\r\n"
		       "C,\"201-555-0199\"\r\nD", 0, CDS_AB_CSV, "US");
	assert_int_equal(ab->n, 3);
	ABT_HANDLES(abt_find(ab, "A B"), "tel:+12015550123");
	ABT_HANDLES(abt_find(ab, "C"), "tel:+12015550199");
	assert_int_equal(abt_find(ab, "D")->n_handles, 0);
	cds_addressbook_free(ab);
	/* Tab separator; a stray quote and text after a closing quote kept. */
	ab = abt_parse("name\ttel\n5'10\" Joe\t\"201\"-555-0123\n", 0, CDS_AB_CSV,
		       "US");
	ABT_HANDLES(abt_find(ab, "5'10\" Joe"), "tel:+12015550123");
	cds_addressbook_free(ab);
	/* A trailing separator at the very end of the data. */
	ab = abt_parse("name,email,\nE,e@example.org,", 0, CDS_AB_CSV, "US");
	ABT_HANDLES(abt_find(ab, "E"), "mailto:e@example.org");
	cds_addressbook_free(ab);
	/* A header alone is an empty address book, sniffed as CSV. */
	ab = abt_parse("\n\nPhone\n\n", 0, CDS_AB_AUTO, "US");
	assert_int_equal(ab->n, 0);
	cds_addressbook_free(ab);
}

static void test_header_errors(void **state)
{
	const char *msg;
	char *big;
	size_t i, n;

	(void)state;
	msg = abt_fail("no_handle_columns.csv", "US", CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 1: the header names no phone or e-mail column"));
	msg = parse_fail("", 0, CDS_ERR_INVALID);
	msg = parse_fail("\r\n  \r\n", 0, CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "needs a header row"));
	/* More than CDS_CSV_MAX_FIELDS columns. */
	big = malloc(4 * (CDS_CSV_MAX_FIELDS + 2));
	assert_non_null(big);
	for (i = n = 0; i < CDS_CSV_MAX_FIELDS + 1; i++)
		n += (size_t)sprintf(big + n, "%s", i ? ",tel" : "tel");
	msg = parse_fail(big, n, CDS_ERR_TOO_LARGE);
	assert_non_null(strstr(msg, "more than 1000 columns"));
	free(big);
}

static void test_bad_rows(void **state)
{
	static const char nul[] = "phone\n201\0" "555\n";
	struct cds_addressbook *ab;
	const char *msg;
	size_t big = 10u << 20, n;
	char *s;

	(void)state;
	msg = abt_fail("unclosed_quote.csv", "US", CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 2: quoted field is not closed"));
	msg = parse_fail(nul, sizeof(nul) - 1, CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 2: NUL byte"));
	/* Invalid UTF-8 in a column we read names the line and the column... */
	msg = parse_fail("Name,Phone\nok,201-555-0123\n\xff\xfe,201-555-0199\n", 0,
			 CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "line 3: invalid UTF-8 in column 'Name'"));
	/* ...and in a column we ignore does no harm. */
	ab = abt_parse("Name,Notes,Phone\nok,caf\xe9,201-555-0123\n", 0, CDS_AB_CSV,
		       "US");
	ABT_HANDLES(abt_find(ab, "ok"), "tel:+12015550123");
	cds_addressbook_free(ab);
	/* A 10 MB row, quoted and not. */
	s = malloc(big + 64);
	assert_non_null(s);
	n = (size_t)sprintf(s, "name,phone\nx,");
	memset(s + n, '1', big);
	n += big;
	msg = parse_fail(s, n, CDS_ERR_TOO_LARGE);
	assert_non_null(strstr(msg, "line 2: row longer than 1 MiB"));
	s[13] = '"';
	s[n++] = '"';
	msg = parse_fail(s, n, CDS_ERR_TOO_LARGE);
	assert_non_null(strstr(msg, "line 2: row longer than 1 MiB"));
	free(s);
}

/* Header names as exports spell them. */
static void test_classify(void **state)
{
	static const struct {
		const char *h;
		enum cds_csv_role role;
		unsigned num;
	} table[] = {
		{ "Name", CDS_CSV_FULL_NAME, 0 },
		{ " full name ", CDS_CSV_FULL_NAME, 0 },
		{ "Given Name", CDS_CSV_GIVEN, 0 },
		{ "First Name", CDS_CSV_GIVEN, 0 },
		{ "Additional Name", CDS_CSV_MIDDLE, 0 },
		{ "Middle Name", CDS_CSV_MIDDLE, 0 },
		{ "Family Name", CDS_CSV_FAMILY, 0 },
		{ "LAST NAME", CDS_CSV_FAMILY, 0 },
		{ "Name Prefix", CDS_CSV_PREFIX, 0 },
		{ "Suffix", CDS_CSV_SUFFIX, 0 },
		{ "Phone 1 - Value", CDS_CSV_PHONE, 1 },
		{ "Phone 12 - Type", CDS_CSV_PHONE_TYPE, 12 },
		{ "Phone 2 - Label", CDS_CSV_PHONE_TYPE, 2 },
		{ "E-mail 3 - Value", CDS_CSV_EMAIL, 3 },
		{ "E-mail 1 - Type", CDS_CSV_EMAIL_TYPE, 1 },
		{ "E-mail Address", CDS_CSV_EMAIL, 0 },
		{ "E-mail 2 Address", CDS_CSV_EMAIL, 2 },
		{ "Mobile Phone", CDS_CSV_PHONE, 0 },
		{ "Home Phone 2", CDS_CSV_PHONE, 0 },
		{ "Assistant's Phone", CDS_CSV_PHONE, 0 },
		{ "Primary Phone", CDS_CSV_PHONE, 0 },
		{ "phone", CDS_CSV_PHONE, 0 },
		{ "Mobile", CDS_CSV_PHONE, 0 },
		{ "tel", CDS_CSV_PHONE, 0 },
		{ "Telephone", CDS_CSV_PHONE, 0 },
		{ "email", CDS_CSV_EMAIL, 0 },
		{ "E-Mail", CDS_CSV_EMAIL, 0 },
		{ "Business Fax", CDS_CSV_IGNORE, 0 },
		{ "E-mail Display Name", CDS_CSV_IGNORE, 0 },
		{ "E-mail Type", CDS_CSV_IGNORE, 0 },
		{ "Phonetic First Name", CDS_CSV_IGNORE, 0 },
		{ "Organization Name", CDS_CSV_IGNORE, 0 },
		{ "Phone - Value", CDS_CSV_IGNORE, 0 },
		{ "Phone x - Value", CDS_CSV_IGNORE, 0 },
		{ "", CDS_CSV_IGNORE, 0 },
	};
	struct cds_csv_column col;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		cds_csv_classify(&col, table[i].h, strlen(table[i].h));
		if (col.role != table[i].role || col.num != table[i].num)
			fail_msg("'%s': role %d num %u, want %d %u", table[i].h,
				 (int)col.role, col.num, (int)table[i].role,
				 table[i].num);
	}
	cds_csv_classify(&col, "Primary Phone", 13);
	assert_int_equal(col.pref, CDS_RAW_PREF_TOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_google),
		cmocka_unit_test(test_google_new),
		cmocka_unit_test(test_outlook),
		cmocka_unit_test(test_generic_semicolon),
		cmocka_unit_test(test_generic),
		cmocka_unit_test(test_rfc4180_details),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
