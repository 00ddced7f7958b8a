/*
 * http.h: the client's HTTP transport over libcurl (lib/client internal).
 *
 * One struct cds_http wraps one curl easy handle, so it keeps its connection
 * alive between requests and must be used by one thread at a time (the
 * client owns one per worker thread).  This layer moves bytes only: it
 * returns the status, body, ETag and Retry-After of a reply and leaves their
 * meaning to protocol.c.  Transport failures are CDS_ERR_NET naming the URL;
 * a reply over the size limit is CDS_ERR_TOO_LARGE.
 */
#ifndef CDS_CLIENT_HTTP_H
#define CDS_CLIENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define CDS_HTTP_ETAG_BYTES 256

struct cds_http;

/* Counters a handle accumulates until cds_http_take_counters(). */
struct cds_http_counters {
	uint64_t requests;
	uint64_t bytes_down;
	uint64_t bytes_up;
};

struct cds_http_reply {
	long status;
	struct cds_buf body;
	char etag[CDS_HTTP_ETAG_BYTES]; /* "" if none (or too long to use) */
	long retry_after;               /* seconds; -1 if absent */
	bool octets; /* Content-Type: application/octet-stream, not JSON */
};

void cds_http_reply_init(struct cds_http_reply *r);
void cds_http_reply_fini(struct cds_http_reply *r);

/*
 * True if base is a plain http:// URL whose host is not loopback
 * (127.0.0.0/8, ::1, "localhost"): a bearer token sent there crosses the
 * network in clear.  Names other than localhost count as remote: what a
 * name resolves to is not the URL's to promise.
 */
bool cds_http_cleartext_remote(const char *base);

/*
 * base: "http://host[:port][/prefix]" (a trailing '/' is dropped).  token
 * NULL = requests that want auth fail with CDS_ERR_AUTH before sending.
 * Timeouts in milliseconds; max_reply bytes.
 */
enum cds_err cds_http_new(struct cds_http **out, const char *base,
			  const char *token, long connect_timeout_ms,
			  long timeout_ms, size_t max_reply,
			  struct cds_error *err) CDS_MUST_CHECK;
void cds_http_free(struct cds_http *h); /* wipes the token; accepts NULL */

/* GET base+path, with If-None-Match when if_none_match is non-empty and
 * the bearer token if auth (GET /v1/accounts/me). */
enum cds_err cds_http_get(struct cds_http *h, const char *path,
			  const char *if_none_match, int auth,
			  struct cds_http_reply *r,
			  struct cds_error *err) CDS_MUST_CHECK;

/*
 * POST a JSON body to base+path, with the bearer token if auth, asking for
 * an answer of type accept (NULL: application/json; r->octets says which
 * type came).
 */
enum cds_err cds_http_post_json(struct cds_http *h, const char *path,
				const char *body, size_t len, int auth,
				const char *accept, struct cds_http_reply *r,
				struct cds_error *err) CDS_MUST_CHECK;

struct cds_relay;

/*
 * Send every later request of h through the Oblivious HTTP relay rl
 * (relay.h), which h does not own and which must outlive it.
 */
void cds_http_use_relay(struct cds_http *h, struct cds_relay *rl);

/*
 * Trust the certificate authorities in the PEM file ca_file for https://
 * instead of the system's store (libcurl's CAINFO; it keeps a copy of the
 * path).  The file is read at each TLS handshake, so a bad one shows as
 * CDS_ERR_NET on the first request; the caller checks that it can be read.
 */
enum cds_err cds_http_trust(struct cds_http *h, const char *ca_file,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * A request to an absolute URL, never through a relay and without the
 * token: what relay.c sends to the relay itself.  ctype NULL = GET with
 * Accept: accept; otherwise POST body with Content-Type: ctype.
 */
enum cds_err cds_http_send_to(struct cds_http *h, const char *url,
			      const char *ctype, const char *accept,
			      const uint8_t *body, size_t len,
			      struct cds_http_reply *r,
			      struct cds_error *err) CDS_MUST_CHECK;

/* Add the handle's counters to *sum and zero them. */
void cds_http_take_counters(struct cds_http *h, struct cds_http_counters *sum);

#endif
