/*
 * buckets.c: step 2 of private discovery: choose the buckets to fetch
 * (the contacts' own and random decoys), fetch them with POST /v1/buckets
 * in groups (revalidating the ones a sync holds by their ETags), and open
 * the entries that match the contacts' OPRF outputs.
 *
 * Invariants:
 *   1. A bucket set is sorted by prefix with no duplicates, and decoys are
 *      mixed in by that order, so neither request order nor grouping tells
 *      the server which buckets are decoys.
 *   2. A bucket is used only if its entries passed the protocol checks
 *      (whole entries, strictly sorted by fingerprint) and, with its
 *      proof, match the signed head of its version (cds_buckets_verify).
 *   3. A handle counts as registered only if its fingerprint is in its
 *      bucket AND the entry authenticates under its label key and the epoch;
 *      a fingerprint match that does not authenticate is an error, never
 *      "not registered".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client/client_impl.h"
#include "core/bucketsbin.h"
#include "crypto/entry.h"

/* Largest group of prefixes in one POST /v1/buckets (the server's
 * max_prefixes may be lower); a 413 (reply over the server's byte cap)
 * makes us split the group (post_range). */
#define POST_GROUP_MAX 256

void cds_bucket_set_fini(struct cds_bucket_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].entries);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int cmp_bucket(const void *a, const void *b)
{
	uint32_t x = ((const struct cds_bucket *)a)->prefix;
	uint32_t y = ((const struct cds_bucket *)b)->prefix;

	return x < y ? -1 : x > y;
}

struct cds_bucket *cds_bucket_set_find(const struct cds_bucket_set *s,
				       uint32_t prefix)
{
	struct cds_bucket key;

	key.prefix = prefix;
	if (!s->n)
		return NULL;
	return bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_bucket);
}

/* Insert prefix as a decoy, keeping the order; false if already there. */
static bool insert_decoy(struct cds_bucket_set *s, uint32_t prefix)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->v[mid].prefix == prefix)
			return false;
		if (s->v[mid].prefix < prefix)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&s->v[lo + 1], &s->v[lo], (s->n - lo) * sizeof(s->v[0]));
	memset(&s->v[lo], 0, sizeof(s->v[lo]));
	s->v[lo].prefix = prefix;
	s->v[lo].decoy = true;
	s->n++;
	return true;
}

/* Add d decoys drawn uniformly from the prefixes not in s (space of them
 * in all).  When most free prefixes are wanted, walk them in order and keep
 * each with the right probability (selection sampling) instead of drawing
 * and rejecting. */
static void add_decoys(struct cds_bucket_set *s, uint64_t space, size_t d)
{
	uint64_t free_left = space - s->n;

	if (2 * (uint64_t)d <= free_left) {
		while (d > 0)
			if (insert_decoy(s, randombytes_uniform((uint32_t)space)))
				d--;
		return;
	}
	for (uint64_t p = 0; p < space && d > 0; p++) {
		if (cds_bucket_set_find(s, (uint32_t)p))
			continue;
		if (randombytes_uniform((uint32_t)free_left) < d) {
			insert_decoy(s, (uint32_t)p);
			d--;
		}
		free_left--;
	}
}

enum cds_err cds_buckets_plan(struct cds_bucket_set *s, const struct cds_op *op,
			      unsigned prefix_bits, unsigned decoys,
			      struct cds_error *err)
{
	uint64_t space = UINT64_C(1) << prefix_bits;
	size_t n = 0, d;

	s->v = calloc(op->n + decoys + 1, sizeof(*s->v));
	s->n = 0;
	if (!s->v)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory planning buckets");
	for (size_t i = 0; i < op->n; i++)
		s->v[n++].prefix = op->recs[i].bucket;
	qsort(s->v, n, sizeof(*s->v), cmp_bucket);
	for (size_t i = 0; i < n; i++)
		if (s->n == 0 || s->v[s->n - 1].prefix != s->v[i].prefix)
			s->v[s->n++].prefix = s->v[i].prefix;
	d = decoys;
	if ((uint64_t)d > space - s->n)
		d = (size_t)(space - s->n);
	add_decoys(s, space, d);
	return CDS_OK;
}

void cds_buckets_count(struct cds_client *c, const struct cds_bucket_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		c->stats.buckets_fetched += s->v[i].fresh;
		if (s->v[i].fresh)
			c->stats.entry_bytes += s->v[i].n * CDS_ENTRY_BYTES;
		c->stats.buckets_not_modified += s->v[i].not_modified;
		c->stats.decoys += s->v[i].decoy;
	}
}

struct fetch_job {
	struct cds_client *c;
	const struct cds_params *p;
	struct cds_bucket_set *s;
	size_t group;
	struct cds_http *http; /* NULL: the worker's own connection */
	bool revalidate;       /* send the ETags of buckets we hold */
};

/* Take one bucket of a group reply into the set. */
static void adopt(struct cds_bucket *b, struct cds_proto_bucket *pb)
{
	b->version = pb->version;
	memcpy(b->proof, pb->proof, sizeof(b->proof));
	if (pb->not_modified) {
		b->not_modified = true;
		return;
	}
	free(b->entries);
	b->entries = pb->entries;
	b->n = pb->n;
	pb->entries = NULL;
	b->have = true;
	b->fresh = true;
	memcpy(b->etag, pb->etag, sizeof(b->etag));
}

/* The request's ETags: those of the buckets held, when revalidating. */
static const char **group_etags(const struct fetch_job *job,
				const struct cds_bucket *bs, size_t m)
{
	const char **etags;

	if (!job->revalidate)
		return NULL;
	etags = calloc(m, sizeof(*etags));
	for (size_t i = 0; etags && i < m; i++)
		etags[i] = bs[i].have ? bs[i].etag : NULL;
	return etags;
}

/* POST one group of buckets; on 413 split it in halves and try again. */
static enum cds_err post_range(struct fetch_job *job, unsigned worker,
			       struct cds_bucket *bs, size_t m,
			       struct cds_error *err)
{
	struct cds_request rq = {.what = "POST /v1/buckets",
				 .path = "/v1/buckets",
				 .accept = CDS_BUCKETSBIN_TYPE};
	uint32_t *prefixes = malloc(m * sizeof(*prefixes));
	struct cds_proto_bucket *got = calloc(m, sizeof(*got));
	const char **etags = group_etags(job, bs, m);
	struct cds_http_reply r;
	struct cds_buf body;
	enum cds_err rc;

	cds_buf_init(&body);
	cds_http_reply_init(&r);
	if (!prefixes || !got || (job->revalidate && !etags)) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m; i++)
		prefixes[i] = bs[i].prefix;
	rc = cds_proto_build_buckets(&body, job->p->epoch, prefixes, etags, m,
				     err);
	rq.body = (const char *)body.data;
	rq.len = body.len;
	if (!rc)
		rc = cds_client_request(job->c, job->http ? job->http
							  : job->c->http[worker],
					&rq, &r, err);
	if (!rc && r.status == 413 && m > 1) {
		rc = post_range(job, worker, bs, m / 2, err);
		if (!rc)
			rc = post_range(job, worker, bs + m / 2, m - m / 2, err);
		goto out;
	}
	if (!rc && r.status != 200)
		rc = cds_proto_status_error(r.status, r.retry_after,
					    (const char *)r.body.data,
					    r.body.len, rq.what, err);
	/* Asked for the binary answer; a server may give JSON all the same. */
	if (!rc && r.octets)
		rc = cds_proto_parse_buckets_bin(got, job->p->epoch,
						 job->p->prefix_bits, prefixes,
						 etags, m, r.body.data,
						 r.body.len, err);
	else if (!rc)
		rc = cds_proto_parse_buckets(got, job->p->epoch,
					     job->p->prefix_bits, prefixes, etags,
					     m, (const char *)r.body.data,
					     r.body.len, err);
	for (size_t i = 0; !rc && i < m; i++)
		adopt(&bs[i], &got[i]);
	if (!rc)
		cds_client_progress(job->c, CDS_PHASE_BUCKETS, m);
out:
	free(prefixes);
	free(got);
	free(etags);
	cds_buf_fini(&body);
	cds_http_reply_fini(&r);
	return rc;
}

static enum cds_err post_group(void *ctx, size_t begin, size_t end,
			       unsigned worker, struct cds_error *err)
{
	struct fetch_job *job = ctx;

	return post_range(job, worker, job->s->v + begin, end - begin, err);
}

/* Groups of at most what the server takes, and at most POST_GROUP_MAX. */
static void plan_groups(struct fetch_job *job)
{
	size_t most = job->p->max_prefixes;

	job->group = most < POST_GROUP_MAX ? most : POST_GROUP_MAX;
	cds_client_progress_total(job->c, CDS_PHASE_BUCKETS, job->s->n);
}

enum cds_err cds_buckets_fetch_post(struct cds_client *c,
				    const struct cds_params *p,
				    struct cds_bucket_set *s, bool revalidate,
				    struct cds_error *err)
{
	struct fetch_job job = {c, p, s, 0, NULL, revalidate};

	if (!s->n)
		return CDS_OK;
	plan_groups(&job);
	return cds_parallel_for(c->threads, s->n, job.group, post_group, &job,
				err);
}

enum cds_err cds_buckets_fetch_post_on(struct cds_client *c,
				       struct cds_http *http,
				       const struct cds_params *p,
				       struct cds_bucket_set *s,
				       struct cds_error *err)
{
	struct fetch_job job = {c, p, s, 0, http, false};

	if (!s->n)
		return CDS_OK;
	plan_groups(&job);
	/* One thread: the groups go one after the other over `http`. */
	return cds_parallel_for(1, s->n, job.group, post_group, &job, err);
}

enum cds_err cds_buckets_load(struct cds_client *c, const struct cds_params *p,
			      struct cds_bucket_set *s, enum cds_cache_table t,
			      struct cds_error *err)
{
	struct cds_cache_bucket cb;
	enum cds_err rc = CDS_OK;
	bool found;

	for (size_t i = 0; i < s->n && !rc; i++) {
		struct cds_bucket *b = &s->v[i];

		if (b->decoy)
			continue;
		rc = cds_cache_bucket_get(c->cache, t, p->epoch, b->prefix, &cb,
					  &found, err);
		if (rc || !found || !cb.etag[0] ||
		    strlen(cb.etag) >= sizeof(b->etag)) {
			cds_cache_bucket_fini(&cb);
			continue;
		}
		b->entries = cb.entries;
		b->n = cb.n;
		b->have = true;
		strcpy(b->etag, cb.etag);
		cb.entries = NULL;
		cds_cache_bucket_fini(&cb);
	}
	return rc;
}

enum cds_err cds_buckets_verify(struct cds_client *c, struct cds_tverify *tv,
				const struct cds_params *p,
				const struct cds_bucket_set *s,
				struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	for (size_t i = 0; i < s->n && !rc; i++) {
		const struct cds_bucket *b = &s->v[i];

		if (!b->have || !(b->fresh || b->not_modified))
			return cds_fail(err, CDS_ERR_INTERNAL,
					"bucket %u was not answered", b->prefix);
		rc = cds_tverify_bucket(tv, p->epoch, p->prefix_bits, b->prefix,
					b->entries, b->n, b->version, b->proof,
					err);
		c->stats.proof_bytes += (uint64_t)p->prefix_bits * CDS_HASH_BYTES;
	}
	return rc;
}

/* Look one record up in its bucket (invariant 3). */
static enum cds_err match_one(struct cds_hrec *h, const struct cds_bucket *b,
			      uint32_t epoch, struct cds_error *err)
{
	const uint8_t *e;

	h->registered = false;
	memset(h->account, 0, sizeof(h->account));
	memset(h->identity_key, 0, sizeof(h->identity_key));
	e = cds_entry_find(b->entries, b->n, h->out);
	if (!e)
		return CDS_OK;
	if (cds_entry_open(h->account, h->identity_key, e, h->out, epoch,
			   NULL) != CDS_OK) {
		memset(h->account, 0, sizeof(h->account));
		memset(h->identity_key, 0, sizeof(h->identity_key));
		return cds_fail(err, CDS_ERR_CRYPTO,
				"the entry for '%s' in bucket %u matches its fingerprint but does not decrypt: refusing results (the bucket was altered)",
				h->handle, b->prefix);
	}
	h->registered = true;
	return CDS_OK;
}

enum cds_err cds_buckets_match(struct cds_op *op, const struct cds_bucket_set *s,
			       uint32_t epoch, struct cds_error *err)
{
	for (size_t i = 0; i < op->n; i++) {
		struct cds_hrec *h = &op->recs[i];
		const struct cds_bucket *b = cds_bucket_set_find(s, h->bucket);
		enum cds_err rc;

		if (!h->have_out || !b || !b->have)
			return cds_fail(err, CDS_ERR_INTERNAL,
					"no OPRF output or bucket for '%s'",
					h->handle);
		rc = match_one(h, b, epoch, err);
		if (rc)
			return rc;
	}
	return CDS_OK;
}
