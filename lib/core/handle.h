/*
 * handle.h: canonical handles (DESIGN.md "Handles").
 *
 * A handle is byte-exact UTF-8 without terminator:
 *   phone:  "tel:+" then 7..15 E.164 digits, the first 1-9
 *   e-mail: "mailto:" then an ASCII, lower-case address of at most 254 bytes
 *           with exactly one '@', a non-empty local part and a domain.
 * The server accepts only these forms; clients normalise raw input first
 * (cds_phone_normalize, cds_email_normalize in lib/addressbook/addressbook.h).
 */
#ifndef CDS_CORE_HANDLE_H
#define CDS_CORE_HANDLE_H

#include <stddef.h>

#include "err.h"

#define CDS_HANDLE_MAX_BYTES (7 + 254) /* "mailto:" + address */
#define CDS_MAILTO_ADDR_MAX_BYTES 254

enum cds_handle_kind {
	CDS_HANDLE_TEL = 1,
	CDS_HANDLE_MAILTO = 2,
};

/*
 * Check that s[0..len) is a canonical handle.  On success returns CDS_OK and
 * sets *kind (kind may be NULL).  Otherwise CDS_ERR_INVALID with a message
 * that quotes (a printable prefix of) the input and says what is wrong.
 */
enum cds_err cds_handle_check(const char *s, size_t len,
			      enum cds_handle_kind *kind,
			      struct cds_error *err) CDS_MUST_CHECK;

#endif
