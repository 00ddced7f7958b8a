/*
 * contacts.c: the client's contact list, an array kept in insertion order.
 *
 * Address books hold a few thousand contacts at most, so lookups by id are
 * linear scans; what matters is that the order of results follows the order
 * in which the user's contacts were added.
 */
#include "addressbook/contacts.h"

#include <stdlib.h>
#include <string.h>

void cds_contacts_init(struct cds_contact_list *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
	l->next_id = 1;
}

void cds_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cds_contact_rec_fini(struct cds_contact_rec *r)
{
	if (!r)
		return;
	free(r->name);
	cds_strv_free(r->handles, r->n_handles);
	cds_strv_free(r->problems, r->n_problems);
	memset(r, 0, sizeof(*r));
}

void cds_contacts_clear(struct cds_contact_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		cds_contact_rec_fini(&l->v[i]);
	l->n = 0;
}

void cds_contacts_fini(struct cds_contact_list *l)
{
	if (!l)
		return;
	cds_contacts_clear(l);
	free(l->v);
	cds_contacts_init(l);
}

long cds_contacts_find(const struct cds_contact_list *l, uint64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return (long)i;
	return -1;
}

enum cds_err cds_contacts_append(struct cds_contact_list *l,
				 struct cds_contact_rec *r,
				 struct cds_error *err)
{
	if (r->id == 0)
		r->id = l->next_id;
	else if (cds_contacts_find(l, r->id) >= 0)
		return cds_fail(err, CDS_ERR_EXISTS,
				"contact id %llu is already taken",
				(unsigned long long)r->id);
	if (r->id == UINT64_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"contact id %llu is out of range",
				(unsigned long long)r->id);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct cds_contact_rec *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return cds_fail(err, CDS_ERR_NOMEM,
					"out of memory adding a contact");
		l->v = v;
		l->cap = cap;
	}
	if (r->id >= l->next_id)
		l->next_id = r->id + 1;
	l->v[l->n++] = *r;
	memset(r, 0, sizeof(*r));
	return CDS_OK;
}

void cds_contacts_remove_at(struct cds_contact_list *l, size_t i)
{
	if (i >= l->n)
		return;
	cds_contact_rec_fini(&l->v[i]);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
	l->n--;
}

enum cds_err cds_strv_add(char ***v, size_t *n, const char *s)
{
	char **nv, *copy;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return CDS_OK;
	copy = strdup(s);
	if (!copy)
		return CDS_ERR_NOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(copy);
		return CDS_ERR_NOMEM;
	}
	nv[(*n)++] = copy;
	*v = nv;
	return CDS_OK;
}
