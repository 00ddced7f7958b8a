/*
 * vcard.c: vCard cards into raw contacts (policy in vcard.h).
 *
 * Invariants: a card is open between BEGIN:VCARD and END:VCARD and only then
 * do properties count; its name is set when it closes (FN wins over N, in
 * whatever order they come); every value handed to the rawbook has passed
 * UTF-8 validation and holds no NUL byte (vcard_line.c rejects those).
 */
#include "addressbook/vcard.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addressbook/textconv.h"
#include "addressbook/vcard_line.h"
#include "core/buf.h"

struct card {
	struct cds_rawbook *rb;
	bool open;
	long begin_line;
	int version;          /* 21, 30 or 40 */
	size_t cards;         /* cards read so far */
	bool have_fn;
	struct cds_buf fn, n; /* name candidates, UTF-8 */
	struct cds_buf raw;   /* transfer-decoded value */
	struct cds_buf val;   /* charset-decoded, validated value */
	struct cds_buf out;   /* unescaped value */
};

static void card_init(struct card *c, struct cds_rawbook *rb)
{
	memset(c, 0, sizeof(*c));
	c->rb = rb;
	c->version = 30;
}

static void card_fini(struct card *c)
{
	cds_buf_fini(&c->fn);
	cds_buf_fini(&c->n);
	cds_buf_fini(&c->raw);
	cds_buf_fini(&c->val);
	cds_buf_fini(&c->out);
}

static bool is_name(const struct cds_vprop *p, const char *name)
{
	return cds_text_ieq(p->name, p->name_len, name);
}

static enum cds_err nomem(struct cds_error *err, long line)
{
	return cds_fail(err, CDS_ERR_NOMEM, "out of memory at line %ld", line);
}

/* Record a value we cannot read as a problem of the open card. */
static enum cds_err skip_value(struct card *c, struct cds_error *err,
			       long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum cds_err skip_value(struct card *c, struct cds_error *err,
			       long line, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cds_rawbook_add_problem(c->rb, "line %ld: %s", line, msg))
		return nomem(err, line);
	return CDS_OK;
}

static bool charset_is(const char *s, size_t n, const char *const *names)
{
	for (; *names; names++)
		if (cds_text_ieq(s, n, *names))
			return true;
	return false;
}

/*
 * Transfer- and charset-decode p's value into c->val.  *ok is false when the
 * value was recorded as a problem instead.  Invalid UTF-8 fails the file.
 */
static enum cds_err decode_value(struct card *c, const struct cds_vprop *p,
				 long line, const char *what, bool *ok,
				 struct cds_error *err)
{
	static const char *const utf8[] = { "UTF-8", "UTF8", "US-ASCII",
					    "ASCII", NULL };
	static const char *const latin1[] = { "ISO-8859-1", "ISO8859-1",
					      "ISO_8859-1", "LATIN1", NULL };
	const struct cds_vparam *cs = cds_vprop_param(p, "CHARSET");
	enum cds_err rc;
	char q[64];

	*ok = false;
	cds_buf_reset(&c->raw);
	cds_buf_reset(&c->val);
	if (cds_vprop_has(p, "ENCODING", "BASE64") ||
	    cds_vprop_has(p, "ENCODING", "B"))
		return skip_value(c, err, line, "base64-encoded %s not supported",
				  what);
	if (cds_vprop_has(p, "ENCODING", "QUOTED-PRINTABLE"))
		rc = cds_text_qp_decode(&c->raw, p->value, p->value_len);
	else
		rc = cds_buf_append(&c->raw, p->value, p->value_len);
	if (rc)
		return nomem(err, line);
	if (cs && charset_is(cs->value, cs->value_len, latin1)) {
		rc = cds_text_latin1_to_utf8(&c->val, (char *)c->raw.data,
					     c->raw.len);
	} else if (!cs || charset_is(cs->value, cs->value_len, utf8) ||
		   cds_text_is_ascii((char *)c->raw.data, c->raw.len)) {
		rc = cds_buf_append(&c->val, c->raw.data, c->raw.len);
	} else {
		cds_text_quote(q, cs->value, cs->value_len);
		return skip_value(c, err, line,
				  "%s in CHARSET '%s' not read (UTF-8 and ISO-8859-1 are supported)",
				  what, q);
	}
	if (rc)
		return nomem(err, line);
	if (memchr(c->val.data, '\0', c->val.len))
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: %s decodes to a NUL byte", line, what);
	if (!cds_text_utf8_valid((char *)c->val.data, c->val.len))
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: invalid UTF-8 in %s (save the file as UTF-8 or give its CHARSET)",
				line, what);
	*ok = true;
	return CDS_OK;
}

/*
 * Append s[0..n) to out without backslash escapes: vCard 3.0/4.0 escape
 * '\\' ',' ';' and newline; 2.1 only ';' and '\\'.  An unknown escape is
 * kept as written.  Newlines become spaces: they have no place in a name or
 * a handle.  With `list`, an unescaped ',' separates values (3.0/4.0 N
 * parts) and becomes a space too.
 */
static enum cds_err unescape(struct cds_buf *out, const char *s, size_t n,
			     int version, bool list)
{
	const char *esc = version == 21 ? ";\\" : ";,\\nN";
	char ch;
	size_t i;

	if (cds_buf_reserve(out, n))
		return CDS_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		ch = s[i];
		if (ch == '\\' && i + 1 < n && strchr(esc, s[i + 1])) {
			ch = s[++i];
			if (ch == 'n' || ch == 'N')
				ch = ' ';
		} else if (ch == ',' && list && version != 21) {
			ch = ' ';
		}
		out->data[out->len++] = (uint8_t)ch;
	}
	out->data[out->len] = '\0';
	return CDS_OK;
}

/* Offset of the first ';' in s[0..n) that is not escaped, or n. */
static size_t next_component(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == ';')
			return i;
	}
	return n;
}

/*
 * N is "Family;Given;Additional;Prefix;Suffix"; write it as people read it,
 * "Prefix Given Additional Family Suffix", skipping empty parts.  Commas
 * separate several values of one part (3.0/4.0) and become spaces.
 */
static enum cds_err join_n(struct card *c)
{
	static const int order[] = { 3, 1, 2, 0, 4 };
	const char *part[5] = { 0 }, *s = (const char *)c->val.data;
	size_t plen[5] = { 0 }, n = c->val.len, k, i;

	for (i = 0; i < 5 && n; i++) {
		k = next_component(s, n);
		part[i] = s;
		plen[i] = k;
		s += k < n ? k + 1 : k;
		n -= k < n ? k + 1 : k;
	}
	cds_buf_reset(&c->n);
	for (i = 0; i < 5; i++) {
		if (!part[order[i]])
			continue;
		if (c->n.len && cds_buf_append(&c->n, " ", 1))
			return CDS_ERR_NOMEM;
		if (unescape(&c->n, part[order[i]], plen[order[i]], c->version,
			     true))
			return CDS_ERR_NOMEM;
	}
	cds_text_squeeze(&c->n);
	return CDS_OK;
}

/* Preference rank of a TEL or EMAIL: 4.0 PREF=1..100, else 2.1 bare PREF or
 * 3.0 TYPE=pref as the top rank, else none. */
static int pref_rank(const struct cds_vprop *p)
{
	const struct cds_vparam *pa = cds_vprop_param(p, "PREF");
	int v = 0;
	size_t i;

	if (pa && pa->value_len >= 1 && pa->value_len <= 3) {
		for (i = 0; i < pa->value_len; i++) {
			if (pa->value[i] < '0' || pa->value[i] > '9')
				break;
			v = v * 10 + (pa->value[i] - '0');
		}
		if (i == pa->value_len && v >= 1 && v <= 100)
			return v;
	}
	if (cds_vprop_has(p, "TYPE", "PREF"))
		return CDS_RAW_PREF_TOP;
	return CDS_RAW_PREF_NONE;
}

/* FN and N: keep the first non-empty of each; the card's name is chosen at
 * END:VCARD. */
static enum cds_err on_name(struct card *c, const struct cds_vprop *p,
			    bool fn, long line, struct cds_error *err)
{
	enum cds_err rc;
	bool ok;

	if ((fn && c->have_fn) || (!fn && c->n.len))
		return CDS_OK;
	rc = decode_value(c, p, line, fn ? "FN" : "N", &ok, err);
	if (rc || !ok)
		return rc;
	if (!fn)
		return join_n(c) ? nomem(err, line) : CDS_OK;
	cds_buf_reset(&c->fn);
	if (unescape(&c->fn, (char *)c->val.data, c->val.len, c->version,
		     false))
		return nomem(err, line);
	cds_text_squeeze(&c->fn);
	c->have_fn = c->fn.len > 0;
	return CDS_OK;
}

/* TEL and EMAIL: one raw entry each.  A 4.0 "tel:" URI loses its scheme and
 * its parameters (";ext=", ";phone-context="): a handle is the number. */
static enum cds_err on_handle(struct card *c, const struct cds_vprop *p,
			      enum cds_raw_kind kind, long line,
			      struct cds_error *err)
{
	const char *s;
	size_t n;
	enum cds_err rc;
	bool ok;

	rc = decode_value(c, p, line, kind == CDS_RAW_TEL ? "TEL" : "EMAIL",
			  &ok, err);
	if (rc || !ok)
		return rc;
	cds_buf_reset(&c->out);
	if (unescape(&c->out, (char *)c->val.data, c->val.len, c->version,
		     false))
		return nomem(err, line);
	s = (const char *)c->out.data;
	n = c->out.len;
	cds_text_trim(&s, &n);
	if (kind == CDS_RAW_TEL && cds_text_iprefix(s, n, "tel:")) {
		s += 4;
		n -= 4;
		n = next_component(s, n);
		cds_text_trim(&s, &n);
	}
	if (n == 0)
		return CDS_OK; /* an empty field holds nothing to lose */
	if (cds_rawbook_add_entry(c->rb, kind, pref_rank(p), s, n))
		return nomem(err, line);
	return CDS_OK;
}

static enum cds_err on_version(struct card *c, const struct cds_vprop *p,
			       long line, struct cds_error *err)
{
	const char *s = p->value;
	size_t n = p->value_len;
	char q[64];

	cds_text_trim(&s, &n);
	if (cds_text_ieq(s, n, "2.1"))
		c->version = 21;
	else if (cds_text_ieq(s, n, "3.0"))
		c->version = 30;
	else if (cds_text_ieq(s, n, "4.0"))
		c->version = 40;
	else {
		cds_text_quote(q, s, n);
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: unsupported vCard VERSION '%s' (2.1, 3.0 and 4.0 are supported)",
				line, q);
	}
	return CDS_OK;
}

static enum cds_err on_begin(struct card *c, const char *v, size_t vn,
			     long line, struct cds_error *err)
{
	enum cds_err rc;
	char q[64];

	cds_text_trim(&v, &vn);
	cds_text_quote(q, v, vn);
	if (c->open)
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: BEGIN:%s inside the card begun at line %ld (missing END:VCARD?)",
				line, q, c->begin_line);
	if (!cds_text_ieq(v, vn, "VCARD"))
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: BEGIN:%s is not a vCard (expected BEGIN:VCARD)",
				line, q);
	rc = cds_rawbook_begin(c->rb, line, err);
	if (rc)
		return rc;
	c->open = true;
	c->begin_line = line;
	c->version = 30;
	c->have_fn = false;
	cds_buf_reset(&c->fn);
	cds_buf_reset(&c->n);
	return CDS_OK;
}

static enum cds_err on_end(struct card *c, const char *v, size_t vn,
			   long line, struct cds_error *err)
{
	const struct cds_buf *name;
	char q[64];

	cds_text_trim(&v, &vn);
	cds_text_quote(q, v, vn);
	if (!c->open)
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: END:%s without BEGIN:VCARD", line, q);
	if (!cds_text_ieq(v, vn, "VCARD"))
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: END:%s inside the card begun at line %ld (expected END:VCARD)",
				line, q, c->begin_line);
	name = c->have_fn ? &c->fn : &c->n;
	if (cds_rawbook_set_name(c->rb, name->len ? (char *)name->data : "",
				 name->len))
		return nomem(err, line);
	c->open = false;
	c->cards++;
	return CDS_OK;
}

/* One logical line: structure first, then the properties we read. */
static enum cds_err on_line(struct card *c, const char *s, size_t n, long line,
			    struct cds_error *err)
{
	struct cds_vprop p;
	enum cds_err rc;
	char q[64];

	cds_text_trim(&s, &n);
	if (n == 0)
		return CDS_OK;
	rc = cds_vprop_split(&p, s, n, line, err);
	if (rc)
		return rc;
	if (is_name(&p, "BEGIN"))
		return on_begin(c, p.value, p.value_len, line, err);
	if (is_name(&p, "END"))
		return on_end(c, p.value, p.value_len, line, err);
	if (!c->open) {
		cds_text_quote(q, s, n);
		return cds_fail(err, CDS_ERR_INVALID,
				"line %ld: '%s' outside BEGIN:VCARD ... END:VCARD",
				line, q);
	}
	if (is_name(&p, "VERSION"))
		return on_version(c, &p, line, err);
	if (is_name(&p, "FN") || is_name(&p, "N"))
		return on_name(c, &p, is_name(&p, "FN"), line, err);
	if (is_name(&p, "TEL"))
		return on_handle(c, &p, CDS_RAW_TEL, line, err);
	if (is_name(&p, "EMAIL"))
		return on_handle(c, &p, CDS_RAW_EMAIL, line, err);
	return CDS_OK;
}

enum cds_err cds_vcard_parse(struct cds_rawbook *rb, const char *data,
			     size_t len, struct cds_error *err)
{
	struct cds_vline_reader r;
	struct card c;
	enum cds_err rc;
	long line;
	bool eof;

	if (len > CDS_AB_MAX_FILE_BYTES)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"address book of %zu bytes is over the 64 MiB limit",
				len);
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3;
		len -= 3;
	}
	cds_vline_init(&r, data, len);
	card_init(&c, rb);
	for (;;) {
		rc = cds_vline_next(&r, &line, &eof, err);
		if (rc || eof)
			break;
		rc = on_line(&c, (const char *)r.buf.data, r.buf.len, line, err);
		if (rc)
			break;
	}
	if (!rc && c.open)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "line %ld: the card begun here has no END:VCARD (file truncated?)",
			      c.begin_line);
	if (!rc && c.cards == 0)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "no vCard found (expected a line BEGIN:VCARD)");
	cds_vline_fini(&r);
	card_fini(&c);
	return rc;
}
