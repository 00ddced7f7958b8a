/*
 * mlog.h: the Merkle log of directory versions (RFC 9162 section 2.1).
 *
 *   leaf hash = SHA-256(0x00 || record)
 *   node hash = SHA-256(0x01 || left || right)
 *   MTH(D[n]) splits at k, the largest power of two below n.
 *
 * Every subtree that MTH visits is perfect and aligned: 2^level leaves
 * starting at index << level.  Once complete such a subtree never changes,
 * so a log is fully described by those hashes; where they are kept (memory,
 * SQLite, PostgreSQL) is the caller's, reached through struct cds_mlog_src.
 * Roots and proofs then cost O(log n) lookups, never a pass over the leaves.
 */
#ifndef CDS_CRYPTO_MLOG_H
#define CDS_CRYPTO_MLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "core/err.h"

#define CDS_HASH_BYTES crypto_hash_sha256_BYTES
/* A consistency proof has at most ceil(log2 n) + 1 hashes; n < 2^64. */
#define CDS_MLOG_PROOF_MAX 65

/*
 * Hash of the perfect subtree of 2^level leaves that starts at leaf
 * index << level.  Called only for subtrees inside the log's size.
 */
typedef enum cds_err (*cds_mlog_node_fn)(void *ctx, unsigned level,
					 uint64_t index,
					 uint8_t out[CDS_HASH_BYTES],
					 struct cds_error *err);

struct cds_mlog_src {
	cds_mlog_node_fn node;
	void *ctx;
};

void cds_mlog_leaf_hash(uint8_t out[CDS_HASH_BYTES], const uint8_t *data,
			size_t len);
void cds_mlog_node_hash(uint8_t out[CDS_HASH_BYTES],
			const uint8_t left[CDS_HASH_BYTES],
			const uint8_t right[CDS_HASH_BYTES]);

/* MTH of the first n leaves (n = 0: SHA-256 of the empty string). */
enum cds_err cds_mlog_root(const struct cds_mlog_src *src, uint64_t n,
			   uint8_t out[CDS_HASH_BYTES],
			   struct cds_error *err) CDS_MUST_CHECK;

/*
 * PROOF(m, D[n]) of RFC 9162 section 2.1.4.1 for 1 <= m <= n: *len hashes
 * into proof[0..CDS_MLOG_PROOF_MAX).  m == n gives the empty proof.
 */
enum cds_err cds_mlog_consistency(const struct cds_mlog_src *src, uint64_t m,
				  uint64_t n,
				  uint8_t proof[][CDS_HASH_BYTES], size_t *len,
				  struct cds_error *err) CDS_MUST_CHECK;

/*
 * Section 2.1.4.2: does proof show that the log of size n with root
 * second extends the log of size m with root first?  CDS_ERR_CRYPTO if not.
 */
enum cds_err cds_mlog_verify_consistency(uint64_t m, uint64_t n,
					 const uint8_t first[CDS_HASH_BYTES],
					 const uint8_t second[CDS_HASH_BYTES],
					 const uint8_t proof[][CDS_HASH_BYTES],
					 size_t len,
					 struct cds_error *err) CDS_MUST_CHECK;

/*
 * A log kept in memory: every complete aligned subtree's hash, level by
 * level (2n hashes in all).  For auditors, tests and a server's cache.
 */
struct cds_mlog_mem;

enum cds_err cds_mlog_mem_new(struct cds_mlog_mem **out,
			      struct cds_error *err) CDS_MUST_CHECK;
void cds_mlog_mem_free(struct cds_mlog_mem *m);
uint64_t cds_mlog_mem_size(const struct cds_mlog_mem *m);
/* Append one leaf hash (not the record: hash it with cds_mlog_leaf_hash). */
enum cds_err cds_mlog_mem_append(struct cds_mlog_mem *m,
				 const uint8_t leaf[CDS_HASH_BYTES],
				 struct cds_error *err) CDS_MUST_CHECK;
struct cds_mlog_src cds_mlog_mem_src(struct cds_mlog_mem *m);

#endif
