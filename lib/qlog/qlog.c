/*
 * qlog.c: the query log's queue, writer thread and sweeper thread.
 *
 * Request threads put records into a bounded ring (mutex + condvars); one
 * writer thread commits everything queued (up to GROUP_MAX) with one
 * transaction per day through the storage backend (qlog_backend.h: SQLite
 * day files or PostgreSQL partitions), so many requests share one commit
 * (in `batch` mode it lets a group gather for 20 ms first).  The writer
 * reads its group in place, without the lock, and frees the slots only
 * after the commit: submitters never wait for a copy.
 * A sweeper thread removes expired days at start-up and hourly.
 *
 * Invariants:
 *  1. The ring never holds more than `cap` records, counting the group the
 *     writer is committing (slots head .. head+inflight, which only the
 *     writer touches until it advances head); a submitter that finds
 *     it full waits at most FULL_WAIT_US, then gets CDS_ERR_BUSY and the
 *     refusal is counted: no record is dropped silently.
 *  2. Every record taken by the writer ends up either in `written` or in
 *     `write_errors`, and a sync submitter is woken with that outcome only
 *     after its group's commit (or failure).
 *  3. The backend's sink is used only under sink_mu: by the writer, and by
 *     the sweeper around each day it removes, after the sink let go of
 *     that day (forget), so nothing writes into a removed day.
 *  4. Lock order: sink_mu, then mu.  The writer never holds mu while it
 *     does I/O.
 *  5. With retention 0 there is no ring and no writer: submits succeed,
 *     nothing is written, and no file or directory is created.
 */
#include "qlog/qlog.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "qlog/qlog_backend.h"

#define DEFAULT_CAPACITY 65536
#define GROUP_MAX 8192
#define FULL_WAIT_US (50 * 1000)
#define SWEEP_INTERVAL_US (INT64_C(3600) * CDS_USEC_PER_SEC)
#define ERR_LOG_INTERVAL_US (10 * CDS_USEC_PER_SEC)

struct cds_qlog {
	struct qlog_place place;
	const struct qlog_backend *be;
	struct qlog_sink_cfg cfg;    /* the modes, the start time */
	size_t cap;

	pthread_mutex_t mu;          /* ring, stats, stopping */
	pthread_cond_t not_empty;    /* writer waits */
	pthread_cond_t not_full;     /* submitters wait (bounded) */
	pthread_cond_t done;         /* sync submitters wait */
	pthread_cond_t sweep_wake;   /* sweeper sleeps; close wakes it */
	struct qlog_rec *ring;
	size_t head, count;
	bool stopping;
	unsigned flushers;           /* cds_qlog_flush callers waiting on done */
	struct cds_qlog_stats st;

	pthread_mutex_t sink_mu;     /* sink */
	struct qlog_sink *sink;      /* NULL with retention 0 */

	/* Writer thread only. */
	enum cds_err *res;
	size_t *idx;
	int64_t err_logged_us;
	uint64_t err_unreported;

	pthread_t writer, sweeper;
	bool writer_on, sweeper_on;
};

/* Absolute CLOCK_MONOTONIC deadline `us` from now, for timed waits. */
static struct timespec deadline_in(int64_t us)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	us += ts.tv_nsec / 1000;
	ts.tv_sec += (time_t)(us / CDS_USEC_PER_SEC);
	ts.tv_nsec = (long)(us % CDS_USEC_PER_SEC) * 1000;
	return ts;
}

/* ---- writer -------------------------------------------------------- */

/* Report lost records, at most once per ERR_LOG_INTERVAL_US. */
static void report_loss(struct cds_qlog *q, size_t n, const struct cds_error *e)
{
	int64_t now = cds_monotonic_us();

	q->err_unreported += n;
	if (q->err_logged_us && now - q->err_logged_us < ERR_LOG_INTERVAL_US)
		return;
	cds_log_warn("query log: %llu record(s) not written: %s",
		     (unsigned long long)q->err_unreported, e->msg);
	q->err_unreported = 0;
	q->err_logged_us = now;
}

/* State the modes in force at start-up. */
static void write_start_config(struct cds_qlog *q)
{
	struct cds_error err;
	enum cds_err rc;

	cds_error_clear(&err);
	pthread_mutex_lock(&q->sink_mu);
	rc = q->be->start(q->sink, &err);
	pthread_mutex_unlock(&q->sink_mu);
	if (rc)
		cds_log_warn("query log: cannot record the configuration: %s",
			     err.msg);
}

/* Commit the records of one day (indices in q->idx[0..n)); set results. */
static void commit_day(struct cds_qlog *q, int64_t day, size_t n)
{
	struct cds_error err;
	enum cds_err rc;

	cds_error_clear(&err);
	rc = q->be->insert(q->sink, day, q->ring, q->idx, n, &err);
	for (size_t i = 0; i < n; i++)
		q->res[(q->idx[i] + q->cap - q->head) % q->cap] = rc;
	if (rc)
		report_loss(q, n, &err);
}

/* The ring slot of the i-th record of the group being committed. */
static struct qlog_rec *grp(struct cds_qlog *q, size_t i)
{
	return &q->ring[(q->head + i) % q->cap];
}

/*
 * Commit the group (n records from head), one transaction per day file.
 * Records nearly always share one day; around midnight two.  Returns the
 * number of commits.  q->idx holds ring positions for the backend.
 */
static uint64_t commit_group(struct cds_qlog *q, size_t n)
{
	uint64_t commits = 0;
	size_t m;

	for (size_t i = 0; i < n; i++)
		q->res[i] = CDS_ERR_INTERNAL; /* = not yet committed */
	pthread_mutex_lock(&q->sink_mu);
	for (size_t first = 0; first < n; first++) {
		int64_t day;

		if (q->res[first] != CDS_ERR_INTERNAL)
			continue;
		day = cds_time_day_start(grp(q, first)->time_us);
		m = 0;
		for (size_t i = first; i < n; i++)
			if (q->res[i] == CDS_ERR_INTERNAL &&
			    cds_time_day_start(grp(q, i)->time_us) == day)
				q->idx[m++] = (q->head + i) % q->cap;
		commit_day(q, day, m);
		commits += q->res[first] == CDS_OK;
	}
	pthread_mutex_unlock(&q->sink_mu);
	return commits;
}

/*
 * Wait for records; the group is the first min(count, GROUP_MAX).  In
 * `batch` mode the writer then lets the group gather for LINGER_NS before
 * taking it: under load a commit then carries hundreds of records instead
 * of a handful, which is most of what the log costs a busy server, and a
 * crash still loses at most the last 100 ms (DESIGN.md).  `sync` submitters
 * are waiting for their commit, so that mode never lingers.
 */
#define LINGER_NS (20 * 1000 * 1000)

static size_t take(struct cds_qlog *q)
{
	struct timespec linger = {0, LINGER_NS};
	size_t n;

	pthread_mutex_lock(&q->mu);
	while (q->count == 0 && !q->stopping)
		pthread_cond_wait(&q->not_empty, &q->mu);
	if (q->cfg.modes.durability == CDS_QLOG_BATCH && !q->stopping &&
	    q->count < GROUP_MAX) {
		pthread_mutex_unlock(&q->mu);
		nanosleep(&linger, NULL);
		pthread_mutex_lock(&q->mu);
	}
	n = q->count < GROUP_MAX ? q->count : GROUP_MAX;
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* Count the outcome, wake sync submitters, release the group's slots. */
static void finish(struct cds_qlog *q, size_t n, uint64_t commits)
{
	bool wake = false;

	for (size_t i = 0; i < n; i++) {
		free(grp(q, i)->handles);
		grp(q, i)->handles = NULL;
	}
	pthread_mutex_lock(&q->mu);
	q->st.groups += commits;
	for (size_t i = 0; i < n; i++) {
		struct qlog_waiter *w = grp(q, i)->waiter;

		if (q->res[i] == CDS_OK)
			q->st.written++;
		else
			q->st.write_errors++;
		if (w) {
			w->rc = q->res[i];
			w->done = true;
			wake = true;
		}
	}
	q->head = (q->head + n) % q->cap;
	q->count -= n;
	pthread_cond_broadcast(&q->not_full);
	if (wake || q->flushers)
		pthread_cond_broadcast(&q->done);
	pthread_mutex_unlock(&q->mu);
}

static void *writer_main(void *arg)
{
	struct cds_qlog *q = arg;
	size_t n;

	/* Named so that top -H and perf show what the log costs. */
	pthread_setname_np(pthread_self(), "cds-qlog");
	write_start_config(q);
	while ((n = take(q)) > 0)
		finish(q, n, commit_group(q, n));
	if (q->err_unreported)
		cds_log_warn("query log: %llu more record(s) not written",
			     (unsigned long long)q->err_unreported);
	return NULL;
}

/* ---- sweeper ------------------------------------------------------- */

/* Let go of a day the sweeper is about to delete (hook, see qlog_int.h). */
static void sweep_begin(void *ctx, int64_t day)
{
	struct cds_qlog *q = ctx;

	pthread_mutex_lock(&q->sink_mu);
	if (q->sink)
		q->be->forget(q->sink, day);
}

static void sweep_end(void *ctx)
{
	struct cds_qlog *q = ctx;

	pthread_mutex_unlock(&q->sink_mu);
}

static void *sweeper_main(void *arg)
{
	struct cds_qlog *q = arg;
	struct qlog_sweep_hook hook = {sweep_begin, sweep_end, q};
	struct timespec until;
	struct cds_error err;
	uint64_t n;

	pthread_setname_np(pthread_self(), "cds-qlog-sweep");
	pthread_mutex_lock(&q->mu);
	while (!q->stopping) {
		pthread_mutex_unlock(&q->mu);
		n = 0;
		cds_error_clear(&err);
		if (q->be->sweep(&q->place, q->cfg.modes.retention_days,
				 cds_now_us(), &hook, NULL, NULL, &n, &err))
			cds_log_warn("query log sweep: %s", err.msg);
		pthread_mutex_lock(&q->mu);
		q->st.swept_files += n;
		until = deadline_in(SWEEP_INTERVAL_US);
		while (!q->stopping &&
		       pthread_cond_timedwait(&q->sweep_wake, &q->mu, &until) !=
			       ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* ---- open, close --------------------------------------------------- */

static int sync_init(struct cds_qlog *q)
{
	pthread_condattr_t ca;
	int rc = pthread_condattr_init(&ca);

	rc = rc ? rc : pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = rc ? rc : pthread_mutex_init(&q->mu, NULL);
	rc = rc ? rc : pthread_mutex_init(&q->sink_mu, NULL);
	rc = rc ? rc : pthread_cond_init(&q->not_empty, &ca);
	rc = rc ? rc : pthread_cond_init(&q->not_full, &ca);
	rc = rc ? rc : pthread_cond_init(&q->done, &ca);
	rc = rc ? rc : pthread_cond_init(&q->sweep_wake, &ca);
	pthread_condattr_destroy(&ca);
	return rc;
}

static enum cds_err alloc_queue(struct cds_qlog *q, struct cds_error *err)
{
	size_t group = q->cap < GROUP_MAX ? q->cap : GROUP_MAX;

	q->ring = calloc(q->cap, sizeof(*q->ring));
	q->res = calloc(group, sizeof(*q->res));
	q->idx = calloc(group, sizeof(*q->idx));
	if (!q->ring || !q->res || !q->idx)
		return cds_fail(err, CDS_ERR_NOMEM,
				"query log: cannot allocate a queue of %zu records",
				q->cap);
	return CDS_OK;
}

static enum cds_err check_config(const struct cds_qlog_config *cfg,
				 struct cds_error *err)
{
	if (!cfg || !cfg->datadir || !cfg->datadir[0])
		return cds_fail(err, CDS_ERR_INVALID, "query log: no data directory");
	if (cfg->retention_days < 0)
		return cds_fail(err, CDS_ERR_INVALID,
				"query log: retention %d days is negative",
				cfg->retention_days);
	if ((unsigned)cfg->ip_policy > CDS_QLOG_IP_NONE ||
	    (unsigned)cfg->durability > CDS_QLOG_SYNC)
		return cds_fail(err, CDS_ERR_INVALID,
				"query log: unknown IP policy or durability");
	return CDS_OK;
}

static enum cds_err start_threads(struct cds_qlog *q, struct cds_error *err)
{
	if (q->cfg.modes.retention_days > 0) {
		if (pthread_create(&q->writer, NULL, writer_main, q) != 0)
			return cds_fail(err, CDS_ERR_INTERNAL,
					"query log: cannot start the writer thread");
		q->writer_on = true;
	}
	if (pthread_create(&q->sweeper, NULL, sweeper_main, q) != 0)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"query log: cannot start the sweeper thread");
	q->sweeper_on = true;
	return CDS_OK;
}

enum cds_err cds_qlog_open(struct cds_qlog **out,
			   const struct cds_qlog_config *cfg,
			   struct cds_error *err)
{
	struct cds_qlog *q = NULL;
	char *datadir = NULL;
	enum cds_err rc;

	*out = NULL;
	rc = check_config(cfg, err);
	if (rc)
		return rc;
	q = calloc(1, sizeof(*q));
	if (!q || !(datadir = strdup(cfg->datadir)) || sync_init(q)) {
		free(datadir);
		free(q);
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	}
	rc = qlog_place_get(&q->place, datadir, &q->be, err);
	q->place.datadir = datadir; /* owned: freed by close */
	q->cfg.modes = (struct qlog_modes){cfg->plain_lookup, cfg->ip_policy,
					   cfg->retention_days, cfg->durability};
	q->cfg.start_us = cds_now_us();
	q->cap = cfg->queue_capacity ? cfg->queue_capacity : DEFAULT_CAPACITY;
	if (!rc && q->cfg.modes.retention_days > 0)
		rc = alloc_queue(q, err);
	if (!rc && q->cfg.modes.retention_days > 0)
		rc = q->be->sink_open(&q->sink, &q->place, &q->cfg, err);
	if (!rc)
		rc = start_threads(q, err);
	if (rc) {
		cds_qlog_close(q);
		return rc;
	}
	*out = q;
	return CDS_OK;
}

void cds_qlog_close(struct cds_qlog *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_cond_broadcast(&q->sweep_wake);
	pthread_mutex_unlock(&q->mu);
	if (q->writer_on)
		pthread_join(q->writer, NULL);
	if (q->sweeper_on)
		pthread_join(q->sweeper, NULL);
	for (size_t i = 0; i < q->count; i++) /* only if the writer never ran */
		free(q->ring[(q->head + i) % q->cap].handles);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	pthread_cond_destroy(&q->done);
	pthread_cond_destroy(&q->sweep_wake);
	pthread_mutex_destroy(&q->mu);
	pthread_mutex_destroy(&q->sink_mu);
	if (q->be && q->sink)
		q->be->sink_close(q->sink);
	free(q->ring);
	free(q->res);
	free(q->idx);
	free((char *)q->place.datadir);
	free(q);
}

/* ---- submit -------------------------------------------------------- */

/* Wait (bounded) for room; false if there is none or the log is closing. */
static bool wait_room(struct cds_qlog *q)
{
	struct timespec until;

	if (q->count < q->cap && !q->stopping)
		return true;
	until = deadline_in(FULL_WAIT_US);
	while (q->count == q->cap && !q->stopping)
		if (pthread_cond_timedwait(&q->not_full, &q->mu, &until) == ETIMEDOUT)
			break;
	return q->count < q->cap && !q->stopping;
}

/* Queue rec (taking its handles); in sync mode wait for its commit. */
static enum cds_err enqueue(struct cds_qlog *q, struct qlog_rec *rec,
			    struct cds_error *err)
{
	struct qlog_waiter w = {false, CDS_OK};
	bool sync = q->cfg.modes.durability == CDS_QLOG_SYNC;

	pthread_mutex_lock(&q->mu);
	if (!wait_room(q)) {
		q->st.refused++;
		pthread_mutex_unlock(&q->mu);
		free(rec->handles);
		return cds_fail(err, CDS_ERR_BUSY,
				"query log: queue full (%zu records) or closing",
				q->cap);
	}
	rec->waiter = sync ? &w : NULL;
	q->ring[(q->head + q->count) % q->cap] = *rec;
	q->count++;
	pthread_cond_signal(&q->not_empty);
	while (sync && !w.done)
		pthread_cond_wait(&q->done, &q->mu);
	pthread_mutex_unlock(&q->mu);
	if (w.rc)
		return cds_fail(err, w.rc,
				"query log: the record could not be committed (%s)",
				cds_strerror(w.rc));
	return CDS_OK;
}

static enum cds_err submit(struct cds_qlog *q,
			   const struct cds_qlog_request *req,
			   const char *const *handles, size_t n,
			   struct cds_error *err)
{
	struct qlog_rec rec;
	enum cds_err rc;

	if (!q || !req)
		return cds_fail(err, CDS_ERR_INVALID, "query log: no log or request");
	rc = qlog_rec_build(&rec, req, q->cfg.modes.ip_policy, handles, n, err);
	if (rc)
		return rc;
	if (q->cfg.modes.retention_days == 0) {
		free(rec.handles); /* keep no log: nothing leaves this function */
		return CDS_OK;
	}
	return enqueue(q, &rec, err);
}

enum cds_err cds_qlog_submit(struct cds_qlog *q,
			     const struct cds_qlog_request *req,
			     struct cds_error *err)
{
	return submit(q, req, NULL, 0, err);
}

enum cds_err cds_qlog_submit_lookup(struct cds_qlog *q,
				    const struct cds_qlog_request *req,
				    const char *const *handles, size_t n,
				    struct cds_error *err)
{
	static const char *const none[1] = {NULL};

	if (!handles && n)
		return cds_fail(err, CDS_ERR_INVALID, "query log: no handles");
	return submit(q, req, handles ? handles : none, n, err);
}

enum cds_err cds_qlog_flush(struct cds_qlog *q, int64_t timeout_us)
{
	struct timespec until = deadline_in(timeout_us);
	uint64_t target;
	bool done;

	if (!q)
		return CDS_OK;
	pthread_mutex_lock(&q->mu);
	target = q->st.written + q->st.write_errors + q->count;
	q->flushers++;
	while (q->st.written + q->st.write_errors < target && q->writer_on)
		if (pthread_cond_timedwait(&q->done, &q->mu, &until) == ETIMEDOUT)
			break;
	q->flushers--;
	done = q->st.written + q->st.write_errors >= target;
	pthread_mutex_unlock(&q->mu);
	return done ? CDS_OK : CDS_ERR_BUSY;
}

void cds_qlog_get_stats(struct cds_qlog *q, struct cds_qlog_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	*out = q->st;
	out->queue_depth = q->count;
	pthread_mutex_unlock(&q->mu);
}
