/*
 * notify.c: the change-notice listener (server_int.h).
 *
 * Replicas of a shared store learn of each other's writes from the change
 * log, which the background thread polls every second.  A notice (a
 * PostgreSQL NOTIFY sent by every commit that logs a change, store/shared.h)
 * wakes that thread at once instead.  The listener only hurries the poll:
 * when its connection breaks it reconnects after a second, and the poll's
 * own tick covers any notice lost meanwhile.
 *
 * Invariants: the listener reads `stopping` under bg_mu, and waits at most
 * WAIT_MS between looks at it, so _stop returns promptly.
 */
#include "server/server_int.h"

#include <string.h>
#include <time.h>

#include "core/log.h"
#include "store/shared.h"

#define WAIT_MS 250
#define RETRY_S 1

static bool stopping(struct cds_server *s)
{
	bool v;

	pthread_mutex_lock(&s->bg_mu);
	v = s->stopping;
	pthread_mutex_unlock(&s->bg_mu);
	return v;
}

static void kick(struct cds_server *s)
{
	pthread_mutex_lock(&s->bg_mu);
	pthread_cond_broadcast(&s->bg_cv);
	pthread_mutex_unlock(&s->bg_mu);
}

/* Sleep RETRY_S, or less if the server stops. */
static void pause_retry(struct cds_server *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += RETRY_S;
	pthread_mutex_lock(&s->bg_mu);
	if (!s->stopping)
		pthread_cond_timedwait(&s->bg_cv, &s->bg_mu, &ts);
	pthread_mutex_unlock(&s->bg_mu);
}

/* Listen on a connection of its own until it fails or the server stops. */
static void listen_once(struct cds_server *s, struct cds_error *err)
{
	struct cds_store *st = NULL;
	bool notified = false;

	if (cds_store_open(&st, s->cfg.datadir, err) == CDS_OK &&
	    cds_store_changes_listen(st, err) == CDS_OK)
		while (!stopping(s) &&
		       cds_store_wait_changes(st, WAIT_MS, &notified, err) ==
			       CDS_OK)
			if (notified)
				kick(s);
	cds_store_close(st);
}

static void *notify_main(void *arg)
{
	struct cds_server *s = arg;
	struct cds_error err;

	while (!stopping(s)) {
		cds_error_clear(&err);
		listen_once(s, &err);
		if (stopping(s))
			break;
		cds_log_warn("change notices interrupted (polling goes on): %s",
			     err.msg);
		pause_retry(s);
	}
	return NULL;
}

enum cds_err cds_notify_start(struct cds_server *s, struct cds_error *err)
{
	struct cds_store *st = NULL;
	bool shared;
	int e;

	if (!s->cfg.change_notify)
		return CDS_OK;
	if (cds_storepool_get(s->pool, &st, err))
		return err->code;
	shared = cds_store_is_shared(st);
	cds_storepool_put(s->pool, st);
	if (!shared)
		return CDS_OK;
	e = pthread_create(&s->notify, NULL, notify_main, s);
	if (e)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"cannot start the change-notice listener: %s",
				strerror(e));
	s->notify_running = true;
	return CDS_OK;
}

void cds_notify_stop(struct cds_server *s)
{
	if (!s->notify_running)
		return;
	pthread_join(s->notify, NULL);
	s->notify_running = false;
}
