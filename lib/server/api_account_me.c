/*
 * api_account_me.c: GET /v1/accounts/me (account auth): what the directory
 * holds for the account asking, {"account":HEX,"identity_key":B64,
 * "handles":[H...]}.  `cds monitor` learns from it which handles to watch
 * in the transparency log; DESIGN.md is silent on it, and an account may
 * read its own record.  Nothing about any other account is reachable here.
 */
#include "server/server_int.h"

#include <sodium.h>

#include "core/codec.h"

struct handles {
	json_t *a;
	bool nomem;
};

/* Appends each handle to the array; stops (non-zero) if one cannot be. */
static int add_handle(void *ctx, const char *handle)
{
	struct handles *h = ctx;

	h->nomem = json_array_append_new(h->a, json_string(handle)) != 0;
	return h->nomem;
}

void cds_api_account_get(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_server *s = rq->srv;
	struct cds_account acct;
	struct cds_store *st = NULL;
	struct cds_error err = {0};
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];
	char key[CDS_B64_LEN(CDS_IDENTITY_KEY_BYTES)];
	struct handles h = { .a = json_array() };

	if (!cds_api_auth_account(rq, rp, &acct))
		goto out;
	if (!h.a) {
		cds_reply_error(rp, 503, "busy", -1, "out of memory");
		goto out;
	}
	/* The store, not the cache: the identity key and handles as of now. */
	if (cds_storepool_get(s->pool, &st, &err) ||
	    cds_store_account_get(st, acct.id, &acct, &err) ||
	    cds_store_account_handles(st, acct.id, add_handle, &h, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	if (h.nomem) {
		cds_reply_error(rp, 503, "busy", -1, "out of memory");
		goto out;
	}
	rq->items = (uint32_t)json_array_size(h.a);
	cds_hex_encode(hex, acct.id, CDS_ACCOUNT_ID_BYTES);
	cds_b64_encode(key, acct.identity_key, CDS_IDENTITY_KEY_BYTES);
	cds_reply_json(rp, 200, json_pack("{s:s, s:s, s:o}", "account", hex,
					  "identity_key", key, "handles",
					  h.a));
	h.a = NULL;
	cds_reply_header(rp, "Cache-Control", "no-store");
out:
	json_decref(h.a);
	cds_storepool_put(s->pool, st);
	sodium_memzero(&acct, sizeof(acct));
}
