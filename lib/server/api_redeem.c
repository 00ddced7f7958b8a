/*
 * api_redeem.c: the endpoints that spend a verification code:
 * POST /v1/register (a new account owning the verified handle; only while
 * registration is open) and POST /v1/accounts/me/handles (the verified
 * handle joins the asking account).
 *
 * Either way a handle that another account held moves (verify.h
 * invariant 3): its old binding ends and discovery answers with the new
 * account and key.  Answers say what went wrong with the code (unknown,
 * wrong with attempts left, expired, used, exhausted), which tells the
 * holder of the verification id nothing about who else holds the handle.
 */
#include "server/server_int.h"

#include <string.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/timeutil.h"

static void reply_refusal(struct cds_reply *rp,
			  const struct cds_verify_redeem *r,
			  const struct cds_error *err)
{
	switch (r->refusal) {
	case CDS_VERIFY_UNKNOWN:
		cds_reply_error(rp, 404, "unknown_verification", -1, "%s",
				err->msg);
		break;
	case CDS_VERIFY_WRONG:
		cds_reply_error(rp, 403, "wrong_code", -1, "%s", err->msg);
		break;
	case CDS_VERIFY_EXPIRED:
		cds_reply_error(rp, 410, "expired", -1, "%s", err->msg);
		break;
	case CDS_VERIFY_USED:
		cds_reply_error(rp, 410, "used", -1, "%s", err->msg);
		break;
	case CDS_VERIFY_EXHAUSTED:
		cds_reply_error(rp, 410, "exhausted", -1, "%s", err->msg);
		break;
	default:
		cds_reply_from_err(rp, err);
		break;
	}
}

/* The body held a code: wipe it with the decoded copy. */
static void wipe_request(struct cds_req *rq, struct cds_redeem_req *q)
{
	if (rq->body.data)
		sodium_memzero(rq->body.data, rq->body.len);
	cds_redeem_req_fini(q);
}

/* Check the code of q and bind its handle as r says; false: rp filled. */
static bool redeem(struct cds_req *rq, struct cds_reply *rp,
		   const struct cds_redeem_req *q, struct cds_verify_redeem *r)
{
	uint8_t hash[CDS_VERIFY_HASH_BYTES];
	struct cds_store *st = NULL;
	struct cds_error err = {0};
	enum cds_err rc;

	cds_vcode_hash(hash, rq->srv->vkey, q->id, q->code, strlen(q->code));
	r->id = q->id;
	r->code_hash = hash;
	r->now_us = cds_now_us();
	r->max_attempts = rq->srv->cfg.verify_attempts;
	rc = cds_storepool_get(rq->srv->pool, &st, &err);
	if (!rc)
		rc = cds_store_verify_redeem(st, r, &err);
	cds_storepool_put(rq->srv->pool, st);
	sodium_memzero(hash, sizeof(hash));
	if (rc == CDS_ERR_AUTH)
		reply_refusal(rp, r, &err);
	else if (rc)
		cds_reply_from_err(rp, &err);
	if (!rc)
		cds_api_after_write(rq);
	return rc == CDS_OK;
}

void cds_api_register(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_redeem_req q;
	struct cds_verify_redeem r = {0};
	struct cds_error err = {0};
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	if (rq->srv->cfg.registration_closed) {
		cds_reply_error(rp, 403, "registration_closed", -1,
				"registration is closed on this server");
		return;
	}
	if (cds_decode_redeem(&q, (const char *)rq->body.data, rq->body.len,
			      true, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	rq->items = 1;
	memcpy(r.identity_key, q.identity_key, CDS_IDENTITY_KEY_BYTES);
	if (redeem(rq, rp, &q, &r)) {
		memcpy(rq->account, r.created.id, CDS_ACCOUNT_ID_BYTES);
		rq->has_account = true;
		cds_hex_encode(hex, r.created.id, CDS_ACCOUNT_ID_BYTES);
		cds_reply_json(rp, 201, json_pack("{s:s, s:s, s:s}", "account",
						  hex, "token", r.created.token,
						  "handle", r.handle));
		rp->secret = true;
	}
out:
	sodium_memzero(&r, sizeof(r));
	wipe_request(rq, &q);
}

void cds_api_handle_bind(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_redeem_req q;
	struct cds_verify_redeem r = {0};
	struct cds_account acct;
	struct cds_error err = {0};
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	if (!cds_api_auth_account(rq, rp, &acct))
		return;
	if (cds_decode_redeem(&q, (const char *)rq->body.data, rq->body.len,
			      false, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	rq->items = 1;
	r.account = acct.id;
	if (cds_api_write_guard(rq, rp) && redeem(rq, rp, &q, &r)) {
		cds_hex_encode(hex, acct.id, CDS_ACCOUNT_ID_BYTES);
		cds_reply_json(rp, 200, json_pack("{s:s, s:s, s:s}", "status",
						  "ok", "account", hex, "handle",
						  r.handle));
	}
out:
	sodium_memzero(&r, sizeof(r));
	wipe_request(rq, &q);
}
