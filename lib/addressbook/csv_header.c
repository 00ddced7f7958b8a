/*
 * csv_header.c: which CSV column holds what, from its header name.
 *
 * The names are the ones Google Contacts and Outlook write in their exports
 * and the ones people type in a spreadsheet.  Invariant: classification is a
 * pure function of the (trimmed, ASCII case-folded) header text, so the same
 * file always maps the same way.
 */
#include "addressbook/csv.h"

#include <stdio.h>
#include <string.h>

#include "addressbook/textconv.h"

struct name_role {
	const char *name;
	enum cds_csv_role role;
};

static const struct name_role exact[] = {
	{ "name", CDS_CSV_FULL_NAME },
	{ "full name", CDS_CSV_FULL_NAME },
	{ "display name", CDS_CSV_FULL_NAME },
	{ "contact name", CDS_CSV_FULL_NAME },
	{ "fn", CDS_CSV_FULL_NAME },
	{ "name prefix", CDS_CSV_PREFIX },
	{ "prefix", CDS_CSV_PREFIX },
	{ "given name", CDS_CSV_GIVEN },
	{ "first name", CDS_CSV_GIVEN },
	{ "firstname", CDS_CSV_GIVEN },
	{ "additional name", CDS_CSV_MIDDLE },
	{ "middle name", CDS_CSV_MIDDLE },
	{ "family name", CDS_CSV_FAMILY },
	{ "last name", CDS_CSV_FAMILY },
	{ "lastname", CDS_CSV_FAMILY },
	{ "surname", CDS_CSV_FAMILY },
	{ "name suffix", CDS_CSV_SUFFIX },
	{ "suffix", CDS_CSV_SUFFIX },
	{ "phone", CDS_CSV_PHONE },
	{ "phone number", CDS_CSV_PHONE },
	{ "mobile", CDS_CSV_PHONE },
	{ "mobile number", CDS_CSV_PHONE },
	{ "cell", CDS_CSV_PHONE },
	{ "tel", CDS_CSV_PHONE },
	{ "telephone", CDS_CSV_PHONE },
	{ "telephone number", CDS_CSV_PHONE },
	{ "email", CDS_CSV_EMAIL },
	{ "e-mail", CDS_CSV_EMAIL },
	{ "mail", CDS_CSV_EMAIL },
	{ "email address", CDS_CSV_EMAIL },
	{ "e-mail address", CDS_CSV_EMAIL },
};

/* "phone 2 - value" style: prefix, a number, suffix.  Sets *num. */
static bool numbered(const char *s, size_t n, const char *prefix,
		     const char *suffix, unsigned *num)
{
	size_t p = strlen(prefix), q = strlen(suffix), i;
	unsigned v = 0;

	if (!cds_text_iprefix(s, n, prefix) || n < p + q + 1)
		return false;
	for (i = p; i < n - q; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 9999)
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (!cds_text_ieq(s + n - q, q, suffix))
		return false;
	*num = v;
	return true;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t q = strlen(suffix);

	return n >= q && cds_text_ieq(s + n - q, q, suffix);
}

/* Google: "Phone 1 - Value", "E-mail 2 - Type" (older exports) or
 * "E-mail 2 - Label" (newer); Outlook: "E-mail 2 Address". */
static bool classify_numbered(struct cds_csv_column *col, const char *s,
			      size_t n)
{
	static const struct {
		const char *prefix, *suffix;
		enum cds_csv_role role;
	} forms[] = {
		{ "phone ", " - value", CDS_CSV_PHONE },
		{ "phone ", " - type", CDS_CSV_PHONE_TYPE },
		{ "phone ", " - label", CDS_CSV_PHONE_TYPE },
		{ "e-mail ", " - value", CDS_CSV_EMAIL },
		{ "e-mail ", " - type", CDS_CSV_EMAIL_TYPE },
		{ "e-mail ", " - label", CDS_CSV_EMAIL_TYPE },
		{ "email ", " - value", CDS_CSV_EMAIL },
		{ "email ", " - type", CDS_CSV_EMAIL_TYPE },
		{ "email ", " - label", CDS_CSV_EMAIL_TYPE },
		{ "e-mail ", " address", CDS_CSV_EMAIL },
		{ "email ", " address", CDS_CSV_EMAIL },
		{ "phone ", "", CDS_CSV_PHONE },
		{ "email ", "", CDS_CSV_EMAIL },
		{ "e-mail ", "", CDS_CSV_EMAIL },
	};
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (numbered(s, n, forms[i].prefix, forms[i].suffix, &col->num)) {
			col->role = forms[i].role;
			return true;
		}
	}
	return false;
}

void cds_csv_classify(struct cds_csv_column *col, const char *s, size_t n)
{
	size_t i;

	col->role = CDS_CSV_IGNORE;
	col->num = 0;
	col->pref = CDS_RAW_PREF_NONE;
	col->type_col = -1;
	cds_text_trim(&s, &n);
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		if (cds_text_ieq(s, n, exact[i].name)) {
			col->role = exact[i].role;
			return;
		}
	}
	if (classify_numbered(col, s, n))
		return;
	/* Outlook: "Mobile Phone", "Home Phone 2", "Primary Phone", ...; its
	 * fax columns ("Business Fax") are not phones anyone messages. */
	if (ends_with(s, n, " phone") || ends_with(s, n, " phone 2")) {
		col->role = CDS_CSV_PHONE;
		if (cds_text_ieq(s, n, "primary phone"))
			col->pref = CDS_RAW_PREF_TOP;
	}
}

void cds_csv_link_types(struct cds_csv_column *cols, size_t n)
{
	enum cds_csv_role want;
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (cols[i].role == CDS_CSV_PHONE)
			want = CDS_CSV_PHONE_TYPE;
		else if (cols[i].role == CDS_CSV_EMAIL)
			want = CDS_CSV_EMAIL_TYPE;
		else
			continue;
		if (cols[i].num == 0)
			continue;
		for (j = 0; j < n; j++)
			if (cols[j].role == want && cols[j].num == cols[i].num)
				cols[i].type_col = (long)j;
	}
}
