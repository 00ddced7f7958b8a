/*
 * tview.c: the published view of one key epoch and its reads (tview.h):
 * the buckets in a cds_index (its storage, sorting and per-bucket ETag
 * versions), the bucket tree beside it, the head of the version they
 * hold, all three read under the view's one lock (tview_int.h).
 */
#include "index/tview_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/os.h"

enum cds_err cds_tview_new(struct cds_tview **out, uint32_t epoch,
			   unsigned prefix_bits, struct cds_error *err)
{
	struct cds_tview *v;
	enum cds_err rc;

	*out = NULL;
	if (!(v = calloc(1, sizeof(*v))))
		return cds_fail(err, CDS_ERR_NOMEM, "cannot allocate a view");
	if (cds_rwlock_init_writer_pref(&v->lock)) {
		free(v);
		return cds_fail(err, CDS_ERR_NOMEM, "cannot allocate a view lock");
	}
	v->epoch = epoch;
	v->k = prefix_bits;
	rc = cds_index_new_empty(&v->ix, epoch, prefix_bits, 0, err);
	if (!rc)
		rc = cds_btree_new(&v->tree, prefix_bits, epoch, err);
	if (rc) {
		cds_tview_free(v);
		return rc;
	}
	*out = v;
	return CDS_OK;
}

void cds_tview_free(struct cds_tview *v)
{
	if (!v)
		return;
	cds_tview_pending_drop(v);
	cds_index_free(v->ix);
	cds_btree_free(v->tree);
	pthread_rwlock_destroy(&v->lock);
	free(v);
}

uint32_t cds_tview_epoch(const struct cds_tview *v)
{
	return v->epoch;
}

unsigned cds_tview_prefix_bits(const struct cds_tview *v)
{
	return v->k;
}

bool cds_tview_head(struct cds_tview *v, struct cds_thead *out)
{
	bool sealed;

	pthread_rwlock_rdlock(&v->lock);
	sealed = v->sealed;
	if (sealed)
		*out = v->head;
	pthread_rwlock_unlock(&v->lock);
	return sealed;
}

uint64_t cds_tview_count(struct cds_tview *v)
{
	return cds_index_count(v->ix);
}

size_t cds_tview_memory(struct cds_tview *v)
{
	size_t tree = ((size_t)2 << v->k) * CDS_HASH_BYTES;

	return sizeof(*v) + tree + cds_index_memory(v->ix);
}

/* Head, proof and ETag of bucket prefix; caller holds the read lock. */
static enum cds_err proof_locked(struct cds_tview *v, uint32_t prefix,
				 struct cds_thead *head, uint8_t *proof,
				 struct cds_error *err)
{
	if (!v->sealed)
		return cds_fail(err, CDS_ERR_NOT_FOUND,
				"epoch %u has no sealed version yet",
				(unsigned)v->epoch);
	*head = v->head;
	cds_btree_proof(v->tree, prefix, proof);
	return CDS_OK;
}

static enum cds_err check_prefix(const struct cds_tview *v, uint32_t prefix,
				 struct cds_error *err)
{
	if (prefix >> v->k)
		return cds_fail(err, CDS_ERR_INVALID,
				"bucket %u out of range (prefix bits %u)",
				(unsigned)prefix, v->k);
	return CDS_OK;
}

enum cds_err cds_tview_bucket(struct cds_tview *v, uint32_t prefix,
			      struct cds_buf *out, struct cds_thead *head,
			      uint8_t *proof, uint64_t *etag_version,
			      struct cds_error *err)
{
	enum cds_err rc = check_prefix(v, prefix, err);

	if (rc)
		return rc;
	pthread_rwlock_rdlock(&v->lock);
	rc = proof_locked(v, prefix, head, proof, err);
	if (!rc && out)
		rc = cds_index_bucket(v->ix, prefix, out, NULL, err);
	if (!rc && etag_version)
		*etag_version = cds_get_u64be(cds_btree_node(v->tree, 0, prefix));
	pthread_rwlock_unlock(&v->lock);
	return rc;
}

enum cds_err cds_tview_proof(struct cds_tview *v, uint32_t prefix,
			     struct cds_thead *head, uint8_t *proof,
			     uint64_t *etag_version, struct cds_error *err)
{
	return cds_tview_bucket(v, prefix, NULL, head, proof, etag_version,
				err);
}

enum cds_err cds_tview_clone_index(struct cds_tview *v, uint64_t seq,
				   struct cds_index **out,
				   struct cds_error *err)
{
	/* Only the updater changes v->ix (tview_int.h, invariant 3). */
	return cds_index_clone(v->ix, seq, out, err);
}
