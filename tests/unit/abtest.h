/*
 * abtest.h: helpers shared by the address-book unit tests (test_vcard.c,
 * test_csv.c, test_addressbook.c): fixtures from $CDS_TEST_DATA/addressbooks
 * and lookups in a parsed book.  Include after <cmocka.h>.
 */
#ifndef CDS_TESTS_ABTEST_H
#define CDS_TESTS_ABTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addressbook/addressbook.h"

/* Path of fixture `name` (static buffer). */
static inline const char *abt_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("CDS_TEST_DATA");

	snprintf(path, sizeof(path), "%s/addressbooks/%s", dir ? dir : "tests/data",
		 name);
	return path;
}

/* Load fixture `name` with `region`; fails the test unless it parses. */
static inline struct cds_addressbook *abt_load(const char *name,
					       const char *region)
{
	struct cds_addressbook *ab = NULL;
	struct cds_error err;

	cds_error_clear(&err);
	if (cds_addressbook_load(&ab, abt_path(name), region, &err) != CDS_OK)
		fail_msg("%s: %s", name, err.msg);
	return ab;
}

/* Parse fixture `name` expecting failure `code`; returns the message. */
static inline const char *abt_fail(const char *name, const char *region,
				   enum cds_err code)
{
	static struct cds_error err;
	struct cds_addressbook *ab = NULL;

	cds_error_clear(&err);
	assert_int_equal(cds_addressbook_load(&ab, abt_path(name), region, &err),
			 code);
	assert_null(ab);
	assert_true(err.msg[0] != '\0');
	return err.msg;
}

/* Parse data[0..len) (a C string when len is 0) expecting success. */
static inline struct cds_addressbook *abt_parse(const char *data, size_t len,
						enum cds_ab_format fmt,
						const char *region)
{
	struct cds_addressbook *ab = NULL;
	struct cds_error err;

	cds_error_clear(&err);
	if (cds_addressbook_parse(&ab, data, len ? len : strlen(data), fmt,
				  region, &err) != CDS_OK)
		fail_msg("parse failed: %s", err.msg);
	return ab;
}

/* The contact named `name`; fails the test if there is none. */
static inline const struct cds_contact *abt_find(const struct cds_addressbook *ab,
						 const char *name)
{
	size_t i;

	for (i = 0; i < ab->n; i++)
		if (strcmp(ab->contacts[i].name, name) == 0)
			return &ab->contacts[i];
	fail_msg("no contact named '%s'", name);
	return NULL;
}

/* Assert that c's handles are exactly the NULL-terminated list, in order. */
static inline void abt_handles(const struct cds_contact *c, const char **want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		if (i >= c->n_handles)
			fail_msg("'%s': missing handle %zu '%s'", c->name, i, want[i]);
		assert_string_equal(c->handles[i], want[i]);
	}
	assert_int_equal(c->n_handles, i);
}

/* Assert that some problem of c contains `text`. */
static inline void abt_problem(const struct cds_contact *c, const char *text)
{
	size_t i;

	for (i = 0; i < c->n_problems; i++)
		if (strstr(c->problems[i], text))
			return;
	fail_msg("'%s' has no problem mentioning '%s'", c->name, text);
}

#define ABT_HANDLES(c, ...)                                                  \
	do {                                                                   \
		const char *want_[] = { __VA_ARGS__, NULL };                     \
		abt_handles((c), want_);                                         \
	} while (0)

#endif
