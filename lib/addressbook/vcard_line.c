/*
 * vcard_line.c: logical lines and property splitting for vcard.c.
 *
 * Invariants: the reader never reads past data[len); every append checks the
 * 1 MiB bound first, so a hostile file costs at most that much per line; the
 * search for the property name's ':' resumes where it stopped, so a long line
 * of folds is read in linear time.
 */
#include "addressbook/vcard_line.h"

#include <string.h>

#include "addressbook/rawbook.h"
#include "addressbook/textconv.h"

void cds_vline_init(struct cds_vline_reader *r, const char *data, size_t len)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
	r->lineno = 1;
	cds_buf_init(&r->buf);
}

void cds_vline_fini(struct cds_vline_reader *r)
{
	if (r)
		cds_buf_fini(&r->buf);
}

/* State of the logical line being assembled. */
struct assembly {
	long first;      /* its first physical line */
	size_t scanned;  /* bytes of buf already searched for ':' */
	bool colon;      /* the name part has ended */
	bool qp;         /* the name part says QUOTED-PRINTABLE */
};

static bool name_says_qp(const char *s, size_t n)
{
	static const char qp[] = "QUOTED-PRINTABLE";
	size_t i;

	for (i = 0; i + sizeof(qp) - 1 <= n; i++)
		if (cds_text_iprefix(s + i, n - i, qp))
			return true;
	return false;
}

/* Update a->colon and a->qp with the bytes appended since the last call. */
static void scan_name(struct assembly *a, const struct cds_buf *b)
{
	const char *s = (const char *)b->data;
	const char *c;

	if (a->colon || b->len == a->scanned)
		return;
	c = memchr(s + a->scanned, ':', b->len - a->scanned);
	a->scanned = b->len;
	if (!c)
		return;
	a->colon = true;
	a->qp = name_says_qp(s, (size_t)(c - s));
}

/* Append the physical line at r->pos to r->buf and step past its break. */
static enum cds_err take_line(struct cds_vline_reader *r, struct assembly *a,
			      struct cds_error *err)
{
	const char *s = r->data + r->pos;
	size_t n = 0, left = r->len - r->pos;

	while (n < left && s[n] != '\n' && s[n] != '\r')
		n++;
	if (memchr(s, '\0', n))
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: NUL byte (binary data, not a vCard?)",
				r->lineno);
	if (n > CDS_AB_MAX_LINE_BYTES - r->buf.len)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"line %ld: line longer than 1 MiB after unfolding",
				a->first);
	if (cds_buf_append(&r->buf, s, n))
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory at line %ld",
				r->lineno);
	r->pos += n;
	if (n < left) { /* a break follows: CRLF, LF or a lone CR */
		r->pos++;
		if (s[n] == '\r' && n + 1 < left && s[n + 1] == '\n')
			r->pos++;
		r->lineno++;
	}
	scan_name(a, &r->buf);
	return CDS_OK;
}

/* Does a soft break or a fold continue the logical line?  Consumes the
 * marker ('=' or the leading blank). */
static bool continues(struct cds_vline_reader *r, const struct assembly *a)
{
	struct cds_buf *b = &r->buf;

	if (r->pos >= r->len)
		return false;
	if (a->qp && b->len && b->data[b->len - 1] == '=') {
		b->data[--b->len] = '\0';
		return true;
	}
	if (r->data[r->pos] == ' ' || r->data[r->pos] == '\t') {
		r->pos++;
		return true;
	}
	return false;
}

enum cds_err cds_vline_next(struct cds_vline_reader *r, long *line, bool *eof,
			    struct cds_error *err)
{
	struct assembly a = { .first = r->lineno };
	enum cds_err rc;

	cds_buf_reset(&r->buf);
	*eof = r->pos >= r->len;
	*line = r->lineno;
	if (*eof)
		return CDS_OK;
	do {
		rc = take_line(r, &a, err);
		if (rc)
			return rc;
	} while (continues(r, &a));
	return CDS_OK;
}

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Offset of the first `stop` byte outside double quotes in s[0..n), or n. */
static size_t find_unquoted(const char *s, size_t n, const char *stops)
{
	bool quoted = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && strchr(stops, s[i]))
			return i;
	}
	return n;
}

/* Fill one parameter from "NAME=VALUE", "NAME=\"VALUE\"" or bare "VALUE". */
static void split_param(struct cds_vparam *pa, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);

	pa->name = NULL;
	pa->name_len = 0;
	if (eq) {
		pa->name = s;
		pa->name_len = (size_t)(eq - s);
		n -= pa->name_len + 1;
		s = eq + 1;
		cds_text_trim(&pa->name, &pa->name_len);
	}
	cds_text_trim(&s, &n);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	pa->value = s;
	pa->value_len = n;
}

/* Split "[group.]name" s[0..n) into p; false if it is not a vCard name. */
static bool split_name(struct cds_vprop *p, const char *s, size_t n)
{
	const char *dot = memchr(s, '.', n);
	size_t i;

	p->group = s;
	p->group_len = 0;
	if (dot) {
		p->group_len = (size_t)(dot - s);
		n -= p->group_len + 1;
		s = dot + 1;
	}
	p->name = s;
	p->name_len = n;
	if (n == 0 || (dot && p->group_len == 0))
		return false;
	for (i = 0; i < p->group_len; i++)
		if (!name_char(p->group[i]))
			return false;
	for (i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

enum cds_err cds_vprop_split(struct cds_vprop *p, const char *line, size_t len,
			     long lineno, struct cds_error *err)
{
	size_t colon = find_unquoted(line, len, ":");
	size_t head = find_unquoted(line, colon, ";:");
	size_t at, n;
	char q[64];

	if (colon == len) {
		cds_text_quote(q, line, len);
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: '%s' is not a vCard property (no ':')",
				lineno, q);
	}
	if (!split_name(p, line, head)) {
		cds_text_quote(q, line, head);
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: '%s' is not a vCard property name",
				lineno, q);
	}
	p->n_params = 0;
	for (at = head; at < colon; at += n) {
		at++; /* the ';' */
		n = find_unquoted(line + at, colon - at, ";");
		if (p->n_params == CDS_VPROP_MAX_PARAMS)
			return cds_fail(err, CDS_ERR_INVALID,
					"line %ld: more than %d parameters",
					lineno, CDS_VPROP_MAX_PARAMS);
		split_param(&p->params[p->n_params++], line + at, n);
	}
	p->value = line + colon + 1;
	p->value_len = len - colon - 1;
	return CDS_OK;
}

const struct cds_vparam *cds_vprop_param(const struct cds_vprop *p,
					 const char *name)
{
	size_t i;

	for (i = 0; i < p->n_params; i++)
		if (p->params[i].name &&
		    cds_text_ieq(p->params[i].name, p->params[i].name_len, name))
			return &p->params[i];
	return NULL;
}

/* True if the comma-separated list s[0..n) holds `item`. */
static bool list_has(const char *s, size_t n, const char *item)
{
	const char *c, *t;
	size_t k, tn;

	while (n) {
		c = memchr(s, ',', n);
		k = c ? (size_t)(c - s) : n;
		t = s;
		tn = k;
		cds_text_trim(&t, &tn);
		if (cds_text_ieq(t, tn, item))
			return true;
		if (!c)
			break;
		s += k + 1;
		n -= k + 1;
	}
	return false;
}

bool cds_vprop_has(const struct cds_vprop *p, const char *name,
		   const char *value)
{
	const struct cds_vparam *pa;
	size_t i;

	for (i = 0; i < p->n_params; i++) {
		pa = &p->params[i];
		if (pa->name && !cds_text_ieq(pa->name, pa->name_len, name))
			continue;
		if (list_has(pa->value, pa->value_len, value))
			return true;
	}
	return false;
}
