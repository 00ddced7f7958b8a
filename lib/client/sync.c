/*
 * sync.c: private discovery with the cache.
 *
 * A sync spends OPRF evaluations only on handles without an output for the
 * server's current epoch (new contacts, or everyone once after a key
 * rotation) and revalidates every other handle's cached bucket by its ETag,
 * 256 to a POST /v1/buckets, so an unchanged directory costs a few bytes
 * per bucket and one request per 256 buckets.
 *
 * Invariants:
 *   1. The cache is reconciled with the server's params before anything is
 *      read from it (cache.h invariant 2).
 *   2. OPRF outputs are committed as soon as they are verified, in their
 *      own transaction: an interrupted sync does not spend them twice.
 *   3. Results, buckets, the contact list, the pruning of forgotten
 *      handles and the newest signed head are committed together in one
 *      transaction, after every check passed (every bucket against the
 *      signed head of its version, every head consistent with the last
 *      one kept: tverify.h); a failed sync leaves the previous results in place, so
 *      the next one reports changes against them.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client/client_impl.h"
#include "core/timeutil.h"

/* Read each record's previous state; decide who needs an evaluation. */
static enum cds_err load_prev(struct cds_client *c, const struct cds_params *p,
			      struct cds_op *op, struct cds_error *err)
{
	struct cds_cache_handle row;
	enum cds_err rc = CDS_OK;
	bool found;

	for (size_t i = 0; i < op->n && !rc; i++) {
		struct cds_hrec *h = &op->recs[i];

		rc = cds_cache_handle_get(c->cache, h->handle, &row, &found, err);
		if (rc)
			break;
		h->prev_known = found && row.checked;
		h->prev_registered = h->prev_known && row.registered;
		memcpy(h->prev_account, row.account, sizeof(h->prev_account));
		memcpy(h->prev_identity_key, row.identity_key,
		       sizeof(h->prev_identity_key));
		h->have_out = found && row.evaluated && row.epoch == p->epoch;
		h->need_eval = !h->have_out;
		h->fresh_out = false;
		if (h->have_out)
			memcpy(h->out, row.out, sizeof(h->out));
	}
	sodium_memzero(row.out, sizeof(row.out));
	return rc;
}

/* Commit the outputs evaluated in this operation (invariant 2). */
static enum cds_err save_outputs(struct cds_client *c,
				 const struct cds_params *p,
				 const struct cds_op *op,
				 struct cds_error *err)
{
	int64_t now = cds_now_us();
	bool any = false;
	enum cds_err rc;

	for (size_t i = 0; i < op->n; i++)
		any |= op->recs[i].fresh_out;
	if (!any)
		return CDS_OK;
	rc = cds_cache_begin(c->cache, err);
	for (size_t i = 0; i < op->n && !rc; i++)
		if (op->recs[i].fresh_out)
			rc = cds_cache_handle_put_output(c->cache,
							 op->recs[i].handle,
							 p->epoch,
							 op->recs[i].out, now,
							 err);
	if (!rc)
		return cds_cache_commit(c->cache, err);
	cds_cache_rollback(c->cache);
	return rc;
}

static enum cds_change change_of(const struct cds_hrec *h)
{
	if (!h->prev_known || !h->prev_registered)
		return h->registered ? CDS_CHANGE_NEW : CDS_CHANGE_UNCHANGED;
	if (!h->registered)
		return CDS_CHANGE_GONE;
	if (memcmp(h->account, h->prev_account, sizeof(h->account)) ||
	    memcmp(h->identity_key, h->prev_identity_key,
		   sizeof(h->identity_key)))
		return CDS_CHANGE_KEY;
	return CDS_CHANGE_UNCHANGED;
}

static enum cds_err save_buckets(struct cds_client *c,
				 const struct cds_params *p,
				 const struct cds_bucket_set *s, int64_t now,
				 struct cds_error *err)
{
	uint32_t *keep = malloc((s->n ? s->n : 1) * sizeof(*keep));
	size_t nk = 0;
	enum cds_err rc = CDS_OK;

	if (!keep)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < s->n && !rc; i++) {
		const struct cds_bucket *b = &s->v[i];

		if (b->decoy)
			continue;
		keep[nk++] = b->prefix; /* s is sorted, so keep is too */
		if (b->fresh)
			rc = cds_cache_bucket_put(c->cache, CDS_CACHE_SYNC,
						  p->epoch, b->prefix,
						  b->etag, b->entries, b->n,
						  now, err);
	}
	if (!rc)
		rc = cds_cache_buckets_keep(c->cache, p->epoch, keep, nk, err);
	free(keep);
	return rc;
}

static enum cds_err save_results(struct cds_client *c, const struct cds_op *op,
				 int64_t now, struct cds_error *err)
{
	const char **keep = malloc((op->n ? op->n : 1) * sizeof(*keep));
	enum cds_err rc = CDS_OK;

	if (!keep)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < op->n && !rc; i++) {
		const struct cds_hrec *h = &op->recs[i];

		keep[i] = h->handle; /* op is sorted by strcmp */
		rc = cds_cache_handle_put_result(c->cache, h->handle,
						 h->registered, h->account,
						 h->identity_key, now, err);
	}
	if (!rc)
		rc = cds_cache_handles_keep(c->cache, keep, op->n, err);
	free(keep);
	return rc;
}

/* The one transaction of invariant 3. */
static enum cds_err save_all(struct cds_client *c, const struct cds_params *p,
			     const struct cds_op *op,
			     const struct cds_bucket_set *s,
			     const struct cds_tverify *tv,
			     struct cds_error *err)
{
	int64_t now = cds_now_us();
	enum cds_err rc = cds_cache_begin(c->cache, err);

	if (!rc && tv->kept_moved)
		rc = cds_cache_thead_put(c->cache, &tv->kept, err);
	if (!rc)
		rc = cds_cache_contacts_save(c->cache, &c->contacts, err);
	if (!rc)
		rc = save_results(c, op, now, err);
	if (!rc)
		rc = save_buckets(c, p, s, now, err);
	if (!rc)
		rc = cds_cache_mark_synced(c->cache, now, err);
	if (!rc)
		return cds_cache_commit(c->cache, err);
	cds_cache_rollback(c->cache);
	return rc;
}

enum cds_err cds_sync_reconcile(struct cds_client *c,
				const struct cds_params *p,
				struct cds_error *err)
{
	bool reset = false;
	enum cds_err rc = cds_cache_begin(c->cache, err);

	if (!rc)
		rc = cds_cache_reconcile(c->cache, c->url, p->epoch,
					 p->public_key, p->prefix_bits, &reset,
					 err);
	if (!rc)
		rc = cds_cache_tkey_pin(c->cache, p->transparency_key, err);
	if (rc) {
		cds_cache_rollback(c->cache);
		return rc;
	}
	if (reset)
		c->stats.cache_reset = 1;
	return cds_cache_commit(c->cache, err);
}

enum cds_err cds_sync_tverify(struct cds_client *c, const struct cds_params *p,
			      struct cds_tfetch *tf, struct cds_tverify *tv,
			      struct cds_error *err)
{
	struct cds_thead kept;
	bool found = false;
	enum cds_err rc = cds_cache_thead_get(c->cache, &kept, &found, err);

	cds_client_tfetch(c, tf);
	cds_tverify_init(tv, tf, p->transparency_key, found ? &kept : NULL);
	return rc;
}

static enum cds_err attempt(struct cds_client *c, struct cds_op *op,
			    struct cds_error *err)
{
	struct cds_params p;
	struct cds_bucket_set set = {NULL, 0};
	struct cds_tfetch tf;
	struct cds_tverify tv;
	enum cds_err rc, rc2;

	rc = cds_disc_params(c, &p, err);
	if (!rc)
		rc = cds_sync_reconcile(c, &p, err);
	if (rc)
		return rc;
	rc = cds_sync_tverify(c, &p, &tf, &tv, err);
	cds_disc_assign_buckets(op, &p);
	if (!rc)
		rc = load_prev(c, &p, op, err);
	if (!rc) {
		rc = cds_disc_oprf(c, &p, op, err);
		/* Whatever verified is kept, even if another batch failed. */
		rc2 = save_outputs(c, &p, op, rc ? NULL : err);
		if (!rc)
			rc = rc2;
	}
	if (!rc)
		rc = cds_buckets_plan(&set, op, p.prefix_bits, c->decoys, err);
	if (!rc)
		rc = cds_buckets_load(c, &p, &set, CDS_CACHE_SYNC, err);
	if (!rc)
		rc = cds_buckets_fetch_post(c, &p, &set, true, err);
	cds_buckets_count(c, &set);
	if (!rc)
		rc = cds_buckets_verify(c, &tv, &p, &set, err);
	if (!rc)
		rc = cds_buckets_match(op, &set, p.epoch, err);
	for (size_t i = 0; !rc && i < op->n; i++)
		op->recs[i].change = change_of(&op->recs[i]);
	if (!rc)
		rc = save_all(c, &p, op, &set, &tv, err);
	c->stats.transparency_bytes += tf.bytes;
	cds_tverify_fini(&tv);
	cds_bucket_set_fini(&set);
	return rc;
}

enum cds_err cds_sync_run(struct cds_client *c, struct cds_op *op,
			  struct cds_error *err)
{
	enum cds_err rc;

	if (!c->cache)
		return cds_fail(err, CDS_ERR_USAGE,
				"sync needs a cache file (none was given)");
	rc = attempt(c, op, err);
	/* 409: the epoch we used is no longer served; refetch params once. */
	if (rc == CDS_ERR_EPOCH)
		rc = attempt(c, op, err);
	return rc;
}
