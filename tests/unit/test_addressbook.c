/*
 * test_addressbook.c: the address book API (lib/addressbook/addressbook.c,
 * merge.c, normalize.c): merging, e-mail normalisation, format choice,
 * files and stdin, limits, and the example address books of examples/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abtest.h"
#include "addressbook/rawbook.h"
#include "addressbook/textconv.h"

/* Exact duplicates collapse; a shared handle stays on the first contact; a
 * number written twice on one card is kept once; empty contacts stay. */
static void test_merge(void **state)
{
	struct cds_addressbook *ab = abt_parse(
		"BEGIN:VCARD\nFN:Ann\nTEL:(201) 555-0123\nTEL:+1 201 555 0123\n"
		"EMAIL:ann@example.org\nEND:VCARD\n"
		"BEGIN:VCARD\nFN:Ann\nTEL:201-555-0123\nEMAIL:ANN@example.org\n"
		"END:VCARD\n"
		"BEGIN:VCARD\nFN:Ben\nEMAIL:Ann@Example.org\nTEL:201-555-0199\n"
		"END:VCARD\n"
		"BEGIN:VCARD\nFN:Ann\nTEL:201-555-0123\nEND:VCARD\n"
		"BEGIN:VCARD\nFN:Nameless number\nTEL:(555) 12\nEND:VCARD\n"
		"BEGIN:VCARD\nFN:Nameless number\nTEL:(555) 12\nEND:VCARD\n"
		"BEGIN:VCARD\nFN:No handles at all\nEND:VCARD\n",
		0, CDS_AB_VCARD, "US");
	const struct cds_contact *c;

	(void)state;
	assert_int_equal(ab->n, 5);
	c = &ab->contacts[0];
	assert_string_equal(c->name, "Ann");
	ABT_HANDLES(c, "tel:+12015550123", "mailto:ann@example.org");
	assert_int_equal(c->n_problems, 0);
	c = &ab->contacts[1];
	assert_string_equal(c->name, "Ben");
	ABT_HANDLES(c, "tel:+12015550199");
	abt_problem(c, "'mailto:ann@example.org': also on contact 1 ('Ann'), kept there");
	/* Same name, but only one of Ann's handles: not an exact duplicate. */
	c = &ab->contacts[2];
	assert_string_equal(c->name, "Ann");
	assert_int_equal(c->n_handles, 0);
	abt_problem(c, "'tel:+12015550123': also on contact 1");
	c = &ab->contacts[3];
	assert_string_equal(c->name, "Nameless number");
	assert_int_equal(c->n_problems, 1);
	c = &ab->contacts[4];
	assert_string_equal(c->name, "No handles at all");
	assert_int_equal(c->n_handles + c->n_problems, 0);
	cds_addressbook_free(ab);
}

static void test_email(void **state)
{
	static const char *const ok[][2] = {
		{ "alice@example.org", "mailto:alice@example.org" },
		{ "  Alice@Example.ORG\t", "mailto:alice@example.org" },
		{ "mailto:Bob@Example.org", "mailto:bob@example.org" },
		{ "MAILTO: bob@example.org", "mailto:bob@example.org" },
		{ "mailto:what?now@example.org", "mailto:what?now@example.org" },
		{ "a.b+tag@sub.example.co.uk", "mailto:a.b+tag@sub.example.co.uk" },
	};
	static const char *const bad[][2] = {
		{ "b\xc3\xa9@example.org", "non-ASCII e-mail address not supported" },
		{ "bob@\xc3\xa9xample.org", "non-ASCII e-mail address not supported" },
		{ "", "e-mail address must be 1 to 254 characters" },
		{ "mailto:", "e-mail address must be 1 to 254 characters" },
		{ "bob", "'bob': e-mail address has no '@'" },
		{ "bob@", "e-mail domain is empty" },
		{ "bob smith@example.org", "local part must be lower-case ASCII" },
		{ "a..b@example.org", "has '..'" },
		{ "bob@example..org", "empty label" },
	};
	char out[CDS_HANDLE_MAX_BYTES + 1], big[300];
	struct cds_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cds_error_clear(&err);
		if (cds_email_normalize(out, sizeof(out), ok[i][0], &err))
			fail_msg("'%s': %s", ok[i][0], err.msg);
		assert_string_equal(out, ok[i][1]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cds_error_clear(&err);
		assert_int_equal(cds_email_normalize(out, sizeof(out), bad[i][0], &err),
				 CDS_ERR_INVALID);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("'%s': '%s' does not say '%s'", bad[i][0], err.msg,
				 bad[i][1]);
		assert_string_equal(out, "");
	}
	memset(big, 'a', 255);
	strcpy(big + 255, "@example.org");
	assert_int_equal(cds_email_normalize(out, sizeof(out), big, &err),
			 CDS_ERR_INVALID);
	assert_non_null(strstr(err.msg, "1 to 254 characters"));
	assert_int_equal(cds_email_normalize(out, 100, "a@b", &err),
			 CDS_ERR_INVALID);
}

/* AUTO looks for BEGIN:VCARD (after BOM and blank lines), else CSV. */
static void test_format_choice(void **state)
{
	struct cds_addressbook *ab;
	struct cds_error err;

	(void)state;
	ab = abt_parse("\xef\xbb\xbf\r\n\r\n  begin:vcard\r\nFN:x\r\nEMAIL:x@y.org\r\n"
		       "END:VCARD\r\n", 0, CDS_AB_AUTO, "US");
	ABT_HANDLES(abt_find(ab, "x"), "mailto:x@y.org");
	cds_addressbook_free(ab);
	ab = abt_parse("email\nx@y.org\n", 0, CDS_AB_AUTO, "US");
	ABT_HANDLES(&ab->contacts[0], "mailto:x@y.org");
	cds_addressbook_free(ab);
	/* A vCard forced to be read as CSV has no usable header. */
	cds_error_clear(&err);
	assert_int_equal(cds_addressbook_parse(&ab, "BEGIN:VCARD\nEND:VCARD\n", 22,
					       CDS_AB_CSV, "US", &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_addressbook_parse(&ab, "x", 1, (enum cds_ab_format)7,
					       "US", &err),
			 CDS_ERR_INVALID);
	/* A bad region fails the call before any contact is read. */
	assert_int_equal(cds_addressbook_parse(&ab, "phone\n1\n", 8, CDS_AB_AUTO,
					       "gb", &err),
			 CDS_ERR_INVALID);
	assert_null(ab);
	assert_non_null(strstr(err.msg, "region 'gb'"));
}

static void test_files(void **state)
{
	struct cds_addressbook *ab = NULL;
	struct cds_error err;
	const char *msg;

	(void)state;
	cds_error_clear(&err);
	assert_int_equal(cds_addressbook_load(&ab, "/nonexistent/book.vcf", "US",
					      &err),
			 CDS_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "'/nonexistent/book.vcf'"));
	/* Parse errors name the file as well as the line. */
	msg = abt_fail("truncated.vcf", "US", CDS_ERR_INVALID);
	assert_non_null(strstr(msg, "truncated.vcf: line 6:"));
	/* "-" reads standard input and sniffs the format. */
	assert_non_null(freopen(abt_path("v40.vcf"), "rb", stdin));
	assert_int_equal(cds_addressbook_load(&ab, "-", "US", &err), CDS_OK);
	ABT_HANDLES(abt_find(ab, "Carol Danvers"), "tel:+12125550100",
		    "tel:+14155550132", "tel:+442079460958",
		    "mailto:carol@example.org");
	cds_addressbook_free(ab);
}

/* 64 MiB per file and 1,000,000 contacts per book. */
static void test_limits(void **state)
{
	static const char card[] = "BEGIN:VCARD\nEND:VCARD\n";
	size_t n = CDS_AB_MAX_FILE_BYTES + 1, cards = CDS_AB_MAX_CONTACTS + 1, i;
	struct cds_addressbook *ab = NULL;
	struct cds_error err;
	char *big = calloc(1, n);

	(void)state;
	assert_non_null(big);
	assert_int_equal(cds_addressbook_parse(&ab, big, n, CDS_AB_VCARD, "US",
					       &err),
			 CDS_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "64 MiB"));
	assert_int_equal(cds_addressbook_parse(&ab, big, n, CDS_AB_CSV, "US", &err),
			 CDS_ERR_TOO_LARGE);
	free(big);
	big = malloc(cards * (sizeof(card) - 1));
	assert_non_null(big);
	for (i = 0; i < cards; i++)
		memcpy(big + i * (sizeof(card) - 1), card, sizeof(card) - 1);
	assert_int_equal(cds_addressbook_parse(&ab, big, cards * (sizeof(card) - 1),
					       CDS_AB_VCARD, "US", &err),
			 CDS_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "more than 1000000 contacts"));
	assert_null(ab);
	free(big);
}

/* examples/contacts.vcf gives what examples/README.md documents. */
static void test_example_vcf(void **state)
{
	struct cds_addressbook *ab = NULL;
	struct cds_error err;
	char path[4096];
	const char *dir = getenv("CDS_TEST_DATA");

	(void)state;
	snprintf(path, sizeof(path), "%s/../../examples/contacts.vcf",
		 dir ? dir : "tests/data");
	cds_error_clear(&err);
	if (cds_addressbook_load(&ab, path, "US", &err))
		fail_msg("%s", err.msg);
	assert_int_equal(ab->n, 13);
	ABT_HANDLES(abt_find(ab, "Alice Anderson"), "tel:+12015550123",
		    "mailto:alice.anderson@example.com");
	ABT_HANDLES(abt_find(ab, "Bob Brown"), "tel:+12015550145",
		    "tel:+12125550100");
	ABT_HANDLES(abt_find(ab, "Charlotte Davies"), "tel:+447400123456",
		    "tel:+442079460958", "mailto:charlotte.davies@example.co.uk");
	ABT_HANDLES(abt_find(ab, "Dieter M\xc3\xbcller"), "tel:+4915123456789",
		    "tel:+49301234567");
	ABT_HANDLES(abt_find(ab, "Emma Wilson"), "tel:+14155550132",
		    "tel:+13125550190", "mailto:emma@example.org");
	ABT_HANDLES(abt_find(ab, "Farid Haddad"), "mailto:farid@example.net");
	abt_problem(abt_find(ab, "Farid Haddad"),
		    "'ask at the front desk': not a phone number");
	ABT_HANDLES(abt_find(ab, "Grace Kim"), "tel:+16465550175",
		    "mailto:grace.kim@example.org");
	ABT_HANDLES(abt_find(ab, "Hiroshi Tanaka"), "tel:+819012345678");
	ABT_HANDLES(abt_find(ab, "Isabela Costa"), "tel:+5511987654321",
		    "mailto:isabela.costa@example.com.br");
	ABT_HANDLES(abt_find(ab, "Jack O'Neil"), "tel:+12025550143");
	ABT_HANDLES(abt_find(ab, "Priya Sharma"), "tel:+919876543210",
		    "mailto:priya.sharma@mail.example.in");
	ABT_HANDLES(abt_find(ab, "Corner Flower Shop"), "tel:+18003569377");
	assert_int_equal(abt_find(ab, "Al (work phone)")->n_handles, 0);
	abt_problem(abt_find(ab, "Al (work phone)"),
		    "'tel:+12015550123': also on contact 1 ('Alice Anderson'), kept there");
	cds_addressbook_free(ab);
}

static void test_example_csv(void **state)
{
	struct cds_addressbook *ab = NULL;
	struct cds_error err;
	char path[4096];
	const char *dir = getenv("CDS_TEST_DATA");

	(void)state;
	snprintf(path, sizeof(path), "%s/../../examples/contacts.csv",
		 dir ? dir : "tests/data");
	cds_error_clear(&err);
	if (cds_addressbook_load(&ab, path, "US", &err))
		fail_msg("%s", err.msg);
	assert_int_equal(ab->n, 6);
	ABT_HANDLES(abt_find(ab, "Alice Anderson"),
		    "mailto:alice.anderson@example.com", "tel:+12015550123");
	ABT_HANDLES(abt_find(ab, "Bob Brown"), "tel:+12125550100",
		    "tel:+12015550145");
	ABT_HANDLES(abt_find(ab, "Charlotte Davies"),
		    "mailto:charlotte.davies@example.co.uk", "tel:+447400123456",
		    "tel:+442079460958");
	ABT_HANDLES(abt_find(ab, "Hiroshi Tanaka"), "tel:+819012345678");
	ABT_HANDLES(abt_find(ab, "Farid Haddad"), "mailto:farid@example.net");
	ABT_HANDLES(abt_find(ab, "Priya Sharma"),
		    "mailto:priya.sharma@mail.example.in", "tel:+919876543210",
		    "tel:+16465550175");
	cds_addressbook_free(ab);
}

/* The text helpers every parser relies on (textconv.c). */
static void test_text(void **state)
{
	static const char *const good[] = {
		"", "abc", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xf4\x8f\xbf\xbf",
	};
	static const char *const bad[] = {
		"\x80", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xff",
		"\xe2\x82",
	};
	struct cds_buf b;
	char q[64], long_e[100];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(cds_text_utf8_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(cds_text_utf8_valid(bad[i], strlen(bad[i])));
	cds_buf_init(&b);
	assert_int_equal(cds_text_latin1_to_utf8(&b, "Gonz\xe1lez", 8), CDS_OK);
	assert_string_equal((char *)b.data, "Gonz\xc3\xa1lez");
	cds_buf_reset(&b);
	assert_int_equal(cds_text_qp_decode(&b, "a=3Db=c3=A9=zz=", 15), CDS_OK);
	assert_string_equal((char *)b.data, "a=b\xc3\xa9=zz=");
	cds_buf_fini(&b);
	/* Quoting cuts at 40 bytes on a character boundary, never mid-way. */
	for (i = 0; i < 50; i++)
		memcpy(long_e + 2 * i, "\xc3\xa9", 2);
	cds_text_quote(q, long_e, 100);
	assert_int_equal(strlen(q), 40 + 3);
	assert_true(cds_text_utf8_valid(q, strlen(q)));
	cds_text_quote(q, "a'b\nc\xff", 6);
	assert_string_equal(q, "a?b?c?");
	memset(long_e, 0x80, sizeof(long_e));
	cds_text_quote(q, long_e, sizeof(long_e));
	assert_true(cds_text_utf8_valid(q, strlen(q)));
	assert_true(strlen(q) >= 37 + 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_format_choice),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_example_vcf),
		cmocka_unit_test(test_example_csv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
