/*
 * tview_int.h: the published view's representation (tview.h), shared by
 * tview.c (the view and its reads), tview_apply.c (a version's new
 * buckets, applying it), tview_root.c (rehashing changed leaves level by
 * level) and tview_diff.c.  Not for use outside lib/index/tview*.c.
 *
 * Invariants (beyond those in tview.h):
 *  1. Lock order: the view's lock, then the index's own (index.h); nothing
 *     takes them the other way round.
 *  2. tree's leaf p == cds_btree_leaf(epoch, p, bucket p of ix) for every p,
 *     and head.root == the tree's root once sealed.
 *  3. Only the updater thread changes ix and tree, and only with the view's
 *     write lock held, so it may read them without the view's lock.
 */
#ifndef CDS_INDEX_TVIEW_INT_H
#define CDS_INDEX_TVIEW_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "index/tview.h"

struct cds_tview {
	pthread_rwlock_t lock;
	uint32_t epoch;
	unsigned k;
	struct cds_index *ix;     /* the buckets' bytes and ETag versions */
	struct cds_btree *tree;
	bool sealed;              /* head holds a version */
	struct cds_thead head;
};

/*
 * The changed nodes of a tree, level by level: level 0 the changed leaves,
 * level L the distinct ancestors p >> L, positions ascending, each with its
 * new hash.  A level's arrays are NULL once dropped.
 */
struct tview_path {
	unsigned k;
	size_t n[CDS_PREFIX_BITS_MAX + 1];
	uint32_t *pos[CDS_PREFIX_BITS_MAX + 1];
	uint8_t (*h[CDS_PREFIX_BITS_MAX + 1])[CDS_HASH_BYTES];
};

/* Level 0 with room for n leaves (positions and hashes to fill). */
enum cds_err cds_tview_path_init(struct tview_path *p, unsigned k, size_t n,
				 struct cds_error *err) CDS_MUST_CHECK;
void cds_tview_path_fini(struct tview_path *p);

/*
 * Hash levels 1..K from level 0, siblings not in the path read from t;
 * root gets the new root (t's own when nothing changed).  keep false drops
 * each level once the next is made (root_after); keep true keeps them for
 * cds_tview_path_write.  CDS_ERR_NOMEM.
 */
enum cds_err cds_tview_path_climb(struct tview_path *p,
				  const struct cds_btree *t, bool keep,
				  uint8_t root[CDS_HASH_BYTES],
				  struct cds_error *err) CDS_MUST_CHECK;
/* Write every kept node into t (cannot fail). */
void cds_tview_path_write(const struct tview_path *p, struct cds_btree *t);

/*
 * A version's changes made into the view's new buckets: for each change
 * (prefixes strictly ascending) its bucket's new bytes and leaf (level 0
 * of path).  CDS_ERR_INVALID names the bad change; the view is untouched.
 */
struct tview_next {
	size_t n;
	struct cds_index_bucket_bytes *b; /* into bytes */
	struct cds_buf bytes;
	struct tview_path path;
};
enum cds_err cds_tview_next_make(struct cds_tview *v,
				 const struct cds_tchange *ch, size_t n,
				 struct tview_next *out,
				 struct cds_error *err) CDS_MUST_CHECK;
void cds_tview_next_fini(struct tview_next *nx);

#endif
