/*
 * tview_int.h: the published view's representation (tview.h), shared by
 * tview.c (the view and its reads), tview_next.c (a version's changes made
 * into new buckets), tview_root.c (rehashing changed leaves level by
 * level), tview_apply.c (apply, root_after) and tview_diff.c.  Not for use
 * outside lib/index/tview*.c.
 *
 * Invariants (beyond those in tview.h):
 *  1. Lock order: the view's lock, then the index's own (index.h); nothing
 *     takes them the other way round.
 *  2. tree's leaf p == cds_btree_leaf(epoch, p, bucket p of ix) for every p,
 *     and head.root == the tree's root once sealed.
 *  3. Only the updater thread changes ix and tree, and only with the view's
 *     write lock held, so it may read them without the view's lock; the
 *     pending fields are the updater's alone (readers never look).
 */
#ifndef CDS_INDEX_TVIEW_INT_H
#define CDS_INDEX_TVIEW_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "index/tview.h"

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

/*
 * A version's changes made into the view's new buckets: for each change
 * (prefixes strictly ascending) its bucket's new bytes, then (once hashed)
 * leaves, the nodes above them and the root they make.
 */
struct tview_next {
	size_t n;
	struct cds_index_bucket_bytes *b; /* into bytes */
	struct cds_buf bytes;
	struct tview_path path;
	uint8_t root[CDS_HASH_BYTES];
};

struct cds_tview {
	pthread_rwlock_t lock;
	uint32_t epoch;
	unsigned k;
	struct cds_index *ix;     /* the buckets' bytes and ETag versions */
	struct cds_btree *tree;
	bool sealed;              /* head holds a version */
	struct cds_thead head;
	uint64_t gen;             /* versions applied */
	/* The updater's alone (tview_apply.c): root_after's work. */
	struct tview_next pending;
	bool has_pending;
	uint64_t pending_gen;     /* gen when pending was made */
};

/* Level 0 with room for n leaves (positions and hashes to fill). */
enum cds_err cds_tview_path_init(struct tview_path *p, unsigned k, size_t n,
				 struct cds_error *err) CDS_MUST_CHECK;
void cds_tview_path_fini(struct tview_path *p);

/*
 * Hash levels 1..K from level 0, siblings not in the path read from t;
 * root gets the new root (t's own when nothing changed).  Every level is
 * kept for cds_tview_path_write: at most min(c K, 2^(K+1)) nodes of 36
 * bytes for c changed leaves.  CDS_ERR_NOMEM.
 */
enum cds_err cds_tview_path_climb(struct tview_path *p,
				  const struct cds_btree *t,
				  uint8_t root[CDS_HASH_BYTES],
				  struct cds_error *err) CDS_MUST_CHECK;
/* Write every kept node into t (cannot fail). */
void cds_tview_path_write(const struct tview_path *p, struct cds_btree *t);

/*
 * ch (prefixes strictly ascending) made into nx's new buckets, leaves not
 * yet hashed.  CDS_ERR_INVALID names the bad change; the view is untouched.
 */
enum cds_err cds_tview_next_make(struct cds_tview *v,
				 const struct cds_tchange *ch, size_t n,
				 struct tview_next *out,
				 struct cds_error *err) CDS_MUST_CHECK;
void cds_tview_next_fini(struct tview_next *nx);
/* Hash nx's leaves (level 0 of its path). */
void cds_tview_next_leaves(const struct cds_tview *v, struct tview_next *nx);
/* Does ch make exactly nx's buckets from the view as it is? */
bool cds_tview_next_same(struct cds_tview *v, const struct cds_tchange *ch,
			 size_t n, const struct tview_next *nx);
/* Forget root_after's work (the view is being freed or it went stale). */
void cds_tview_pending_drop(struct cds_tview *v);

#endif
