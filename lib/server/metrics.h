/*
 * metrics.h: the server's counters and their Prometheus text rendering
 * (GET /metrics).
 *
 * Counters are relaxed atomics bumped on the request path: counting never
 * takes a lock.  Rendering reads each counter once, so a scrape is a
 * consistent-enough snapshot, never a torn value.
 */
#ifndef CDS_SERVER_METRICS_H
#define CDS_SERVER_METRICS_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "index/mirror.h"
#include "qlog/qlog.h"

enum cds_metric {
	CDS_M_ELEMENTS_EVALUATED,  /* OPRF elements evaluated */
	CDS_M_LOOKUP_HANDLES,      /* plain-lookup handles answered */
	CDS_M_RATE_REJECTED,       /* requests refused by account rate limits */
	CDS_M_IP_REJECTED,         /* bucket requests refused by the IP guard */
	CDS_M_BUCKET_FETCHES,      /* buckets looked up (GET or in a POST) */
	CDS_M_BUCKET_NOT_MODIFIED, /* GET 304, or POST not_modified */
	CDS_M_BUCKET_BYTES,        /* body bytes of bucket replies */
	CDS_M_LOG_REFUSED,         /* requests answered 503: log queue full */
	CDS_M_POLL_ERRORS,         /* failed store polls */
	CDS_M__COUNT
};

/* Extra figures the renderer asks other modules for. */
struct cds_metrics_gauges {
	struct cds_mirror_params params;
	struct cds_qlog_stats qlog;
	uint64_t rate_accounts;
	uint64_t index_evaluations; /* OPRF evaluations for index entries */
	int64_t inflight;
	uint64_t deadline_cuts;
};

struct cds_metrics;

enum cds_err cds_metrics_new(struct cds_metrics **out,
			     struct cds_error *err) CDS_MUST_CHECK;
void cds_metrics_free(struct cds_metrics *m);

/* One answered request: endpoint, status and time from arrival to reply. */
void cds_metrics_request(struct cds_metrics *m, enum cds_endpoint ep,
			 unsigned status, int64_t latency_us);

void cds_metrics_add(struct cds_metrics *m, enum cds_metric which, uint64_t n);

/* Append the Prometheus text exposition (format 0.0.4) to out. */
enum cds_err cds_metrics_render(struct cds_metrics *m,
				const struct cds_metrics_gauges *g,
				struct cds_buf *out,
				struct cds_error *err) CDS_MUST_CHECK;

#endif
