/*
 * index_raw.c: wholesale bucket replacement and the dirty set of the
 * discovery index (index.h: cds_index_replace, cds_index_dirty_*).
 *
 * A replacement allocates every new overlay bucket and grows the overlay
 * table before changing anything, so it either happens whole or not at all
 * (a published view must never hold half a version).
 */
#include "index/index.h"
#include "index/index_int.h"

#include <stdlib.h>
#include <string.h>

static void free_all(struct ovl_bucket **o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(o[i]);
	free(o);
}

/* Overlay buckets holding b's bytes, made before taking the lock. */
static enum cds_err make_buckets(const struct cds_index *ix,
				 const struct cds_index_bucket_bytes *b,
				 size_t n, struct ovl_bucket ***out,
				 struct cds_error *err)
{
	struct ovl_bucket **o = calloc(n ? n : 1, sizeof(*o));

	*out = NULL;
	if (!o)
		return cds_fail(err, CDS_ERR_NOMEM, "cannot replace %zu buckets", n);
	for (size_t i = 0; i < n; i++) {
		if (b[i].bucket >= ix->nbuckets || b[i].n > UINT32_MAX / 2) {
			free_all(o, i);
			return cds_fail(err, CDS_ERR_INVALID,
					"bucket %u out of range (prefix bits %u)",
					b[i].bucket, ix->prefix_bits);
		}
		o[i] = malloc(cds_index_ovl_size((uint32_t)b[i].n));
		if (!o[i]) {
			free_all(o, i);
			return cds_fail(err, CDS_ERR_NOMEM,
					"cannot allocate bucket %u of %zu entries",
					b[i].bucket, b[i].n);
		}
		o[i]->n = o[i]->cap = (uint32_t)b[i].n;
		if (b[i].n)
			memcpy(o[i]->e, b[i].entries, b[i].n * CDS_ENTRY_BYTES);
	}
	*out = o;
	return CDS_OK;
}

/* Put o in b's slot, dropping what was there.  Cannot fail. */
static void swap_in(struct cds_index *ix, uint32_t b, struct ovl_bucket *o)
{
	struct ovl_slot *s = cds_index_ovl_slot(ix, b);
	size_t old_n;

	(void)cds_index_view(ix, b, &old_n, NULL);
	ix->count = ix->count - old_n + o->n;
	if (s->b) {
		ix->ovl_bytes -= cds_index_ovl_size(s->b->cap);
		free(s->b);
	} else {
		s->bucket = b;
		ix->ovl_n++;
	}
	o->version = cds_index_next_version(ix);
	s->b = o;
	ix->ovl_bytes += cds_index_ovl_size(o->cap);
	cds_dirty_mark(&ix->dirty, b);
}

enum cds_err cds_index_replace(struct cds_index *ix,
			       const struct cds_index_bucket_bytes *b,
			       size_t n, struct cds_error *err)
{
	struct ovl_bucket **o;
	enum cds_err rc = make_buckets(ix, b, n, &o, err);

	if (rc)
		return rc;
	pthread_rwlock_wrlock(&ix->lock);
	while (!rc && (ix->ovl_n + n) * 2 > ix->ovl_cap)
		rc = cds_index_ovl_grow(ix, err);
	if (rc) {
		pthread_rwlock_unlock(&ix->lock);
		free_all(o, n);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		swap_in(ix, b[i].bucket, o[i]);
	pthread_rwlock_unlock(&ix->lock);
	free(o);
	return CDS_OK;
}

bool cds_index_compact_due(struct cds_index *ix)
{
	bool due;

	pthread_rwlock_rdlock(&ix->lock);
	due = cds_index_ovl_too_big(ix);
	pthread_rwlock_unlock(&ix->lock);
	return due;
}

enum cds_err cds_index_dirty_take(struct cds_index *ix, uint32_t **prefixes,
				  size_t *n, struct cds_error *err)
{
	enum cds_err rc;

	pthread_rwlock_wrlock(&ix->lock);
	rc = cds_dirty_take(&ix->dirty, prefixes, n, err);
	pthread_rwlock_unlock(&ix->lock);
	return rc;
}

size_t cds_index_dirty_count(struct cds_index *ix)
{
	size_t n;

	pthread_rwlock_rdlock(&ix->lock);
	n = ix->dirty.n;
	pthread_rwlock_unlock(&ix->lock);
	return n;
}

void cds_index_dirty_mark(struct cds_index *ix, const uint32_t *prefixes,
			  size_t n)
{
	pthread_rwlock_wrlock(&ix->lock);
	for (size_t i = 0; i < n; i++)
		if (prefixes[i] < ix->nbuckets)
			cds_dirty_mark(&ix->dirty, prefixes[i]);
	pthread_rwlock_unlock(&ix->lock);
}
