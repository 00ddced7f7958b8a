/*
 * router.c: the route table of API v1 (DESIGN.md "HTTP API v1").
 *
 * One row per (method, path).  A path that exists under another method is
 * a 405 with Allow listing the methods it does accept; any other path is a
 * 404.  HEAD is served wherever GET is.  POST /v1/ohttp runs any other
 * row's handler on the request it decapsulates (api_ohttp.c), so a row
 * added here is reachable through the gateway too.
 */
#include "server/server_int.h"

#include <stdio.h>
#include <string.h>

static const struct cds_route routes[] = {
	{"GET", "/v1/health", false, false, false, CDS_EP_HEALTH, cds_api_health},
	{"GET", "/v1/params", false, false, false, CDS_EP_PARAMS, cds_api_params},
	{"POST", "/v1/discover", false, true, false, CDS_EP_DISCOVER,
	 cds_api_discover},
	{"GET", "/v1/buckets/", true, false, false, CDS_EP_BUCKET_GET,
	 cds_api_bucket_get},
	{"POST", "/v1/buckets", false, true, false, CDS_EP_BUCKETS_POST,
	 cds_api_buckets_post},
	{"POST", "/v1/lookup", false, true, false, CDS_EP_LOOKUP, cds_api_lookup},
	{"POST", "/v1/accounts", false, true, true, CDS_EP_ACCOUNT_CREATE,
	 cds_api_account_create},
	{"PUT", "/v1/accounts/me/handles", false, true, true,
	 CDS_EP_HANDLES_UPDATE, cds_api_handles_update},
	{"PUT", "/v1/accounts/me/identity_key", false, true, true,
	 CDS_EP_IDENTITY_KEY, cds_api_identity_key},
	{"GET", "/v1/accounts/me", false, false, false, CDS_EP_ACCOUNT_GET,
	 cds_api_account_get},
	{"DELETE", "/v1/accounts/me", false, false, true, CDS_EP_ACCOUNT_DELETE,
	 cds_api_account_delete},
	{"GET", "/metrics", false, false, false, CDS_EP_METRICS, cds_api_metrics},
	/* direct only: metered per address, and its answer is deferred */
	{"POST", "/v1/verifications", false, true, true, CDS_EP_VERIFY,
	 cds_api_verify, NULL, true},
	{"POST", "/v1/register", false, true, true, CDS_EP_REGISTER,
	 cds_api_register},
	{"POST", "/v1/accounts/me/handles", false, true, true,
	 CDS_EP_HANDLE_BIND, cds_api_handle_bind},
	{"GET", "/v1/ohttp/keys", false, false, false, CDS_EP_OHTTP_KEYS,
	 cds_api_ohttp_keys},
	{"GET", "/.well-known/ohttp-gateway", false, false, false,
	 CDS_EP_OHTTP_KEYS, cds_api_ohttp_keys},
	{"POST", "/v1/ohttp", false, true, false, CDS_EP_OHTTP, cds_api_ohttp,
	 CDS_OHTTP_MEDIA_REQ},
	{"GET", "/v1/transparency/head", false, false, false, CDS_EP_THEAD,
	 cds_api_thead},
	{"GET", "/v1/transparency/consistency", false, false, false,
	 CDS_EP_TCONSISTENCY, cds_api_tconsistency},
	{"GET", "/v1/transparency/versions/", true, false, false,
	 CDS_EP_TVERSION, cds_api_tversion},
	{"GET", "/v1/transparency/buckets/", true, false, false,
	 CDS_EP_THISTORY, cds_api_thistory, NULL, false, "/history"},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static bool path_matches(const struct cds_route *r, const char *path)
{
	size_t n = strlen(r->path), len = strlen(path), sn;

	if (r->is_prefix && r->suffix) {
		/* "/v1/transparency/buckets/P/history": P non-empty, no '/'. */
		sn = strlen(r->suffix);
		return len > n + sn && strncmp(path, r->path, n) == 0 &&
		       strcmp(path + len - sn, r->suffix) == 0 &&
		       memchr(path + n, '/', len - n - sn) == NULL;
	}
	if (r->is_prefix)
		/* "/v1/buckets/" needs something after the slash. */
		return strncmp(path, r->path, n) == 0 && path[n] != '\0' &&
		       strchr(path + n, '/') == NULL;
	return strcmp(path, r->path) == 0;
}

static void add_allow(char allow[64], const char *method)
{
	size_t len = strlen(allow);

	if (strstr(allow, method))
		return;
	snprintf(allow + len, 64 - len, "%s%s", len ? ", " : "", method);
}

void cds_route_reply_missing(struct cds_reply *rp, const char *method,
			     const char *path, const char allow[64])
{
	if (allow[0]) {
		cds_reply_error(rp, 405, "method_not_allowed", -1,
				"%.16s is not allowed on %.80s (allowed: %s)",
				method, path, allow);
		cds_reply_header(rp, "Allow", "%s", allow);
		return;
	}
	cds_reply_error(rp, 404, "not_found", -1, "no such endpoint %.80s",
			path);
}

const struct cds_route *cds_route_find(const char *method, const char *path,
				       char allow[64])
{
	bool head = strcmp(method, "HEAD") == 0;

	allow[0] = '\0';
	for (size_t i = 0; i < N_ROUTES; i++) {
		const struct cds_route *r = &routes[i];

		if (!path_matches(r, path))
			continue;
		if (!strcmp(method, r->method) ||
		    (head && !strcmp(r->method, "GET")))
			return r;
		add_allow(allow, r->method);
		if (!strcmp(r->method, "GET"))
			add_allow(allow, "HEAD");
	}
	return NULL;
}
