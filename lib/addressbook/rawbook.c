/*
 * rawbook.c: the growable list of raw contacts that the parsers fill.
 *
 * Invariant: rb->n <= CDS_AB_MAX_CONTACTS, and every pointer in a contact is
 * either NULL or owned by the book (freed by cds_rawbook_fini).
 */
#include "addressbook/rawbook.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cds_rawbook_init(struct cds_rawbook *rb)
{
	memset(rb, 0, sizeof(*rb));
}

static void contact_fini(struct cds_raw_contact *c)
{
	size_t i;

	free(c->name);
	for (i = 0; i < c->n_entries; i++)
		free(c->entries[i].value);
	free(c->entries);
	for (i = 0; i < c->n_problems; i++)
		free(c->problems[i]);
	free(c->problems);
}

void cds_rawbook_fini(struct cds_rawbook *rb)
{
	size_t i;

	if (!rb)
		return;
	for (i = 0; i < rb->n; i++)
		contact_fini(&rb->contacts[i]);
	free(rb->contacts);
	cds_rawbook_init(rb);
}

/* Grow *arr (of *cap elements of size sz) to hold one more than n. */
static enum cds_err grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return CDS_OK;
	ncap = *cap ? *cap * 2 : 8;
	p = reallocarray(*arr, ncap, sz);
	if (!p)
		return CDS_ERR_NOMEM;
	*arr = p;
	*cap = ncap;
	return CDS_OK;
}

enum cds_err cds_rawbook_begin(struct cds_rawbook *rb, long line,
			       struct cds_error *err)
{
	struct cds_raw_contact *c;

	if (rb->n >= CDS_AB_MAX_CONTACTS)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"line %ld: address book holds more than %d contacts",
				line, CDS_AB_MAX_CONTACTS);
	if (grow((void **)&rb->contacts, &rb->cap, rb->n, sizeof(*c)))
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory at line %ld",
				line);
	c = &rb->contacts[rb->n++];
	memset(c, 0, sizeof(*c));
	c->line = line;
	return CDS_OK;
}

struct cds_raw_contact *cds_rawbook_current(struct cds_rawbook *rb)
{
	return rb->n ? &rb->contacts[rb->n - 1] : NULL;
}

enum cds_err cds_rawbook_set_name(struct cds_rawbook *rb, const char *s,
				  size_t len)
{
	struct cds_raw_contact *c = cds_rawbook_current(rb);

	if (!c)
		return CDS_ERR_INTERNAL;
	if (c->name)
		return CDS_OK;
	c->name = strndup(s, len);
	return c->name ? CDS_OK : CDS_ERR_NOMEM;
}

enum cds_err cds_rawbook_add_entry(struct cds_rawbook *rb,
				   enum cds_raw_kind kind, int pref,
				   const char *s, size_t len)
{
	struct cds_raw_contact *c = cds_rawbook_current(rb);
	struct cds_raw_entry *e;
	char *v;

	if (!c)
		return CDS_ERR_INTERNAL;
	if (grow((void **)&c->entries, &c->cap_entries, c->n_entries,
		 sizeof(*e)))
		return CDS_ERR_NOMEM;
	v = strndup(s, len);
	if (!v)
		return CDS_ERR_NOMEM;
	e = &c->entries[c->n_entries++];
	e->kind = kind;
	e->pref = pref;
	e->value = v;
	e->seq = c->n_entries - 1;
	return CDS_OK;
}

enum cds_err cds_rawbook_add_problem(struct cds_rawbook *rb, const char *fmt,
				     ...)
{
	struct cds_raw_contact *c = cds_rawbook_current(rb);
	va_list ap;
	char *p;
	int n;

	if (!c)
		return CDS_ERR_INTERNAL;
	if (grow((void **)&c->problems, &c->cap_problems, c->n_problems,
		 sizeof(*c->problems)))
		return CDS_ERR_NOMEM;
	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CDS_ERR_NOMEM;
	c->problems[c->n_problems++] = p;
	return CDS_OK;
}

/* By rank, then file order: qsort is not stable, so seq breaks ties. */
static int entry_cmp(const void *pa, const void *pb)
{
	const struct cds_raw_entry *a = pa, *b = pb;

	if (a->pref != b->pref)
		return a->pref < b->pref ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void cds_rawbook_sort_pref(struct cds_rawbook *rb)
{
	size_t i;

	for (i = 0; i < rb->n; i++)
		if (rb->contacts[i].n_entries > 1)
			qsort(rb->contacts[i].entries, rb->contacts[i].n_entries,
			      sizeof(struct cds_raw_entry), entry_cmp);
}
