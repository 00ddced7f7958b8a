/*
 * http.c: HTTP requests over one libcurl easy handle.
 *
 * Invariants:
 *   1. The handle never follows redirects and speaks only http and https,
 *      so the bearer token goes nowhere but the configured server.
 *   2. A reply body never grows past max_reply bytes: the write callback
 *      stops the transfer instead.
 *   3. The token lives in one heap string that is wiped when the handle is
 *      freed (libcurl's copy of the header list is freed with it).
 * curl_global_init is the caller's business (client.c, under pthread_once).
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "client/relay.h"

struct cds_http {
	CURL *curl;
	char *base;
	char *auth_header; /* "Authorization: Bearer T", secret */
	size_t max_reply;
	int too_large;
	struct cds_http_reply *cur;
	struct cds_http_counters ctr;
	struct cds_relay *relay;    /* not owned; NULL: direct */
	char errbuf[CURL_ERROR_SIZE];
};

void cds_http_use_relay(struct cds_http *h, struct cds_relay *rl)
{
	h->relay = rl;
}

enum cds_err cds_http_trust(struct cds_http *h, const char *ca_file,
			    struct cds_error *err)
{
	if (curl_easy_setopt(h->curl, CURLOPT_CAINFO, ca_file) ||
	    curl_easy_setopt(h->curl, CURLOPT_CAPATH, NULL))
		return cds_fail(err, CDS_ERR_INTERNAL,
				"libcurl refused the CA file '%.200s'", ca_file);
	return CDS_OK;
}

/* The bearer credentials ("Bearer T") of the handle, or NULL. */
static const char *bearer(const struct cds_http *h)
{
	return h->auth_header ? h->auth_header + strlen("Authorization: ")
			      : NULL;
}

void cds_http_reply_init(struct cds_http_reply *r)
{
	r->status = 0;
	cds_buf_init(&r->body);
	r->etag[0] = '\0';
	r->retry_after = -1;
	r->octets = false;
}

void cds_http_reply_fini(struct cds_http_reply *r)
{
	if (!r)
		return;
	cds_buf_fini(&r->body);
	cds_http_reply_init(r);
}

/* Only printable ASCII without spaces may go into a header or URL. */
static int is_token_text(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

static enum cds_err check_base(const char *base, struct cds_error *err)
{
	if (!base || !*base)
		return cds_fail(err, CDS_ERR_INVALID, "no server URL given");
	if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
		return cds_fail(err, CDS_ERR_INVALID,
				"server URL '%.100s' must start with http:// or https://",
				base);
	if (strlen(base) > 2000 || !is_token_text(base))
		return cds_fail(err, CDS_ERR_INVALID,
				"server URL '%.100s' is too long or holds spaces or control characters",
				base);
	return CDS_OK;
}

/* The host of an http:// URL into out (brackets of an IPv6 literal
 * dropped); false if it does not fit. */
static bool url_host(char *out, size_t cap, const char *url)
{
	const char *h = url + 7, *end, *at;
	size_t n;

	end = h + strcspn(h, "/?#");
	at = memchr(h, '@', (size_t)(end - h));
	if (at)
		h = at + 1; /* userinfo */
	if (*h == '[') {
		h++;
		end = memchr(h, ']', (size_t)(end - h));
		if (!end)
			return false;
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));

		if (colon)
			end = colon;
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, h, n);
	out[n] = '\0';
	return true;
}

bool cds_http_cleartext_remote(const char *base)
{
	char host[256];
	struct in_addr a4;
	struct in6_addr a6;

	if (strncasecmp(base, "http://", 7) != 0)
		return false;
	if (!url_host(host, sizeof(host), base))
		return true;
	if (!strcasecmp(host, "localhost"))
		return false;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) != 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return !IN6_IS_ADDR_LOOPBACK(&a6);
	return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct cds_http *h = ud;
	size_t len = size * n;

	if (h->cur->body.len + len > h->max_reply) {
		h->too_large = 1;
		return 0;
	}
	if (cds_buf_append(&h->cur->body, p, len) != CDS_OK)
		return 0;
	return len;
}

/* Copy the trimmed value of header line p[0..len) after its colon. */
static size_t header_value(char *out, size_t cap, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len), *end = p + len;
	size_t n;

	if (!colon)
		return 0;
	p = colon + 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	n = (size_t)(end - p);
	if (n >= cap)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

/* Keep ETag, Retry-After and the content's type of the final response
 * (curl also shows us the headers of interim responses, hence the reset on
 * each status line). */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct cds_http *h = ud;
	size_t len = size * n;
	char val[32];

	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		h->cur->etag[0] = '\0';
		h->cur->retry_after = -1;
		h->cur->octets = false;
	} else if (len > 13 && !strncasecmp(p, "content-type:", 13)) {
		h->cur->octets = header_value(val, sizeof(val), p, len) &&
				 !strcasecmp(val, "application/octet-stream");
	} else if (len > 5 && !strncasecmp(p, "etag:", 5)) {
		if (!header_value(h->cur->etag, sizeof(h->cur->etag), p, len) ||
		    !is_token_text(h->cur->etag))
			h->cur->etag[0] = '\0';
	} else if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
		char *end;
		long v;

		if (header_value(val, sizeof(val), p, len)) {
			v = strtol(val, &end, 10);
			h->cur->retry_after = (*end || v < 0) ? -1 : v;
		}
	}
	return len;
}

static enum cds_err set_common(struct cds_http *h, long cto, long to)
{
	CURL *c = h->curl;

	if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cto) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, to) ||
	    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L) ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf) ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, h) ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, h) ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "cds-client/1"))
		return CDS_ERR_INTERNAL;
	return CDS_OK;
}

enum cds_err cds_http_new(struct cds_http **out, const char *base,
			  const char *token, long connect_timeout_ms,
			  long timeout_ms, size_t max_reply,
			  struct cds_error *err)
{
	struct cds_http *h = NULL;
	enum cds_err rc;
	size_t n;

	*out = NULL;
	rc = check_base(base, err);
	if (rc)
		goto out;
	if (token && !is_token_text(token)) {
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "the token is empty or holds spaces or control characters");
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (!h || !(h->base = strdup(base)) || !(h->curl = curl_easy_init())) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory creating an HTTP handle");
		goto out;
	}
	n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	if (token) {
		n = strlen(token) + sizeof("Authorization: Bearer ");
		h->auth_header = malloc(n);
		if (!h->auth_header) {
			rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
			goto out;
		}
		snprintf(h->auth_header, n, "Authorization: Bearer %s", token);
	}
	h->max_reply = max_reply;
	if (set_common(h, connect_timeout_ms, timeout_ms)) {
		rc = cds_fail(err, CDS_ERR_INTERNAL,
			      "libcurl refused an option (too old a libcurl?)");
		goto out;
	}
	*out = h;
	h = NULL;
	rc = CDS_OK;
out:
	cds_http_free(h);
	return rc;
}

void cds_http_free(struct cds_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	if (h->auth_header) {
		sodium_memzero(h->auth_header, strlen(h->auth_header));
		free(h->auth_header);
	}
	free(h->base);
	free(h);
}

void cds_http_take_counters(struct cds_http *h, struct cds_http_counters *sum)
{
	sum->requests += h->ctr.requests;
	sum->bytes_down += h->ctr.bytes_down;
	sum->bytes_up += h->ctr.bytes_up;
	memset(&h->ctr, 0, sizeof(h->ctr));
}

static void count(struct cds_http *h)
{
	curl_off_t down = 0, up = 0;
	long hdr = 0, req = 0;

	curl_easy_getinfo(h->curl, CURLINFO_SIZE_DOWNLOAD_T, &down);
	curl_easy_getinfo(h->curl, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(h->curl, CURLINFO_HEADER_SIZE, &hdr);
	curl_easy_getinfo(h->curl, CURLINFO_REQUEST_SIZE, &req);
	h->ctr.requests++;
	h->ctr.bytes_down += (uint64_t)down + (uint64_t)hdr;
	h->ctr.bytes_up += (uint64_t)up + (uint64_t)req;
}

/* Run the prepared transfer into r; the header list is the caller's. */
static enum cds_err perform(struct cds_http *h, const char *url,
			    struct curl_slist *hdrs, struct cds_http_reply *r,
			    struct cds_error *err)
{
	CURLcode cc;

	cds_buf_reset(&r->body);
	r->status = 0;
	r->etag[0] = '\0';
	r->retry_after = -1;
	h->cur = r;
	h->too_large = 0;
	h->errbuf[0] = '\0';
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(h->curl);
	count(h);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	h->cur = NULL;
	if (h->too_large)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"reply from %s is larger than %zu bytes", url,
				h->max_reply);
	if (cc != CURLE_OK)
		return cds_fail(err, CDS_ERR_NET, "cannot reach %s: %s", url,
				h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
	return CDS_OK;
}

static char *make_url(const struct cds_http *h, const char *path)
{
	size_t n = strlen(h->base) + strlen(path) + 1;
	char *url = malloc(n);

	if (url)
		snprintf(url, n, "%s%s", h->base, path);
	return url;
}

/* Append to a header list; on failure the whole list is freed. */
static struct curl_slist *add_header(struct curl_slist *l, const char *line)
{
	struct curl_slist *n = curl_slist_append(l, line);

	if (!n)
		curl_slist_free_all(l);
	return n;
}

enum cds_err cds_http_get(struct cds_http *h, const char *path,
			  const char *if_none_match, int auth,
			  struct cds_http_reply *r, struct cds_error *err)
{
	char line[CDS_HTTP_ETAG_BYTES + 32];
	struct curl_slist *hdrs = NULL;
	char *url;
	enum cds_err rc;

	if (auth && !h->auth_header)
		return cds_fail(err, CDS_ERR_AUTH,
				"%s needs an account token (none given)", path);
	if (h->relay) {
		struct cds_relay_req q = {.method = "GET", .base = h->base,
					  .path = path,
					  .authorization = auth ? bearer(h) : NULL,
					  .if_none_match = if_none_match};

		return cds_relay_exchange(h->relay, h, &q, r, err);
	}
	url = make_url(h, path);
	hdrs = add_header(hdrs, "Accept: application/json");
	if (hdrs && if_none_match && *if_none_match) {
		snprintf(line, sizeof(line), "If-None-Match: %s", if_none_match);
		hdrs = add_header(hdrs, line);
	}
	if (hdrs && auth)
		hdrs = add_header(hdrs, h->auth_header);
	if (!url || !hdrs) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	rc = perform(h, url, hdrs, r, err);
out:
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

enum cds_err cds_http_post_json(struct cds_http *h, const char *path,
				const char *body, size_t len, int auth,
				const char *accept, struct cds_http_reply *r,
				struct cds_error *err)
{
	struct curl_slist *hdrs = NULL;
	char line[128];
	char *url = NULL;
	enum cds_err rc;

	if (auth && !h->auth_header)
		return cds_fail(err, CDS_ERR_AUTH,
				"%s needs an account token (none given)", path);
	if (h->relay) {
		struct cds_relay_req q = {.method = "POST", .base = h->base,
					  .path = path,
					  .authorization = auth ? bearer(h) : NULL,
					  .body = body, .len = len, .accept = accept};

		return cds_relay_exchange(h->relay, h, &q, r, err);
	}
	url = make_url(h, path);
	snprintf(line, sizeof(line), "Accept: %s",
		 accept ? accept : "application/json");
	hdrs = add_header(hdrs, "Content-Type: application/json");
	if (hdrs)
		hdrs = add_header(hdrs, line);
	if (hdrs)
		hdrs = add_header(hdrs, "Expect:");
	if (hdrs && auth)
		hdrs = add_header(hdrs, h->auth_header);
	if (!url || !hdrs) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = perform(h, url, hdrs, r, err);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
out:
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

enum cds_err cds_http_send_to(struct cds_http *h, const char *url,
			      const char *ctype, const char *accept,
			      const uint8_t *body, size_t len,
			      struct cds_http_reply *r, struct cds_error *err)
{
	struct curl_slist *hdrs = NULL;
	char line[128];
	enum cds_err rc;

	snprintf(line, sizeof(line), "Accept: %s", accept);
	hdrs = add_header(hdrs, line);
	if (hdrs && ctype) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		hdrs = add_header(hdrs, line);
	}
	if (hdrs)
		hdrs = add_header(hdrs, "Expect:");
	if (!hdrs)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	if (ctype) {
		curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
	} else {
		curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	}
	rc = perform(h, url, hdrs, r, err);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	return rc;
}
