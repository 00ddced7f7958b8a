/*
 * merge.h: from raw contacts to the address book of addressbook.h.
 *
 * Policy, in this order, contact by contact in file order:
 *  1. each raw entry is normalised (normalize.c) in preference order; one
 *     that fails becomes a problem "'<raw>': <reason>";
 *  2. a handle written twice on one contact is kept once;
 *  3. a contact equal to an earlier one (same name, same handles in the same
 *     order, same normalisation problems) is an exact duplicate and goes;
 *  4. a handle already on an earlier contact stays there and becomes a
 *     problem on this one ("'tel:+1...': also on contact 3 ('Ann'), kept
 *     there");
 *  5. contacts left with no handle are kept, so callers can report them.
 */
#ifndef CDS_ADDRESSBOOK_MERGE_H
#define CDS_ADDRESSBOOK_MERGE_H

#include "addressbook/addressbook.h"
#include "addressbook/rawbook.h"

/* Build *out (freed with cds_addressbook_free) from rb, which the function
 * empties as it goes.  region: already checked (cds_region_check). */
enum cds_err cds_ab_merge(struct cds_addressbook **out, struct cds_rawbook *rb,
			  const char *region,
			  struct cds_error *err) CDS_MUST_CHECK;

#endif
