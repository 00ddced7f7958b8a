/*
 * deliver_smtp.c: codes for e-mail handles, sent with libcurl's SMTP
 * support to the server of --verify-smtp (smtp:// for a relay on a trusted
 * network, smtps:// for implicit TLS, which libcurl verifies as usual).
 *
 * Invariant: no header line is built from outside input that could hold a
 * line break: the recipient is a canonical e-mail handle (ASCII, no spaces
 * or controls, cds_handle_check) and --verify-from was checked at start.
 */
#include "server/deliver.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#define MAIL_BYTES 2048

struct cursor {
	const char *p;
	size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct cursor *c = arg;
	size_t n = size * nitems < c->left ? size * nitems : c->left;

	memcpy(buf, c->p, n);
	c->p += n;
	c->left -= n;
	return n;
}

/* The whole message: headers, a blank line, the text. */
static void compose(char *mail, size_t cap, const char *from, const char *to,
		    const struct cds_message *m)
{
	char text[512], date[64];
	time_t now = time(NULL);
	struct tm tm;

	cds_message_text(text, sizeof(text), m);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(mail, cap,
		 "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\n"
		 "Message-ID: <%s@cds.invalid>\r\n"
		 "Subject: Your verification code\r\nMIME-Version: 1.0\r\n"
		 "Content-Type: text/plain; charset=us-ascii\r\n\r\n%s\r\n",
		 date, from, to, m->verification, text);
	sodium_memzero(text, sizeof(text));
}

static enum cds_err perform(CURL *c, const char *url, struct cds_error *err)
{
	long code = 0;
	enum cds_err rc = cds_deliver_perform(c, "SMTP server", url, &code, err);

	if (!rc && code != 250)
		rc = cds_fail(err, CDS_ERR_NET,
			      "SMTP server '%.100s' answered %ld to the message",
			      url, code);
	return rc;
}

enum cds_err cds_deliver_smtp(const char *url, const char *from,
			      const struct cds_message *m, unsigned timeout_s,
			      struct cds_error *err)
{
	const char *to = m->to + strlen("mailto:");
	char mail[MAIL_BYTES], env_from[300], rcpt[300];
	struct curl_slist *rcpts = NULL;
	struct cursor cur;
	enum cds_err rc;
	CURL *c = curl_easy_init();

	if (!c)
		return cds_fail(err, CDS_ERR_NOMEM, "cannot start libcurl");
	compose(mail, sizeof(mail), from, to, m);
	cur = (struct cursor){mail, strlen(mail)};
	snprintf(env_from, sizeof(env_from), "<%s>", from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", to);
	rcpts = curl_slist_append(NULL, rcpt);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, env_from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &cur);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	rc = rcpts ? perform(c, url, err)
		   : cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(c);
	sodium_memzero(mail, sizeof(mail));
	return rc;
}
