/*
 * tview_next.c: a version's changes made into the view's new buckets
 * (tview_int.h, struct tview_next): each change checked and merged with
 * its bucket's current bytes, then the new buckets' leaves hashed.  Nothing
 * of the view changes here; tview_apply.c decides what to do with them.
 */
#include "index/tview_int.h"

#include <stdlib.h>
#include <string.h>

#define FP(p, i) ((p) + (size_t)(i) * CDS_FP_BYTES)
#define ENTRY(p, i) ((p) + (size_t)(i) * CDS_ENTRY_BYTES)

/* Are the n items of `size` bytes at p strictly ascending by fingerprint? */
static bool ascending(const uint8_t *p, size_t n, size_t size)
{
	for (size_t i = 1; i < n; i++)
		if (memcmp(p + (i - 1) * size, p + i * size, CDS_FP_BYTES) >= 0)
			return false;
	return true;
}

static enum cds_err check_change(const struct cds_tview *v,
				 const struct cds_tchange *c, uint32_t prev,
				 size_t i, struct cds_error *err)
{
	if (c->prefix >> v->k)
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "change %zu: bucket %u out of range (prefix "
				   "bits %u)", i, (unsigned)c->prefix, v->k);
	if (i > 0 && c->prefix <= prev)
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "change %zu: bucket %u after bucket %u (one "
				   "change a bucket, ascending)", i,
				   (unsigned)c->prefix, (unsigned)prev);
	if (!ascending(c->removed, c->n_removed, CDS_FP_BYTES) ||
	    !ascending(c->added, c->n_added, CDS_ENTRY_BYTES))
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "change %zu (bucket %u): fingerprints not "
				   "strictly ascending", i, (unsigned)c->prefix);
	return CDS_OK;
}

/*
 * Bucket `old` (n_old entries) with c's fingerprints removed and entries
 * added, appended to out in fp order.  A removed fp must be in old; an
 * added one must not stay in it (only a removed fp may come back).
 */
static enum cds_err merge(const uint8_t *old, size_t n_old,
			  const struct cds_tchange *c, struct cds_buf *out,
			  struct cds_error *err)
{
	size_t i = 0, j = 0, l = 0;
	enum cds_err rc = CDS_OK;

	while (!rc && (i < n_old || l < c->n_added)) {
		const uint8_t *next;
		int cmp;

		if (i < n_old && j < c->n_removed) {
			cmp = memcmp(FP(c->removed, j), ENTRY(old, i), CDS_FP_BYTES);
			if (cmp < 0)
				break; /* removed[j] is not in the bucket */
			if (cmp == 0) {
				i++, j++;
				continue;
			}
		}
		cmp = i == n_old ? -1 : l == c->n_added ? 1 :
		      memcmp(ENTRY(c->added, l), ENTRY(old, i), CDS_FP_BYTES);
		if (cmp == 0)
			return cds_fail(err, CDS_ERR_INVALID,
					"bucket %u: added entry %zu's fingerprint "
					"is already there and not removed",
					(unsigned)c->prefix, l);
		next = cmp < 0 ? ENTRY(c->added, l++) : ENTRY(old, i++);
		rc = cds_buf_append(out, next, CDS_ENTRY_BYTES);
	}
	if (rc)
		return cds_fail(err, rc, "cannot make bucket %u",
				(unsigned)c->prefix);
	if (j < c->n_removed)
		return cds_fail(err, CDS_ERR_INVALID,
				"bucket %u: removed fingerprint %zu is not there",
				(unsigned)c->prefix, j);
	return CDS_OK;
}

/* Change i into nx: its bucket's new bytes (an offset into nx->bytes). */
static enum cds_err next_one(struct cds_tview *v, const struct cds_tchange *c,
			     size_t i, struct cds_buf *old,
			     struct tview_next *nx, struct cds_error *err)
{
	size_t at = nx->bytes.len;
	enum cds_err rc;

	cds_buf_reset(old);
	rc = cds_index_bucket(v->ix, c->prefix, old, NULL, err);
	if (!rc)
		rc = merge(old->data, old->len / CDS_ENTRY_BYTES, c, &nx->bytes,
			   err);
	if (rc && err)
		err->index = (long)i;
	if (rc)
		return rc;
	nx->b[i].bucket = c->prefix;
	nx->b[i].entries = (const uint8_t *)(uintptr_t)at;
	nx->b[i].n = (nx->bytes.len - at) / CDS_ENTRY_BYTES;
	nx->path.pos[0][i] = c->prefix;
	return CDS_OK;
}

/* Offsets become pointers once bytes no longer moves. */
static void next_finish(struct tview_next *nx)
{
	for (size_t i = 0; i < nx->n; i++) {
		uintptr_t off = (uintptr_t)nx->b[i].entries;

		/* No bytes at all (every changed bucket emptied): no buffer. */
		nx->b[i].entries = nx->bytes.data ? nx->bytes.data + off : NULL;
	}
}

/*
 * Room for every added entry at once: an epoch's first version adds the
 * whole directory, which growing by doubling would copy twice over.
 */
static enum cds_err reserve_added(struct cds_buf *b,
				  const struct cds_tchange *ch, size_t n,
				  struct cds_error *err)
{
	size_t added = 0;

	for (size_t i = 0; i < n; i++)
		added += ch[i].n_added;
	if (cds_buf_reserve(b, added * CDS_ENTRY_BYTES))
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot hold %zu added entries", added);
	return CDS_OK;
}

enum cds_err cds_tview_next_make(struct cds_tview *v,
				 const struct cds_tchange *ch, size_t n,
				 struct tview_next *nx, struct cds_error *err)
{
	struct cds_buf old;
	enum cds_err rc;

	memset(nx, 0, sizeof(*nx));
	cds_buf_init(&old);
	nx->n = n;
	rc = cds_tview_path_init(&nx->path, v->k, n, err);
	if (!rc)
		rc = reserve_added(&nx->bytes, ch, n, err);
	if (!rc && !(nx->b = calloc(n ? n : 1, sizeof(*nx->b))))
		rc = cds_fail(err, CDS_ERR_NOMEM, "cannot apply %zu changes", n);
	for (size_t i = 0; !rc && i < n; i++) {
		rc = check_change(v, &ch[i], i ? ch[i - 1].prefix : 0, i, err);
		if (!rc)
			rc = next_one(v, &ch[i], i, &old, nx, err);
	}
	cds_buf_fini(&old);
	if (rc) {
		cds_tview_next_fini(nx);
		return rc;
	}
	next_finish(nx);
	return CDS_OK;
}

void cds_tview_next_fini(struct tview_next *nx)
{
	cds_tview_path_fini(&nx->path);
	free(nx->b);
	cds_buf_fini(&nx->bytes);
	memset(nx, 0, sizeof(*nx));
}

void cds_tview_next_leaves(const struct cds_tview *v, struct tview_next *nx)
{
	for (size_t i = 0; i < nx->n; i++)
		cds_btree_leaf(nx->path.h[0][i], v->epoch, nx->b[i].bucket,
			       nx->b[i].entries, nx->b[i].n);
}

/* Does change i make bucket b from the view's bytes?  Scratch: old, now. */
static bool same_one(struct cds_tview *v, const struct cds_tchange *ch,
		     size_t i, const struct cds_index_bucket_bytes *b,
		     struct cds_buf *old, struct cds_buf *now)
{
	cds_buf_reset(old);
	cds_buf_reset(now);
	if (ch[i].prefix != b->bucket ||
	    check_change(v, &ch[i], i ? ch[i - 1].prefix : 0, i, NULL) ||
	    cds_index_bucket(v->ix, b->bucket, old, NULL, NULL) ||
	    merge(old->data, old->len / CDS_ENTRY_BYTES, &ch[i], now, NULL))
		return false;
	return now->len == b->n * CDS_ENTRY_BYTES &&
	       (now->len == 0 || memcmp(now->data, b->entries, now->len) == 0);
}

/*
 * Does ch make exactly nx's buckets of the view as it is now?  Merges each
 * change again (copies, no hashing) and compares; any failure is "no".
 */
bool cds_tview_next_same(struct cds_tview *v, const struct cds_tchange *ch,
			 size_t n, const struct tview_next *nx)
{
	struct cds_buf old, now;
	bool same = n == nx->n;

	cds_buf_init(&old);
	cds_buf_init(&now);
	for (size_t i = 0; same && i < n; i++)
		same = same_one(v, ch, i, &nx->b[i], &old, &now);
	cds_buf_fini(&old);
	cds_buf_fini(&now);
	return same;
}
