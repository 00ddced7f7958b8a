/*
 * index.h: one key epoch's discovery index (DESIGN.md "Step 2, buckets").
 *
 * For every registered handle the index holds its 104-byte entry
 * (fp || nonce || ct), grouped by bucket and sorted by fingerprint within
 * the bucket.  Layout, chosen so that 10 million handles cost at most 128
 * resident bytes each:
 *   - the base: one flat region (anonymous memory after a build, a copy
 *     or a compaction) holding the per-bucket offsets,
 *     u32 off[nbuckets + 1], and the entries, bucket b being entries
 *     [off[b], off[b+1]);
 *   - the overlay: buckets changed since the base was made live in their own
 *     small allocation, found through an open-addressing table keyed by
 *     bucket number.  A changed bucket never goes back to the base; when the
 *     overlay grows past a quarter of the base, the whole index is compacted
 *     into a new base (a copy, no OPRF evaluation).
 *
 * Invariants:
 *  1. Within every bucket entries are sorted by fp, fps are unique.
 *  2. A bucket's version changes whenever its bytes change, and never repeats
 *     with different bytes, even across processes: base buckets have
 *     version SipHash(base_salt, bucket), with base_salt drawn at random for
 *     every base whose bytes are new (a build, a compaction, a copy);
 *     overlay buckets get SipHash(overlay_salt, counter++) with
 *     overlay_salt drawn at random by each process.
 *  3. Readers (any number of threads) take the read lock and copy bytes out.
 *     Mutators (put, remove, replace, compact, set_seq, the dirty set) take
 *     the write lock, and must be called by one thread at a time (the
 *     mirror's poller).
 *  4. Every bucket whose bytes a put, remove or replace changed is marked
 *     dirty until cds_index_dirty_take hands the marks over (the sealer:
 *     index/tview.h); a compaction keeps them.
 *
 * The index holds no key: callers evaluate the OPRF and pass its output.
 */
#ifndef CDS_INDEX_INDEX_H
#define CDS_INDEX_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/entry.h"

#define CDS_INDEX_SALT_BYTES 16

struct cds_index;

/* Number of buckets for prefix_bits (1 << bits). */
static inline uint32_t cds_index_nbuckets(unsigned prefix_bits)
{
	return UINT32_C(1) << prefix_bits;
}

/*
 * Make an index over a base region.  `map`/`map_len` is an mmap()ed region
 * (anonymous or a file mapping) the index takes over and munmap()s when
 * freed; `off` (nbuckets + 1 offsets) and `entries` point into it.  The
 * caller has checked the offsets (off[0] == 0, non-decreasing,
 * off[nbuckets] == n) and the sort order.  salt NULL draws a fresh one.
 * On failure the region is unmapped too.
 */
enum cds_err cds_index_new(struct cds_index **out, uint32_t epoch,
			   unsigned prefix_bits, void *map, size_t map_len,
			   const uint32_t *off, const uint8_t *entries,
			   const uint8_t *salt, uint64_t seq,
			   struct cds_error *err) CDS_MUST_CHECK;

/* An index with no entry (used when the store is empty and in tests). */
enum cds_err cds_index_new_empty(struct cds_index **out, uint32_t epoch,
				 unsigned prefix_bits, uint64_t seq,
				 struct cds_error *err) CDS_MUST_CHECK;

void cds_index_free(struct cds_index *ix);

uint32_t cds_index_epoch(const struct cds_index *ix);
unsigned cds_index_prefix_bits(const struct cds_index *ix);

/*
 * Registered handles (entries), change sequence the entries reflect (set_seq
 * only raises it: re-applying older changes re-reads the store's current
 * state, so the index never goes back), bytes held.
 */
uint64_t cds_index_count(struct cds_index *ix);
uint64_t cds_index_seq(struct cds_index *ix);
void cds_index_set_seq(struct cds_index *ix, uint64_t seq);
size_t cds_index_memory(struct cds_index *ix);

/*
 * Append bucket `bucket`'s entries to out (NULL: the version alone) and
 * give its version.  CDS_ERR_INVALID if bucket >= nbuckets, CDS_ERR_NOMEM.
 */
enum cds_err cds_index_bucket(struct cds_index *ix, uint32_t bucket,
			      struct cds_buf *out, uint64_t *version,
			      struct cds_error *err) CDS_MUST_CHECK;

/*
 * Make handle (whose bucket and OPRF output under this epoch are given)
 * answer (account, identity_key).  If its entry already opens to exactly
 * that, nothing changes (*changed = false); otherwise a new entry with a
 * fresh nonce replaces it or is inserted.  changed may be NULL.
 */
enum cds_err cds_index_put(struct cds_index *ix, uint32_t bucket,
			   const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
			   const uint8_t account[static CDS_ACCOUNT_ID_BYTES],
			   const uint8_t identity_key[static CDS_IDENTITY_KEY_BYTES],
			   bool *changed, struct cds_error *err) CDS_MUST_CHECK;

/* Remove the entry with fingerprint fp from bucket; *removed says if any. */
enum cds_err cds_index_remove(struct cds_index *ix, uint32_t bucket,
			      const uint8_t fp[static CDS_FP_BYTES],
			      bool *removed, struct cds_error *err) CDS_MUST_CHECK;

/*
 * Visit every bucket in order under the read lock (copies): fn gets the
 * bucket number and its entries; non-zero from fn stops with that value.
 * *salt_out (may be NULL) gets the base salt, or all zeros if some bucket
 * lives in the overlay (the bytes visited are then not the base's).
 */
typedef int (*cds_index_bucket_fn)(void *ctx, uint32_t bucket,
				   const uint8_t *entries, size_t n);
int cds_index_visit(struct cds_index *ix, cds_index_bucket_fn fn, void *ctx,
		    uint8_t salt_out[CDS_INDEX_SALT_BYTES], uint64_t *seq,
		    uint64_t *count);

/*
 * Raw writes, for a published view (index/tview.h), whose buckets are the
 * bytes a sealed version names rather than entries made here.  Replace
 * each listed bucket's entries wholesale (the caller has sorted each by
 * fp, fps unique, buckets distinct and < nbuckets): all or nothing, under
 * one write lock, so readers see every bucket before or every bucket
 * after.  Each replaced bucket gets a new version and is marked dirty.
 * CDS_ERR_INVALID (a bucket out of range), CDS_ERR_NOMEM (nothing changed).
 * It never compacts: the caller does when cds_index_compact_due says so,
 * after releasing any lock of its own that readers wait on (a compaction
 * copies the whole index, but readers of the index go on meanwhile).
 */
struct cds_index_bucket_bytes {
	uint32_t bucket;
	const uint8_t *entries; /* borrowed: copied into the index */
	size_t n;
};
enum cds_err cds_index_replace(struct cds_index *ix,
			       const struct cds_index_bucket_bytes *b,
			       size_t n, struct cds_error *err) CDS_MUST_CHECK;
bool cds_index_compact_due(struct cds_index *ix);

/*
 * The dirty buckets (invariant 4), ascending, in a new array the caller
 * frees with free() (NULL if none), and the marks cleared.  CDS_ERR_NOMEM
 * keeps the marks.  _dirty_mark gives marks back (a seal that failed
 * retries them at the next poll).
 */
enum cds_err cds_index_dirty_take(struct cds_index *ix, uint32_t **prefixes,
				  size_t *n, struct cds_error *err) CDS_MUST_CHECK;
void cds_index_dirty_mark(struct cds_index *ix, const uint32_t *prefixes,
			  size_t n);
/* How many buckets are dirty now (the marks stay). */
size_t cds_index_dirty_count(struct cds_index *ix);

/*
 * A copy of ix's entries (base and overlay flattened into a new base, a
 * fresh salt, no dirty mark) reflecting change seq: the sealer's working
 * index made from a published view (tview.h) keeps the view's bytes and
 * nonces, so its unchanged handles seal no change.  CDS_ERR_NOMEM.
 */
enum cds_err cds_index_clone(struct cds_index *ix, uint64_t seq,
			     struct cds_index **out,
			     struct cds_error *err) CDS_MUST_CHECK;

/* Fold the overlay into a new base now (normally automatic). */
enum cds_err cds_index_compact(struct cds_index *ix,
			       struct cds_error *err) CDS_MUST_CHECK;

/* Anonymous read-write region of len bytes (MAP_FAILED -> CDS_ERR_NOMEM). */
enum cds_err cds_index_map_anon(void **map, size_t len,
				struct cds_error *err) CDS_MUST_CHECK;

/* Bytes of a base region for n entries: offsets then entries. */
size_t cds_index_region_bytes(unsigned prefix_bits, uint64_t n);

/* Sort one bucket's entries by fp (builder, tests). */
void cds_index_sort_bucket(uint8_t *entries, size_t n);

#endif
