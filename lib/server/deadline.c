/*
 * deadline.c: the request-receiving deadline (deadline.h): a registry of
 * open connections in a doubly linked list under one mutex, and a watchdog
 * thread that walks it a few times per limit.
 *
 * Arming and disarming are atomic stores, so requests take no lock; the
 * lock guards the list only.  The list is short-lived work: one insert and one removal per connection,
 * two stores per request; the walk costs one pass over open connections
 * every tick, which is small next to serving them.
 */
#include "server/deadline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"

/* The watchdog wakes at most this often, and at least 4 times per limit. */
#define TICK_MIN_US (50 * 1000)
#define TICK_MAX_US (1000 * 1000)

struct cds_deadline_conn {
	struct cds_deadline_conn *prev, *next;
	int fd;
	atomic_int_fast64_t armed_at; /* monotonic; 0 = disarmed */
	bool cut;
};

struct cds_deadline {
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* CLOCK_MONOTONIC */
	pthread_t thread;
	bool running, stopping;
	int64_t limit_us, tick_us;
	struct cds_deadline_conn head; /* sentinel of a circular list */
	uint64_t cuts;
};

/* Shut down every connection armed for longer than the limit. */
static void sweep(struct cds_deadline *d, int64_t now)
{
	for (struct cds_deadline_conn *c = d->head.next; c != &d->head;
	     c = c->next) {
		int64_t at = atomic_load_explicit(&c->armed_at,
						  memory_order_relaxed);

		if (!at || c->cut || now - at <= d->limit_us)
			continue;
		c->cut = true;
		d->cuts++;
		(void)shutdown(c->fd, SHUT_RDWR);
		cds_log_debug("request not received within %lld s: connection cut",
			      (long long)(d->limit_us / CDS_USEC_PER_SEC));
	}
}

static void *watchdog(void *arg)
{
	struct cds_deadline *d = arg;
	struct timespec ts;

	pthread_mutex_lock(&d->mu);
	while (!d->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(d->tick_us % CDS_USEC_PER_SEC) * 1000;
		ts.tv_sec += (time_t)(d->tick_us / CDS_USEC_PER_SEC) +
			     ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
		sweep(d, cds_monotonic_us());
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static int64_t tick_for(int64_t limit_us)
{
	int64_t t = limit_us / 4;

	return t < TICK_MIN_US ? TICK_MIN_US : t > TICK_MAX_US ? TICK_MAX_US : t;
}

enum cds_err cds_deadline_new(struct cds_deadline **out, int64_t limit_us,
			      struct cds_error *err)
{
	struct cds_deadline *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;
	int e;

	*out = NULL;
	if (!d)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	d->limit_us = limit_us;
	d->tick_us = tick_for(limit_us);
	d->head.next = d->head.prev = &d->head;
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	e = pthread_create(&d->thread, NULL, watchdog, d);
	if (e) {
		cds_deadline_free(d);
		return cds_fail(err, CDS_ERR_INTERNAL,
				"cannot start the request-deadline thread: %s",
				strerror(e));
	}
	d->running = true;
	*out = d;
	return CDS_OK;
}

void cds_deadline_free(struct cds_deadline *d)
{
	if (!d)
		return;
	if (d->running) {
		pthread_mutex_lock(&d->mu);
		d->stopping = true;
		pthread_cond_signal(&d->cv);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->thread, NULL);
	}
	/* Normally empty: libmicrohttpd reports every connection closed. */
	while (d->head.next != &d->head) {
		struct cds_deadline_conn *c = d->head.next;

		d->head.next = c->next;
		free(c);
	}
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

struct cds_deadline_conn *cds_deadline_open(struct cds_deadline *d, int fd)
{
	struct cds_deadline_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	atomic_init(&c->armed_at, cds_monotonic_us());
	pthread_mutex_lock(&d->mu);
	c->next = &d->head;
	c->prev = d->head.prev;
	d->head.prev->next = c;
	d->head.prev = c;
	pthread_mutex_unlock(&d->mu);
	return c;
}

void cds_deadline_close(struct cds_deadline *d, struct cds_deadline_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&d->mu);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	pthread_mutex_unlock(&d->mu);
	free(c);
}

/* Arm and disarm are plain atomic stores: no lock on the request path. */
void cds_deadline_disarm(struct cds_deadline *d, struct cds_deadline_conn *c)
{
	(void)d;
	if (c)
		atomic_store_explicit(&c->armed_at, 0, memory_order_relaxed);
}

void cds_deadline_rearm(struct cds_deadline *d, struct cds_deadline_conn *c)
{
	(void)d;
	if (c)
		atomic_store_explicit(&c->armed_at, cds_monotonic_us(),
				      memory_order_relaxed);
}

uint64_t cds_deadline_cuts(struct cds_deadline *d)
{
	uint64_t n;

	pthread_mutex_lock(&d->mu);
	n = d->cuts;
	pthread_mutex_unlock(&d->mu);
	return n;
}
