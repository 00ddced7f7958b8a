/*
 * tfetch.c: the client's fetcher for the transparency verifier
 * (tverify.h): public GETs through cds_client_request on the first
 * connection, so heads and proofs take the same path as the buckets they
 * check (direct or through the relay) and the same wait rules.
 */
#include "client/client_impl.h"

static enum cds_err client_get(void *ctx, const char *path, const char *what,
			       struct cds_buf *body, struct cds_error *err)
{
	struct cds_client *c = ctx;
	struct cds_request rq = {.what = what, .path = path};
	struct cds_http_reply r;
	enum cds_err rc;

	cds_http_reply_init(&r);
	rc = cds_client_request_ok(c, c->http[0], &rq, &r, err);
	if (!rc) {
		/* Hand the reply's buffer over rather than copy it. */
		cds_buf_fini(body);
		*body = r.body;
		cds_buf_init(&r.body);
	}
	cds_http_reply_fini(&r);
	return rc;
}

void cds_client_tfetch(struct cds_client *c, struct cds_tfetch *f)
{
	f->get = client_get;
	f->ctx = c;
	f->bytes = 0;
}
