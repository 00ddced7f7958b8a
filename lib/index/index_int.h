/*
 * index_int.h: the discovery index's representation, shared by the files
 * that implement index.h (index.c: base, overlay, put/remove, compaction;
 * index_raw.c: wholesale bucket replacement and the dirty set).  Not for
 * use outside lib/index/index*.c.
 *
 * Invariants (beyond those in index.h):
 *  1. ovl_n <= ovl_cap / 2 (ovl_cap a power of two or 0): linear probing
 *     always finds an empty slot, which ends every search.
 *  2. A bucket is in the overlay or reads from the base, never both: once
 *     copied to the overlay its base bytes are stale until a compaction.
 *  3. count == the sum of all bucket sizes.
 *  4. Every bucket whose bytes changed since the last cds_index_dirty_take
 *     is marked in dirty (compaction leaves the marks alone).
 */
#ifndef CDS_INDEX_INDEX_INT_H
#define CDS_INDEX_INDEX_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "index/dirty.h"
#include "index/index.h"

/* A bucket that changed since the base was made. */
struct ovl_bucket {
	uint64_t version;
	uint32_t n, cap;
	uint8_t e[];
};

struct ovl_slot {
	uint32_t bucket;
	struct ovl_bucket *b; /* NULL = empty slot */
};

struct cds_index {
	pthread_rwlock_t lock;
	uint32_t epoch;
	unsigned prefix_bits;
	uint32_t nbuckets;
	void *map;
	size_t map_len;
	const uint32_t *off;
	const uint8_t *base;
	uint8_t base_salt[CDS_INDEX_SALT_BYTES];
	uint8_t ovl_salt[CDS_INDEX_SALT_BYTES];
	uint64_t ovl_counter;
	struct ovl_slot *slots;
	uint32_t ovl_cap, ovl_n;
	unsigned ovl_shift;
	size_t ovl_bytes; /* overlay buckets and table */
	uint64_t count;
	uint64_t seq;
	struct cds_dirty dirty; /* buckets changed since the last take */
};

/* The rest are called with ix->lock held (read for _view, else write). */

/* Bucket b's current bytes (overlay or base), its size and version. */
const uint8_t *cds_index_view(const struct cds_index *ix, uint32_t b,
			      size_t *n, uint64_t *version);
/* The overlay slot of bucket b, or the empty slot where it would go. */
struct ovl_slot *cds_index_ovl_slot(const struct cds_index *ix, uint32_t b);
/* Double the overlay table (CDS_ERR_NOMEM leaves it as it was). */
enum cds_err cds_index_ovl_grow(struct cds_index *ix, struct cds_error *err);
/* Bytes of an overlay bucket with room for cap entries. */
size_t cds_index_ovl_size(uint32_t cap);
/* A fresh overlay bucket version (index.h, invariant 2). */
uint64_t cds_index_next_version(struct cds_index *ix);
/* Is a compaction due? */
bool cds_index_ovl_too_big(const struct cds_index *ix);

#endif
