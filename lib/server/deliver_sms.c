/*
 * deliver_sms.c: codes for phone handles, through an SMS gateway's HTTP
 * webhook: POST URL with {"to":"+E164","body":TEXT} and "Authorization:
 * Bearer TOKEN" (the shape SMS gateways take).  Any 2xx answer is a
 * delivery; anything else, or no answer within the timeout, is a failure.
 */
#include "server/deliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

/* Drop the gateway's answer body: only its status matters. */
static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static char *request_body(const struct cds_message *m)
{
	char text[512];
	json_t *doc;
	char *s;

	cds_message_text(text, sizeof(text), m);
	doc = json_pack("{s:s, s:s}", "to", m->to + strlen("tel:"), "body", text);
	s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	sodium_memzero(text, sizeof(text));
	return s;
}

static enum cds_err perform(CURL *c, const char *url, struct cds_error *err)
{
	long code = 0;
	enum cds_err rc = cds_deliver_perform(c, "SMS gateway", url, &code, err);

	if (!rc && (code < 200 || code > 299))
		rc = cds_fail(err, CDS_ERR_NET,
			      "SMS gateway '%.100s' answered HTTP %ld", url, code);
	return rc;
}

enum cds_err cds_deliver_sms(const char *url, const char *token,
			     const struct cds_message *m, unsigned timeout_s,
			     struct cds_error *err)
{
	char auth[600];
	struct curl_slist *h = NULL, *t;
	char *body = request_body(m);
	enum cds_err rc;
	CURL *c = curl_easy_init();

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(NULL, "Content-Type: application/json");
	t = h ? curl_slist_append(h, auth) : NULL;
	if (!c || !body || !t) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = perform(c, url, err);
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (body) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
	sodium_memzero(auth, sizeof(auth));
	return rc;
}
