/*
 * request.c: every request the client sends to the server goes through
 * cds_client_request, the one place that decides what to do about a
 * refusal: a 429 or 503 with Retry-After is waited out and the request
 * sent again, within the operation's total wait bound; a 429 on a request
 * charged to the account (the OPRF and plain-lookup allowance) is final.
 *
 * Invariants:
 *   1. The waits of one operation add up to at most c->max_wait_ms (the
 *      sum over worker threads, so the wall time waited is bounded too).
 *   2. Every wait is announced (CDS_EVENT_WAIT) before it starts and is
 *      longer than Retry-After by a random 1 ms to 25% (at least up to
 *      250 ms), so that the server's balance has refilled and clients
 *      refused at the same moment do not all come back at the same moment.
 *   3. Events reach the callback one at a time (c->event_mu).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client/client_impl.h"

#define JITTER_MIN_MS 250
#define RETRY_AFTER_CAP_S 1000000L

void cds_client_emit(struct cds_client *c, const struct cds_client_event *ev)
{
	if (!c->on_event)
		return;
	pthread_mutex_lock(&c->event_mu);
	c->on_event(c->event_ctx, ev);
	pthread_mutex_unlock(&c->event_mu);
}

void cds_client_progress_total(struct cds_client *c, enum cds_phase ph,
			       uint64_t total)
{
	atomic_store(&c->total[ph], total);
	atomic_store(&c->done[ph], 0);
	cds_client_progress(c, ph, 0);
}

void cds_client_progress(struct cds_client *c, enum cds_phase ph, uint64_t n)
{
	struct cds_client_event ev;

	atomic_fetch_add(&c->done[ph], n);
	if (!c->on_event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = CDS_EVENT_PROGRESS;
	for (int i = 0; i < CDS_PHASE__COUNT; i++) {
		ev.done[i] = atomic_load(&c->done[i]);
		ev.total[i] = atomic_load(&c->total[i]);
	}
	cds_client_emit(c, &ev);
}

static enum cds_err send_once(struct cds_http *h, const struct cds_request *rq,
			      struct cds_http_reply *r, struct cds_error *err)
{
	if (rq->body)
		return cds_http_post_json(h, rq->path, rq->body, rq->len,
					  rq->auth, rq->accept, r, err);
	return cds_http_get(h, rq->path, rq->if_none_match, rq->auth, r, err);
}

/* The spent allowance: no wait, but say when it refills (UTC). */
static enum cds_err allowance_spent(const struct cds_request *rq,
				    const struct cds_http_reply *r,
				    struct cds_error *err)
{
	struct cds_error e;
	char when[40] = "";
	time_t t = time(NULL) + (r->retry_after > 0 ? r->retry_after : 0);
	struct tm tm;
	enum cds_err code;

	cds_error_clear(&e);
	code = cds_proto_status_error(r->status, -1, (const char *)r->body.data,
				      r->body.len, rq->what, &e);
	if (r->retry_after >= 0 && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	if (!when[0])
		return cds_fail(err, code,
				"the account's allowance of evaluations is spent (%s)",
				e.msg);
	return cds_fail(err, code,
			"the account's allowance of evaluations is spent (%s); it refills enough in %ld s, at %s",
			e.msg, r->retry_after, when);
}

/* The server's refusal, once we stop waiting. */
static enum cds_err give_up(struct cds_client *c, const struct cds_request *rq,
			    const struct cds_http_reply *r,
			    struct cds_error *err)
{
	struct cds_error e;
	long waited = atomic_load(&c->waited_ms);
	enum cds_err code;

	cds_error_clear(&e);
	code = cds_proto_status_error(r->status, r->retry_after,
				      (const char *)r->body.data, r->body.len,
				      rq->what, &e);
	if (c->max_wait_ms <= 0)
		return cds_fail(err, code, "%s (waiting is off)", e.msg);
	return cds_fail(err, code,
			"%s; gave up: the waits would exceed the bound of %.1f s (%.1f s waited)",
			e.msg, (double)c->max_wait_ms / 1e3, (double)waited / 1e3);
}

/* How long to wait for a Retry-After of s seconds (invariant 2).  s is
 * the server's word: capped (about 11 days, far past any bound) so that
 * neither the product nor the spread can overflow. */
static long jittered_ms(long s)
{
	long base = (s < RETRY_AFTER_CAP_S ? s : RETRY_AFTER_CAP_S) * 1000;
	long spread = base / 4 > JITTER_MIN_MS ? base / 4 : JITTER_MIN_MS;

	return base + 1 + (long)randombytes_uniform((uint32_t)spread);
}

/* Reserve ms of the operation's bound; false if it does not fit. */
static bool reserve(struct cds_client *c, long ms)
{
	long cur = atomic_load(&c->waited_ms);

	do {
		if (cur + ms > c->max_wait_ms)
			return false;
	} while (!atomic_compare_exchange_weak(&c->waited_ms, &cur, cur + ms));
	return true;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void announce(struct cds_client *c, const struct cds_request *rq,
		     long status, long ms)
{
	struct cds_client_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = CDS_EVENT_WAIT;
	ev.request = rq->what;
	ev.status = status;
	ev.wait_ms = ms;
	ev.waited_ms = atomic_load(&c->waited_ms) - ms;
	ev.max_wait_ms = c->max_wait_ms;
	cds_client_emit(c, &ev);
}

enum cds_err cds_client_request(struct cds_client *c, struct cds_http *h,
				const struct cds_request *rq,
				struct cds_http_reply *r,
				struct cds_error *err)
{
	enum cds_err rc;
	long ms;

	for (;;) {
		rc = send_once(h, rq, r, err);
		if (rc || (r->status != 429 && r->status != 503))
			return rc;
		if (r->retry_after >= 0)
			atomic_store(&c->retry_after_s, r->retry_after);
		if (r->status == 429 && rq->charged)
			return allowance_spent(rq, r, err);
		if (r->retry_after < 0)
			return cds_proto_status_error(r->status, -1,
						      (const char *)r->body.data,
						      r->body.len, rq->what,
						      err);
		ms = jittered_ms(r->retry_after);
		if (!reserve(c, ms))
			return give_up(c, rq, r, err);
		announce(c, rq, r->status, ms);
		atomic_fetch_add(&c->waits, 1);
		nap_ms(ms);
	}
}

enum cds_err cds_client_request_ok(struct cds_client *c, struct cds_http *h,
				   const struct cds_request *rq,
				   struct cds_http_reply *r,
				   struct cds_error *err)
{
	enum cds_err rc = cds_client_request(c, h, rq, r, err);

	if (!rc && r->status != 200)
		rc = cds_proto_status_error(r->status, r->retry_after,
					    (const char *)r->body.data,
					    r->body.len, rq->what, err);
	return rc;
}
