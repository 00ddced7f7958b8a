/*
 * btree.h: the bucket tree of a directory version (DESIGN.md "Directory
 * transparency"): a perfect binary tree of depth K = prefix_bits over the
 * 2^K buckets of one epoch.
 *
 *   leaf(p) = SHA-256(0x00 || "cds/v1/bucket" || u32be(epoch) || u32be(p)
 *                     || entries of bucket p, 104 bytes each, fp order)
 *   node    = SHA-256(0x01 || left || right)
 *   root    = the node at depth 0 (for K = 0, leaf(0))
 *
 * An inclusion proof for bucket p is the K sibling hashes from the leaf's
 * level up, 32 K bytes; the sibling at level i is that of ancestor p >> i.
 *
 * The tree is kept whole in memory (2^(K+1) hashes, 8 MiB at K = 17) so that
 * a version that changes c buckets costs c * K node hashes to seal and any
 * proof is a copy.
 */
#ifndef CDS_CRYPTO_BTREE_H
#define CDS_CRYPTO_BTREE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/mlog.h"

struct cds_btree;

/* leaf(p) over n entries of CDS_ENTRY_BYTES each (n = 0: empty bucket). */
void cds_btree_leaf(uint8_t out[CDS_HASH_BYTES], uint32_t epoch, uint32_t p,
		    const uint8_t *entries, size_t n);

/* A tree of depth k for epoch with every bucket empty. */
enum cds_err cds_btree_new(struct cds_btree **out, unsigned k, uint32_t epoch,
			   struct cds_error *err) CDS_MUST_CHECK;
void cds_btree_free(struct cds_btree *t);

/* Put bucket p's leaf hash and rehash its K ancestors. */
void cds_btree_set(struct cds_btree *t, uint32_t p,
		   const uint8_t leaf[CDS_HASH_BYTES]);
void cds_btree_root(const struct cds_btree *t, uint8_t out[CDS_HASH_BYTES]);
/* proof gets 32 K bytes. */
void cds_btree_proof(const struct cds_btree *t, uint32_t p, uint8_t *proof);

/*
 * Node `i` of level `level` (0 = the leaves, K = the root; i < 2^(K -
 * level)), read and written directly.  For callers that rehash many
 * changed leaves at once level by level (index/tview.h: each shared
 * ancestor hashed once), which write a level only after the one below.
 */
const uint8_t *cds_btree_node(const struct cds_btree *t, unsigned level,
			      uint32_t i);
void cds_btree_put_node(struct cds_btree *t, unsigned level, uint32_t i,
			const uint8_t h[CDS_HASH_BYTES]);

/* Does proof (32 k bytes) lead from bucket p's leaf to root?  CDS_ERR_CRYPTO if not. */
enum cds_err cds_btree_verify(unsigned k, uint32_t p,
			      const uint8_t leaf[CDS_HASH_BYTES],
			      const uint8_t *proof,
			      const uint8_t root[CDS_HASH_BYTES],
			      struct cds_error *err) CDS_MUST_CHECK;

#endif
