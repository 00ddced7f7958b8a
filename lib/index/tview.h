/*
 * tview.h: the published state of one key epoch (DESIGN.md "Directory
 * transparency"): the buckets exactly as of the epoch's latest sealed
 * version, the bucket tree over them and that version's signed head.
 * Bucket answers come only from here, so every answer matches a signed
 * root; nothing but a sealed version (tview_apply) changes it.
 *
 * Invariants:
 *  1. bucket bytes, tree and head always describe the same version: a
 *     reader (cds_tview_bucket) copies bytes, head and proof under one read
 *     lock; cds_tview_apply changes all three under the write lock.
 *  2. Applying a version whose recomputed root differs from its head's
 *     root fails with CDS_ERR_CRYPTO naming the version, and leaves the
 *     view at the version before (the caller reloads from the store).
 *  3. Sealing costs O(changed buckets x K) hashes: a diff (cds_tview_diff)
 *     touches only the buckets the caller names, and cds_tview_root_after
 *     computes the would-be root without changing the view.
 *
 * The view holds no key.  One updater thread at a time (the mirror's poller)
 * calls _apply/_diff/_root_after; readers any time.
 */
#ifndef CDS_INDEX_TVIEW_H
#define CDS_INDEX_TVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/btree.h"
#include "crypto/thead.h"
#include "index/index.h"
#include "store/tstore.h"

struct cds_tview;

/* An empty view of epoch (version 0: no head yet, every bucket empty). */
enum cds_err cds_tview_new(struct cds_tview **out, uint32_t epoch,
			   unsigned prefix_bits,
			   struct cds_error *err) CDS_MUST_CHECK;
void cds_tview_free(struct cds_tview *v);

uint32_t cds_tview_epoch(const struct cds_tview *v);
unsigned cds_tview_prefix_bits(const struct cds_tview *v);
/* The head of the version the view is at (false: none sealed yet). */
bool cds_tview_head(struct cds_tview *v, struct cds_thead *out);
uint64_t cds_tview_count(struct cds_tview *v);   /* entries */
size_t cds_tview_memory(struct cds_tview *v);

/*
 * Apply one sealed version: for each change, remove its fingerprints and
 * insert its entries (a fingerprint removed and added is replaced), rehash
 * the changed leaves, check the root (invariant 2), then make h current.
 * The changes come in ascending prefix order, one per bucket (as the store
 * and cds_tview_diff give them), each with its removed fingerprints and
 * added entries strictly ascending.  CDS_ERR_INVALID (err->index names the
 * change) for a change that cannot apply: a removed fingerprint absent, an
 * added one present and not removed, prefix out of range, order; or for a
 * head of another epoch or a version not after the view's.  CDS_ERR_NOMEM.
 * Every failure leaves the view as it was.  Cost: the changed buckets are
 * copied and hashed, and their ancestors hashed once each.
 */
enum cds_err cds_tview_apply(struct cds_tview *v, const struct cds_thead *h,
			     const struct cds_tchange *ch, size_t n,
			     struct cds_error *err) CDS_MUST_CHECK;

/*
 * The sealer's working index made from the view: a copy of its buckets'
 * bytes (same entries, same nonces) reflecting change seq, no dirty mark
 * (index.h cds_index_clone).  The updater thread only.  CDS_ERR_NOMEM.
 */
enum cds_err cds_tview_clone_index(struct cds_tview *v, uint64_t seq,
				   struct cds_index **out,
				   struct cds_error *err) CDS_MUST_CHECK;

/*
 * Bucket `prefix`'s entries appended to out, with the head of the version
 * they belong to, the inclusion proof (32 K bytes into proof) and the
 * bucket's ETag version (etag_version may be NULL): the first 8 bytes of
 * its leaf hash, which commits to epoch, prefix and bytes, so the same
 * bucket has the same ETag on every replica and after a restart, and
 * another one whenever its bytes change.  CDS_ERR_INVALID if
 * prefix >= 2^K; CDS_ERR_NOT_FOUND if no version is sealed yet.
 */
enum cds_err cds_tview_bucket(struct cds_tview *v, uint32_t prefix,
			      struct cds_buf *out, struct cds_thead *head,
			      uint8_t *proof, uint64_t *etag_version,
			      struct cds_error *err) CDS_MUST_CHECK;

/* The head and proof alone (not_modified answers). */
enum cds_err cds_tview_proof(struct cds_tview *v, uint32_t prefix,
			     struct cds_thead *head, uint8_t *proof,
			     uint64_t *etag_version,
			     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Sealing.  A diff is the canonical change set that takes the view's
 * buckets `prefixes` (ascending, no duplicates) to work's (the sealer's
 * working index, same epoch and K): per bucket, the fingerprints whose
 * entry left or changed (removed) and the entries that are new or changed
 * (added); buckets whose bytes are equal are left out.  The diff owns its
 * bytes; its changes are valid until cds_tdiff_free.  CDS_ERR_INVALID if
 * work is of another epoch or K, or prefixes are out of range or not
 * ascending; CDS_ERR_NOMEM.  The caller gets prefixes from
 * cds_index_dirty_take(work) and gives them back with
 * cds_index_dirty_mark if the version is not sealed after all.
 */
struct cds_tdiff {
	struct cds_tchange *ch;
	size_t n;
	/* private storage follows in the implementation */
};

enum cds_err cds_tview_diff(struct cds_tview *v, struct cds_index *work,
			    const uint32_t *prefixes, size_t n,
			    struct cds_tdiff **out,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * The diff of every bucket of work against the view: for an epoch's first
 * version (an empty view) every entry added; after the working index was
 * rebuilt (its dirty marks lost), the whole difference.  2^K buckets read.
 */
enum cds_err cds_tview_diff_all(struct cds_tview *v, struct cds_index *work,
				struct cds_tdiff **out,
				struct cds_error *err) CDS_MUST_CHECK;
void cds_tdiff_free(struct cds_tdiff *d);

/*
 * The root the view would have after applying d; what readers see is
 * unchanged.  O(changed buckets x K) hashes, no copy of the tree.  Errors
 * as cds_tview_apply's for the changes.  The new buckets and nodes are
 * kept for the next cds_tview_apply: if that one's changes make the same
 * bytes (the sealer's case), it hashes nothing again.  They are dropped by
 * that apply, the next root_after or cds_tview_free.
 */
enum cds_err cds_tview_root_after(struct cds_tview *v,
				  const struct cds_tdiff *d,
				  uint8_t root[CDS_HASH_BYTES],
				  struct cds_error *err) CDS_MUST_CHECK;

#endif
