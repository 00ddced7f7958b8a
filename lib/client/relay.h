/*
 * relay.h: sending the client's requests through an Oblivious HTTP relay
 * (RFC 9458) to the server's gateway (lib/client internal).
 *
 * A struct cds_relay is shared by every HTTP handle of one client.  When a
 * handle is given one (cds_http_use_relay), cds_http_get and
 * cds_http_post_json turn each request into Binary HTTP, encapsulate it to
 * the gateway's key, POST it to the relay and open the answer, so the
 * layers above see the same struct cds_http_reply either way.
 *
 * The gateway key configuration is fetched once, on first use, through the
 * relay (GET RELAY_URL), and checked against the one the server publishes
 * in /v1/params (asked through the relay too): a gateway that handed one
 * client a key of its own, to single it out, fails the check.  When the
 * first request is itself GET /v1/params (a discovery's is), the check
 * sends it and its checked answer is the request's: one relay round trip
 * in all for the check, not two.
 *
 * Invariants:
 *  1. Nothing goes to the server directly once a relay is set: not even
 *     the key configuration.
 *  2. The bearer token travels only inside the encryption.
 *  3. A config that fails the check is never used (CDS_ERR_PROTO).
 */
#ifndef CDS_CLIENT_RELAY_H
#define CDS_CLIENT_RELAY_H

#include <stddef.h>

#include "client/http.h"
#include "core/err.h"

struct cds_relay;

/* url: the relay's resource, http:// or https://.  No network traffic. */
enum cds_err cds_relay_new(struct cds_relay **out, const char *url,
			   struct cds_error *err) CDS_MUST_CHECK;
void cds_relay_free(struct cds_relay *rl);   /* accepts NULL */

/* One request as http.c would have sent it directly. */
struct cds_relay_req {
	const char *method;          /* "GET" or "POST" */
	const char *base;            /* the server URL of the handle */
	const char *path;            /* "/v1/..." with its query */
	const char *authorization;   /* "Bearer T" or NULL */
	const char *if_none_match;   /* or NULL */
	const char *body;            /* JSON for POST, else NULL */
	size_t len;
	const char *accept;          /* NULL: application/json */
};

/*
 * Send req through the relay with handle h; fill r with the inner reply.
 * A gateway that cannot decrypt (its key rotated past the grace period)
 * makes the client fetch and check the configuration again, once.
 * CDS_ERR_NET if the relay cannot be reached, CDS_ERR_CRYPTO if the
 * gateway still cannot decrypt, CDS_ERR_PROTO if an answer cannot be used.
 */
enum cds_err cds_relay_exchange(struct cds_relay *rl, struct cds_http *h,
				const struct cds_relay_req *req,
				struct cds_http_reply *r,
				struct cds_error *err) CDS_MUST_CHECK;

#endif
