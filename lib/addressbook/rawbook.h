/*
 * rawbook.h: contacts as the file spells them, before normalisation.
 *
 * The vCard and CSV parsers fill a rawbook; addressbook.c normalises its
 * entries into canonical handles.  Keeping the two apart means both parsers
 * share one normaliser and one merge policy.
 *
 * Invariants: every string is NUL-terminated, valid UTF-8 and free of NUL
 * bytes (the parsers check before adding); entries of a contact are kept in
 * file order until cds_rawbook_sort_pref; at most CDS_AB_MAX_CONTACTS
 * contacts.
 */
#ifndef CDS_ADDRESSBOOK_RAWBOOK_H
#define CDS_ADDRESSBOOK_RAWBOOK_H

#include <stddef.h>

#include "core/err.h"

#define CDS_AB_MAX_CONTACTS 1000000
#define CDS_AB_MAX_FILE_BYTES ((size_t)64 << 20)
#define CDS_AB_MAX_LINE_BYTES ((size_t)1 << 20)

/* Lower ranks sort first; an entry with no preference gets NONE. */
#define CDS_RAW_PREF_NONE 101
#define CDS_RAW_PREF_TOP 1

enum cds_raw_kind { CDS_RAW_TEL = 1, CDS_RAW_EMAIL = 2 };

struct cds_raw_entry {
	enum cds_raw_kind kind;
	int pref;    /* 1 (most preferred) .. CDS_RAW_PREF_NONE */
	char *value; /* as written, after transfer decoding */
	size_t seq;  /* position in the file order of its contact */
};

struct cds_raw_contact {
	long line;   /* where the contact starts in the file (1-based) */
	char *name;  /* NULL until set */
	struct cds_raw_entry *entries;
	size_t n_entries, cap_entries;
	char **problems;
	size_t n_problems, cap_problems;
};

struct cds_rawbook {
	struct cds_raw_contact *contacts;
	size_t n, cap;
};

void cds_rawbook_init(struct cds_rawbook *rb);
void cds_rawbook_fini(struct cds_rawbook *rb); /* accepts a zeroed book */

/* Start a new contact at file line `line`; later calls add to it.
 * CDS_ERR_TOO_LARGE past CDS_AB_MAX_CONTACTS, CDS_ERR_NOMEM. */
enum cds_err cds_rawbook_begin(struct cds_rawbook *rb, long line,
			       struct cds_error *err) CDS_MUST_CHECK;

/* The contact being filled (the last one), or NULL if none was begun. */
struct cds_raw_contact *cds_rawbook_current(struct cds_rawbook *rb);

/* Set the current contact's name to s[0..len) unless it already has one. */
enum cds_err cds_rawbook_set_name(struct cds_rawbook *rb, const char *s,
				  size_t len) CDS_MUST_CHECK;

enum cds_err cds_rawbook_add_entry(struct cds_rawbook *rb,
				   enum cds_raw_kind kind, int pref,
				   const char *s, size_t len) CDS_MUST_CHECK;

/* Record a problem (printf-style) on the current contact. */
enum cds_err cds_rawbook_add_problem(struct cds_rawbook *rb,
				     const char *fmt, ...)
	CDS_MUST_CHECK __attribute__((format(printf, 2, 3)));

/* Order each contact's entries by preference rank, stable within a rank. */
void cds_rawbook_sort_pref(struct cds_rawbook *rb);

#endif
