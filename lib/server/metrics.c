/*
 * metrics.c: counters and the Prometheus text of GET /metrics.
 *
 * Requests are counted per endpoint and status (statuses outside the table
 * fall in "other"), with one latency histogram per endpoint.  Histogram
 * buckets are stored per interval and summed when rendered, so recording
 * is one atomic add per counter.
 */
#include "server/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static const unsigned statuses[] = {200, 201, 304, 400, 401, 403, 404,
				    405, 409, 413, 415, 429, 500, 503};
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]) + 1) /* + other */

/* Upper bounds of the latency buckets, in microseconds (+Inf last). */
static const int64_t bounds_us[] = {100, 250, 500, 1000, 2500, 5000, 10000,
				    25000, 50000, 100000, 250000, 500000,
				    1000000, 2500000};
#define N_BOUNDS (sizeof(bounds_us) / sizeof(bounds_us[0]))

static const struct {
	const char *name;
	const char *help;
} counters[CDS_M__COUNT] = {
	[CDS_M_ELEMENTS_EVALUATED] = {"cds_oprf_elements_evaluated_total",
				      "OPRF elements evaluated"},
	[CDS_M_LOOKUP_HANDLES] = {"cds_lookup_handles_total",
				  "plain-lookup handles answered"},
	[CDS_M_RATE_REJECTED] = {"cds_rate_limited_total",
				 "requests refused by the account rate limit"},
	[CDS_M_IP_REJECTED] = {"cds_ip_limited_total",
			       "bucket requests refused by the per-address limit"},
	[CDS_M_BUCKET_FETCHES] = {"cds_bucket_fetches_total",
				  "buckets served"},
	[CDS_M_BUCKET_NOT_MODIFIED] = {"cds_bucket_not_modified_total",
				       "buckets answered without entries (GET 304, POST not_modified)"},
	[CDS_M_BUCKET_BYTES] = {"cds_bucket_reply_bytes_total",
				"body bytes of bucket replies (what the per-address limit charges, less its per-request part)"},
	[CDS_M_LOG_REFUSED] = {"cds_querylog_refused_requests_total",
			       "requests answered 503 because the query log was full"},
	[CDS_M_POLL_ERRORS] = {"cds_store_poll_errors_total",
			       "failed polls of the store's change log"},
};

struct cds_metrics {
	_Atomic uint64_t requests[CDS_EP__COUNT][N_STATUS];
	_Atomic uint64_t hist[CDS_EP__COUNT][N_BOUNDS + 1];
	_Atomic uint64_t sum_us[CDS_EP__COUNT];
	_Atomic uint64_t counter[CDS_M__COUNT];
};

enum cds_err cds_metrics_new(struct cds_metrics **out, struct cds_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	return CDS_OK;
}

void cds_metrics_free(struct cds_metrics *m)
{
	free(m);
}

static size_t status_slot(unsigned status)
{
	for (size_t i = 0; i < N_STATUS - 1; i++)
		if (statuses[i] == status)
			return i;
	return N_STATUS - 1;
}

void cds_metrics_request(struct cds_metrics *m, enum cds_endpoint ep,
			 unsigned status, int64_t latency_us)
{
	size_t b = 0;

	if ((unsigned)ep >= CDS_EP__COUNT)
		ep = CDS_EP_OTHER;
	if (latency_us < 0)
		latency_us = 0;
	while (b < N_BOUNDS && latency_us > bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&m->requests[ep][status_slot(status)], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&m->hist[ep][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_us[ep], (uint64_t)latency_us,
				  memory_order_relaxed);
}

void cds_metrics_add(struct cds_metrics *m, enum cds_metric which, uint64_t n)
{
	atomic_fetch_add_explicit(&m->counter[which], n, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static enum cds_err render_requests(struct cds_metrics *m, struct cds_buf *o)
{
	enum cds_err rc;

	rc = cds_buf_appendf(o,
		"# HELP cds_http_requests_total HTTP requests answered, by endpoint and status.\n"
		"# TYPE cds_http_requests_total counter\n");
	for (int ep = 0; ep < CDS_EP__COUNT && !rc; ep++)
		for (size_t s = 0; s < N_STATUS && !rc; s++) {
			uint64_t v = get(&m->requests[ep][s]);
			char st[16];

			if (!v)
				continue;
			if (s < N_STATUS - 1)
				snprintf(st, sizeof(st), "%u", statuses[s]);
			else
				snprintf(st, sizeof(st), "other");
			rc = cds_buf_appendf(o,
				"cds_http_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
				cds_endpoint_name(ep), st,
				(unsigned long long)v);
		}
	return rc;
}

static enum cds_err render_hist_one(struct cds_metrics *m, int ep,
				    struct cds_buf *o)
{
	const char *name = cds_endpoint_name(ep);
	uint64_t cum = 0;
	enum cds_err rc = CDS_OK;

	for (size_t b = 0; b <= N_BOUNDS && !rc; b++) {
		cum += get(&m->hist[ep][b]);
		if (b < N_BOUNDS)
			rc = cds_buf_appendf(o,
				"cds_http_request_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
				name, (double)bounds_us[b] / 1e6,
				(unsigned long long)cum);
		else
			rc = cds_buf_appendf(o,
				"cds_http_request_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n",
				name, (unsigned long long)cum);
	}
	if (!rc)
		rc = cds_buf_appendf(o,
			"cds_http_request_seconds_sum{endpoint=\"%s\"} %.6f\n"
			"cds_http_request_seconds_count{endpoint=\"%s\"} %llu\n",
			name, (double)get(&m->sum_us[ep]) / 1e6, name,
			(unsigned long long)cum);
	return rc;
}

static enum cds_err render_histograms(struct cds_metrics *m,
				      struct cds_buf *o)
{
	enum cds_err rc;

	rc = cds_buf_appendf(o,
		"# HELP cds_http_request_seconds Time from request to reply, by endpoint.\n"
		"# TYPE cds_http_request_seconds histogram\n");
	for (int ep = 0; ep < CDS_EP__COUNT && !rc; ep++) {
		uint64_t any = 0;

		for (size_t b = 0; b <= N_BOUNDS; b++)
			any |= get(&m->hist[ep][b]);
		if (any)
			rc = render_hist_one(m, ep, o);
	}
	return rc;
}

static enum cds_err render_counters(struct cds_metrics *m, struct cds_buf *o)
{
	enum cds_err rc = CDS_OK;

	for (int i = 0; i < CDS_M__COUNT && !rc; i++)
		rc = cds_buf_appendf(o, "# HELP %s %s.\n# TYPE %s counter\n%s %llu\n",
				     counters[i].name, counters[i].help,
				     counters[i].name, counters[i].name,
				     (unsigned long long)get(&m->counter[i]));
	return rc;
}

/* One gauge or counter line with its HELP and TYPE. */
static enum cds_err metric1(struct cds_buf *o, const char *name,
			    const char *type, const char *help, uint64_t v)
{
	return cds_buf_appendf(o, "# HELP %s %s.\n# TYPE %s %s\n%s %llu\n",
			       name, help, name, type, name,
			       (unsigned long long)v);
}

static enum cds_err render_gauges(const struct cds_metrics_gauges *g,
				  struct cds_buf *o)
{
	const struct cds_qlog_stats *q = &g->qlog;
	const struct cds_mirror_params *p = &g->params;
	enum cds_err rc;

	if ((rc = metric1(o, "cds_index_handles", "gauge", "registered handles", p->handles)) ||
	    (rc = metric1(o, "cds_index_accounts", "gauge", "accounts", p->accounts)) ||
	    (rc = metric1(o, "cds_index_epoch", "gauge", "current OPRF key epoch", p->epoch)) ||
	    (rc = metric1(o, "cds_index_epochs_served", "gauge", "key epochs served", p->n_epochs)) ||
	    (rc = metric1(o, "cds_index_change_seq", "gauge", "last store change applied", p->seq)) ||
	    (rc = metric1(o, "cds_index_prefix_bits", "gauge", "bucket prefix bits", p->prefix_bits)) ||
	    (rc = metric1(o, "cds_index_evaluations_total", "counter", "OPRF evaluations for index entries (builds and changes)", g->index_evaluations)) ||
	    (rc = metric1(o, "cds_querylog_written_total", "counter", "query-log records committed", q->written)) ||
	    (rc = metric1(o, "cds_querylog_groups_total", "counter", "query-log group commits", q->groups)) ||
	    (rc = metric1(o, "cds_querylog_queue_depth", "gauge", "query-log records waiting", q->queue_depth)) ||
	    (rc = metric1(o, "cds_querylog_refused_total", "counter", "query-log submits refused (queue full)", q->refused)) ||
	    (rc = metric1(o, "cds_querylog_write_errors_total", "counter", "query-log records lost to write errors", q->write_errors)) ||
	    (rc = metric1(o, "cds_querylog_swept_files_total", "counter", "query-log day files deleted", q->swept_files)) ||
	    (rc = metric1(o, "cds_rate_accounts", "gauge", "accounts with rate-limit state", g->rate_accounts)) ||
	    (rc = metric1(o, "cds_http_requests_in_flight", "gauge", "requests being processed",
			  g->inflight > 0 ? (uint64_t)g->inflight : 0)) ||
	    (rc = metric1(o, "cds_http_deadline_cuts_total", "counter",
			  "connections cut for not sending a request within the deadline",
			  g->deadline_cuts)))
		return rc;
	return CDS_OK;
}

enum cds_err cds_metrics_render(struct cds_metrics *m,
				const struct cds_metrics_gauges *g,
				struct cds_buf *out, struct cds_error *err)
{
	enum cds_err rc;

	if ((rc = render_requests(m, out)) ||
	    (rc = render_histograms(m, out)) ||
	    (rc = render_counters(m, out)) ||
	    (rc = render_gauges(g, out)))
		return cds_fail(err, rc, "out of memory rendering metrics");
	return CDS_OK;
}
