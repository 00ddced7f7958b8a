/*
 * bhttp.h: Binary HTTP (RFC 9292), known-length form: the message that
 * Oblivious HTTP carries inside its encryption.
 *
 * The parser is strict: known-length framing only (0 request, 1 response),
 * every length within the input, field names lower-case tokens, values free
 * of CR, LF and NUL, a method that is a token, a path that starts with '/',
 * and after the message nothing but zero padding.  Truncation (RFC 9292
 * §3.8: an empty header section, content and trailers may be left off the
 * end) is accepted, as the RFC 9458 example uses it.  Trailers are parsed
 * and dropped; informational (1xx) responses are skipped.
 *
 * A parsed message owns copies of everything (NUL-terminated strings; the
 * content also has a NUL after its last byte), so the input can go at once.
 */
#ifndef CDS_CORE_BHTTP_H
#define CDS_CORE_BHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define CDS_BHTTP_MAX_FIELDS 64

struct cds_bhttp_field {
	const char *name;   /* lower-case */
	const char *value;
};

struct cds_bhttp_msg {
	/* request control data (NULL in a response) */
	const char *method, *scheme, *authority, *path;
	/* response control data (0 in a request) */
	unsigned status;
	struct cds_bhttp_field fields[CDS_BHTTP_MAX_FIELDS];
	size_t n_fields;
	const uint8_t *content;
	size_t content_len;
	char *arena_;       /* owned: every string above points into it */
	size_t arena_len_;  /* wiped on fini: it may hold a bearer token */
};

/* A zeroed message; cds_bhttp_fini frees and re-zeroes (accepts zeroed). */
void cds_bhttp_init(struct cds_bhttp_msg *m);
void cds_bhttp_fini(struct cds_bhttp_msg *m);

/*
 * Parse a known-length request (framing 0) or response (framing 1).  On
 * failure CDS_ERR_INVALID naming what was wrong and m is left zeroed;
 * CDS_ERR_NOMEM if memory runs out.
 */
enum cds_err cds_bhttp_parse_request(struct cds_bhttp_msg *m,
				     const uint8_t *in, size_t len,
				     struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_bhttp_parse_response(struct cds_bhttp_msg *m,
				      const uint8_t *in, size_t len,
				      struct cds_error *err) CDS_MUST_CHECK;

/*
 * As cds_bhttp_parse_response, but m->content points into in instead of
 * into a copy (and has no NUL after it): in must outlive m.  For replies
 * of megabytes (a group of buckets), where the copy is the parse's cost.
 */
enum cds_err cds_bhttp_parse_response_ref(struct cds_bhttp_msg *m,
					  const uint8_t *in, size_t len,
					  struct cds_error *err) CDS_MUST_CHECK;

/* The value of the first field called name (ASCII case-insensitive), or NULL. */
const char *cds_bhttp_field(const struct cds_bhttp_msg *m, const char *name);

/*
 * Append the known-length encoding of m (a request if m->method is set,
 * else a response) to out: control data, fields, content, and no trailers
 * (left off, as §3.8 allows).  Field names are written lower-case.
 * CDS_ERR_INVALID for a missing control field or a status outside
 * 200..599, CDS_ERR_NOMEM.
 */
enum cds_err cds_bhttp_encode(struct cds_buf *out,
			      const struct cds_bhttp_msg *m,
			      struct cds_error *err) CDS_MUST_CHECK;

/* QUIC variable-length integers (RFC 9000 §16), as Binary HTTP uses. */
#define CDS_VARINT_MAX ((UINT64_C(1) << 62) - 1)
enum cds_err cds_varint_append(struct cds_buf *out, uint64_t v) CDS_MUST_CHECK;
/* Read one at *pos; false if in[*pos..len) is too short. */
bool cds_varint_read(const uint8_t *in, size_t len, size_t *pos, uint64_t *v);

#endif
