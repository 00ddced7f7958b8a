/*
 * discover.c: step 1 of private discovery (the OPRF round) and the whole of
 * a cache-less private discovery.
 *
 * Invariants:
 *   1. No handle leaves the process: only blinded elements are sent.
 *   2. An output is used only after the batch's DLEQ proof verified against
 *      the public key of the params it was requested under; a failed proof
 *      fails the whole operation (a server that answers with another key
 *      could tell users apart).
 *   3. Blinds and outputs are wiped on every path.
 *   4. Work is split into batches of at most max_batch elements; with more
 *      than CDS_CLIENT_PARALLEL_MIN handles into at least one batch per
 *      worker, so both cores blind, wait and finalise at the same time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client/client_impl.h"
#include "crypto/entry.h"
#include "crypto/oprf.h"

enum cds_err cds_disc_params(struct cds_client *c, struct cds_params *p,
			     struct cds_error *err)
{
	static const struct cds_request rq = {
		.what = "GET /v1/params", .path = "/v1/params"};
	struct cds_http_reply r;
	enum cds_err rc;

	cds_http_reply_init(&r);
	rc = cds_client_request_ok(c, c->http[0], &rq, &r, err);
	if (!rc)
		rc = cds_proto_parse_params(p, (const char *)r.body.data,
					    r.body.len, err);
	if (!rc) {
		c->stats.epoch = p->epoch;
		c->stats.prefix_bits = p->prefix_bits;
	}
	cds_http_reply_fini(&r);
	return rc;
}

void cds_disc_assign_buckets(struct cds_op *op, const struct cds_params *p)
{
	for (size_t i = 0; i < op->n; i++)
		op->recs[i].bucket = cds_bucket_of((const uint8_t *)op->recs[i].handle,
						   op->recs[i].len, p->prefix_bits);
}

struct oprf_job {
	struct cds_client *c;
	const struct cds_params *p;
	struct cds_hrec **todo; /* records to evaluate */
	size_t n;
	atomic_uint_fast64_t evaluations;
};

/* Memory of one batch; blinds and outputs are secret. */
struct batch {
	size_t m;
	uint8_t *blinds, *blinded, *evaluated, *outputs;
	const uint8_t **inputs;
	size_t *lens;
	uint8_t proof[CDS_OPRF_PROOF_BYTES];
};

static void batch_fini(struct batch *b)
{
	if (b->blinds)
		sodium_memzero(b->blinds, b->m * CDS_OPRF_SCALAR_BYTES);
	if (b->outputs)
		sodium_memzero(b->outputs, b->m * CDS_OPRF_OUTPUT_BYTES);
	free(b->blinds);
	free(b->blinded);
	free(b->evaluated);
	free(b->outputs);
	free(b->inputs);
	free(b->lens);
}

static enum cds_err batch_init(struct batch *b, struct cds_hrec **recs,
			       size_t m, struct cds_error *err)
{
	memset(b, 0, sizeof(*b));
	b->m = m;
	b->blinds = malloc(m * CDS_OPRF_SCALAR_BYTES);
	b->blinded = malloc(m * CDS_OPRF_ELEMENT_BYTES);
	b->evaluated = malloc(m * CDS_OPRF_ELEMENT_BYTES);
	b->outputs = malloc(m * CDS_OPRF_OUTPUT_BYTES);
	b->inputs = malloc(m * sizeof(*b->inputs));
	b->lens = malloc(m * sizeof(*b->lens));
	if (!b->blinds || !b->blinded || !b->evaluated || !b->outputs ||
	    !b->inputs || !b->lens)
		return cds_fail(err, CDS_ERR_NOMEM,
				"out of memory for a batch of %zu handles", m);
	for (size_t i = 0; i < m; i++) {
		b->inputs[i] = (const uint8_t *)recs[i]->handle;
		b->lens[i] = recs[i]->len;
	}
	return CDS_OK;
}

static enum cds_err blind_all(struct batch *b, struct cds_hrec **recs,
			      struct cds_error *err)
{
	struct cds_error e;

	cds_error_clear(&e);
	for (size_t i = 0; i < b->m; i++)
		if (cds_oprf_blind(b->blinds + i * CDS_OPRF_SCALAR_BYTES,
				   b->blinded + i * CDS_OPRF_ELEMENT_BYTES,
				   CDS_OPRF_MODE_VOPRF, b->inputs[i], b->lens[i],
				   NULL, &e) != CDS_OK)
			return cds_fail(err, CDS_ERR_INTERNAL,
					"cannot blind '%s': %s", recs[i]->handle,
					e.msg);
	return CDS_OK;
}

/* POST the blinded elements and parse the evaluation and proof. */
static enum cds_err request(struct oprf_job *job, struct batch *b,
			    unsigned worker, struct cds_error *err)
{
	struct cds_request rq = {.what = "POST /v1/discover",
				 .path = "/v1/discover", .auth = true,
				 .charged = true};
	struct cds_http_reply r;
	struct cds_buf body;
	enum cds_err rc;

	cds_buf_init(&body);
	cds_http_reply_init(&r);
	rc = cds_proto_build_discover(&body, job->p->epoch, b->blinded, b->m, err);
	rq.body = (const char *)body.data;
	rq.len = body.len;
	if (!rc)
		rc = cds_client_request(job->c, job->c->http[worker], &rq, &r,
					err);
	if (!rc && r.status != 200)
		rc = cds_proto_status_error(r.status, r.retry_after,
					    (const char *)r.body.data,
					    r.body.len, rq.what, err);
	if (!rc)
		rc = cds_proto_parse_discover(b->evaluated, b->proof,
					      job->p->epoch, b->m,
					      (const char *)r.body.data,
					      r.body.len, err);
	if (!rc)
		atomic_fetch_add(&job->evaluations, b->m);
	cds_http_reply_fini(&r);
	cds_buf_fini(&body);
	return rc;
}

/* Verify the batch proof and finalise; any failure refuses the results. */
static enum cds_err finalize(struct oprf_job *job, struct batch *b,
			     struct cds_error *err)
{
	struct cds_error e;
	enum cds_err rc;

	cds_error_clear(&e);
	rc = cds_oprf_finalize(b->outputs, CDS_OPRF_MODE_VOPRF,
			       job->p->public_key, b->inputs, b->lens,
			       b->blinds, b->blinded, b->evaluated, b->m,
			       b->proof, NULL, 0, &e);
	if (rc == CDS_ERR_CRYPTO)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"server proof did not verify: refusing results (the server may be tagging users)");
	if (rc)
		return cds_fail_at(err, CDS_ERR_CRYPTO, e.index,
				   "server sent an evaluated element that is not a valid group element (%s): refusing results",
				   e.msg);
	return CDS_OK;
}

static enum cds_err oprf_batch(void *ctx, size_t begin, size_t end,
			       unsigned worker, struct cds_error *err)
{
	struct oprf_job *job = ctx;
	size_t m = end - begin;
	struct cds_hrec **recs = job->todo + begin;
	struct batch b;
	enum cds_err rc;

	rc = batch_init(&b, recs, m, err);
	if (!rc)
		rc = blind_all(&b, recs, err);
	if (!rc) {
		cds_client_progress(job->c, CDS_PHASE_BLINDED, m);
		rc = request(job, &b, worker, err);
	}
	if (!rc)
		rc = finalize(job, &b, err);
	if (!rc)
		cds_client_progress(job->c, CDS_PHASE_EVALUATED, m);
	for (size_t i = 0; !rc && i < m; i++) {
		memcpy(recs[i]->out, b.outputs + i * CDS_OPRF_OUTPUT_BYTES,
		       CDS_OPRF_OUTPUT_BYTES);
		recs[i]->have_out = true;
		recs[i]->fresh_out = true;
		recs[i]->need_eval = false;
	}
	batch_fini(&b);
	return rc;
}

/* Batch size and worker count for n handles (invariant 4). */
static void plan_batches(const struct cds_client *c, size_t n,
			 size_t max_batch, size_t *batch, unsigned *workers)
{
	size_t tasks = (n + max_batch - 1) / max_batch;

	*workers = n > CDS_CLIENT_PARALLEL_MIN ? c->threads : 1;
	if (*workers > 1)
		tasks = (tasks + *workers - 1) / *workers * *workers;
	*batch = (n + tasks - 1) / tasks;
}

enum cds_err cds_disc_oprf(struct cds_client *c, const struct cds_params *p,
			   struct cds_op *op, struct cds_error *err)
{
	struct oprf_job job;
	size_t batch;
	unsigned workers;
	enum cds_err rc = CDS_OK;

	memset(&job, 0, sizeof(job));
	job.c = c;
	job.p = p;
	atomic_init(&job.evaluations, 0);
	job.todo = malloc((op->n ? op->n : 1) * sizeof(*job.todo));
	if (!job.todo)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < op->n; i++)
		if (op->recs[i].need_eval)
			job.todo[job.n++] = &op->recs[i];
	cds_client_progress_total(c, CDS_PHASE_BLINDED, job.n);
	cds_client_progress_total(c, CDS_PHASE_EVALUATED, job.n);
	if (job.n) {
		plan_batches(c, job.n, p->max_batch, &batch, &workers);
		rc = cds_parallel_for(workers, job.n, batch, oprf_batch, &job,
				      err);
	}
	c->stats.oprf_evaluations += atomic_load(&job.evaluations);
	free(job.todo);
	return rc;
}

/*
 * A handle's bucket depends on the handle alone (a public hash), not on the
 * OPRF, so the buckets are fetched on a thread of their own, over their own
 * connection, while the OPRF round trip runs: the download overlaps the
 * blinding, the server's evaluation and the finalising.
 */
struct prefetch {
	struct cds_client *c;
	const struct cds_params *p;
	struct cds_bucket_set *set;
	enum cds_err rc;
	struct cds_error err;
};

static void *prefetch_main(void *arg)
{
	struct prefetch *pf = arg;

	cds_error_clear(&pf->err);
	pf->rc = cds_buckets_fetch_post_on(pf->c, pf->c->prefetch, pf->p,
					   pf->set, &pf->err);
	return NULL;
}

/* OPRF and bucket fetch side by side; the first error wins. */
static enum cds_err oprf_and_buckets(struct cds_client *c,
				     const struct cds_params *p,
				     struct cds_op *op,
				     struct cds_bucket_set *set,
				     struct cds_error *err)
{
	struct prefetch pf = {c, p, set, CDS_OK, {0}};
	pthread_t th;
	enum cds_err rc;

	if (pthread_create(&th, NULL, prefetch_main, &pf) != 0) {
		rc = cds_disc_oprf(c, p, op, err);
		return rc ? rc : cds_buckets_fetch_post(c, p, set, false, err);
	}
	rc = cds_disc_oprf(c, p, op, err);
	pthread_join(th, NULL);
	if (!rc && pf.rc) {
		if (err)
			*err = pf.err;
		rc = pf.rc;
	}
	return rc;
}

/* One attempt at a private discovery under freshly fetched params. */
static enum cds_err attempt(struct cds_client *c, struct cds_op *op,
			    struct cds_error *err)
{
	struct cds_params p;
	struct cds_bucket_set set = {NULL, 0};
	struct cds_tfetch tf;
	struct cds_tverify tv;
	enum cds_err rc;

	rc = cds_disc_params(c, &p, err);
	if (rc)
		return rc;
	/* Without a cache nothing is pinned: the params' key signs, and the
	 * heads of this one operation must agree with each other. */
	cds_client_tfetch(c, &tf);
	cds_tverify_init(&tv, &tf, p.transparency_key, NULL);
	cds_disc_assign_buckets(op, &p);
	for (size_t i = 0; i < op->n; i++)
		op->recs[i].need_eval = true;
	rc = cds_buckets_plan(&set, op, p.prefix_bits, c->decoys, err);
	if (!rc)
		rc = oprf_and_buckets(c, &p, op, &set, err);
	cds_buckets_count(c, &set);
	if (!rc)
		rc = cds_buckets_verify(c, &tv, &p, &set, err);
	if (!rc)
		rc = cds_buckets_match(op, &set, p.epoch, err);
	c->stats.transparency_bytes += tf.bytes;
	cds_tverify_fini(&tv);
	cds_bucket_set_fini(&set);
	return rc;
}

enum cds_err cds_disc_private(struct cds_client *c, struct cds_op *op,
			      struct cds_error *err)
{
	enum cds_err rc = attempt(c, op, err);

	/* 409: the key rotated (or its grace ended) under us; once more. */
	if (rc == CDS_ERR_EPOCH)
		rc = attempt(c, op, err);
	return rc;
}
