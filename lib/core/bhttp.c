/*
 * bhttp.c: Binary HTTP (RFC 9292) known-length messages: a strict parser
 * and an encoder.
 *
 * Parsing copies every string into one arena of 2 * len + 8 bytes: each
 * copied item costs its bytes plus a NUL and is preceded in the input by
 * at least one length byte, so the arena can never overflow.  Only the
 * part written is touched (and wiped): the rest is never faulted in, which
 * matters when the content is megabytes and is not copied (_ref).  Invariants:
 *  1. No read goes past in[len): every length is checked against what
 *     remains before it is used (a "huge" length is just too long).
 *  2. After a failed parse the message is zeroed and owns nothing.
 */
#include "core/bhttp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define FRAMING_REQUEST 0
#define FRAMING_RESPONSE 1

struct reader {
	const uint8_t *in;
	size_t len, pos;
	char *arena;
	size_t used;
	bool content_ref;   /* point at the content in `in`, do not copy it */
	struct cds_error *err;
};

void cds_bhttp_init(struct cds_bhttp_msg *m)
{
	memset(m, 0, sizeof(*m));
}

void cds_bhttp_fini(struct cds_bhttp_msg *m)
{
	if (m->arena_)
		sodium_memzero(m->arena_, m->arena_len_);
	free(m->arena_);
	memset(m, 0, sizeof(*m));
}

bool cds_varint_read(const uint8_t *in, size_t len, size_t *pos, uint64_t *v)
{
	size_t n;
	uint64_t x;

	if (*pos >= len)
		return false;
	n = (size_t)1 << (in[*pos] >> 6);
	if (len - *pos < n)
		return false;
	x = in[*pos] & 0x3f;
	for (size_t i = 1; i < n; i++)
		x = (x << 8) | in[*pos + i];
	*pos += n;
	*v = x;
	return true;
}

enum cds_err cds_varint_append(struct cds_buf *out, uint64_t v)
{
	uint8_t b[8];
	size_t n = v < 64 ? 1 : v < 16384 ? 2 : v < (1u << 30) ? 4 : 8;
	uint8_t tag = n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : 3;

	if (v > CDS_VARINT_MAX)
		return CDS_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		b[n - 1 - i] = (uint8_t)(v >> (8 * i));
	b[0] |= (uint8_t)(tag << 6);
	return cds_buf_append(out, b, n);
}

/* True when the input is used up: the rest of the message is truncated. */
static bool at_end(const struct reader *r)
{
	return r->pos == r->len;
}

/* The length of a length-prefixed byte string, checked against the input. */
static bool read_len(struct reader *r, const char *what, size_t *n)
{
	uint64_t v;

	if (!cds_varint_read(r->in, r->len, &r->pos, &v)) {
		cds_fail(r->err, CDS_ERR_INVALID,
			 "binary HTTP: %s: truncated length", what);
		return false;
	}
	if (v > r->len - r->pos) {
		cds_fail(r->err, CDS_ERR_INVALID,
			 "binary HTTP: %s: length %llu exceeds the %zu bytes left",
			 what, (unsigned long long)v, r->len - r->pos);
		return false;
	}
	*n = (size_t)v;
	return true;
}

/* A length-prefixed byte string, copied NUL-terminated into the arena. */
static bool read_bytes(struct reader *r, const char *what, const char **out,
		       size_t *out_len)
{
	size_t n;
	char *s;

	if (!read_len(r, what, &n))
		return false;
	s = r->arena + r->used;
	memcpy(s, r->in + r->pos, n);
	s[n] = '\0';
	r->used += n + 1;
	r->pos += n;
	*out = s;
	if (out_len)
		*out_len = n;
	return true;
}

/* The content: copied like any string, or referred to where it lies. */
static bool read_content(struct reader *r, struct cds_bhttp_msg *m)
{
	const char *c;
	size_t n;

	if (!r->content_ref) {
		if (!read_bytes(r, "content", &c, &m->content_len))
			return false;
		m->content = (const uint8_t *)c;
		return true;
	}
	if (!read_len(r, "content", &n))
		return false;
	m->content = r->in + r->pos;
	m->content_len = n;
	r->pos += n;
	return true;
}

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s, size_t n, bool lower)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]) ||
		    (lower && isupper((unsigned char)s[i])))
			return false;
	return true;
}

static bool clean_value(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
			return false;
	return true;
}

/* One field line; store it unless keep is false (trailers). */
static bool read_field(struct reader *r, struct cds_bhttp_msg *m, bool keep)
{
	const char *name, *value;
	size_t nlen, vlen;

	if (!read_bytes(r, "field name", &name, &nlen) ||
	    !read_bytes(r, "field value", &value, &vlen))
		return false;
	if (!is_token(name, nlen, true)) {
		cds_fail(r->err, CDS_ERR_INVALID,
			 "binary HTTP: field name '%.40s' is not a lower-case token",
			 name);
		return false;
	}
	if (!clean_value(value, vlen)) {
		cds_fail(r->err, CDS_ERR_INVALID,
			 "binary HTTP: value of '%.40s' holds CR, LF or NUL", name);
		return false;
	}
	if (!keep)
		return true;
	if (m->n_fields == CDS_BHTTP_MAX_FIELDS) {
		cds_fail(r->err, CDS_ERR_INVALID,
			 "binary HTTP: more than %d fields", CDS_BHTTP_MAX_FIELDS);
		return false;
	}
	m->fields[m->n_fields].name = name;
	m->fields[m->n_fields].value = value;
	m->n_fields++;
	return true;
}

/* A known-length field section; absent (truncated) counts as empty. */
static bool read_fields(struct reader *r, struct cds_bhttp_msg *m, bool keep)
{
	uint64_t n;
	size_t end;

	if (at_end(r))
		return true;
	if (!cds_varint_read(r->in, r->len, &r->pos, &n) ||
	    n > r->len - r->pos) {
		cds_fail(r->err, CDS_ERR_INVALID,
			 "binary HTTP: field section length exceeds the message");
		return false;
	}
	end = r->pos + (size_t)n;
	while (r->pos < end) {
		struct reader sub = *r;

		sub.len = end;
		if (!read_field(&sub, m, keep))
			return false;
		r->pos = sub.pos;
		r->used = sub.used;
	}
	return true;
}

/* Content, trailers and padding: the common tail of both messages. */
static bool read_tail(struct reader *r, struct cds_bhttp_msg *m)
{
	m->content = (const uint8_t *)"";
	if (!at_end(r) && !read_content(r, m))
		return false;
	if (!read_fields(r, m, false))
		return false;
	for (; r->pos < r->len; r->pos++)
		if (r->in[r->pos] != 0) {
			cds_fail(r->err, CDS_ERR_INVALID,
				 "binary HTTP: non-zero byte after the message at offset %zu",
				 r->pos);
			return false;
		}
	return true;
}

static bool read_request_control(struct reader *r, struct cds_bhttp_msg *m)
{
	size_t mlen, plen;

	if (!read_bytes(r, "method", &m->method, &mlen) ||
	    !read_bytes(r, "scheme", &m->scheme, NULL) ||
	    !read_bytes(r, "authority", &m->authority, NULL) ||
	    !read_bytes(r, "path", &m->path, &plen))
		return false;
	if (!is_token(m->method, mlen, false)) {
		cds_fail(r->err, CDS_ERR_INVALID,
			 "binary HTTP: method '%.20s' is not a token", m->method);
		return false;
	}
	if (plen == 0 || m->path[0] != '/' || !clean_value(m->path, plen) ||
	    strchr(m->path, ' ')) {
		cds_fail(r->err, CDS_ERR_INVALID,
			 "binary HTTP: path '%.60s' is not an absolute path",
			 m->path);
		return false;
	}
	return true;
}

/* Status codes, skipping informational responses and their fields. */
static bool read_status(struct reader *r, struct cds_bhttp_msg *m)
{
	uint64_t st;

	for (;;) {
		if (!cds_varint_read(r->in, r->len, &r->pos, &st)) {
			cds_fail(r->err, CDS_ERR_INVALID,
				 "binary HTTP: truncated status code");
			return false;
		}
		if (st < 100 || st > 599) {
			cds_fail(r->err, CDS_ERR_INVALID,
				 "binary HTTP: status %llu out of range",
				 (unsigned long long)st);
			return false;
		}
		if (st >= 200)
			break;
		if (!read_fields(r, m, false))
			return false;
	}
	m->status = (unsigned)st;
	return true;
}

static enum cds_err parse(struct cds_bhttp_msg *m, const uint8_t *in,
			  size_t len, uint64_t framing, bool content_ref,
			  struct cds_error *err)
{
	struct reader r = {.in = in, .len = len, .content_ref = content_ref,
			   .err = err};
	uint64_t f;
	bool ok;

	cds_bhttp_init(m);
	if (!cds_varint_read(in, len, &r.pos, &f) || f != framing)
		return cds_fail(err, CDS_ERR_INVALID,
				"binary HTTP: not a known-length %s",
				framing ? "response" : "request");
	r.arena = malloc(2 * len + 8);
	if (!r.arena)
		return cds_fail(err, CDS_ERR_NOMEM, "binary HTTP: out of memory");
	m->arena_ = r.arena;
	m->arena_len_ = 2 * len + 8;
	ok = framing == FRAMING_REQUEST ? read_request_control(&r, m)
					: read_status(&r, m);
	ok = ok && read_fields(&r, m, true) && read_tail(&r, m);
	if (!ok) {
		cds_bhttp_fini(m);   /* wipes all: a failed field may lie past used */
		return CDS_ERR_INVALID;
	}
	m->arena_len_ = r.used; /* what fini wipes: only what was written */
	return CDS_OK;
}

enum cds_err cds_bhttp_parse_request(struct cds_bhttp_msg *m,
				     const uint8_t *in, size_t len,
				     struct cds_error *err)
{
	return parse(m, in, len, FRAMING_REQUEST, false, err);
}

enum cds_err cds_bhttp_parse_response(struct cds_bhttp_msg *m,
				      const uint8_t *in, size_t len,
				      struct cds_error *err)
{
	return parse(m, in, len, FRAMING_RESPONSE, false, err);
}

enum cds_err cds_bhttp_parse_response_ref(struct cds_bhttp_msg *m,
					  const uint8_t *in, size_t len,
					  struct cds_error *err)
{
	return parse(m, in, len, FRAMING_RESPONSE, true, err);
}

const char *cds_bhttp_field(const struct cds_bhttp_msg *m, const char *name)
{
	for (size_t i = 0; i < m->n_fields; i++)
		if (!strcasecmp(m->fields[i].name, name))
			return m->fields[i].value;
	return NULL;
}

/* ---- encoder ------------------------------------------------------- */

static enum cds_err put_bytes(struct cds_buf *out, const void *p, size_t n)
{
	enum cds_err rc = cds_varint_append(out, n);

	return rc ? rc : cds_buf_append(out, p, n);
}

static enum cds_err put_str(struct cds_buf *out, const char *s)
{
	return put_bytes(out, s, strlen(s));
}

/* A field name, lower-cased (HTTP/2 and Binary HTTP want lower case). */
static enum cds_err put_name(struct cds_buf *out, const char *name)
{
	size_t n = strlen(name);
	enum cds_err rc = cds_varint_append(out, n);

	for (size_t i = 0; !rc && i < n; i++) {
		uint8_t c = (uint8_t)tolower((unsigned char)name[i]);

		rc = cds_buf_append(out, &c, 1);
	}
	return rc;
}

static enum cds_err put_fields(struct cds_buf *out,
			       const struct cds_bhttp_msg *m)
{
	struct cds_buf sec;
	enum cds_err rc = CDS_OK;

	cds_buf_init(&sec);
	for (size_t i = 0; !rc && i < m->n_fields; i++) {
		rc = put_name(&sec, m->fields[i].name);
		if (!rc)
			rc = put_str(&sec, m->fields[i].value);
	}
	if (!rc)
		rc = put_bytes(out, sec.data ? sec.data : (const uint8_t *)"",
			       sec.len);
	cds_buf_fini(&sec);
	return rc;
}

static enum cds_err put_control(struct cds_buf *out,
				const struct cds_bhttp_msg *m)
{
	enum cds_err rc;

	if (!m->method) {
		rc = cds_varint_append(out, FRAMING_RESPONSE);
		return rc ? rc : cds_varint_append(out, m->status);
	}
	rc = cds_varint_append(out, FRAMING_REQUEST);
	if (!rc)
		rc = put_str(out, m->method);
	if (!rc)
		rc = put_str(out, m->scheme ? m->scheme : "");
	if (!rc)
		rc = put_str(out, m->authority ? m->authority : "");
	if (!rc)
		rc = put_str(out, m->path);
	return rc;
}

enum cds_err cds_bhttp_encode(struct cds_buf *out,
			      const struct cds_bhttp_msg *m,
			      struct cds_error *err)
{
	enum cds_err rc;

	if (m->method ? !m->path : (m->status < 200 || m->status > 599))
		return cds_fail(err, CDS_ERR_INVALID,
				"binary HTTP: a request needs a method and a path, "
				"a response a final status");
	rc = put_control(out, m);
	if (!rc)
		rc = put_fields(out, m);
	if (!rc)
		rc = put_bytes(out, m->content ? m->content : (const uint8_t *)"",
			       m->content_len);
	if (rc)
		return cds_fail(err, rc, "binary HTTP: out of memory");
	return CDS_OK;
}
