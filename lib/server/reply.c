/*
 * reply.c: building replies and the one error format of the API.
 *
 * The mapping from enum cds_err to HTTP status and error code lives here and
 * nowhere else, so that every endpoint answers the same failure the same
 * way (docs/api.md "Errors" lists it).
 */
#include "server/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Status and stable code of each library error, as clients see them. */
static const struct {
	unsigned status;
	const char *code;
} err_map[] = {
	[CDS_OK] = {200, "ok"},
	[CDS_ERR_NOMEM] = {503, "busy"},
	[CDS_ERR_INVALID] = {400, "invalid"},
	[CDS_ERR_IO] = {500, "internal"},
	[CDS_ERR_STORE] = {500, "internal"},
	[CDS_ERR_NOT_FOUND] = {404, "not_found"},
	[CDS_ERR_EXISTS] = {409, "exists"},
	[CDS_ERR_CRYPTO] = {400, "invalid"},
	[CDS_ERR_EPOCH] = {409, "epoch"},
	[CDS_ERR_AUTH] = {401, "unauthorized"},
	[CDS_ERR_RATE] = {429, "rate_limited"},
	[CDS_ERR_TOO_LARGE] = {413, "too_large"},
	[CDS_ERR_NET] = {500, "internal"},
	[CDS_ERR_PROTO] = {500, "internal"},
	[CDS_ERR_BUSY] = {503, "busy"},
	[CDS_ERR_FULL] = {503, "disk_full"},
	[CDS_ERR_INTERNAL] = {500, "internal"},
	[CDS_ERR_USAGE] = {400, "invalid"},
	[CDS_ERR_DISABLED] = {403, "disabled"},
};

void cds_reply_init(struct cds_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 500;
	r->content_type = "application/json";
}

void cds_reply_fini(struct cds_reply *r)
{
	for (size_t i = 0; i < r->n_hdr; i++) {
		free(r->hdr[i].big);
		r->hdr[i].big = NULL;
	}
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

char *cds_reply_take_body(struct cds_reply *r, size_t *len)
{
	char *b = r->body;

	*len = r->len;
	r->body = NULL;
	r->len = 0;
	return b;
}

void cds_reply_header(struct cds_reply *r, const char *name, const char *fmt,
		      ...)
{
	va_list ap;

	if (r->n_hdr >= CDS_REPLY_MAX_HEADERS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->hdr[r->n_hdr].value, CDS_REPLY_HEADER_BYTES, fmt, ap);
	va_end(ap);
	r->hdr[r->n_hdr].name = name;
	r->n_hdr++;
}

void cds_reply_header_long(struct cds_reply *r, const char *name,
			   const char *value)
{
	char *v;

	if (r->n_hdr >= CDS_REPLY_MAX_HEADERS)
		return;
	if (!(v = strdup(value))) {
		cds_reply_error(r, 503, "busy", -1, "out of memory");
		return;
	}
	r->hdr[r->n_hdr].name = name;
	r->hdr[r->n_hdr].value[0] = '\0';
	r->hdr[r->n_hdr].big = v;
	r->n_hdr++;
}

const char *cds_reply_header_value(const struct cds_reply_header *h)
{
	return h->big ? h->big : h->value;
}

/* The last resort when even the error body cannot be allocated. */
static void reply_static_busy(struct cds_reply *r)
{
	static const char busy[] =
		"{\"error\":{\"code\":\"busy\",\"message\":\"out of memory\"}}";

	free(r->body);
	r->status = 503;
	r->content_type = "application/json";
	r->body = strdup(busy);
	r->len = r->body ? sizeof(busy) - 1 : 0;
}

void cds_reply_json(struct cds_reply *r, unsigned status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	if (!text) {
		reply_static_busy(r);
		return;
	}
	free(r->body);
	r->status = status;
	r->content_type = "application/json";
	r->body = text;
	r->len = strlen(text);
}

void cds_reply_raw(struct cds_reply *r, unsigned status, const char *ctype,
		   uint8_t *body, size_t len)
{
	free(r->body);
	r->status = status;
	r->content_type = ctype;
	r->body = (char *)body;
	r->len = len;
}

/*
 * Messages may quote client input; keep them printable ASCII so that they
 * are always valid JSON strings and safe in a terminal.
 */
static void sanitize(char *msg)
{
	for (unsigned char *p = (unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

static void reply_error_doc(struct cds_reply *r, unsigned status,
			    const char *code, long index, char *msg,
			    long long epoch)
{
	json_t *e;

	sanitize(msg);
	e = json_pack("{s:s, s:s}", "code", code, "message", msg);

	if (e && index >= 0)
		json_object_set_new(e, "index", json_integer(index));
	if (e && epoch >= 0)
		json_object_set_new(e, "epoch", json_integer(epoch));
	cds_reply_json(r, status, e ? json_pack("{s:o}", "error", e) : NULL);
}

void cds_reply_error(struct cds_reply *r, unsigned status, const char *code,
		     long index, const char *fmt, ...)
{
	char msg[CDS_ERROR_MSG_BYTES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error_doc(r, status, code, index, msg, -1);
}

void cds_reply_epoch(struct cds_reply *r, uint32_t asked, uint32_t current)
{
	char msg[CDS_ERROR_MSG_BYTES];

	snprintf(msg, sizeof(msg),
		 "epoch %u is not served; the current epoch is %u "
		 "(fetch /v1/params)", asked, current);
	reply_error_doc(r, 409, "epoch", -1, msg, current);
}

unsigned cds_reply_status_of(enum cds_err code)
{
	if ((unsigned)code < sizeof(err_map) / sizeof(err_map[0]) &&
	    err_map[code].code)
		return err_map[code].status;
	return 500;
}

void cds_reply_from_err(struct cds_reply *r, const struct cds_error *err)
{
	unsigned status = cds_reply_status_of(err->code);
	const char *code = "internal";

	if ((unsigned)err->code < sizeof(err_map) / sizeof(err_map[0]) &&
	    err_map[err->code].code)
		code = err_map[err->code].code;
	if (status >= 500) {
		cds_log_warn("request failed: %s: %s", cds_strerror(err->code),
			     err->msg);
		cds_reply_error(r, status, code, -1, "%s",
				status == 503 ? "server busy, try again later"
					      : "internal error");
		if (status == 503)
			cds_reply_header(r, "Retry-After", "1");
		return;
	}
	cds_reply_error(r, status, code, err->index, "%s",
			err->msg[0] ? err->msg : cds_strerror(err->code));
}
