/*
 * contacts.h: the contact list a client holds (struct cds_client, the
 * cache): what the address books were read into, kept with ids.
 *
 * Invariants: ids are unique and non-zero; every handle is canonical
 * (core/handle.h) and appears at most once per contact; next_id is greater
 * than every id in the list.  The list owns every string it holds.
 */
#ifndef CDS_ADDRESSBOOK_CONTACTS_H
#define CDS_ADDRESSBOOK_CONTACTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct cds_contact_rec {
	uint64_t id;
	char *name;
	char **handles;
	size_t n_handles;
	char **problems;
	size_t n_problems;
};

struct cds_contact_list {
	struct cds_contact_rec *v;
	size_t n, cap;
	uint64_t next_id;
};

void cds_contacts_init(struct cds_contact_list *l);
void cds_contacts_fini(struct cds_contact_list *l); /* frees every contact */
void cds_contacts_clear(struct cds_contact_list *l);
void cds_contact_rec_fini(struct cds_contact_rec *r);

/* Index of contact id, or -1. */
long cds_contacts_find(const struct cds_contact_list *l, uint64_t id);

/*
 * Append r, taking ownership of its strings (on success r is zeroed; on
 * failure the caller still owns them).  r->id 0 = assign the next id.
 * CDS_ERR_EXISTS if the id is taken.
 */
enum cds_err cds_contacts_append(struct cds_contact_list *l,
				 struct cds_contact_rec *r,
				 struct cds_error *err) CDS_MUST_CHECK;

/* Remove the contact at index i (freeing it), keeping the order. */
void cds_contacts_remove_at(struct cds_contact_list *l, size_t i);

/* Append a copy of s to a string array (*v, *n).  Skips an exact
 * duplicate already in the array. */
enum cds_err cds_strv_add(char ***v, size_t *n, const char *s) CDS_MUST_CHECK;
void cds_strv_free(char **v, size_t n);

#endif
