/*
 * btree.c: the bucket tree of a directory version (btree.h).
 *
 * Heap layout: node 1 is the root, node i has children 2i and 2i + 1, and
 * bucket p's leaf is node 2^K + p, so ancestor p >> i of a leaf is node
 * (2^K + p) >> i and its sibling that node with the low bit flipped.
 */
#include "crypto/btree.h"

#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "crypto/entry.h"

static const char LEAF_LABEL[] = "cds/v1/bucket";

struct cds_btree {
	unsigned k;
	uint8_t (*node)[CDS_HASH_BYTES]; /* 2^(K+1) slots; slot 0 unused */
};

void cds_btree_leaf(uint8_t out[CDS_HASH_BYTES], uint32_t epoch, uint32_t p,
		    const uint8_t *entries, size_t n)
{
	static const uint8_t prefix = 0x00;
	crypto_hash_sha256_state st;
	uint8_t be[4];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)LEAF_LABEL,
				  sizeof(LEAF_LABEL) - 1);
	cds_put_u32be(be, epoch);
	crypto_hash_sha256_update(&st, be, sizeof(be));
	cds_put_u32be(be, p);
	crypto_hash_sha256_update(&st, be, sizeof(be));
	if (n)
		crypto_hash_sha256_update(&st, entries, n * CDS_ENTRY_BYTES);
	crypto_hash_sha256_final(&st, out);
}

enum cds_err cds_btree_new(struct cds_btree **out, unsigned k, uint32_t epoch,
			   struct cds_error *err)
{
	struct cds_btree *t;
	size_t leaves = (size_t)1 << k;

	*out = NULL;
	if (k > CDS_PREFIX_BITS_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"bucket tree depth %u over %u", k,
				CDS_PREFIX_BITS_MAX);
	if (!(t = calloc(1, sizeof(*t))) ||
	    !(t->node = malloc(2 * leaves * CDS_HASH_BYTES))) {
		free(t);
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	t->k = k;
	for (size_t p = 0; p < leaves; p++)
		cds_btree_leaf(t->node[leaves + p], epoch, (uint32_t)p, NULL, 0);
	for (size_t i = leaves - 1; i >= 1; i--)
		cds_mlog_node_hash(t->node[i], t->node[2 * i], t->node[2 * i + 1]);
	*out = t;
	return CDS_OK;
}

void cds_btree_free(struct cds_btree *t)
{
	if (!t)
		return;
	free(t->node);
	free(t);
}

void cds_btree_set(struct cds_btree *t, uint32_t p,
		   const uint8_t leaf[CDS_HASH_BYTES])
{
	size_t i = ((size_t)1 << t->k) + p;

	memcpy(t->node[i], leaf, CDS_HASH_BYTES);
	for (i >>= 1; i >= 1; i >>= 1)
		cds_mlog_node_hash(t->node[i], t->node[2 * i], t->node[2 * i + 1]);
}

/* Level `level`'s node i is heap node 2^(K - level) + i. */
static size_t heap_index(const struct cds_btree *t, unsigned level, uint32_t i)
{
	return ((size_t)1 << (t->k - level)) + i;
}

const uint8_t *cds_btree_node(const struct cds_btree *t, unsigned level,
			      uint32_t i)
{
	return t->node[heap_index(t, level, i)];
}

void cds_btree_put_node(struct cds_btree *t, unsigned level, uint32_t i,
			const uint8_t h[CDS_HASH_BYTES])
{
	memcpy(t->node[heap_index(t, level, i)], h, CDS_HASH_BYTES);
}

void cds_btree_root(const struct cds_btree *t, uint8_t out[CDS_HASH_BYTES])
{
	memcpy(out, t->node[1], CDS_HASH_BYTES);
}

void cds_btree_proof(const struct cds_btree *t, uint32_t p, uint8_t *proof)
{
	size_t i = ((size_t)1 << t->k) + p;

	for (unsigned level = 0; level < t->k; level++, i >>= 1)
		memcpy(proof + (size_t)level * CDS_HASH_BYTES, t->node[i ^ 1],
		       CDS_HASH_BYTES);
}

enum cds_err cds_btree_verify(unsigned k, uint32_t p,
			      const uint8_t leaf[CDS_HASH_BYTES],
			      const uint8_t *proof,
			      const uint8_t root[CDS_HASH_BYTES],
			      struct cds_error *err)
{
	uint8_t h[CDS_HASH_BYTES];

	if (k > CDS_PREFIX_BITS_MAX || p >> k)
		return cds_fail(err, CDS_ERR_INVALID,
				"bucket %u is outside a tree of depth %u",
				(unsigned)p, k);
	memcpy(h, leaf, CDS_HASH_BYTES);
	for (unsigned level = 0; level < k; level++) {
		const uint8_t *sib = proof + (size_t)level * CDS_HASH_BYTES;
		if ((p >> level) & 1)
			cds_mlog_node_hash(h, sib, h);
		else
			cds_mlog_node_hash(h, h, sib);
	}
	if (sodium_memcmp(h, root, CDS_HASH_BYTES) != 0)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"bucket %u does not match the version's root",
				(unsigned)p);
	return CDS_OK;
}
