/*
 * csv.c: RFC 4180 records and the rows of a CSV address book (policy in
 * csv.h).
 *
 * Invariants: the reader never reads past data[len); a row costs at most
 * CDS_AB_MAX_LINE_BYTES of input and keeps at most `max` fields, so a hostile
 * row of a million empty fields is read in linear time and constant memory;
 * every field handed to the rawbook has passed UTF-8 validation.
 */
#include "addressbook/csv.h"

#include <stdlib.h>
#include <string.h>

#include "addressbook/textconv.h"
#include "core/buf.h"

struct reader {
	const char *data;
	size_t len, pos;
	long lineno; /* physical line of data[pos], 1-based */
	char delim;
};

/* One row: fields unescaped into text, each NUL-terminated. */
struct record {
	struct cds_buf text;
	size_t *off, *flen;
	size_t n, cap;   /* fields kept */
	size_t total;    /* fields seen, kept or not */
	long line;       /* where the row starts */
	size_t start;    /* offset of the row in data */
};

static void record_fini(struct record *rec)
{
	cds_buf_fini(&rec->text);
	free(rec->off);
	free(rec->flen);
}

static const char *field(const struct record *rec, size_t i, size_t *len)
{
	if (i >= rec->n) {
		*len = 0;
		return "";
	}
	*len = rec->flen[i];
	return (const char *)rec->text.data + rec->off[i];
}

/* Fail unless n more input bytes keep the row within its limit. */
static enum cds_err room(const struct reader *r, const struct record *rec,
			 size_t n, struct cds_error *err)
{
	if (r->pos - rec->start + n > CDS_AB_MAX_LINE_BYTES)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"line %ld: row longer than 1 MiB", rec->line);
	return CDS_OK;
}

static enum cds_err append(struct record *rec, const char *s, size_t n,
			   long line, struct cds_error *err)
{
	if (memchr(s, '\0', n))
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: NUL byte (binary data, not CSV?)",
				line);
	if (cds_buf_append(&rec->text, s, n))
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory at line %ld",
				line);
	return CDS_OK;
}

/* Unquoted text up to the delimiter or a line break.  A stray '"' is kept:
 * spreadsheets write 5'10" unquoted, and refusing them helps nobody. */
static enum cds_err read_plain(struct reader *r, struct record *rec,
			       struct cds_error *err)
{
	size_t n = 0, left = r->len - r->pos;
	const char *s = r->data + r->pos;
	enum cds_err rc;

	while (n < left && s[n] != r->delim && s[n] != '\n' && s[n] != '\r')
		n++;
	rc = room(r, rec, n, err);
	if (rc)
		return rc;
	rc = append(rec, s, n, r->lineno, err);
	r->pos += n;
	return rc;
}

/* Line breaks in s[0..n): CRLF, LF and a lone CR count one each. */
static long count_breaks(const char *s, size_t n)
{
	long k = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\n' ||
		    (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')))
			k++;
	return k;
}

/* A quoted field: "" is a quote, line breaks are data.  Text after the
 * closing quote is kept as if unquoted (lenient, as spreadsheets are). */
static enum cds_err read_quoted(struct reader *r, struct record *rec,
				struct cds_error *err)
{
	long opened = r->lineno;
	const char *s, *q;
	enum cds_err rc;
	size_t n;

	r->pos++; /* the opening quote */
	for (;;) {
		s = r->data + r->pos;
		q = memchr(s, '"', r->len - r->pos);
		if (!q)
			return cds_fail(err, CDS_ERR_INVALID,
					"line %ld: quoted field is not closed (a '\"' is missing)",
					opened);
		n = (size_t)(q - s);
		rc = room(r, rec, n + 1, err);
		if (!rc)
			rc = append(rec, s, n, r->lineno, err);
		if (rc)
			return rc;
		r->lineno += count_breaks(s, n);
		r->pos += n + 1;
		if (r->pos >= r->len || r->data[r->pos] != '"')
			break;
		rc = append(rec, "\"", 1, r->lineno, err);
		if (rc)
			return rc;
		r->pos++;
	}
	return read_plain(r, rec, err);
}

/* Close the field begun at text offset `off`: keep it if there is room. */
static enum cds_err end_field(struct record *rec, size_t off, size_t max)
{
	size_t ncap;
	void *p;

	rec->total++;
	if (rec->n >= max) {
		rec->text.len = off; /* past the last column: dropped */
		if (rec->text.data)
			rec->text.data[off] = '\0';
		return CDS_OK;
	}
	if (rec->n == rec->cap) {
		ncap = rec->cap ? rec->cap * 2 : 32;
		p = reallocarray(rec->off, ncap, sizeof(size_t));
		if (!p)
			return CDS_ERR_NOMEM;
		rec->off = p;
		p = reallocarray(rec->flen, ncap, sizeof(size_t));
		if (!p)
			return CDS_ERR_NOMEM;
		rec->flen = p;
		rec->cap = ncap;
	}
	rec->off[rec->n] = off;
	rec->flen[rec->n] = rec->text.len - off;
	rec->n++;
	return cds_buf_append(&rec->text, "", 1); /* the field's terminator */
}

/*
 * Read one row, keeping at most `max` fields.  *eof is set (and nothing
 * read) at the end of the data.
 */
static enum cds_err read_record(struct reader *r, struct record *rec,
				size_t max, bool *eof, struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	size_t off;

	cds_buf_reset(&rec->text);
	rec->n = rec->total = 0;
	rec->line = r->lineno;
	rec->start = r->pos;
	*eof = r->pos >= r->len;
	while (!*eof) {
		off = rec->text.len;
		if (r->pos < r->len && r->data[r->pos] == '"')
			rc = read_quoted(r, rec, err);
		else
			rc = read_plain(r, rec, err);
		if (!rc && end_field(rec, off, max))
			rc = cds_fail(err, CDS_ERR_NOMEM,
				      "out of memory at line %ld", r->lineno);
		if (rc || r->pos >= r->len)
			break;
		if (r->data[r->pos++] == r->delim)
			continue;
		if (r->data[r->pos - 1] == '\r' && r->pos < r->len &&
		    r->data[r->pos] == '\n')
			r->pos++;
		r->lineno++;
		break;
	}
	return rc;
}

static bool record_blank(const struct record *rec)
{
	const char *s;
	size_t i, n;

	for (i = 0; i < rec->n; i++) {
		s = field(rec, i, &n);
		cds_text_trim(&s, &n);
		if (n)
			return false;
	}
	return true;
}

/*
 * ',' unless the header line (up to its first line break outside quotes)
 * holds no comma but a ';' (European spreadsheets) or a tab.
 */
static char detect_delim(const char *s, size_t n)
{
	bool quoted = false, semi = false, tab = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (s[i] == ',')
			return ',';
		else if (s[i] == '\n' || s[i] == '\r')
			break;
		semi |= s[i] == ';';
		tab |= s[i] == '\t';
	}
	return semi ? ';' : tab ? '\t' : ',';
}

/* The columns and the header row they came from. */
struct table {
	struct record hdr;
	struct cds_csv_column *cols;
	size_t ncols;
	struct cds_buf name; /* the row's name being built */
};

static enum cds_err bad_utf8(const struct table *t, long line, size_t col,
			     struct cds_error *err)
{
	size_t n;
	const char *h = field(&t->hdr, col, &n);
	char q[64];

	cds_text_quote(q, h, n);
	return cds_fail(err, CDS_ERR_INVALID,
			"line %ld: invalid UTF-8 in column '%s' (save the file as UTF-8)",
			line, q);
}

/* Field `col` of rec if it passes UTF-8 validation, trimmed. */
static enum cds_err get(const struct table *t, const struct record *rec,
			size_t col, const char **s, size_t *n,
			struct cds_error *err)
{
	*s = field(rec, col, n);
	if (!cds_text_utf8_valid(*s, *n))
		return bad_utf8(t, rec->line, col, err);
	cds_text_trim(s, n);
	return CDS_OK;
}

/* Append the first non-empty column of `role` to t->name; *found says if
 * there was one. */
static enum cds_err name_part(struct table *t, const struct record *rec,
			      enum cds_csv_role role, bool *found,
			      struct cds_error *err)
{
	const char *s;
	enum cds_err rc;
	size_t i, n;

	*found = false;
	for (i = 0; i < t->ncols && !*found; i++) {
		if (t->cols[i].role != role)
			continue;
		rc = get(t, rec, i, &s, &n, err);
		if (rc)
			return rc;
		if (n == 0)
			continue;
		if ((t->name.len && cds_buf_append(&t->name, " ", 1)) ||
		    cds_buf_append(&t->name, s, n))
			return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		*found = true;
	}
	return CDS_OK;
}

/* The row's name: a full-name column, else the parts in reading order. */
static enum cds_err row_name(struct table *t, const struct record *rec,
			     struct cds_error *err)
{
	static const enum cds_csv_role parts[] = {
		CDS_CSV_PREFIX, CDS_CSV_GIVEN, CDS_CSV_MIDDLE, CDS_CSV_FAMILY,
		CDS_CSV_SUFFIX,
	};
	enum cds_err rc;
	bool found;
	size_t i;

	cds_buf_reset(&t->name);
	rc = name_part(t, rec, CDS_CSV_FULL_NAME, &found, err);
	if (rc || found)
		goto out;
	for (i = 0; !rc && i < sizeof(parts) / sizeof(parts[0]); i++)
		rc = name_part(t, rec, parts[i], &found, err);
out:
	cds_text_squeeze(&t->name);
	return rc;
}

/* Google marks the primary value with '*' in its type column ("* Mobile"). */
static int column_pref(const struct table *t, const struct record *rec,
		       size_t col)
{
	const struct cds_csv_column *c = &t->cols[col];
	const char *s;
	size_t n;

	if (c->type_col >= 0) {
		s = field(rec, (size_t)c->type_col, &n);
		cds_text_trim(&s, &n);
		if (n && s[0] == '*')
			return CDS_RAW_PREF_TOP;
	}
	return c->pref;
}

/* Every value of a phone or e-mail column; Google separates several values
 * of one field with " ::: ".  A column's preference goes to its first. */
static enum cds_err column_entries(struct table *t, struct cds_rawbook *rb,
				   const struct record *rec, size_t col,
				   struct cds_error *err)
{
	static const char sep[] = " ::: ";
	enum cds_raw_kind kind = t->cols[col].role == CDS_CSV_PHONE ?
					 CDS_RAW_TEL : CDS_RAW_EMAIL;
	int pref = column_pref(t, rec, col);
	const char *s, *end, *v;
	size_t n, vn;
	enum cds_err rc;

	rc = get(t, rec, col, &s, &n, err);
	while (!rc && n) {
		end = memmem(s, n, sep, sizeof(sep) - 1);
		v = s;
		vn = end ? (size_t)(end - s) : n;
		s += end ? vn + sizeof(sep) - 1 : vn;
		n -= end ? vn + sizeof(sep) - 1 : vn;
		cds_text_trim(&v, &vn);
		if (vn && cds_rawbook_add_entry(rb, kind, pref, v, vn))
			rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		pref = CDS_RAW_PREF_NONE;
	}
	return rc;
}

static enum cds_err row_contact(struct table *t, struct cds_rawbook *rb,
				const struct record *rec, struct cds_error *err)
{
	enum cds_err rc;
	size_t i;

	rc = cds_rawbook_begin(rb, rec->line, err);
	if (!rc)
		rc = row_name(t, rec, err);
	if (!rc && cds_rawbook_set_name(rb, t->name.len ?
					 (char *)t->name.data : "", t->name.len))
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (i = 0; !rc && i < t->ncols; i++)
		if (t->cols[i].role == CDS_CSV_PHONE ||
		    t->cols[i].role == CDS_CSV_EMAIL)
			rc = column_entries(t, rb, rec, i, err);
	return rc;
}

/* The first non-empty row names the columns; one must be a phone or e-mail
 * column, or the file is not an address book we can use. */
static enum cds_err read_header(struct reader *r, struct table *t,
				struct cds_error *err)
{
	enum cds_err rc;
	bool eof, usable = false;
	size_t i, n;
	const char *s;

	do {
		rc = read_record(r, &t->hdr, CDS_CSV_MAX_FIELDS + 1, &eof, err);
	} while (!rc && !eof && record_blank(&t->hdr));
	if (rc)
		return rc;
	if (eof)
		return cds_fail(err, CDS_ERR_INVALID,
				"empty file: a CSV address book needs a header row");
	if (t->hdr.total > CDS_CSV_MAX_FIELDS)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"line %ld: header has more than %d columns",
				t->hdr.line, CDS_CSV_MAX_FIELDS);
	t->ncols = t->hdr.n;
	t->cols = calloc(t->ncols, sizeof(*t->cols));
	if (!t->cols)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (i = 0; i < t->ncols; i++) {
		s = field(&t->hdr, i, &n);
		cds_csv_classify(&t->cols[i], s, n);
		usable |= t->cols[i].role == CDS_CSV_PHONE ||
			  t->cols[i].role == CDS_CSV_EMAIL;
	}
	cds_csv_link_types(t->cols, t->ncols);
	if (!usable)
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: the header names no phone or e-mail column (expected e.g. 'Phone', 'Mobile', 'E-mail', Google's 'Phone 1 - Value' or Outlook's 'Mobile Phone')",
				t->hdr.line);
	return CDS_OK;
}

enum cds_err cds_csv_parse(struct cds_rawbook *rb, const char *data,
			   size_t len, struct cds_error *err)
{
	struct table t = { 0 };
	struct record rec = { 0 };
	struct reader r;
	enum cds_err rc;
	bool eof;

	if (len > CDS_AB_MAX_FILE_BYTES)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"address book of %zu bytes is over the 64 MiB limit",
				len);
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3;
		len -= 3;
	}
	r.data = data;
	r.len = len;
	r.pos = 0;
	r.lineno = 1;
	r.delim = detect_delim(data, len);
	rc = read_header(&r, &t, err);
	while (!rc) {
		rc = read_record(&r, &rec, t.ncols, &eof, err);
		if (rc || eof)
			break;
		if (!record_blank(&rec))
			rc = row_contact(&t, rb, &rec, err);
	}
	record_fini(&rec);
	record_fini(&t.hdr);
	free(t.cols);
	cds_buf_fini(&t.name);
	return rc;
}
