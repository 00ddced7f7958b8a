/*
 * deliver.c: the delivery queue and its sender threads (deliver.h), and
 * the choice of channel for a handle.
 *
 * Invariants:
 *  1. Jobs leave the queue in order; a sender owns a job once it has
 *     popped it, and frees (wipes) it after calling `done`.
 *  2. After `closing` is set no job is accepted; senders exit only when the
 *     queue is empty, so every accepted job is delivered or failed.
 */
#include "server/deliver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/log.h"

#define MAX_SENDERS 16
#define TOKEN_MAX 512

struct job {
	struct cds_message m;
	cds_deliver_done_fn *done;
	void *ctx;
	struct job *next;
};

struct cds_deliver {
	char *outbox, *smtp_url, *smtp_from, *sms_url;
	char sms_token[TOKEN_MAX];
	unsigned timeout_s;
	size_t cap, n;
	struct job *head, *tail;
	bool closing;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th[MAX_SENDERS];
	unsigned n_th;
};

void cds_message_text(char *buf, size_t cap, const struct cds_message *m)
{
	snprintf(buf, cap,
		 "Your verification code is %s. It expires in %u minutes. "
		 "If you did not ask for it, ignore this message.",
		 m->code, (m->ttl_s + 59) / 60);
}

enum cds_err cds_deliver_perform(CURL *c, const char *peer, const char *url,
				 long *status, struct cds_error *err)
{
	CURLcode cc = curl_easy_perform(c);

	*status = 0;
	if (cc != CURLE_OK)
		return cds_fail(err, CDS_ERR_NET, "%s '%.100s': %s", peer, url,
				curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return CDS_OK;
}

/* Send m by the channel for its kind (the caller checked one exists). */
static enum cds_err send_one(struct cds_deliver *d, const struct cds_message *m,
			     struct cds_error *err)
{
	bool tel = !strncmp(m->to, "tel:", 4);

	if (tel && d->sms_url)
		return cds_deliver_sms(d->sms_url, d->sms_token, m, d->timeout_s,
				       err);
	if (!tel && d->smtp_url)
		return cds_deliver_smtp(d->smtp_url, d->smtp_from, m,
					d->timeout_s, err);
	if (d->outbox)
		return cds_deliver_outbox(d->outbox, m, err);
	return cds_fail(err, CDS_ERR_INTERNAL, "no channel for '%.40s'", m->to);
}

static struct job *pop(struct cds_deliver *d)
{
	struct job *j;

	pthread_mutex_lock(&d->mu);
	while (!d->head && !d->closing)
		pthread_cond_wait(&d->cv, &d->mu);
	j = d->head;
	if (j) {
		d->head = j->next;
		if (!d->head)
			d->tail = NULL;
		d->n--;
	}
	pthread_mutex_unlock(&d->mu);
	return j;
}

static void *sender_main(void *arg)
{
	struct cds_deliver *d = arg;
	struct job *j;

	while ((j = pop(d))) {
		struct cds_error err = {0};
		enum cds_err rc = send_one(d, &j->m, &err);

		if (rc)
			cds_log_warn("verification %s: delivery failed: %s",
				     j->m.verification, err.msg);
		j->done(j->ctx, rc, rc ? err.msg : NULL);
		sodium_memzero(j, sizeof(*j));
		free(j);
	}
	return NULL;
}

/* The bearer token: the file's first line, not empty. */
static enum cds_err read_token(char tok[TOKEN_MAX], const char *path,
			       struct cds_error *err)
{
	FILE *f = fopen(path, "re");
	size_t n = 0;

	if (!f)
		return cds_fail(err, CDS_ERR_USAGE,
				"--verify-sms-token-file: cannot read '%s'", path);
	if (!fgets(tok, TOKEN_MAX, f))
		tok[0] = '\0';
	fclose(f);
	n = strcspn(tok, "\r\n");
	tok[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (tok[i] <= 0x20 || tok[i] >= 0x7f)
			n = 0;
	if (n == 0) {
		sodium_memzero(tok, TOKEN_MAX);
		return cds_fail(err, CDS_ERR_USAGE,
				"--verify-sms-token-file: '%s' must hold one token "
				"(printable ASCII, no spaces) on its first line",
				path);
	}
	return CDS_OK;
}

static bool has_scheme(const char *url, const char *const *schemes)
{
	for (; *schemes; schemes++)
		if (!strncmp(url, *schemes, strlen(*schemes)) &&
		    url[strlen(*schemes)])
			return true;
	return false;
}

static enum cds_err check_config(const struct cds_deliver_config *c,
				 struct cds_error *err)
{
	static const char *const smtp[] = {"smtp://", "smtps://", NULL};
	static const char *const web[] = {"http://", "https://", NULL};
	struct stat st;

	if (c->smtp_url && !has_scheme(c->smtp_url, smtp))
		return cds_fail(err, CDS_ERR_USAGE,
				"--verify-smtp: '%s' is not an smtp:// or smtps:// URL",
				c->smtp_url);
	if (c->smtp_url && (!c->smtp_from || !c->smtp_from[0] ||
			    strpbrk(c->smtp_from, "\r\n<>")))
		return cds_fail(err, CDS_ERR_USAGE,
				"--verify-smtp needs --verify-from ADDR (one address, no line breaks)");
	if (c->sms_url && !has_scheme(c->sms_url, web))
		return cds_fail(err, CDS_ERR_USAGE,
				"--verify-sms-webhook: '%s' is not an http:// or https:// URL",
				c->sms_url);
	if (c->sms_url && !c->sms_token_file)
		return cds_fail(err, CDS_ERR_USAGE,
				"--verify-sms-webhook needs --verify-sms-token-file FILE");
	if (c->outbox && (stat(c->outbox, &st) || !S_ISDIR(st.st_mode) ||
			  access(c->outbox, W_OK | X_OK)))
		return cds_fail(err, CDS_ERR_USAGE,
				"--verify-outbox: '%s' is not a writable directory",
				c->outbox);
	if (c->senders < 1 || c->senders > MAX_SENDERS || c->queue < 1 ||
	    c->timeout_s < 1)
		return cds_fail(err, CDS_ERR_USAGE,
				"delivery needs 1 to %d senders, a queue and a timeout",
				MAX_SENDERS);
	return CDS_OK;
}

static char *dup_or_null(const char *s, bool *ok)
{
	char *p = s ? strdup(s) : NULL;

	if (s && !p)
		*ok = false;
	return p;
}

static enum cds_err copy_config(struct cds_deliver *d,
				const struct cds_deliver_config *c,
				struct cds_error *err)
{
	bool ok = true;

	d->outbox = dup_or_null(c->outbox, &ok);
	d->smtp_url = dup_or_null(c->smtp_url, &ok);
	d->smtp_from = dup_or_null(c->smtp_from, &ok);
	d->sms_url = dup_or_null(c->sms_url, &ok);
	d->timeout_s = c->timeout_s;
	d->cap = c->queue;
	if (!ok)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	if (c->sms_url)
		return read_token(d->sms_token, c->sms_token_file, err);
	return CDS_OK;
}

static enum cds_err start_senders(struct cds_deliver *d, unsigned n,
				  struct cds_error *err)
{
	for (; d->n_th < n; d->n_th++) {
		int e = pthread_create(&d->th[d->n_th], NULL, sender_main, d);

		if (e)
			return cds_fail(err, CDS_ERR_INTERNAL,
					"cannot start a sender thread: %s",
					strerror(e));
	}
	return CDS_OK;
}

enum cds_err cds_deliver_new(struct cds_deliver **out,
			     const struct cds_deliver_config *c,
			     struct cds_error *err)
{
	struct cds_deliver *d;
	enum cds_err rc;

	*out = NULL;
	if ((rc = check_config(c, err)))
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return cds_fail(err, CDS_ERR_INTERNAL, "libcurl failed to initialise");
	d = calloc(1, sizeof(*d));
	if (!d)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	rc = copy_config(d, c, err);
	if (!rc)
		rc = start_senders(d, c->senders, err);
	if (rc) {
		cds_deliver_free(d);
		return rc;
	}
	*out = d;
	return CDS_OK;
}

bool cds_deliver_can(const struct cds_deliver *d, enum cds_handle_kind kind)
{
	if (d->outbox)
		return true;
	return kind == CDS_HANDLE_TEL ? d->sms_url != NULL : d->smtp_url != NULL;
}

enum cds_err cds_deliver_submit(struct cds_deliver *d,
				const struct cds_message *m,
				cds_deliver_done_fn *done, void *ctx,
				struct cds_error *err)
{
	struct job *j = calloc(1, sizeof(*j));
	enum cds_err rc = CDS_OK;

	if (!j)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	j->m = *m;
	j->done = done;
	j->ctx = ctx;
	pthread_mutex_lock(&d->mu);
	if (d->closing || d->n >= d->cap) {
		rc = cds_fail(err, CDS_ERR_BUSY,
			      "too many codes waiting to be sent; retry shortly");
	} else {
		if (d->tail)
			d->tail->next = j;
		else
			d->head = j;
		d->tail = j;
		d->n++;
		pthread_cond_signal(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	if (rc) {
		sodium_memzero(j, sizeof(*j));
		free(j);
	}
	return rc;
}

void cds_deliver_close(struct cds_deliver *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->closing = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	for (unsigned i = 0; i < d->n_th; i++)
		pthread_join(d->th[i], NULL);
	d->n_th = 0;
}

void cds_deliver_free(struct cds_deliver *d)
{
	if (!d)
		return;
	cds_deliver_close(d);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	sodium_memzero(d->sms_token, sizeof(d->sms_token));
	free(d->outbox);
	free(d->smtp_url);
	free(d->smtp_from);
	free(d->sms_url);
	free(d);
}
