/*
 * dirty.h: the set of buckets of one index that changed since the sealer
 * last took it (index.h, cds_index_dirty_take): a bitmap of 2^K bits, so
 * marking is O(1) and taking is one scan (2 MiB at K = 24).
 *
 * Invariant: n == the number of bits set.  Not thread-safe: the index
 * guards it with its write lock.
 */
#ifndef CDS_INDEX_DIRTY_H
#define CDS_INDEX_DIRTY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct cds_dirty {
	uint64_t *bits;  /* nbits / 64 words, at least one */
	uint32_t nbits;
	size_t n;
};

/* An empty set over 2^prefix_bits buckets; CDS_ERR_NOMEM. */
enum cds_err cds_dirty_init(struct cds_dirty *d, unsigned prefix_bits,
			    struct cds_error *err) CDS_MUST_CHECK;
void cds_dirty_fini(struct cds_dirty *d); /* accepts a zeroed struct */

/* Mark bucket b (< nbits; marking twice is marking once). */
void cds_dirty_mark(struct cds_dirty *d, uint32_t b);

/*
 * The marked buckets, ascending, in a new array the caller frees with
 * free() (NULL when *n == 0), and the set cleared.  CDS_ERR_NOMEM leaves
 * the set as it was.
 */
enum cds_err cds_dirty_take(struct cds_dirty *d, uint32_t **out, size_t *n,
			    struct cds_error *err) CDS_MUST_CHECK;

#endif
