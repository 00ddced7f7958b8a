/*
 * audit.c: `cds audit` (include/cds/audit.h): follow every version since
 * the state's, replay its changes, recompute the bucket tree's root and the
 * log's, check the signature, then the server's consistency proof from the
 * last audited head.
 *
 * Invariants:
 *   1. A version is committed to the state only after every check of it
 *      passed: its head's signature under the pinned key, its pages'
 *      epoch, time and root equal to the head's, every change applicable
 *      (a removed fingerprint present, an added one absent unless it was
 *      removed in the same change), the recomputed root and log root equal
 *      to the head's.  A mismatch is CDS_ERR_CRYPTO naming the version.
 *   2. Versions are checked in order, from the state's last + 1, with no
 *      gap: the log's size after version v must be v.
 *   3. The bucket trees of the epochs touched are built once per run from
 *      the state (hashing every stored bucket), then kept current change by
 *      change, so a version costs O(changed buckets x K) hashes.
 *   4. The tree depth of a new epoch is the params' prefix_bits: the
 *      server does not publish a retired epoch's (key rotation keeps K).
 */
#include "cds/audit.h"

#include <stdlib.h>
#include <string.h>

#include "client/audit.h"
#include "client/client_impl.h"
#include "client/protocol_tlog.h"
#include "core/timeutil.h"
#include "crypto/btree.h"

#define MAX_TREES 4 /* epochs touched in one run (two served at a time) */

struct tree {
	uint32_t epoch;
	unsigned k;
	struct cds_btree *t;
};

struct audit {
	struct cds_client *c;
	struct cds_tfetch tf;
	struct cds_astate *st;
	struct cds_params p;
	struct cds_afrontier log;
	struct tree trees[MAX_TREES];
	size_t n_trees;
	struct cds_audit_result *res;
};

static void leaf_into(void *ctx, uint32_t prefix, const uint8_t *entries,
		      size_t n)
{
	struct tree *tr = ctx;
	uint8_t leaf[CDS_HASH_BYTES];

	if (prefix >> tr->k)
		return; /* checked when the bucket is read back for a change */
	cds_btree_leaf(leaf, tr->epoch, prefix, entries, n);
	cds_btree_set(tr->t, prefix, leaf);
}

/* Invariant 3: the tree of epoch, built from the state on first use. */
static enum cds_err tree_of(struct audit *a, uint32_t epoch, struct tree **out,
			    struct cds_error *err)
{
	struct tree *tr;
	bool found;
	enum cds_err rc;

	for (size_t i = 0; i < a->n_trees; i++)
		if (a->trees[i].epoch == epoch) {
			*out = &a->trees[i];
			return CDS_OK;
		}
	if (a->n_trees == MAX_TREES)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"more than %d epochs in one audit run; run it again",
				MAX_TREES);
	tr = &a->trees[a->n_trees];
	tr->epoch = epoch;
	rc = cds_astate_epoch_get(a->st, epoch, &tr->k, &found, err);
	if (!rc && !found)
		tr->k = a->p.prefix_bits; /* invariant 4; saved with the version */
	if (!rc)
		rc = cds_btree_new(&tr->t, tr->k, epoch, err);
	if (!rc)
		rc = cds_astate_buckets(a->st, epoch, leaf_into, tr, NULL, err);
	if (rc) {
		cds_btree_free(tr->t);
		tr->t = NULL;
		return rc;
	}
	if (!found)
		rc = cds_astate_epoch_put(a->st, epoch, tr->k, err);
	a->n_trees++;
	*out = tr;
	return rc;
}

/*
 * Bucket after one change: old minus removed, plus added, in fingerprint
 * order.  *out malloc'd.  CDS_ERR_CRYPTO (invariant 1) if it cannot apply.
 * One merge pass over three sorted lists, kept in one function so that
 * the three cursors stay in sight together.
 */
static enum cds_err merge(const uint8_t *old, size_t n_old,
			  const struct cds_proto_tchange *ch, uint8_t **out,
			  size_t *n, uint64_t version, struct cds_error *err)
{
	size_t i = 0, r = 0, j = 0, m = 0, removed = 0;
	uint8_t *v = malloc((n_old + ch->n_added + 1) * CDS_ENTRY_BYTES);

	if (!v)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	while (i < n_old || j < ch->n_added) {
		const uint8_t *e = i < n_old ? old + i * CDS_ENTRY_BYTES : NULL;
		const uint8_t *a = j < ch->n_added ? ch->added + j * CDS_ENTRY_BYTES
						   : NULL;
		int c;

		while (e && r < ch->n_removed &&
		       memcmp(ch->removed + r * CDS_FP_BYTES, e, CDS_FP_BYTES) < 0)
			r++;
		if (e && r < ch->n_removed &&
		    !memcmp(ch->removed + r * CDS_FP_BYTES, e, CDS_FP_BYTES)) {
			i++, r++, removed++;
			continue;
		}
		c = !e ? 1 : !a ? -1 : memcmp(e, a, CDS_FP_BYTES);
		if (c == 0) {
			free(v);
			return cds_fail(err, CDS_ERR_CRYPTO,
					"version %llu adds to bucket %u a fingerprint it already holds",
					(unsigned long long)version, ch->prefix);
		}
		memcpy(v + m++ * CDS_ENTRY_BYTES, c < 0 ? e : a, CDS_ENTRY_BYTES);
		c < 0 ? i++ : j++;
	}
	if (removed != ch->n_removed) {
		free(v);
		return cds_fail(err, CDS_ERR_CRYPTO,
				"version %llu removes from bucket %u a fingerprint it does not hold",
				(unsigned long long)version, ch->prefix);
	}
	*out = v;
	*n = m;
	return CDS_OK;
}

/* Replay one change of version v into the state and the tree. */
static enum cds_err apply(struct audit *a, struct tree *tr, uint64_t v,
			  const struct cds_proto_tchange *ch,
			  struct cds_error *err)
{
	uint8_t *old = NULL, *now = NULL, leaf[CDS_HASH_BYTES];
	size_t n_old = 0, n = 0;
	enum cds_err rc = cds_astate_bucket_get(a->st, tr->epoch, ch->prefix,
						&old, &n_old, err);

	if (!rc)
		rc = merge(old, n_old, ch, &now, &n, v, err);
	if (!rc)
		rc = cds_astate_bucket_put(a->st, tr->epoch, ch->prefix, now, n,
					   err);
	if (!rc) {
		cds_btree_leaf(leaf, tr->epoch, ch->prefix, now, n);
		cds_btree_set(tr->t, ch->prefix, leaf);
		a->res->changes++;
	}
	free(old);
	free(now);
	return rc;
}

/* A page's header must be the head's (invariant 1). */
static enum cds_err page_matches(const struct cds_proto_tversion *pg,
				 const struct cds_thead *h,
				 struct cds_error *err)
{
	if (pg->epoch != h->epoch || pg->time_ms != h->time_ms ||
	    memcmp(pg->root, h->root, CDS_HASH_BYTES))
		return cds_fail(err, CDS_ERR_CRYPTO,
				"version %llu: its changes are published under another epoch, time or root than its signed head",
				(unsigned long long)h->version);
	return CDS_OK;
}

/* Fetch and replay every page of version h->version. */
static enum cds_err replay(struct audit *a, struct tree *tr,
			   const struct cds_thead *h, struct cds_error *err)
{
	struct cds_proto_tversion pg;
	struct cds_buf body;
	char path[96];
	uint32_t from = 0;
	bool more = true;
	enum cds_err rc = CDS_OK;

	cds_buf_init(&body);
	while (more && !rc) {
		snprintf(path, sizeof(path),
			 "/v1/transparency/versions/%llu?from=%u&count=%d",
			 (unsigned long long)h->version, from, CDS_TLOG_PAGE_MAX);
		rc = a->tf.get(a->tf.ctx, path, "GET /v1/transparency/versions",
			       &body, err);
		if (!rc)
			rc = cds_proto_parse_tversion(&pg, h->version, tr->k, from,
						      (const char *)body.data,
						      body.len, err);
		if (!rc)
			rc = page_matches(&pg, h, err);
		for (size_t i = 0; !rc && i < pg.n; i++)
			rc = apply(a, tr, h->version, &pg.ch[i], err);
		more = !rc && pg.more;
		from = pg.next;
		cds_proto_tversion_fini(&pg);
	}
	cds_buf_fini(&body);
	return rc;
}

/* Recomputed bucket root and log root against the head (invariant 1). */
static enum cds_err check_roots(struct audit *a, struct tree *tr,
				const struct cds_thead *h,
				struct cds_error *err)
{
	uint8_t root[CDS_HASH_BYTES], rec[CDS_TLOG_RECORD_BYTES];
	uint8_t leaf[CDS_HASH_BYTES];
	enum cds_err rc;

	cds_btree_root(tr->t, root);
	if (memcmp(root, h->root, sizeof(root)))
		return cds_fail(err, CDS_ERR_CRYPTO,
				"version %llu: the buckets rebuilt from the published changes do not have the signed root (the history was altered)",
				(unsigned long long)h->version);
	cds_tlog_record(rec, h);
	cds_mlog_leaf_hash(leaf, rec, sizeof(rec));
	cds_afrontier_append(&a->log, leaf);
	rc = cds_afrontier_root(&a->log, root, err);
	if (!rc && (a->log.size != h->version ||
		    memcmp(root, h->log_root, sizeof(root))))
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "version %llu: the log of versions recomputed does not have the signed log root",
			      (unsigned long long)h->version);
	return rc;
}

/* One version, in one state transaction. */
static enum cds_err audit_version(struct audit *a, uint64_t v,
				  struct cds_error *err)
{
	struct cds_afrontier saved = a->log;
	struct cds_thead h;
	struct tree *tr = NULL;
	enum cds_err rc;

	rc = cds_tverify_fetch_head(&a->tf, v, a->p.transparency_key, &h, err);
	if (!rc)
		rc = cds_astate_begin(a->st, err);
	if (rc)
		return rc;
	rc = tree_of(a, h.epoch, &tr, err);
	if (!rc)
		rc = replay(a, tr, &h, err);
	if (!rc)
		rc = check_roots(a, tr, &h, err);
	if (!rc)
		rc = cds_astate_frontier_put(a->st, &a->log, err);
	if (!rc)
		rc = cds_astate_head_put(a->st, &h, err);
	if (!rc)
		return cds_astate_commit(a->st, err);
	/* The run stops here: the state keeps the last good version. */
	cds_astate_rollback(a->st);
	a->log = saved;
	return rc;
}

/* GET /v1/params, then bind the state to the server and its key. */
static enum cds_err start(struct audit *a, const char *url,
			  struct cds_thead *last, bool *have_last,
			  struct cds_error *err)
{
	enum cds_err rc = cds_disc_params(a->c, &a->p, err);

	if (!rc)
		rc = cds_astate_begin(a->st, err);
	if (!rc) {
		rc = cds_astate_server(a->st, url, a->p.transparency_key, err);
		if (!rc)
			rc = cds_astate_commit(a->st, err);
		else
			cds_astate_rollback(a->st);
	}
	if (!rc)
		rc = cds_astate_head_get(a->st, last, have_last, err);
	if (!rc)
		rc = cds_astate_frontier_get(a->st, &a->log, err);
	if (!rc && a->log.size != (*have_last ? last->version : 0))
		rc = cds_fail(err, CDS_ERR_STORE,
			      "audit state: the log's size does not match the last head");
	return rc;
}

/* Follow every version after `last` up to the latest head. */
static enum cds_err follow(struct audit *a, const struct cds_thead *last,
			   bool have_last, struct cds_error *err)
{
	struct cds_thead latest;
	enum cds_err rc;

	rc = cds_tverify_fetch_head(&a->tf, 0, a->p.transparency_key, &latest,
				    err);
	if (!rc && have_last && latest.version < last->version)
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "the server's latest head is version %llu, older than version %llu audited before",
			      (unsigned long long)latest.version,
			      (unsigned long long)last->version);
	for (uint64_t v = a->log.size + 1; !rc && v <= latest.version; v++) {
		rc = audit_version(a, v, err);
		if (rc == CDS_ERR_CRYPTO)
			a->res->bad_version = v;
		if (!rc && !a->res->first_version)
			a->res->first_version = v;
		a->res->versions += !rc;
	}
	/* The server's own proof must agree with what we recomputed. */
	if (!rc && have_last && latest.version > last->version)
		rc = cds_tverify_consistent(&a->tf, last, &latest, err);
	a->res->last_version = a->log.size;
	return rc;
}

static void audit_fini(struct audit *a)
{
	for (size_t i = 0; i < a->n_trees; i++)
		cds_btree_free(a->trees[i].t);
	cds_astate_close(a->st);
	cds_client_free(a->c);
}

/* Entries held at the end, and the transfer figures. */
static void finish(struct audit *a, int64_t t0)
{
	struct cds_http_counters sum = {0, 0, 0};
	struct cds_error ignored;

	for (size_t i = 0; i < a->n_trees; i++)
		if (cds_astate_buckets(a->st, a->trees[i].epoch, NULL, NULL,
				       &a->res->entries, &ignored))
			break;
	cds_http_take_counters(a->c->http[0], &sum);
	a->res->requests = sum.requests;
	a->res->bytes_down = sum.bytes_down;
	a->res->wall_us = cds_monotonic_us() - t0;
}

enum cds_err cds_audit_run(const struct cds_client_options *opt,
			   const char *state_path,
			   struct cds_audit_result *res,
			   struct cds_error *err)
{
	struct cds_client_options o = *opt;
	struct audit a;
	struct cds_thead last;
	bool have_last = false;
	int64_t t0 = cds_monotonic_us();
	enum cds_err rc;

	memset(&a, 0, sizeof(a));
	memset(res, 0, sizeof(*res));
	cds_error_clear(err);
	a.res = res;
	o.cache_path = NULL;
	o.threads = 1;
	rc = cds_client_new(&a.c, &o, err);
	if (!rc)
		rc = cds_astate_open(&a.st, state_path, err);
	if (!rc) {
		cds_client_tfetch(a.c, &a.tf);
		rc = start(&a, opt->server_url, &last, &have_last, err);
	}
	if (!rc)
		rc = follow(&a, &last, have_last, err);
	if (a.c && a.st)
		finish(&a, t0);
	audit_fini(&a);
	return rc;
}
