/*
 * mlog.c: RFC 9162 section 2.1 Merkle log: roots and consistency proofs
 * over a source of perfect-subtree hashes, and an in-memory source.
 */
#include "crypto/mlog.h"

#include <stdlib.h>
#include <string.h>

#define MLOG_LEVELS 64

void cds_mlog_leaf_hash(uint8_t out[CDS_HASH_BYTES], const uint8_t *data,
			size_t len)
{
	static const uint8_t prefix = 0x00;
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void cds_mlog_node_hash(uint8_t out[CDS_HASH_BYTES],
			const uint8_t left[CDS_HASH_BYTES],
			const uint8_t right[CDS_HASH_BYTES])
{
	uint8_t buf[1 + 2 * CDS_HASH_BYTES];

	buf[0] = 0x01;
	memcpy(buf + 1, left, CDS_HASH_BYTES);
	memcpy(buf + 1 + CDS_HASH_BYTES, right, CDS_HASH_BYTES);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

static bool is_pow2(uint64_t n)
{
	return n && !(n & (n - 1));
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* MTH(D[lo : lo + n]) for n >= 1, lo aligned as MTH's recursion keeps it. */
static enum cds_err subtree(const struct cds_mlog_src *src, uint64_t lo,
			    uint64_t n, uint8_t out[CDS_HASH_BYTES],
			    struct cds_error *err)
{
	uint8_t l[CDS_HASH_BYTES], r[CDS_HASH_BYTES];
	enum cds_err rc;

	if (is_pow2(n)) {
		unsigned level = (unsigned)__builtin_ctzll(n);
		return src->node(src->ctx, level, lo >> level, out, err);
	}
	uint64_t k = split(n);
	if ((rc = subtree(src, lo, k, l, err)) ||
	    (rc = subtree(src, lo + k, n - k, r, err)))
		return rc;
	cds_mlog_node_hash(out, l, r);
	return CDS_OK;
}

enum cds_err cds_mlog_root(const struct cds_mlog_src *src, uint64_t n,
			   uint8_t out[CDS_HASH_BYTES], struct cds_error *err)
{
	if (n == 0) {
		crypto_hash_sha256(out, NULL, 0);
		return CDS_OK;
	}
	return subtree(src, 0, n, out, err);
}

struct proof {
	uint8_t (*h)[CDS_HASH_BYTES];
	size_t len;
};

/* Append MTH(D[lo : lo + n]) to the proof. */
static enum cds_err push(const struct cds_mlog_src *src, uint64_t lo,
			 uint64_t n, struct proof *p, struct cds_error *err)
{
	if (p->len >= CDS_MLOG_PROOF_MAX)
		return cds_fail(err, CDS_ERR_INTERNAL, "consistency proof too long");
	return subtree(src, lo, n, p->h[p->len++], err);
}

/* SUBPROOF(m, D[lo : lo + n], complete) of RFC 9162 section 2.1.4.1. */
static enum cds_err subproof(const struct cds_mlog_src *src, uint64_t m,
			     uint64_t lo, uint64_t n, bool complete,
			     struct proof *p, struct cds_error *err)
{
	enum cds_err rc;

	if (m == n)
		return complete ? CDS_OK : push(src, lo, n, p, err);
	uint64_t k = split(n);
	if (m <= k) {
		rc = subproof(src, m, lo, k, complete, p, err);
		return rc ? rc : push(src, lo + k, n - k, p, err);
	}
	rc = subproof(src, m - k, lo + k, n - k, false, p, err);
	return rc ? rc : push(src, lo, k, p, err);
}

enum cds_err cds_mlog_consistency(const struct cds_mlog_src *src, uint64_t m,
				  uint64_t n, uint8_t proof[][CDS_HASH_BYTES],
				  size_t *len, struct cds_error *err)
{
	struct proof p = { proof, 0 };
	enum cds_err rc;

	*len = 0;
	if (m < 1 || m > n)
		return cds_fail(err, CDS_ERR_INVALID,
				"consistency needs 1 <= from <= to (from %llu, to %llu)",
				(unsigned long long)m, (unsigned long long)n);
	rc = subproof(src, m, 0, n, true, &p, err);
	if (!rc)
		*len = p.len;
	return rc;
}

/* Section 2.1.4.2, steps 2 to 7: the roots the proof leads to. */
static bool walk(uint64_t m, uint64_t n, const uint8_t first[CDS_HASH_BYTES],
		 const uint8_t proof[][CDS_HASH_BYTES], size_t len,
		 uint8_t fr[CDS_HASH_BYTES], uint8_t sr[CDS_HASH_BYTES])
{
	size_t i = 0;

	if (is_pow2(m)) {
		memcpy(fr, first, CDS_HASH_BYTES);
	} else {
		memcpy(fr, proof[0], CDS_HASH_BYTES);
		i = 1;
	}
	memcpy(sr, fr, CDS_HASH_BYTES);
	uint64_t fn = m - 1, sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			cds_mlog_node_hash(fr, proof[i], fr);
			cds_mlog_node_hash(sr, proof[i], sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			cds_mlog_node_hash(sr, sr, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0;
}

enum cds_err cds_mlog_verify_consistency(uint64_t m, uint64_t n,
					 const uint8_t first[CDS_HASH_BYTES],
					 const uint8_t second[CDS_HASH_BYTES],
					 const uint8_t proof[][CDS_HASH_BYTES],
					 size_t len, struct cds_error *err)
{
	uint8_t fr[CDS_HASH_BYTES], sr[CDS_HASH_BYTES];

	if (m < 1 || m > n)
		return cds_fail(err, CDS_ERR_INVALID,
				"consistency needs 1 <= from <= to (from %llu, to %llu)",
				(unsigned long long)m, (unsigned long long)n);
	if (m == n) {
		if (len == 0 && sodium_memcmp(first, second, CDS_HASH_BYTES) == 0)
			return CDS_OK;
		return cds_fail(err, CDS_ERR_CRYPTO,
				"log size %llu: roots differ or proof not empty",
				(unsigned long long)m);
	}
	/* Step 1; with m a power of two first_hash itself starts the walk. */
	if (len == 0 || len > CDS_MLOG_PROOF_MAX ||
	    !walk(m, n, first, proof, len, fr, sr) ||
	    sodium_memcmp(fr, first, CDS_HASH_BYTES) != 0 ||
	    sodium_memcmp(sr, second, CDS_HASH_BYTES) != 0)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"log of size %llu is not consistent with size %llu",
				(unsigned long long)n, (unsigned long long)m);
	return CDS_OK;
}

/* ---- in memory ---- */

struct cds_mlog_mem {
	uint64_t size;
	uint8_t (*level[MLOG_LEVELS])[CDS_HASH_BYTES];
	uint64_t cap[MLOG_LEVELS];
};

enum cds_err cds_mlog_mem_new(struct cds_mlog_mem **out, struct cds_error *err)
{
	*out = calloc(1, sizeof(**out));
	return *out ? CDS_OK : cds_fail(err, CDS_ERR_NOMEM, "out of memory");
}

void cds_mlog_mem_free(struct cds_mlog_mem *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < MLOG_LEVELS; i++)
		free(m->level[i]);
	free(m);
}

uint64_t cds_mlog_mem_size(const struct cds_mlog_mem *m)
{
	return m->size;
}

static enum cds_err put(struct cds_mlog_mem *m, unsigned level, uint64_t index,
			const uint8_t h[CDS_HASH_BYTES], struct cds_error *err)
{
	if (index >= m->cap[level]) {
		uint64_t cap = m->cap[level] ? 2 * m->cap[level] : 16;
		void *p = realloc(m->level[level], cap * CDS_HASH_BYTES);
		if (!p)
			return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		m->level[level] = p;
		m->cap[level] = cap;
	}
	memcpy(m->level[level][index], h, CDS_HASH_BYTES);
	return CDS_OK;
}

enum cds_err cds_mlog_mem_append(struct cds_mlog_mem *m,
				 const uint8_t leaf[CDS_HASH_BYTES],
				 struct cds_error *err)
{
	uint8_t h[CDS_HASH_BYTES];
	uint64_t index = m->size;
	enum cds_err rc;

	memcpy(h, leaf, CDS_HASH_BYTES);
	/* Each odd index completes the pair above it. */
	for (unsigned level = 0;; level++, index >>= 1) {
		if ((rc = put(m, level, index, h, err)))
			return rc;
		if (!(index & 1))
			break;
		cds_mlog_node_hash(h, m->level[level][index - 1], h);
	}
	m->size++;
	return CDS_OK;
}

static enum cds_err mem_node(void *ctx, unsigned level, uint64_t index,
			     uint8_t out[CDS_HASH_BYTES], struct cds_error *err)
{
	struct cds_mlog_mem *m = ctx;

	if (level >= MLOG_LEVELS || index >= (m->size >> level))
		return cds_fail(err, CDS_ERR_INTERNAL,
				"log node (%u, %llu) is outside the log", level,
				(unsigned long long)index);
	memcpy(out, m->level[level][index], CDS_HASH_BYTES);
	return CDS_OK;
}

struct cds_mlog_src cds_mlog_mem_src(struct cds_mlog_mem *m)
{
	return (struct cds_mlog_src){ mem_node, m };
}
