/*
 * csv.h: CSV address books (RFC 4180) into a rawbook.
 *
 * The file: UTF-8 with or without BOM, CRLF or LF, fields separated by ','
 * (or by ';' when the header line holds no comma), quoted fields with ""
 * escapes and embedded line breaks.  The first non-empty row is the header;
 * columns are recognised by name, case-insensitively (csv_header.c), from
 * Google Contacts and Outlook exports and generic spreadsheets.
 *
 * Policy on bad input: CDS_ERR_INVALID naming the line for a header with no
 * phone or e-mail column, an unclosed quote, a NUL byte, invalid UTF-8 in a
 * column we read; CDS_ERR_TOO_LARGE over the limits of rawbook.h or past
 * CDS_CSV_MAX_FIELDS header columns.  Columns we do not read are not checked
 * (a Notes column in another encoding does no harm); fields past the last
 * header column are ignored, missing ones are empty.  Rows with every field
 * empty are skipped.
 */
#ifndef CDS_ADDRESSBOOK_CSV_H
#define CDS_ADDRESSBOOK_CSV_H

#include <stddef.h>

#include "addressbook/rawbook.h"
#include "core/err.h"

#define CDS_CSV_MAX_FIELDS 1000

enum cds_csv_role {
	CDS_CSV_IGNORE = 0,
	CDS_CSV_FULL_NAME,
	CDS_CSV_PREFIX,
	CDS_CSV_GIVEN,
	CDS_CSV_MIDDLE,
	CDS_CSV_FAMILY,
	CDS_CSV_SUFFIX,
	CDS_CSV_PHONE,
	CDS_CSV_EMAIL,
	CDS_CSV_PHONE_TYPE, /* Google "Phone 1 - Type"/"- Label": "* Mobile"
			     * marks the primary value */
	CDS_CSV_EMAIL_TYPE,
};

struct cds_csv_column {
	enum cds_csv_role role;
	unsigned num;   /* Google's "Phone <num> - Value", else 0 */
	int pref;       /* CDS_RAW_PREF_TOP for "Primary Phone", else NONE */
	long type_col;  /* for PHONE/EMAIL: index of the matching *_TYPE, or -1 */
};

/*
 * Classify header field s[0..len) (trimmed, case-insensitive).  Never fails:
 * an unknown column is CDS_CSV_IGNORE.
 */
void cds_csv_classify(struct cds_csv_column *col, const char *s, size_t len);

/* Link every Google value column to its type column (same kind and num). */
void cds_csv_link_types(struct cds_csv_column *cols, size_t n);

enum cds_err cds_csv_parse(struct cds_rawbook *rb, const char *data,
			   size_t len, struct cds_error *err) CDS_MUST_CHECK;

#endif
