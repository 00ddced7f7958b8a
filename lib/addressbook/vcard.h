/*
 * vcard.h: vCard 2.1, 3.0 and 4.0 address books into a rawbook.
 *
 * What is read: FN (else N) for the name, every TEL and EMAIL with its
 * preference (2.1 PREF, 3.0 TYPE=pref, 4.0 PREF=n), in any group
 * ("item1.TEL").  Values are decoded (QUOTED-PRINTABLE, CHARSET UTF-8 or
 * ISO-8859-1, backslash escapes, 4.0 tel: URIs); other properties are
 * skipped.
 *
 * Policy on bad input: structure errors (nesting, a property outside a card,
 * a truncated card, an unknown VERSION, a NUL byte) and invalid UTF-8 in any
 * value we read fail the whole file with CDS_ERR_INVALID naming the line;
 * a value we cannot decode (unknown CHARSET, base64 TEL) becomes a problem
 * on its contact.  Limits as rawbook.h: CDS_ERR_TOO_LARGE.
 */
#ifndef CDS_ADDRESSBOOK_VCARD_H
#define CDS_ADDRESSBOOK_VCARD_H

#include <stddef.h>

#include "addressbook/rawbook.h"
#include "core/err.h"

enum cds_err cds_vcard_parse(struct cds_rawbook *rb, const char *data,
			     size_t len, struct cds_error *err) CDS_MUST_CHECK;

#endif
