/*
 * api_accounts.c: the directory endpoints that write to the store:
 * POST /v1/accounts (admin), PUT /v1/accounts/me/handles (removals only:
 * handles are bound by proof of control, api_verify.c),
 * PUT /v1/accounts/me/identity_key and DELETE /v1/accounts/me (account).
 * Account writes are charged to the account's write limit.
 *
 * Each write runs in one store transaction on a pooled connection, then
 * polls the mirror so that the change is visible to this server's very
 * next request (the background poll would take up to a second).
 *
 * Invariant: the new account's token exists in memory only until it is
 * serialised into the reply, and is wiped then.
 */
#include "server/server_int.h"

#include <string.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/log.h"

void cds_api_after_write(struct cds_req *rq)
{
	struct cds_error err = {0};

	if (cds_mirror_poll(rq->srv->mirror, &err)) {
		cds_metrics_add(rq->srv->metrics, CDS_M_POLL_ERRORS, 1);
		cds_log_warn("poll after write failed (the background poll will retry): %s",
			     err.msg);
	}
}

/* {"status":"ok","account":HEX} */
static void reply_ok(struct cds_reply *rp, unsigned status, const uint8_t *id)
{
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	cds_hex_encode(hex, id, CDS_ACCOUNT_ID_BYTES);
	cds_reply_json(rp, status,
		       json_pack("{s:s, s:s}", "status", "ok", "account", hex));
}

/*
 * The store said a handle of `v` is taken: find which one, so the 409
 * names its index (the store only knows the account's position).  Only the
 * admin sees this: the operator path is the one that may say so.
 */
static void reply_taken(struct cds_reply *rp, struct cds_store *st,
			const struct cds_handle_list *v,
			const struct cds_error *store_err)
{
	struct cds_account a;
	struct cds_error e = {0};

	for (size_t i = 0; i < v->n; i++)
		if (!cds_store_handle_get(st, v->v[i], &a, &e)) {
			cds_reply_error(rp, 409, "exists", (long)i,
					"handles[%zu] '%.80s' is already registered",
					i, v->v[i]);
			return;
		}
	cds_reply_error(rp, 409, "exists", -1, "%s", store_err->msg);
}

void cds_api_account_create(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_server *s = rq->srv;
	struct cds_account_req a = {0};
	struct cds_new_account na;
	struct cds_store *st = NULL;
	struct cds_error err = {0};
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	memset(&na, 0, sizeof(na));
	if (!cds_api_auth_admin(rq, rp))
		goto out;
	if (cds_decode_account(&a, (const char *)rq->body.data, rq->body.len,
			       s->cfg.max_batch, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	rq->items = (uint32_t)a.handles.n;
	memcpy(na.identity_key, a.identity_key, CDS_IDENTITY_KEY_BYTES);
	na.handles = a.handles.v;
	na.n_handles = a.handles.n;
	if (cds_storepool_get(s->pool, &st, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	if (cds_store_accounts_create(st, &na, 1, &err)) {
		if (err.code == CDS_ERR_EXISTS)
			reply_taken(rp, st, &a.handles, &err);
		else
			cds_reply_from_err(rp, &err);
		goto out;
	}
	memcpy(rq->account, na.id, CDS_ACCOUNT_ID_BYTES);
	rq->has_account = true;
	cds_api_after_write(rq);
	cds_hex_encode(hex, na.id, CDS_ACCOUNT_ID_BYTES);
	cds_reply_json(rp, 201, json_pack("{s:s, s:s}", "account", hex,
					  "token", na.token));
	rp->secret = true;
out:
	cds_storepool_put(s->pool, st);
	sodium_memzero(na.token, sizeof(na.token));
	cds_account_req_fini(&a);
}

void cds_api_handles_update(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_server *s = rq->srv;
	struct cds_handles_req h = {0};
	struct cds_account acct;
	struct cds_store *st = NULL;
	struct cds_error err = {0};

	if (!cds_api_auth_account(rq, rp, &acct))
		return;
	if (cds_decode_handles(&h, (const char *)rq->body.data, rq->body.len,
			       s->cfg.max_batch, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	rq->items = (uint32_t)h.remove.n;
	if (!cds_api_write_guard(rq, rp))
		goto out;
	if (cds_storepool_get(s->pool, &st, &err) ||
	    cds_store_handles_update(st, acct.id, NULL, 0, h.remove.v,
				     h.remove.n, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	cds_api_after_write(rq);
	reply_ok(rp, 200, acct.id);
out:
	cds_storepool_put(s->pool, st);
	cds_handles_req_fini(&h);
}

void cds_api_identity_key(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_server *s = rq->srv;
	struct cds_identity_req k;
	struct cds_account acct;
	struct cds_store *st = NULL;
	struct cds_error err = {0};

	if (!cds_api_auth_account(rq, rp, &acct))
		return;
	if (cds_decode_identity(&k, (const char *)rq->body.data, rq->body.len,
				&err)) {
		cds_reply_from_err(rp, &err);
		return;
	}
	rq->items = 1;
	if (!cds_api_write_guard(rq, rp))
		return;
	if (cds_storepool_get(s->pool, &st, &err) ||
	    cds_store_account_set_key(st, acct.id, k.identity_key, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	cds_api_after_write(rq);
	reply_ok(rp, 200, acct.id);
out:
	cds_storepool_put(s->pool, st);
}

void cds_api_account_delete(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_server *s = rq->srv;
	struct cds_account acct;
	struct cds_store *st = NULL;
	struct cds_error err = {0};

	if (!cds_api_auth_account(rq, rp, &acct))
		return;
	if (cds_storepool_get(s->pool, &st, &err) ||
	    cds_store_account_delete(st, acct.id, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	cds_ratelimit_forget(s->rate, acct.id);
	cds_api_after_write(rq);
	reply_ok(rp, 200, acct.id);
out:
	cds_storepool_put(s->pool, st);
}
