/*
 * dirmap.h: the plain-lookup map, canonical handle -> account id, kept only
 * when plain lookup is on.
 *
 * Compact: an open-addressing table of 8-byte slots (record reference and
 * 32 bits of the handle's SipHash) over one arena of packed records
 * (account id, length, handle bytes), about 45 bytes a phone handle.  No
 * per-handle allocation.  Not locked: the mirror guards it with its
 * directory lock.
 */
#ifndef CDS_INDEX_DIRMAP_H
#define CDS_INDEX_DIRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/entry.h"

struct cds_dirmap;

/* An empty map; the caller frees it with cds_dirmap_free. */
enum cds_err cds_dirmap_new(struct cds_dirmap **out,
			    struct cds_error *err) CDS_MUST_CHECK;
void cds_dirmap_free(struct cds_dirmap *m);

/*
 * Map handle[0..len) to account id, inserting or replacing.
 * CDS_ERR_INVALID if len is 0 or over CDS_HANDLE_MAX_BYTES; CDS_ERR_NOMEM,
 * CDS_ERR_TOO_LARGE past 16 GiB of records.
 */
enum cds_err cds_dirmap_put(struct cds_dirmap *m, const char *handle,
			    size_t len,
			    const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
			    struct cds_error *err) CDS_MUST_CHECK;

/* Forget a handle; false if it was not there. */
bool cds_dirmap_remove(struct cds_dirmap *m, const char *handle, size_t len);

/* The account of handle into id; false if not registered. */
bool cds_dirmap_get(const struct cds_dirmap *m, const char *handle, size_t len,
		    uint8_t id[static CDS_ACCOUNT_ID_BYTES]);

/*
 * The same for n handles at once: found[i] and ids[i] for handles[i].  All
 * slots are hashed and prefetched first, so the n cache misses overlap
 * instead of following one another.
 */
void cds_dirmap_get_many(const struct cds_dirmap *m,
			 const char *const *handles, size_t n,
			 uint8_t (*ids)[CDS_ACCOUNT_ID_BYTES], bool *found);

size_t cds_dirmap_count(const struct cds_dirmap *m);
size_t cds_dirmap_memory(const struct cds_dirmap *m);

#endif
