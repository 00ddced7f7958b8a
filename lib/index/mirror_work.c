/*
 * mirror_work.c: the sealer's working indexes (mirror_int.h).
 *
 * Only the sealer keeps a working index (cds_index, kept current from the
 * change log by mirror_sync.c): it diffs its dirty buckets against the
 * published view to seal a version.  A follower keeps none and evaluates
 * nothing for index entries; it serves the views it follows from the store.
 *
 * Invariants:
 *  1. A working index of an epoch that has a version is a copy of its view
 *     (cds_tview_clone_index: the same bytes, the same nonces) with the
 *     changes after that version's `seq` replayed over it.  cds_index_put
 *     keeps an entry that already opens to the same account and key, so
 *     only what really changed is marked dirty and sealed: a takeover or a
 *     restart re-publishes nothing.
 *  2. Only an epoch with no version yet has its working index built by
 *     evaluating every handle: its first version adds every entry anyway.
 *  3. Served epochs have a working index exactly while this mirror is the
 *     sealer (set and dropped under ep_lock held for writing).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "core/log.h"
#include "index/mirror_int.h"

static int take_seq(void *ctx, const struct cds_tversion *v)
{
	*(uint64_t *)ctx = v->seq;
	return 1;
}

enum cds_err cds_mirror_sealed_seq(struct cds_mirror *m,
				   struct cds_tview *tv, uint64_t *seq,
				   bool *found, struct cds_error *err)
{
	struct cds_thead h;
	uint64_t last;
	enum cds_err rc;

	*found = tv && cds_tview_head(tv, &h);
	if (!*found)
		return CDS_OK;
	rc = cds_store_tversions(m->store, h.version, 1, take_seq, seq, &last,
				 err);
	if (!rc && last != h.version)
		rc = cds_fail(err, CDS_ERR_STORE, "transparency: version %"
			      PRIu64 " is not in the store", h.version);
	return rc;
}

/* Every bucket of ix marked dirty, a chunk at a time. */
static void mark_every_bucket(struct cds_index *ix, unsigned bits)
{
	uint32_t chunk[1024], nb = cds_index_nbuckets(bits);

	for (uint32_t b = 0; b < nb;) {
		size_t n = 0;

		while (n < 1024 && b < nb)
			chunk[n++] = b++;
		cds_index_dirty_mark(ix, chunk, n);
	}
}

/*
 * The working index of ep before catching up: the view's copy at its
 * latest version's seq (invariant 1), or built by evaluation (2).  A view
 * whose changes since its version were pruned away (a change log pruned
 * by an older server) cannot be replayed: the index is then built and
 * every bucket re-diffed.
 */
static enum cds_err make_base(struct cds_mirror *m,
			      struct cds_mirror_epoch *ep,
			      struct cds_index **ix, struct cds_error *err)
{
	uint64_t seq = 0, evals = 0;
	bool versioned = false;
	enum cds_err rc;

	rc = cds_mirror_sealed_seq(m, ep->tv, &seq, &versioned, err);
	if (rc)
		return rc;
	if (versioned && cds_mirror_changes_kept(m->store, seq))
		return cds_tview_clone_index(ep->tv, seq, ix, err);
	if (versioned)
		cds_log_warn("transparency: the changes after epoch %" PRIu32
			     "'s last version (change %" PRIu64 ") were "
			     "pruned; re-evaluating it", ep->key.epoch, seq);
	rc = cds_mirror_index_get(m, m->store, &ep->key, NULL, ix, &evals,
				  err);
	atomic_fetch_add(&m->evaluations, evals);
	if (!rc && versioned)
		mark_every_bucket(*ix, m->prefix_bits);
	return rc;
}

enum cds_err cds_mirror_work_make(struct cds_mirror *m,
				  struct cds_mirror_epoch *ep,
				  struct cds_error *err)
{
	struct cds_index *ix = NULL;
	struct cds_mirror_target t;
	uint64_t last;
	enum cds_err rc;

	if (ep->ix)
		return CDS_OK;
	rc = make_base(m, ep, &ix, err);
	if (rc)
		return rc;
	t = (struct cds_mirror_target){ &ep->key, ep, ix };
	rc = cds_mirror_sync(m, &t, 1, false, cds_index_seq(ix),
			     atomic_load(&m->seq), &last, err);
	if (rc) {
		cds_index_free(ix);
		return rc;
	}
	pthread_rwlock_wrlock(&m->ep_lock);
	ep->ix = ix;
	pthread_rwlock_unlock(&m->ep_lock);
	return CDS_OK;
}

void cds_mirror_work_drop(struct cds_mirror *m)
{
	struct cds_index *old[2] = { NULL, NULL };

	pthread_rwlock_wrlock(&m->ep_lock);
	for (size_t i = 0; i < m->n_ep; i++) {
		old[i] = m->ep[i].ix;
		m->ep[i].ix = NULL;
	}
	pthread_rwlock_unlock(&m->ep_lock);
	cds_index_free(old[0]);
	cds_index_free(old[1]);
}
