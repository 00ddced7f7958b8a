/*
 * api_ohttp.c: the Oblivious HTTP gateway (RFC 9458): GET /v1/ohttp/keys
 * (and /.well-known/ohttp-gateway) publish the key configuration; POST
 * /v1/ohttp decapsulates a message/ohttp-req, runs the Binary HTTP request
 * inside through the route table exactly as if it had come on its own
 * connection, and encapsulates the reply.
 *
 * Invariants:
 *  1. The inner request reaches the same handler as a direct one, with its
 *     own headers, query and body (request.c), and no peer address: the
 *     peer is the relay.  It is logged once, as itself (endpoint, account,
 *     items, the inner status) with via 'ohttp' and no address.
 *  2. A request that cannot be decapsulated (unknown key id, a suite not
 *     offered, a ciphertext that does not open) gets one answer whatever
 *     the cause: 400 with the problem type of RFC 9458 §5.3 and no detail,
 *     so the gateway is no oracle.  Once decapsulated, every error is the
 *     inner request's own, encapsulated.
 *  3. Decrypted bytes (which hold the bearer token) are wiped before they
 *     are freed; so is the reply of a handler that marked it secret.
 */
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"

/* Room beyond the inner body for the nonce, the Binary HTTP control data
 * and fields, and the tag (more only costs a reallocation). */
#define SEAL_ROOM 1024

void cds_api_ohttp_keys(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_error err = {0};
	struct cds_buf b;
	uint8_t *body;
	size_t len;

	cds_buf_init(&b);
	if (cds_gateway_configs(rq->srv->gateway, &b, &err)) {
		cds_buf_fini(&b);
		cds_reply_from_err(rp, &err);
		return;
	}
	body = cds_buf_steal(&b, &len);
	cds_reply_raw(rp, 200, CDS_OHTTP_MEDIA_KEYS, body, len);
	/* Shared caches help: every client should see the same config. */
	cds_reply_header(rp, "Cache-Control", "public, max-age=300");
}

/* RFC 9458 §5.3: 400 application/problem+json, the same for every cause. */
static void reply_key_problem(struct cds_reply *rp)
{
	json_t *doc = json_pack(
		"{s:s, s:s, s:{s:s, s:s}}", "type", CDS_OHTTP_KEY_PROBLEM,
		"title", "the encapsulated request cannot be decrypted",
		"error", "code", "ohttp_key", "message",
		"the encapsulated request cannot be decrypted with a current key "
		"configuration (fetch /v1/ohttp/keys)");

	cds_reply_json(rp, 400, doc);
	if (rp->status == 400)
		rp->content_type = "application/problem+json";
}

/*
 * Split the inner path at '?' (in place) and its query at '&' into
 * "name=value" strings, percent-decoded, for cds_req_query.
 */
static void split_query(char *path, struct cds_req *in)
{
	char *q = strchr(path, '?'), *w;

	in->query = NULL;
	in->n_query = 0;
	if (!q)
		return;
	*q++ = '\0';
	in->query = q;
	in->n_query = 1;
	for (w = q; *q; q++) {
		if (*q == '&') {
			*w++ = '\0';
			in->n_query++;
		} else if (*q == '%' && q[1] && q[2] &&
			   strchr("0123456789abcdefABCDEF", q[1]) &&
			   strchr("0123456789abcdefABCDEF", q[2])) {
			char h[3] = {q[1], q[2], 0};

			*w++ = (char)strtol(h, NULL, 16);
			q += 2;
		} else {
			*w++ = *q == '+' ? ' ' : *q;
		}
	}
	*w = '\0';
}

/* Whether the inner request may run at all; if not, rp holds why. */
static bool inner_admissible(struct cds_req *in, const struct cds_bhttp_msg *m,
			     struct cds_reply *rp)
{
	char allow[64];

	in->route = cds_route_find(m->method, in->url, allow);
	if (!in->route) {
		cds_route_reply_missing(rp, m->method, in->url, allow);
		return false;
	}
	in->ep = in->route->ep;
	if (in->ep == CDS_EP_OHTTP || in->ep == CDS_EP_OHTTP_KEYS) {
		cds_reply_error(rp, 404, "not_found", -1,
				"%.80s is not served through the gateway", in->url);
		return false;
	}
	if (in->route->direct_only) {
		cds_reply_error(rp, 403, "direct_only", -1,
				"%.16s %.80s is not served through the gateway: its "
				"per-address limit needs the client's address; send it directly",
				m->method, in->url);
		return false;
	}
	if (in->route->mutating && !cds_log_has_room(in->srv)) {
		cds_reply_log_full(in->srv, rp);
		return false;
	}
	if (in->route->has_body &&
	    !cds_body_type_ok(in->route, cds_bhttp_field(m, "content-type"))) {
		cds_reply_error(rp, 415, "unsupported_media_type", -1,
				"the request body must be application/json");
		return false;
	}
	return true;
}

/* What the query log needs, from the inner request to the outer one. */
static void adopt_log_fields(struct cds_req *rq, struct cds_req *in,
			     unsigned status)
{
	rq->ep = in->ep;
	rq->items = in->items;
	rq->has_account = in->has_account;
	memcpy(rq->account, in->account, sizeof(rq->account));
	rq->log_handles = in->log_handles;
	cds_lookup_req_fini(&rq->lookup);
	rq->lookup = in->lookup;
	memset(&in->lookup, 0, sizeof(in->lookup));
	rq->log_status = status;
	/* a write that was done keeps its answer even if the log refuses */
	if (in->route)
		rq->route = in->route;
}

/* Run the inner request m through the route table into irp. */
static void dispatch(struct cds_req *rq, const struct cds_bhttp_msg *m,
		     struct cds_reply *irp)
{
	struct cds_req in = {0};
	char *path = strdup(m->path);

	in.srv = rq->srv;
	in.conn = rq->conn;
	in.start_us = rq->start_us;
	in.ep = CDS_EP_OTHER;
	in.via = CDS_QLOG_VIA_OHTTP;
	in.inner = m;
	cds_buf_init(&in.body);
	if (!path || cds_buf_append(&in.body, m->content, m->content_len)) {
		cds_reply_error(irp, 503, "busy", -1, "out of memory");
		goto out;
	}
	split_query(path, &in);
	in.url = path;
	if (inner_admissible(&in, m, irp))
		in.route->fn(&in, irp);
out:
	adopt_log_fields(rq, &in, irp->status);
	if (in.body.data)
		sodium_memzero(in.body.data, in.body.len);
	cds_buf_fini(&in.body);
	cds_lookup_req_fini(&in.lookup);
	free(path);
}

/* The inner reply as a Binary HTTP response (HEAD: no content). */
static enum cds_err encode_reply(struct cds_buf *out, struct cds_reply *irp,
				 bool head, struct cds_error *err)
{
	struct cds_bhttp_msg m;
	size_t n = 0;
	bool cache_set = false;

	cds_bhttp_init(&m);
	m.status = irp->status;
	m.fields[n++] = (struct cds_bhttp_field){"content-type",
						 irp->content_type};
	for (size_t i = 0; i < irp->n_hdr; i++) {
		m.fields[n++] = (struct cds_bhttp_field){
			irp->hdr[i].name, cds_reply_header_value(&irp->hdr[i])};
		cache_set |= !strcasecmp(irp->hdr[i].name, "Cache-Control");
	}
	if (!cache_set)
		m.fields[n++] = (struct cds_bhttp_field){"cache-control",
							 "no-store"};
	m.n_fields = n;
	m.content = head ? NULL : (const uint8_t *)irp->body;
	m.content_len = head ? 0 : irp->len;
	return cds_bhttp_encode(out, &m, err);
}

/*
 * Encapsulate the inner reply into rp (200 message/ohttp-res).  One buffer,
 * sized once: the response nonce, then the Binary HTTP reply encoded
 * after it, sealed where it lies.  A bucket group is megabytes, and every
 * extra buffer of that size cost page faults and a pass over it.
 */
static void seal_reply(struct cds_reply *rp, struct cds_ohttp_exchange *x,
		       struct cds_reply *irp, bool head)
{
	struct cds_error err = {0};
	struct cds_buf out;
	enum cds_err rc;
	uint8_t *body;
	size_t len;

	cds_buf_init(&out);
	rc = cds_buf_reserve(&out, (head ? 0 : irp->len) + SEAL_ROOM);
	if (rc)
		rc = cds_fail(&err, rc, "out of memory");
	if (!rc)
		rc = cds_ohttp_response_begin(x, &out, NULL, &err);
	if (!rc)
		rc = encode_reply(&out, irp, head, &err);
	if (!rc)
		rc = cds_ohttp_response_finish(x, &out, 0, &err);
	if (rc) {
		if (out.data)   /* an encoding cut short: plaintext */
			sodium_memzero(out.data, out.len);
		cds_buf_fini(&out);
		cds_reply_from_err(rp, &err);
		return;
	}
	body = cds_buf_steal(&out, &len);
	cds_reply_raw(rp, 200, CDS_OHTTP_MEDIA_RES, body, len);
}

void cds_api_ohttp(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_ohttp_exchange x;
	struct cds_error err = {0};
	struct cds_bhttp_msg m;
	struct cds_reply irp;
	struct cds_buf pt;
	bool head = false;

	cds_buf_init(&pt);
	cds_bhttp_init(&m);
	cds_reply_init(&irp);
	if (cds_gateway_decapsulate(rq->srv->gateway, &x, &pt, rq->body.data,
				    rq->body.len, &err)) {
		cds_log_debug("ohttp: %s", err.msg);
		reply_key_problem(rp);
		goto out;
	}
	if (cds_bhttp_parse_request(&m, pt.data, pt.len, &err)) {
		cds_reply_error(&irp, 400, "invalid", -1,
				"the encapsulated request is not valid: %s",
				err.msg);
		rq->log_status = irp.status;
	} else {
		head = !strcmp(m.method, "HEAD");
		dispatch(rq, &m, &irp);
	}
	seal_reply(rp, &x, &irp, head);
out:
	if (irp.secret && irp.body)
		sodium_memzero(irp.body, irp.len);
	cds_reply_fini(&irp);
	cds_bhttp_fini(&m);
	if (pt.data)
		sodium_memzero(pt.data, pt.len);
	cds_buf_fini(&pt);
	cds_ohttp_exchange_wipe(&x);
}
