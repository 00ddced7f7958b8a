/*
 * api_verify.c: verified handles (DESIGN.md "Verified handles"):
 * POST /v1/verifications sends a one-time code to a handle;
 * POST /v1/register turns a code into a new account owning the handle;
 * POST /v1/accounts/me/handles binds the handle to the asking account.
 *
 * Invariants:
 *  1. The answer to POST /v1/verifications never depends on whether the
 *     handle is registered, to whom, or to the asker: nothing here reads
 *     the directory.  Registration checks are the discovery paths' job,
 *     and those are charged to the rate limit.
 *  2. Limits come before anything is sent: per account (its writes), per
 *     client address, then per handle (in the store, whoever asks).  Over
 *     any of them: 429 with Retry-After and no message sent.
 *  3. The 202 is sent only once the channel took the message; a delivery
 *     failure is a 502 and its verification is forgotten (it never
 *     counted against the handle's limit: nothing was sent).
 *  4. Codes exist in clear only in the message on its way out; the store
 *     keeps a keyed hash (vcode.h) and every copy is wiped.
 */
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/log.h"
#include "core/timeutil.h"

#define WINDOW_US (3600 * CDS_USEC_PER_SEC)

/* A verification whose code is being delivered. */
struct pending {
	struct cds_req *rq;
	uint8_t id[CDS_VERIFY_ID_BYTES];
	struct cds_message m;
};

/* A request with an Authorization header acts for that account. */
static bool has_auth(struct cds_req *rq)
{
	return cds_req_header(rq, "Authorization") != NULL;
}

static bool verify_ip_guard(struct cds_req *rq, struct cds_reply *rp)
{
	uint32_t retry = 0;

	if (cds_iplimit_take(rq->srv->verify_ip, rq->client, 1,
			     cds_monotonic_us(), &retry))
		return true;
	cds_api_reply_limited(rq, rp, CDS_M_IP_REJECTED, retry,
			      "verifications from this address");
	return false;
}

/* Who may ask: an account (within its write limit), or anyone if open. */
static bool may_ask(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_account acct;

	if (has_auth(rq))
		return cds_api_auth_account(rq, rp, &acct) &&
		       cds_api_write_guard(rq, rp);
	if (rq->srv->cfg.registration_closed) {
		cds_reply_error(rp, 403, "registration_closed", -1,
				"registration is closed on this server: only an "
				"account may verify a handle");
		return false;
	}
	return true;
}

/* Record the verification of p (code hashed) under the per-handle limit. */
static bool record(struct cds_req *rq, struct cds_reply *rp,
		   struct pending *p, const char *handle)
{
	const struct cds_server_config *c = &rq->srv->cfg;
	struct cds_verification v = {.handle = handle};
	struct cds_store *st = NULL;
	struct cds_error err = {0};
	uint32_t retry = 0;
	enum cds_err rc;

	memcpy(v.id, p->id, sizeof(v.id));
	cds_vcode_hash(v.code_hash, rq->srv->vkey, p->id, p->m.code,
		       strlen(p->m.code));
	v.created_us = cds_now_us();
	v.expires_us = v.created_us + (int64_t)c->verify_ttl_s * CDS_USEC_PER_SEC;
	rc = cds_storepool_get(rq->srv->pool, &st, &err);
	if (!rc)
		rc = cds_store_verify_create(st, &v, c->verify_per_handle,
					     WINDOW_US, &retry, &err);
	cds_storepool_put(rq->srv->pool, st);
	sodium_memzero(&v, sizeof(v));
	if (rc == CDS_ERR_RATE)
		cds_api_reply_limited(rq, rp, CDS_M_RATE_REJECTED, retry,
				      "codes sent to this handle");
	else if (rc)
		cds_reply_from_err(rp, &err);
	return rc == CDS_OK;
}

static struct pending *pending_new(struct cds_req *rq, const char *handle)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->rq = rq;
	randombytes_buf(p->id, sizeof(p->id));
	cds_hex_encode(p->m.verification, p->id, sizeof(p->id));
	cds_vcode_new(p->m.code);
	memcpy(p->m.to, handle, strlen(handle) + 1);
	p->m.ttl_s = rq->srv->cfg.verify_ttl_s;
	return p;
}

static void pending_free(struct pending *p)
{
	if (!p)
		return;
	sodium_memzero(p, sizeof(*p));
	free(p);
}

/* The delivery failed: forget the verification (nothing was sent). */
static void forget(struct cds_server *s, const uint8_t *id)
{
	struct cds_store *st = NULL;
	struct cds_error err = {0};

	if (cds_storepool_get(s->pool, &st, &err) ||
	    cds_store_verify_drop(st, id, &err))
		cds_log_warn("forgetting an undelivered verification: %s",
			     err.msg);
	cds_storepool_put(s->pool, st);
}

/* On a sender thread (or the worker, if the queue refused): answer. */
static void delivered(void *ctx, enum cds_err rc, const char *msg)
{
	struct pending *p = ctx;
	struct cds_req *rq = p->rq;
	struct cds_reply *rp = &rq->later;

	(void)msg; /* logged by the deliverer; the client gets no detail */
	if (rc == CDS_ERR_BUSY) {
		forget(rq->srv, p->id);
		cds_reply_error(rp, 503, "busy", -1,
				"too many codes waiting to be sent; retry shortly");
		cds_reply_header(rp, "Retry-After", "1");
	} else if (rc) {
		forget(rq->srv, p->id);
		cds_reply_error(rp, 502, "delivery_failed", -1,
				"the code could not be delivered to this handle; "
				"try again later");
	} else {
		cds_reply_json(rp, 202, json_pack("{s:s, s:i}", "verification",
						  p->m.verification, "expires_in",
						  (json_int_t)p->m.ttl_s));
	}
	pending_free(p);
	cds_api_resume(rq);
}

/* Deferred part of POST /v1/verifications (daemon.c suspended us). */
static void start_delivery(struct cds_req *rq)
{
	struct pending *p = rq->defer_ctx;
	struct cds_error err = {0};
	enum cds_err rc;

	rc = cds_deliver_submit(rq->srv->deliver, &p->m, delivered, p, &err);
	if (rc)
		delivered(p, CDS_ERR_BUSY, err.msg);
}

void cds_api_verify(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_verify_req v = {0};
	struct cds_error err = {0};
	struct pending *p = NULL;

	if (cds_decode_verify(&v, (const char *)rq->body.data, rq->body.len,
			      &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	rq->items = 1;
	if (!may_ask(rq, rp))
		goto out;
	if (!cds_deliver_can(rq->srv->deliver, v.kind)) {
		cds_reply_error(rp, 400, "unsupported", -1,
				"this server cannot send codes to %s handles",
				v.kind == CDS_HANDLE_TEL ? "phone" : "e-mail");
		goto out;
	}
	if (!verify_ip_guard(rq, rp))
		goto out;
	if (!(p = pending_new(rq, v.handle))) {
		cds_reply_error(rp, 503, "busy", -1, "out of memory");
		goto out;
	}
	if (!record(rq, rp, p, v.handle))
		goto out;
	rq->defer = start_delivery;
	rq->defer_ctx = p;
	p = NULL;
out:
	pending_free(p);
	cds_verify_req_fini(&v);
}
