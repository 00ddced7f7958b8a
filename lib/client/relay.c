/*
 * relay.c: the client side of Oblivious HTTP (relay.h): key configuration
 * bootstrap and check, and one encapsulated exchange per request.
 */
#include "client/relay.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "core/bhttp.h"
#include "core/codec.h"
#include "crypto/ohttp.h"

#define KEYS_MAX_BYTES 4096

struct cds_relay {
	char *url;
	pthread_mutex_t mu;
	bool ready;                     /* cfg fetched and checked */
	struct cds_ohttp_config cfg;
};

enum cds_err cds_relay_new(struct cds_relay **out, const char *url,
			   struct cds_error *err)
{
	struct cds_relay *rl;

	*out = NULL;
	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return cds_fail(err, CDS_ERR_INVALID,
				"relay URL '%.100s' must start with http:// or https://",
				url ? url : "");
	rl = calloc(1, sizeof(*rl));
	if (!rl || !(rl->url = strdup(url))) {
		free(rl);
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&rl->mu, NULL);
	*out = rl;
	return CDS_OK;
}

void cds_relay_free(struct cds_relay *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl->url);
	free(rl);
}

/*
 * The inner request's control data from the handle's base URL:
 * "http://host:port/prefix" -> scheme, authority, prefix + path.
 */
static char *split_base(const char *base, const char *path, char scheme[8],
			char authority[256])
{
	const char *host = strstr(base, "://") + 3;
	size_t alen = strcspn(host, "/");
	char *full;

	snprintf(scheme, 8, "%.*s", (int)(host - 3 - base), base);
	snprintf(authority, 256, "%.*s", (int)(alen < 255 ? alen : 255), host);
	if (asprintf(&full, "%s%s", host + alen, path) < 0)
		return NULL;
	return full;
}

static enum cds_err encode_request(struct cds_buf *out,
				   const struct cds_relay_req *q,
				   struct cds_error *err)
{
	char scheme[8], authority[256];
	struct cds_bhttp_msg m;
	enum cds_err rc;
	size_t n = 0;

	cds_bhttp_init(&m);
	m.method = q->method;
	m.scheme = scheme;
	m.authority = authority;
	m.path = split_base(q->base, q->path, scheme, authority);
	if (!m.path)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	m.fields[n++] = (struct cds_bhttp_field){
		"accept", q->accept ? q->accept : "application/json"};
	if (q->body)
		m.fields[n++] = (struct cds_bhttp_field){"content-type",
							 "application/json"};
	if (q->authorization)
		m.fields[n++] = (struct cds_bhttp_field){"authorization",
							 q->authorization};
	if (q->if_none_match && *q->if_none_match)
		m.fields[n++] = (struct cds_bhttp_field){"if-none-match",
							 q->if_none_match};
	m.n_fields = n;
	m.content = (const uint8_t *)q->body;
	m.content_len = q->body ? q->len : 0;
	rc = cds_bhttp_encode(out, &m, err);
	free((char *)m.path);
	return rc;
}

/*
 * Status, ETag and Retry-After of the inner reply (the plaintext
 * in->data[off .. off + len)) into r, and its body: the content is moved to
 * the front of in, which r->body then takes over.  A bucket group is
 * megabytes: no copy of it is made beyond that move.
 */
static enum cds_err take_reply(struct cds_http_reply *r, struct cds_buf *in,
			       size_t off, size_t len, struct cds_error *err)
{
	struct cds_bhttp_msg m;
	const char *v;

	if (cds_bhttp_parse_response_ref(&m, in->data + off, len, err))
		return cds_fail(err, CDS_ERR_PROTO,
				"the gateway's answer is not valid binary HTTP");
	r->status = (long)m.status;
	v = cds_bhttp_field(&m, "content-type");
	r->octets = v && !strcasecmp(v, "application/octet-stream");
	v = cds_bhttp_field(&m, "etag");
	snprintf(r->etag, sizeof(r->etag), "%s",
		 v && strlen(v) < sizeof(r->etag) && !strchr(v, ' ') ? v : "");
	v = cds_bhttp_field(&m, "retry-after");
	r->retry_after = -1;
	if (v) {
		char *end;
		long s = strtol(v, &end, 10);

		r->retry_after = *end || end == v || s < 0 ? -1 : s;
	}
	memmove(in->data, m.content, m.content_len);
	in->len = m.content_len;
	in->data[in->len] = '\0';
	cds_bhttp_fini(&m);
	cds_buf_fini(&r->body);
	r->body = *in;
	cds_buf_init(in);
	return CDS_OK;
}

/* Check the relay's outer answer to an encapsulated request. */
static enum cds_err outer_status(const struct cds_relay *rl,
				 const struct cds_http_reply *o,
				 struct cds_error *err)
{
	if (o->status == 200)
		return CDS_OK;
	/* CDS_ERR_CRYPTO: cds_relay_exchange refetches the config once */
	if (o->status == 400)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"the gateway behind relay %s cannot decrypt our "
				"request (key configuration changed?)", rl->url);
	if (o->status == 429 || o->status == 503)
		return cds_fail(err, CDS_ERR_BUSY, "relay %s answered %ld",
				rl->url, o->status);
	return cds_fail(err, CDS_ERR_PROTO, "relay %s answered %ld", rl->url,
			o->status);
}

/* One exchange with config cfg (already chosen). */
static enum cds_err exchange_with(const struct cds_relay *rl,
				  const struct cds_ohttp_config *cfg,
				  struct cds_http *h,
				  const struct cds_relay_req *q,
				  struct cds_http_reply *r,
				  struct cds_error *err)
{
	struct cds_ohttp_exchange x;
	struct cds_http_reply o;
	struct cds_buf plain, sealed;
	size_t off = 0, len = 0;
	enum cds_err rc;

	cds_buf_init(&plain);
	cds_buf_init(&sealed);
	cds_http_reply_init(&o);
	memset(&x, 0, sizeof(x));
	rc = encode_request(&plain, q, err);
	if (!rc)
		rc = cds_ohttp_request_seal(&x, &sealed, cfg, plain.data,
					    plain.len, NULL, err);
	if (!rc)
		rc = cds_http_send_to(h, rl->url, CDS_OHTTP_MEDIA_REQ,
				      CDS_OHTTP_MEDIA_RES, sealed.data,
				      sealed.len, &o, err);
	if (!rc)
		rc = outer_status(rl, &o, err);
	if (!rc)
		rc = cds_ohttp_response_open_in(&x, o.body.data, o.body.len,
						&off, &len, err);
	cds_buf_reset(&r->body);
	if (!rc)
		rc = take_reply(r, &o.body, off, len, err);
	if (plain.data)
		sodium_memzero(plain.data, plain.len); /* held the token */
	cds_buf_fini(&plain);
	cds_buf_fini(&sealed);
	cds_http_reply_fini(&o);
	cds_ohttp_exchange_wipe(&x);
	return rc;
}

/*
 * The key configurations the server publishes in /v1/params, asked with
 * request q (a GET /v1/params) through cfg; its reply is left in r.
 */
static enum cds_err published_keys(const struct cds_relay *rl,
				   const struct cds_ohttp_config *cfg,
				   struct cds_http *h,
				   const struct cds_relay_req *q,
				   struct cds_http_reply *r, uint8_t *out,
				   size_t *len, struct cds_error *err)
{
	json_t *doc = NULL, *v;
	enum cds_err rc;

	rc = exchange_with(rl, cfg, h, q, r, err);
	if (!rc && r->status != 200)
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "GET /v1/params through the relay answered %ld",
			      r->status);
	if (!rc)
		doc = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
	v = doc ? json_object_get(doc, "ohttp_keys") : NULL;
	if (!rc && !json_is_string(v))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "the server publishes no ohttp_keys in /v1/params");
	if (!rc && cds_b64_decode(out, KEYS_MAX_BYTES, len, json_string_value(v),
				  json_string_length(v), NULL))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "ohttp_keys in /v1/params is not valid base64");
	json_decref(doc);
	return rc;
}

/* A plain GET /v1/params: the request the key check itself sends. */
static bool is_params_get(const struct cds_relay_req *q)
{
	return !strcmp(q->method, "GET") && !strcmp(q->path, "/v1/params") &&
	       !q->body && !q->authorization &&
	       !(q->if_none_match && *q->if_none_match);
}

/*
 * First use: fetch the key configurations through the relay, choose one,
 * and check it against what the server publishes.  When the request that
 * needs the config (q) is itself GET /v1/params, as a discovery's first
 * is, the check sends q and its answer is q's: *answered is set and r
 * holds it, one round trip through the relay fewer, the very bytes the
 * check was made on.  Caller holds rl->mu.
 */
static enum cds_err bootstrap(struct cds_relay *rl, struct cds_http *h,
			      const struct cds_relay_req *q,
			      struct cds_http_reply *r, bool *answered,
			      struct cds_error *err)
{
	static uint8_t none[1];
	const struct cds_relay_req own = {.method = "GET", .base = q->base,
					  .path = "/v1/params"};
	bool reuse = is_params_get(q);
	uint8_t pub[KEYS_MAX_BYTES];
	struct cds_ohttp_config cfg;
	struct cds_http_reply k, p;
	size_t plen = 0;
	enum cds_err rc;

	cds_http_reply_init(&k);
	cds_http_reply_init(&p);
	rc = cds_http_send_to(h, rl->url, NULL, CDS_OHTTP_MEDIA_KEYS, none, 0,
			      &k, err);
	if (!rc && k.status != 200)
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "relay %s answered %ld to GET (the key configuration)",
			      rl->url, k.status);
	if (!rc)
		rc = cds_ohttp_keys_pick(&cfg, k.body.data, k.body.len, err);
	if (!rc)
		rc = published_keys(rl, &cfg, h, reuse ? q : &own,
				    reuse ? r : &p, pub, &plen, err);
	if (!rc && (plen != k.body.len || memcmp(pub, k.body.data, plen)))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "the gateway key configuration from relay %s differs "
			      "from the one the server publishes in /v1/params: "
			      "refusing to use it", rl->url);
	if (!rc) {
		rl->cfg = cfg;
		rl->ready = true;
		*answered = reuse;
	}
	cds_http_reply_fini(&k);
	cds_http_reply_fini(&p);
	return rc;
}

/*
 * The config to use: fetched and checked on first use, and again when
 * `stale` (the gateway could not decrypt with it: rotated past its grace).
 * *answered as bootstrap's, false when no bootstrap was needed.
 */
static enum cds_err current_config(struct cds_relay *rl, struct cds_http *h,
				   const struct cds_relay_req *q, bool stale,
				   struct cds_ohttp_config *cfg,
				   struct cds_http_reply *r, bool *answered,
				   struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	*answered = false;
	pthread_mutex_lock(&rl->mu);
	if (stale && rl->ready && rl->cfg.id == cfg->id &&
	    !memcmp(rl->cfg.pk, cfg->pk, sizeof(cfg->pk)))
		rl->ready = false;   /* another thread may have refreshed it */
	if (!rl->ready)
		rc = bootstrap(rl, h, q, r, answered, err);
	*cfg = rl->cfg;
	pthread_mutex_unlock(&rl->mu);
	return rc;
}

enum cds_err cds_relay_exchange(struct cds_relay *rl, struct cds_http *h,
				const struct cds_relay_req *req,
				struct cds_http_reply *r,
				struct cds_error *err)
{
	struct cds_ohttp_config cfg = {0};
	bool answered;
	enum cds_err rc;

	rc = current_config(rl, h, req, false, &cfg, r, &answered, err);
	if (!rc && !answered)
		rc = exchange_with(rl, &cfg, h, req, r, err);
	if (rc == CDS_ERR_CRYPTO) {
		rc = current_config(rl, h, req, true, &cfg, r, &answered, err);
		if (!rc && !answered)
			rc = exchange_with(rl, &cfg, h, req, r, err);
	}
	return rc;
}
