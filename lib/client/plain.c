/*
 * plain.c: plain lookup (POST /v1/lookup), the classic design kept for
 * compatibility and comparison.
 *
 * Invariant: this path runs only when the caller asked for it with
 * CDS_DISCOVER_PLAIN and the server's params say it is offered (client.c
 * checks both); it sends every handle in the clear, so the server sees and
 * may log each one.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_impl.h"

struct plain_job {
	struct cds_client *c;
	struct cds_op *op;
	atomic_uint_fast64_t sent;
};

static enum cds_err plain_range(void *ctx, size_t begin, size_t end,
				unsigned worker, struct cds_error *err)
{
	struct cds_request rq = {.what = "POST /v1/lookup",
				 .path = "/v1/lookup", .auth = true,
				 .charged = true};
	struct plain_job *job = ctx;
	size_t m = end - begin;
	struct cds_hrec *recs = job->op->recs + begin;
	const char **handles = malloc(m * sizeof(*handles));
	struct cds_proto_lookup *res = calloc(m, sizeof(*res));
	struct cds_http_reply r;
	struct cds_buf body;
	enum cds_err rc;

	cds_buf_init(&body);
	cds_http_reply_init(&r);
	if (!handles || !res) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m; i++)
		handles[i] = recs[i].handle;
	rc = cds_proto_build_lookup(&body, handles, m, err);
	rq.body = (const char *)body.data;
	rq.len = body.len;
	if (!rc)
		rc = cds_client_request(job->c, job->c->http[worker], &rq, &r,
					err);
	if (!rc && r.status != 200)
		rc = cds_proto_status_error(r.status, r.retry_after,
					    (const char *)r.body.data,
					    r.body.len, rq.what, err);
	if (!rc) {
		atomic_fetch_add(&job->sent, m);
		rc = cds_proto_parse_lookup(res, handles, m,
					    (const char *)r.body.data,
					    r.body.len, err);
	}
	for (size_t i = 0; !rc && i < m; i++) {
		recs[i].registered = res[i].registered;
		memcpy(recs[i].account, res[i].account, sizeof(recs[i].account));
		memcpy(recs[i].identity_key, res[i].identity_key,
		       sizeof(recs[i].identity_key));
	}
out:
	free(handles);
	free(res);
	cds_buf_fini(&body);
	cds_http_reply_fini(&r);
	return rc;
}

enum cds_err cds_disc_plain(struct cds_client *c, const struct cds_params *p,
			    struct cds_op *op, struct cds_error *err)
{
	struct plain_job job;
	enum cds_err rc;

	if (!op->n)
		return CDS_OK;
	job.c = c;
	job.op = op;
	atomic_init(&job.sent, 0);
	rc = cds_parallel_for(op->n > CDS_CLIENT_PARALLEL_MIN ? c->threads : 1,
			      op->n, p->max_batch, plain_range, &job, err);
	c->stats.plain_lookups += atomic_load(&job.sent);
	return rc;
}
