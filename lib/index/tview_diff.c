/*
 * tview_diff.c: the canonical change set from a view's buckets to the
 * sealer's working index (tview.h: cds_tview_diff, cds_tview_diff_all).
 *
 * Per bucket, both sides sorted by fp, one merge walk: an fp only in the
 * view is removed, only in work is added, in both with different bytes is
 * removed and added (replaced); identical entries are left alone.  The
 * result is what cds_tview_apply and the store take, and what auditors
 * replay, so it must not depend on anything but the two buckets' bytes.
 */
#include "index/tview_int.h"

#include <stdlib.h>
#include <string.h>

#define ENTRY(p, i) ((p) + (size_t)(i) * CDS_ENTRY_BYTES)

/* The diff and its storage: one byte buffer, changes hold offsets into it
 * until the end (the buffer moves as it grows). */
struct tdiff_impl {
	struct cds_tdiff pub;
	size_t cap;
	struct cds_buf bytes;
};

struct bucket_pair {
	struct cds_buf view, work; /* the bucket's bytes on each side */
};

static enum cds_err push_change(struct tdiff_impl *d, uint32_t prefix,
				size_t roff, size_t n_removed, size_t aoff,
				size_t n_added, struct cds_error *err)
{
	struct cds_tchange *c;

	if (d->pub.n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		void *p = realloc(d->pub.ch, cap * sizeof(*d->pub.ch));

		if (!p)
			return cds_fail(err, CDS_ERR_NOMEM,
					"cannot list %zu changed buckets", cap);
		d->pub.ch = p;
		d->cap = cap;
	}
	c = &d->pub.ch[d->pub.n++];
	c->prefix = prefix;
	c->removed = (const uint8_t *)(uintptr_t)roff;
	c->n_removed = n_removed;
	c->added = (const uint8_t *)(uintptr_t)aoff;
	c->n_added = n_added;
	return CDS_OK;
}

/*
 * The entries of a with no identical entry in b, appended to out (their
 * fps alone if fp_only): the view against work gives the removed fps, work
 * against the view the added entries.
 */
static enum cds_err absent_from(const uint8_t *a, size_t na,
				const uint8_t *b, size_t nb, bool fp_only,
				struct cds_buf *out, size_t *count)
{
	size_t i = 0, j = 0;
	enum cds_err rc = CDS_OK;

	*count = 0;
	for (; !rc && i < na; i++) {
		while (j < nb && memcmp(ENTRY(b, j), ENTRY(a, i), CDS_FP_BYTES) < 0)
			j++;
		if (j < nb && memcmp(ENTRY(b, j), ENTRY(a, i), CDS_ENTRY_BYTES) == 0)
			continue;
		rc = cds_buf_append(out, ENTRY(a, i),
				    fp_only ? CDS_FP_BYTES : CDS_ENTRY_BYTES);
		(*count)++;
	}
	return rc;
}

/* One bucket's change, if its two sides differ. */
static enum cds_err diff_bucket(struct tdiff_impl *d, uint32_t prefix,
				const struct bucket_pair *bp,
				struct cds_error *err)
{
	const uint8_t *a = bp->view.data, *b = bp->work.data;
	size_t na = bp->view.len / CDS_ENTRY_BYTES;
	size_t nb = bp->work.len / CDS_ENTRY_BYTES;
	size_t roff = d->bytes.len, aoff, nr, nadd;
	enum cds_err rc;

	if (na == nb && (na == 0 || memcmp(a, b, bp->view.len) == 0))
		return CDS_OK;
	rc = absent_from(a, na, b, nb, true, &d->bytes, &nr);
	aoff = d->bytes.len;
	if (!rc)
		rc = absent_from(b, nb, a, na, false, &d->bytes, &nadd);
	if (rc)
		return cds_fail(err, rc, "cannot diff bucket %u", (unsigned)prefix);
	return push_change(d, prefix, roff, nr, aoff, nadd, err);
}

static enum cds_err read_pair(struct cds_tview *v, struct cds_index *work,
			      uint32_t prefix, struct bucket_pair *bp,
			      struct cds_error *err)
{
	enum cds_err rc;

	cds_buf_reset(&bp->view);
	cds_buf_reset(&bp->work);
	rc = cds_index_bucket(v->ix, prefix, &bp->view, NULL, err);
	if (!rc)
		rc = cds_index_bucket(work, prefix, &bp->work, NULL, err);
	return rc;
}

static enum cds_err check_work(const struct cds_tview *v,
			       struct cds_index *work, struct cds_error *err)
{
	if (cds_index_epoch(work) != v->epoch ||
	    cds_index_prefix_bits(work) != v->k)
		return cds_fail(err, CDS_ERR_INVALID,
				"working index (epoch %u, prefix bits %u) does "
				"not match the view (epoch %u, prefix bits %u)",
				(unsigned)cds_index_epoch(work),
				cds_index_prefix_bits(work), (unsigned)v->epoch,
				v->k);
	return CDS_OK;
}

static enum cds_err check_prefixes(const struct cds_tview *v,
				   const uint32_t *prefixes, size_t n,
				   struct cds_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (prefixes[i] >> v->k)
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "bucket %u out of range (prefix bits "
					   "%u)", (unsigned)prefixes[i], v->k);
		if (i > 0 && prefixes[i] <= prefixes[i - 1])
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "buckets not strictly ascending at "
					   "%u", (unsigned)prefixes[i]);
	}
	return CDS_OK;
}

/* Offsets become pointers now that the bytes no longer move. */
static void finish(struct tdiff_impl *d)
{
	for (size_t i = 0; i < d->pub.n; i++) {
		struct cds_tchange *c = &d->pub.ch[i];

		c->removed = d->bytes.data + (uintptr_t)c->removed;
		c->added = d->bytes.data + (uintptr_t)c->added;
	}
}

/*
 * The diff over prefixes[0..n), or over 0..n-1 when prefixes is NULL;
 * `expect` bytes reserved at once (the whole directory for diff_all).
 */
static enum cds_err diff_range(struct cds_tview *v, struct cds_index *work,
			       const uint32_t *prefixes, size_t n,
			       size_t expect, struct cds_tdiff **out,
			       struct cds_error *err)
{
	struct tdiff_impl *d = calloc(1, sizeof(*d));
	struct bucket_pair bp;
	enum cds_err rc = CDS_OK;

	*out = NULL;
	if (!d || cds_buf_reserve(&d->bytes, expect)) {
		free(d ? d->bytes.data : NULL);
		free(d);
		return cds_fail(err, CDS_ERR_NOMEM, "cannot allocate a diff");
	}
	cds_buf_init(&bp.view);
	cds_buf_init(&bp.work);
	for (size_t i = 0; !rc && i < n; i++) {
		uint32_t p = prefixes ? prefixes[i] : (uint32_t)i;

		rc = read_pair(v, work, p, &bp, err);
		if (!rc)
			rc = diff_bucket(d, p, &bp, err);
	}
	cds_buf_fini(&bp.view);
	cds_buf_fini(&bp.work);
	if (rc) {
		cds_tdiff_free(&d->pub);
		return rc;
	}
	finish(d);
	*out = &d->pub;
	return CDS_OK;
}

enum cds_err cds_tview_diff(struct cds_tview *v, struct cds_index *work,
			    const uint32_t *prefixes, size_t n,
			    struct cds_tdiff **out, struct cds_error *err)
{
	enum cds_err rc;

	*out = NULL;
	rc = check_work(v, work, err);
	if (!rc)
		rc = check_prefixes(v, prefixes, n, err);
	if (!rc)
		rc = diff_range(v, work, prefixes, n, 0, out, err);
	return rc;
}

enum cds_err cds_tview_diff_all(struct cds_tview *v, struct cds_index *work,
				struct cds_tdiff **out, struct cds_error *err)
{
	enum cds_err rc;

	*out = NULL;
	rc = check_work(v, work, err);
	if (!rc)
		rc = diff_range(v, work, NULL, (size_t)1 << v->k,
				(size_t)cds_index_count(work) * CDS_ENTRY_BYTES,
				out, err);
	return rc;
}

void cds_tdiff_free(struct cds_tdiff *pub)
{
	struct tdiff_impl *d = (struct tdiff_impl *)pub;

	if (!d)
		return;
	free(d->pub.ch);
	cds_buf_fini(&d->bytes);
	free(d);
}
