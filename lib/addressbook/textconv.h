/*
 * textconv.h: the text conversions that address-book parsers share:
 * UTF-8 validation, ISO-8859-1 to UTF-8, quoted-printable decoding, trimming.
 *
 * Invariants: every function reads exactly s[0..len) (NUL bytes included, so
 * a caller can reject them) and appends to a caller-owned cds_buf, whose
 * contents therefore stay NUL-terminated (core/buf.h).
 */
#ifndef CDS_ADDRESSBOOK_TEXTCONV_H
#define CDS_ADDRESSBOOK_TEXTCONV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* True if s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
bool cds_text_utf8_valid(const char *s, size_t len);

/* True if s[0..len) holds only bytes below 0x80. */
bool cds_text_is_ascii(const char *s, size_t len);

/* Append the UTF-8 form of ISO-8859-1 text s[0..len) to out. */
enum cds_err cds_text_latin1_to_utf8(struct cds_buf *out, const char *s,
				     size_t len) CDS_MUST_CHECK;

/*
 * Append the bytes that quoted-printable text s[0..len) encodes (RFC 2045
 * 6.7): "=XX" (either case) is one byte, a '=' that does not start a valid
 * escape is kept as it is, since vCard 2.1 writers are not always careful.
 * Soft line breaks must already be joined (vcard_line.c does it).
 */
enum cds_err cds_text_qp_decode(struct cds_buf *out, const char *s,
				size_t len) CDS_MUST_CHECK;

/* Narrow [*s, *s + *len) to drop leading and trailing ASCII white space. */
void cds_text_trim(const char **s, size_t *len);

/* Trim b and collapse each run of ASCII white space inside it to one space
 * (names arrive with tabs, newlines and double spaces). */
void cds_text_squeeze(struct cds_buf *b);

/* ASCII case-insensitive comparisons (locale-independent). */
bool cds_text_ieq(const char *a, size_t alen, const char *b);
bool cds_text_iprefix(const char *s, size_t len, const char *prefix);

/*
 * Copy s[0..len) into message-safe form: at most 40 bytes, cut on a UTF-8
 * boundary, "..." appended when cut; control bytes, quotes and (if the text
 * is not valid UTF-8) bytes above 0x7f become '?'.  out holds 64 bytes.
 */
void cds_text_quote(char out[64], const char *s, size_t len);

#endif
