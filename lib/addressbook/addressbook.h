/*
 * addressbook.h: address books (vCard 2.1/3.0/4.0 and CSV) read into
 * contacts whose handles are canonical (core/handle.h).
 *
 * Raw phone numbers are normalised to E.164 with libphonenumber and a default
 * region; e-mail addresses are trimmed and lower-cased.  Nothing is dropped
 * silently: an entry that cannot be normalised stays on its contact as a
 * problem with the reason.  A handle that appears on several contacts is
 * kept on the first and merged away from the others.
 */
#ifndef CDS_ADDRESSBOOK_H
#define CDS_ADDRESSBOOK_H

#include <stddef.h>

#include "core/err.h"
#include "core/handle.h"

enum cds_ab_format { CDS_AB_AUTO = 0, CDS_AB_VCARD = 1, CDS_AB_CSV = 2 };

struct cds_contact {
	char *name;          /* UTF-8, "" if the card has none */
	char **handles;      /* canonical, deduplicated, NUL-terminated */
	size_t n_handles;
	char **problems;     /* "'(555) 12': not a valid phone number for
			      * region US"; UTF-8, one line each */
	size_t n_problems;
};

struct cds_addressbook {
	struct cds_contact *contacts;
	size_t n;
};

/*
 * Parse data[0..len) (AUTO: "BEGIN:VCARD" after optional BOM/space means
 * vCard, anything else CSV).  region: ISO 3166 alpha-2 code for numbers
 * without a country code ("US"); NULL = cds_default_region().  The caller
 * frees *out with cds_addressbook_free.  CDS_ERR_INVALID for a malformed
 * file (message names the line), CDS_ERR_TOO_LARGE over the limits.
 */
enum cds_err cds_addressbook_parse(struct cds_addressbook **out,
				   const char *data, size_t len,
				   enum cds_ab_format fmt, const char *region,
				   struct cds_error *err) CDS_MUST_CHECK;

/* Read a file ("-" = stdin; format from the extension .vcf/.vcard/.csv,
 * else AUTO) and parse it. */
enum cds_err cds_addressbook_load(struct cds_addressbook **out,
				  const char *path, const char *region,
				  struct cds_error *err) CDS_MUST_CHECK;

void cds_addressbook_free(struct cds_addressbook *ab);

/*
 * Normalise one raw phone number to "tel:+<E.164>" into out (cap bytes, at
 * least 21; CDS_HANDLE_MAX_BYTES + 1 always fits).  National forms use
 * region (NULL = cds_default_region()); "+", the region's international
 * prefix and a leading "00" are understood, vanity letters become digits.
 * CDS_ERR_INVALID with a message that starts by quoting raw and gives the
 * reason ("... not a valid phone number for region US"); out is then "".
 */
enum cds_err cds_phone_normalize(char *out, size_t cap, const char *raw,
				 const char *region,
				 struct cds_error *err) CDS_MUST_CHECK;

/*
 * Normalise one raw e-mail address to "mailto:<lower-case>" into out (cap at
 * least CDS_HANDLE_MAX_BYTES + 1): white space and a "mailto:" prefix go,
 * ASCII letters are lower-cased, the result must pass cds_handle_check.
 * CDS_ERR_INVALID quoting raw ("non-ASCII e-mail address not supported");
 * out is then "".
 */
enum cds_err cds_email_normalize(char *out, size_t cap, const char *raw,
				 struct cds_error *err) CDS_MUST_CHECK;

/* Region from LC_ALL/LC_CTYPE/LANG ("en_GB.UTF-8" -> "GB"), else "US".
 * The string is thread-local, valid until the thread's next call. */
const char *cds_default_region(void);

/* CDS_OK if region is two upper-case letters naming a region with phone
 * numbers ("US", "GB"); else CDS_ERR_INVALID saying which rule it breaks. */
enum cds_err cds_region_check(const char *region,
			      struct cds_error *err) CDS_MUST_CHECK;

#endif
