/*
 * auth.c: who may call an endpoint, and how often.
 *
 * Account endpoints take "Authorization: Bearer <hex id>.<secret>",
 * checked against the mirror's account cache (hash compare in constant
 * time); admin endpoints take "Bearer admin.<secret>", checked by the
 * store; /metrics takes the metrics token.  No kind of token opens another
 * kind's endpoints.  Charges against the per-account rate limit and the
 * per-address bucket guard are made here too, so that every endpoint
 * refuses in the same words.
 *
 * Invariant: a copy of a token never outlives the function that made it
 * (wiped with sodium_memzero on every path).
 */
#include "server/server_int.h"

#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/timeutil.h"

#define ADMIN_PREFIX "admin."

static void reply_401(struct cds_reply *rp, const char *msg)
{
	cds_reply_error(rp, 401, "unauthorized", -1, "%s", msg);
	cds_reply_header(rp, "WWW-Authenticate", "Bearer realm=\"cds\"");
}

/*
 * Copy the bearer token of the request into tok.  On failure the message
 * says what is wrong with the header, never what the token was.
 */
static bool bearer(struct cds_req *rq, struct cds_reply *rp,
		   char tok[CDS_TOKEN_MAX_BYTES])
{
	const char *h = cds_req_header(rq, "Authorization");
	size_t len;

	if (!h) {
		reply_401(rp, "missing 'Authorization: Bearer TOKEN' header");
		return false;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		reply_401(rp, "the Authorization header must be 'Bearer TOKEN'");
		return false;
	}
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	while (len > 0 && h[len - 1] == ' ')
		len--;
	if (len == 0 || len >= CDS_TOKEN_MAX_BYTES) {
		reply_401(rp, "malformed bearer token");
		return false;
	}
	for (size_t i = 0; i < len; i++)
		if (h[i] <= 0x20 || h[i] >= 0x7f) {
			reply_401(rp, "malformed bearer token");
			return false;
		}
	memcpy(tok, h, len);
	tok[len] = '\0';
	return true;
}

bool cds_api_auth_account(struct cds_req *rq, struct cds_reply *rp,
			  struct cds_account *acct)
{
	char tok[CDS_TOKEN_MAX_BYTES];
	struct cds_error err = {0};
	bool ok = false;

	if (!bearer(rq, rp, tok))
		goto out;
	if (!strncmp(tok, ADMIN_PREFIX, strlen(ADMIN_PREFIX))) {
		reply_401(rp, "this endpoint needs an account token, not the admin token");
		goto out;
	}
	if (cds_mirror_auth(rq->srv->mirror, tok, acct, &err)) {
		if (err.code == CDS_ERR_AUTH)
			reply_401(rp, "unknown or revoked account token");
		else
			cds_reply_from_err(rp, &err);
		goto out;
	}
	memcpy(rq->account, acct->id, CDS_ACCOUNT_ID_BYTES);
	rq->has_account = true;
	ok = true;
out:
	sodium_memzero(tok, sizeof(tok));
	return ok;
}

bool cds_api_auth_admin(struct cds_req *rq, struct cds_reply *rp)
{
	char tok[CDS_TOKEN_MAX_BYTES];
	struct cds_error err = {0};
	struct cds_store *st = NULL;
	bool ok = false;

	if (!bearer(rq, rp, tok))
		goto out;
	if (strncmp(tok, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) != 0) {
		reply_401(rp, "this endpoint needs the admin token");
		goto out;
	}
	if (cds_storepool_get(rq->srv->pool, &st, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	if (cds_store_check_admin(st, tok, &err)) {
		if (err.code == CDS_ERR_AUTH)
			reply_401(rp, "wrong admin token");
		else
			cds_reply_from_err(rp, &err);
		goto out;
	}
	ok = true;
out:
	cds_storepool_put(rq->srv->pool, st);
	sodium_memzero(tok, sizeof(tok));
	return ok;
}

/*
 * The metrics token: SHA-256 of the presented token against the hash read
 * from DIR/metrics.token, compared in constant time.
 */
bool cds_api_auth_metrics(struct cds_req *rq, struct cds_reply *rp)
{
	char tok[CDS_TOKEN_MAX_BYTES];
	uint8_t got[CDS_TOKEN_HASH_BYTES];
	bool ok = false;

	if (!bearer(rq, rp, tok))
		goto out;
	cds_token_hash(got, tok);
	if (sodium_memcmp(got, rq->srv->metrics_hash, sizeof(got)) != 0) {
		reply_401(rp, "/metrics needs the metrics token (DIR/metrics.token)");
		goto out;
	}
	ok = true;
out:
	sodium_memzero(tok, sizeof(tok));
	sodium_memzero(got, sizeof(got));
	return ok;
}

bool cds_api_charge(struct cds_req *rq, struct cds_reply *rp, size_t n)
{
	struct cds_error err = {0};
	uint32_t retry = 0;

	if (!cds_ratelimit_charge(rq->srv->rate, rq->account, (double)n,
				  cds_now_us(), &retry, &err))
		return true;
	if (err.code == CDS_ERR_RATE) {
		cds_metrics_add(rq->srv->metrics, CDS_M_RATE_REJECTED, 1);
		cds_reply_error(rp, 429, "rate_limited", -1, "%s", err.msg);
		cds_reply_header(rp, "Retry-After", "%u", retry);
		return false;
	}
	cds_reply_from_err(rp, &err);
	return false;
}

bool cds_api_ip_admit(struct cds_req *rq, struct cds_reply *rp)
{
	uint32_t retry = 0;

	if (cds_iplimit_admit(rq->srv->iplimit, rq->client, cds_monotonic_us(),
			      &retry))
		return true;
	cds_api_reply_limited(rq, rp, CDS_M_IP_REJECTED, retry,
			      "bucket bytes sent to this address");
	return false;
}

void cds_api_reply_limited(struct cds_req *rq, struct cds_reply *rp,
			   enum cds_metric counter, uint32_t retry,
			   const char *what)
{
	cds_metrics_add(rq->srv->metrics, counter, 1);
	cds_reply_error(rp, 429, "rate_limited", -1,
			"too many %s; retry in %u s", what, retry);
	cds_reply_header(rp, "Retry-After", "%u", retry);
}

bool cds_api_write_guard(struct cds_req *rq, struct cds_reply *rp)
{
	uint32_t retry = 0;

	if (cds_iplimit_take_key(rq->srv->writes, rq->account,
				 CDS_ACCOUNT_ID_BYTES, 1, cds_monotonic_us(),
				 &retry))
		return true;
	cds_api_reply_limited(rq, rp, CDS_M_RATE_REJECTED, retry,
			      "changes from this account");
	return false;
}

void cds_api_ip_charge(struct cds_req *rq, const struct cds_reply *rp)
{
	cds_iplimit_charge(rq->srv->iplimit, rq->client,
			   (double)(CDS_BUCKET_REQUEST_BYTES + rp->len),
			   cds_monotonic_us());
}
