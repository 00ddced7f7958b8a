/*
 * tview_apply.c: applying a sealed version to the view, and the root it
 * would make (tview.h: cds_tview_apply, cds_tview_root_after).
 *
 * Everything that can fail (a change that cannot apply, memory, a root
 * that does not match) happens before the view changes: the new buckets
 * and every changed tree node are computed aside, without the view's lock
 * (tview_int.h, invariant 3); only then, under the write lock, the index
 * takes the buckets whole (cds_index_replace, all or nothing) and the
 * nodes are written.  So a failure leaves the view at the version before.
 *
 * The sealer calls root_after, signs, then applies the same changes: the
 * view keeps root_after's buckets, leaves and nodes (pending) and apply
 * takes them if its changes make the very same bytes from the view as it
 * still is (same commit count), so a seal hashes each node once.
 */
#include "index/tview_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void cds_tview_pending_drop(struct cds_tview *v)
{
	if (v->has_pending)
		cds_tview_next_fini(&v->pending);
	v->has_pending = false;
}

enum cds_err cds_tview_root_after(struct cds_tview *v,
				  const struct cds_tdiff *d,
				  uint8_t root[CDS_HASH_BYTES],
				  struct cds_error *err)
{
	struct tview_next nx;
	enum cds_err rc;

	cds_tview_pending_drop(v);
	rc = cds_tview_next_make(v, d->ch, d->n, &nx, err);
	if (rc)
		return rc;
	cds_tview_next_leaves(v, &nx);
	rc = cds_tview_path_climb(&nx.path, v->tree, nx.root, err);
	if (rc) {
		cds_tview_next_fini(&nx);
		return rc;
	}
	memcpy(root, nx.root, CDS_HASH_BYTES);
	v->pending = nx;
	v->pending_gen = v->gen;
	v->has_pending = true;
	return CDS_OK;
}

/* nx for ch: root_after's if it still holds, else computed now. */
static enum cds_err next_for(struct cds_tview *v, const struct cds_tchange *ch,
			     size_t n, struct tview_next *nx,
			     struct cds_error *err)
{
	enum cds_err rc;

	if (v->has_pending && v->pending_gen == v->gen &&
	    cds_tview_next_same(v, ch, n, &v->pending)) {
		*nx = v->pending;
		v->has_pending = false;
		return CDS_OK;
	}
	cds_tview_pending_drop(v);
	rc = cds_tview_next_make(v, ch, n, nx, err);
	if (rc)
		return rc;
	cds_tview_next_leaves(v, nx);
	rc = cds_tview_path_climb(&nx->path, v->tree, nx->root, err);
	if (rc)
		cds_tview_next_fini(nx);
	return rc;
}

static enum cds_err check_head(const struct cds_tview *v,
			       const struct cds_thead *h, struct cds_error *err)
{
	if (h->epoch != v->epoch)
		return cds_fail(err, CDS_ERR_INVALID,
				"version %" PRIu64 " is of epoch %u, not %u",
				h->version, (unsigned)h->epoch,
				(unsigned)v->epoch);
	if (v->sealed && h->version <= v->head.version)
		return cds_fail(err, CDS_ERR_INVALID,
				"version %" PRIu64 " is not after version %"
				PRIu64, h->version, v->head.version);
	return CDS_OK;
}

/* Make nx (checked) and h current: cannot fail but for memory. */
static enum cds_err commit(struct cds_tview *v, const struct cds_thead *h,
			   const struct tview_next *nx, struct cds_error *err)
{
	enum cds_err rc;

	pthread_rwlock_wrlock(&v->lock);
	rc = cds_index_replace(v->ix, nx->b, nx->n, err);
	if (!rc) {
		cds_tview_path_write(&nx->path, v->tree);
		v->head = *h;
		v->sealed = true;
		v->gen++;
	}
	pthread_rwlock_unlock(&v->lock);
	return rc;
}

/*
 * Compact the view's index if due, outside the view's lock (readers wait
 * only for the swap, never for the copy of the whole directory) and once
 * the version's own copies are freed.  Out of memory for the copy: the
 * index stays correct, just larger, and the next version tries again.
 */
static void compact_if_due(struct cds_tview *v)
{
	struct cds_error later;

	if (cds_index_compact_due(v->ix) &&
	    cds_index_compact(v->ix, &later) != CDS_OK)
		return;
}

enum cds_err cds_tview_apply(struct cds_tview *v, const struct cds_thead *h,
			     const struct cds_tchange *ch, size_t n,
			     struct cds_error *err)
{
	struct tview_next nx;
	enum cds_err rc = check_head(v, h, err);

	if (rc)
		return rc;
	rc = next_for(v, ch, n, &nx, err);
	if (rc)
		return rc;
	if (sodium_memcmp(nx.root, h->root, CDS_HASH_BYTES) != 0)
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "version %" PRIu64 " (epoch %u): its changes do "
			      "not make its root", h->version,
			      (unsigned)h->epoch);
	if (!rc)
		rc = commit(v, h, &nx, err);
	cds_tview_next_fini(&nx);
	if (!rc)
		compact_if_due(v);
	return rc;
}
