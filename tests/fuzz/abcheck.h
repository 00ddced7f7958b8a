/*
 * abcheck.h: the properties fuzz_vcard.c and fuzz_csv.c check on every
 * parse.  Uses assert(), so a violated property is a crash libFuzzer keeps.
 */
#ifndef CDS_FUZZ_ABCHECK_H
#define CDS_FUZZ_ABCHECK_H

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "addressbook/addressbook.h"
#include "addressbook/textconv.h"

static int abcheck_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every handle canonical and on one contact only; text valid UTF-8. */
static void abcheck_book(const struct cds_addressbook *ab)
{
	size_t i, j, k = 0, total = 0;
	const struct cds_contact *c;
	char **all;

	for (i = 0; i < ab->n; i++)
		total += ab->contacts[i].n_handles;
	all = malloc((total ? total : 1) * sizeof(*all));
	assert(all);
	for (i = 0; i < ab->n; i++) {
		c = &ab->contacts[i];
		assert(c->name && cds_text_utf8_valid(c->name, strlen(c->name)));
		for (j = 0; j < c->n_handles; j++) {
			assert(cds_handle_check(c->handles[j],
						strlen(c->handles[j]), NULL,
						NULL) == CDS_OK);
			all[k++] = c->handles[j];
		}
		for (j = 0; j < c->n_problems; j++)
			assert(cds_text_utf8_valid(c->problems[j],
						   strlen(c->problems[j])));
	}
	qsort(all, total, sizeof(*all), abcheck_cmp);
	for (i = 1; i < total; i++)
		assert(strcmp(all[i - 1], all[i]) != 0);
	free(all);
}

static void abcheck_parse(const char *data, size_t size,
			  enum cds_ab_format fmt)
{
	struct cds_addressbook *ab = NULL;
	struct cds_error err;
	enum cds_err rc;

	cds_error_clear(&err);
	rc = cds_addressbook_parse(&ab, data, size, fmt, "US", &err);
	if (rc != CDS_OK) {
		assert(ab == NULL);
		assert(err.msg[0] != '\0');
		assert(err.code == rc);
		return;
	}
	assert(ab);
	abcheck_book(ab);
	cds_addressbook_free(ab);
}

#endif
