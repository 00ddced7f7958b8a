/*
 * test_merkle.c: the hashing of directory transparency (lib/crypto/mlog.c,
 * btree.c, thead.c):
 *   - the RFC 9162 log: roots against the Certificate Transparency reference
 *     tree and against a straightforward recursion; consistency proofs for
 *     every pair of sizes up to 64, each checked, and each refused when any
 *     byte of it, either root or either size is changed;
 *   - bucket trees of depth K = 0..6: the root against a recursion over all
 *     leaves, every bucket's inclusion proof, and refusals of a flipped byte
 *     anywhere in the proof, the leaf or the root;
 *   - signed heads: the byte layout, and a flipped byte anywhere refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/codec.h"
#include "crypto/btree.h"
#include "crypto/entry.h"
#include "crypto/mlog.h"
#include "crypto/thead.h"

#define MAXN 64

/* ---- reference computations, as the RFC writes them ---- */

static void ref_mth(uint8_t out[CDS_HASH_BYTES],
		    const uint8_t leaves[][CDS_HASH_BYTES], size_t n)
{
	uint8_t l[CDS_HASH_BYTES], r[CDS_HASH_BYTES];
	size_t k = 1;

	if (n == 1) {
		memcpy(out, leaves[0], CDS_HASH_BYTES);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	ref_mth(l, leaves, k);
	ref_mth(r, leaves + k, n - k);
	cds_mlog_node_hash(out, l, r);
}

static void hex(uint8_t *out, size_t n, const char *s)
{
	struct cds_error err = {0};
	assert_int_equal(cds_hex_decode_exact(out, n, s, strlen(s), "hex", &err),
			 CDS_OK);
}

/* The Certificate Transparency reference tree (RFC 6962 test data). */
static const char *const CT_LEAVES[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *const CT_ROOTS[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static struct cds_mlog_mem *ct_log(void)
{
	struct cds_mlog_mem *m;
	struct cds_error err = {0};

	assert_int_equal(cds_mlog_mem_new(&m, &err), CDS_OK);
	for (size_t i = 0; i < 8; i++) {
		uint8_t data[16], leaf[CDS_HASH_BYTES];
		size_t len = strlen(CT_LEAVES[i]) / 2;
		hex(data, len, CT_LEAVES[i]);
		cds_mlog_leaf_hash(leaf, data, len);
		assert_int_equal(cds_mlog_mem_append(m, leaf, &err), CDS_OK);
	}
	return m;
}

static void test_ct_roots(void **state)
{
	struct cds_mlog_mem *m = ct_log();
	struct cds_mlog_src src = cds_mlog_mem_src(m);
	struct cds_error err = {0};
	uint8_t root[CDS_HASH_BYTES], want[CDS_HASH_BYTES];

	(void)state;
	for (uint64_t n = 1; n <= 8; n++) {
		assert_int_equal(cds_mlog_root(&src, n, root, &err), CDS_OK);
		hex(want, sizeof(want), CT_ROOTS[n - 1]);
		assert_memory_equal(root, want, CDS_HASH_BYTES);
	}
	/* The empty log's root is the hash of nothing. */
	assert_int_equal(cds_mlog_root(&src, 0, root, &err), CDS_OK);
	hex(want, sizeof(want),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_memory_equal(root, want, CDS_HASH_BYTES);
	cds_mlog_mem_free(m);
}

/* Consistency proofs of the CT reference tree. */
static void test_ct_consistency(void **state)
{
	static const struct {
		uint64_t m, n;
		size_t len;
		const char *h[3];
	} cases[] = {
		{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
		{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
		{ 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
		{ 8, 8, 0, { NULL } },
	};
	struct cds_mlog_mem *m = ct_log();
	struct cds_mlog_src src = cds_mlog_mem_src(m);
	struct cds_error err = {0};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t proof[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES], want[CDS_HASH_BYTES];
		uint8_t first[CDS_HASH_BYTES], second[CDS_HASH_BYTES];
		size_t len;
		assert_int_equal(cds_mlog_consistency(&src, cases[c].m, cases[c].n,
						      proof, &len, &err), CDS_OK);
		assert_int_equal(len, cases[c].len);
		for (size_t i = 0; i < len; i++) {
			hex(want, sizeof(want), cases[c].h[i]);
			assert_memory_equal(proof[i], want, CDS_HASH_BYTES);
		}
		hex(first, sizeof(first), CT_ROOTS[cases[c].m - 1]);
		hex(second, sizeof(second), CT_ROOTS[cases[c].n - 1]);
		assert_int_equal(cds_mlog_verify_consistency(cases[c].m, cases[c].n,
							     first, second, proof,
							     len, &err), CDS_OK);
	}
	cds_mlog_mem_free(m);
}

static void expect_refused(uint64_t m, uint64_t n, const uint8_t *first,
			   const uint8_t *second,
			   const uint8_t proof[][CDS_HASH_BYTES], size_t len)
{
	struct cds_error err = {0};

	assert_int_not_equal(cds_mlog_verify_consistency(m, n, first, second,
							 proof, len, &err),
			     CDS_OK);
}

/* Every byte of the proof and of both roots matters. */
static void check_tampering(uint64_t m, uint64_t n, const uint8_t *first_in,
			    const uint8_t *second_in,
			    uint8_t proof[][CDS_HASH_BYTES], size_t len)
{
	uint8_t first[CDS_HASH_BYTES], second[CDS_HASH_BYTES];

	/* Copies: for m == n both roots are the same hash. */
	memcpy(first, first_in, CDS_HASH_BYTES);
	memcpy(second, second_in, CDS_HASH_BYTES);
	for (size_t i = 0; i < len * CDS_HASH_BYTES; i++) {
		proof[i / CDS_HASH_BYTES][i % CDS_HASH_BYTES] ^= 0x01;
		expect_refused(m, n, first, second, proof, len);
		proof[i / CDS_HASH_BYTES][i % CDS_HASH_BYTES] ^= 0x01;
	}
	for (size_t i = 0; i < CDS_HASH_BYTES; i++) {
		first[i] ^= 0x80;
		expect_refused(m, n, first, second, proof, len);
		first[i] ^= 0x80;
		second[i] ^= 0x80;
		expect_refused(m, n, first, second, proof, len);
		second[i] ^= 0x80;
	}
}

static void test_every_pair(void **state)
{
	uint8_t leaves[MAXN][CDS_HASH_BYTES], roots[MAXN + 1][CDS_HASH_BYTES];
	struct cds_mlog_mem *log;
	struct cds_error err = {0};

	(void)state;
	assert_int_equal(cds_mlog_mem_new(&log, &err), CDS_OK);
	for (size_t i = 0; i < MAXN; i++) {
		uint8_t record[CDS_TLOG_RECORD_BYTES];
		randombytes_buf(record, sizeof(record));
		cds_mlog_leaf_hash(leaves[i], record, sizeof(record));
		assert_int_equal(cds_mlog_mem_append(log, leaves[i], &err), CDS_OK);
	}
	struct cds_mlog_src src = cds_mlog_mem_src(log);
	for (size_t n = 1; n <= MAXN; n++) {
		ref_mth(roots[n], leaves, n);
		uint8_t root[CDS_HASH_BYTES];
		assert_int_equal(cds_mlog_root(&src, n, root, &err), CDS_OK);
		assert_memory_equal(root, roots[n], CDS_HASH_BYTES);
	}
	for (uint64_t n = 1; n <= MAXN; n++) {
		for (uint64_t m = 1; m <= n; m++) {
			uint8_t proof[CDS_MLOG_PROOF_MAX + 1][CDS_HASH_BYTES];
			size_t len;
			assert_int_equal(cds_mlog_consistency(&src, m, n, proof,
							      &len, &err), CDS_OK);
			assert_int_equal(cds_mlog_verify_consistency(
						 m, n, roots[m], roots[n], proof,
						 len, &err), CDS_OK);
			check_tampering(m, n, roots[m], roots[n], proof, len);
			/*
			 * A smaller first size, a hash short or one too many.
			 * (A larger second size can legitimately verify: the
			 * proof's last hash may stand for a bigger subtree.)
			 */
			if (m > 1)
				expect_refused(m - 1, n, roots[m], roots[n], proof, len);
			if (len)
				expect_refused(m, n, roots[m], roots[n], proof, len - 1);
			memcpy(proof[len], roots[n], CDS_HASH_BYTES);
			expect_refused(m, n, roots[m], roots[n], proof, len + 1);
		}
	}
	/* Sizes out of range are usage errors, not proofs. */
	uint8_t proof[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES];
	size_t len;
	assert_int_equal(cds_mlog_consistency(&src, 0, 4, proof, &len, &err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_mlog_consistency(&src, 5, 4, proof, &len, &err),
			 CDS_ERR_INVALID);
	assert_int_not_equal(cds_mlog_root(&src, MAXN + 1, proof[0], &err), CDS_OK);
	cds_mlog_mem_free(log);
}

/* ---- bucket trees ---- */

static void ref_tree(uint8_t out[CDS_HASH_BYTES],
		     const uint8_t leaves[][CDS_HASH_BYTES], size_t n)
{
	uint8_t l[CDS_HASH_BYTES], r[CDS_HASH_BYTES];

	if (n == 1) {
		memcpy(out, leaves[0], CDS_HASH_BYTES);
		return;
	}
	ref_tree(l, leaves, n / 2);
	ref_tree(r, leaves + n / 2, n / 2);
	cds_mlog_node_hash(out, l, r);
}

static void expect_bucket_refused(unsigned k, uint32_t p, const uint8_t *leaf,
				  const uint8_t *proof, const uint8_t *root)
{
	struct cds_error err = {0};

	assert_int_not_equal(cds_btree_verify(k, p, leaf, proof, root, &err),
			     CDS_OK);
}

static void check_bucket(const struct cds_btree *t, unsigned k, uint32_t p,
			 uint8_t *leaf, uint8_t *root)
{
	uint8_t proof[CDS_PREFIX_BITS_MAX * CDS_HASH_BYTES];
	struct cds_error err = {0};

	cds_btree_proof(t, p, proof);
	assert_int_equal(cds_btree_verify(k, p, leaf, proof, root, &err), CDS_OK);
	for (size_t i = 0; i < k * CDS_HASH_BYTES; i++) {
		proof[i] ^= 0x04;
		expect_bucket_refused(k, p, leaf, proof, root);
		proof[i] ^= 0x04;
	}
	for (size_t i = 0; i < CDS_HASH_BYTES; i++) {
		leaf[i] ^= 0x04;
		expect_bucket_refused(k, p, leaf, proof, root);
		leaf[i] ^= 0x04;
		root[i] ^= 0x04;
		expect_bucket_refused(k, p, leaf, proof, root);
		root[i] ^= 0x04;
	}
	/* The same proof does not place the bucket anywhere else. */
	if (k)
		expect_bucket_refused(k, p ^ 1, leaf, proof, root);
	expect_bucket_refused(k, (uint32_t)1 << k, leaf, proof, root);
}

static void test_bucket_trees(void **state)
{
	struct cds_error err = {0};

	(void)state;
	for (unsigned k = 0; k <= 6; k++) {
		size_t nb = (size_t)1 << k;
		uint8_t (*leaves)[CDS_HASH_BYTES] = calloc(nb, CDS_HASH_BYTES);
		uint8_t entries[3 * CDS_ENTRY_BYTES], root[CDS_HASH_BYTES];
		uint8_t want[CDS_HASH_BYTES];
		struct cds_btree *t;
		uint32_t epoch = 7 + k;

		assert_non_null(leaves);
		assert_int_equal(cds_btree_new(&t, k, epoch, &err), CDS_OK);
		for (uint32_t p = 0; p < nb; p++) {
			cds_btree_leaf(leaves[p], epoch, p, NULL, 0);
		}
		ref_tree(want, leaves, nb);
		cds_btree_root(t, root);
		assert_memory_equal(root, want, CDS_HASH_BYTES);
		/* Fill the buckets with 0..3 entries each, as a version would. */
		for (uint32_t p = 0; p < nb; p++) {
			size_t n = randombytes_uniform(4);
			randombytes_buf(entries, sizeof(entries));
			cds_btree_leaf(leaves[p], epoch, p, entries, n);
			cds_btree_set(t, p, leaves[p]);
		}
		ref_tree(want, leaves, nb);
		cds_btree_root(t, root);
		assert_memory_equal(root, want, CDS_HASH_BYTES);
		for (uint32_t p = 0; p < nb; p++)
			check_bucket(t, k, p, leaves[p], root);
		cds_btree_free(t);
		free(leaves);
	}
	struct cds_btree *t;
	assert_int_equal(cds_btree_new(&t, CDS_PREFIX_BITS_MAX + 1, 1, &err),
			 CDS_ERR_INVALID);
	assert_null(t);
}

/* A leaf commits to epoch, bucket number and every entry byte. */
static void test_leaf_binding(void **state)
{
	uint8_t entries[2 * CDS_ENTRY_BYTES], a[CDS_HASH_BYTES], b[CDS_HASH_BYTES];

	(void)state;
	randombytes_buf(entries, sizeof(entries));
	cds_btree_leaf(a, 1, 5, entries, 2);
	cds_btree_leaf(b, 2, 5, entries, 2);
	assert_memory_not_equal(a, b, CDS_HASH_BYTES);
	cds_btree_leaf(b, 1, 4, entries, 2);
	assert_memory_not_equal(a, b, CDS_HASH_BYTES);
	cds_btree_leaf(b, 1, 5, entries, 1);
	assert_memory_not_equal(a, b, CDS_HASH_BYTES);
	for (size_t i = 0; i < sizeof(entries); i++) {
		entries[i] ^= 0x20;
		cds_btree_leaf(b, 1, 5, entries, 2);
		assert_memory_not_equal(a, b, CDS_HASH_BYTES);
		entries[i] ^= 0x20;
	}
}

/* ---- heads ---- */

static void test_head(void **state)
{
	uint8_t pk[CDS_TKEY_PUBLIC_BYTES], sk[CDS_TKEY_SECRET_BYTES];
	uint8_t bytes[CDS_THEAD_SIGNED_BYTES], record[CDS_TLOG_RECORD_BYTES];
	struct cds_thead h = { .epoch = 0x01020304, .version = 0x0506070809,
			       .time_ms = 1764500000000 };
	struct cds_error err = {0};

	(void)state;
	assert_int_equal(CDS_TLOG_RECORD_BYTES, 52);
	assert_int_equal(CDS_THEAD_SIGNED_BYTES, 11 + 52 + 32);
	memset(h.root, 0xaa, sizeof(h.root));
	memset(h.log_root, 0xbb, sizeof(h.log_root));
	cds_tlog_record(record, &h);
	assert_memory_equal(record, "\x01\x02\x03\x04\0\0\0\x05\x06\x07\x08\x09", 12);
	assert_int_equal(cds_get_u64be(record + 12), h.time_ms);
	cds_thead_signed_bytes(bytes, &h);
	assert_memory_equal(bytes, "cds/v1/head", 11);
	assert_memory_equal(bytes + 11, record, sizeof(record));
	assert_memory_equal(bytes + 63, h.log_root, CDS_HASH_BYTES);

	crypto_sign_keypair(pk, sk);
	cds_thead_sign(&h, sk);
	assert_int_equal(cds_thead_verify(&h, pk, &err), CDS_OK);
	/* Any field changed, or any byte of the signature, is refused. */
	uint8_t *fields[] = { h.root, h.log_root, h.signature };
	size_t sizes[] = { sizeof(h.root), sizeof(h.log_root), sizeof(h.signature) };
	for (size_t f = 0; f < 3; f++) {
		for (size_t i = 0; i < sizes[f]; i++) {
			fields[f][i] ^= 0x10;
			assert_int_equal(cds_thead_verify(&h, pk, &err), CDS_ERR_CRYPTO);
			fields[f][i] ^= 0x10;
		}
	}
	h.epoch++;
	assert_int_equal(cds_thead_verify(&h, pk, &err), CDS_ERR_CRYPTO);
	h.epoch--;
	h.version++;
	assert_int_equal(cds_thead_verify(&h, pk, &err), CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "version"));
	h.version--;
	h.time_ms++;
	assert_int_equal(cds_thead_verify(&h, pk, &err), CDS_ERR_CRYPTO);
	h.time_ms--;
	assert_int_equal(cds_thead_verify(&h, pk, &err), CDS_OK);
	crypto_sign_keypair(pk, sk);
	assert_int_equal(cds_thead_verify(&h, pk, &err), CDS_ERR_CRYPTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ct_roots),
		cmocka_unit_test(test_ct_consistency),
		cmocka_unit_test(test_every_pair),
		cmocka_unit_test(test_bucket_trees),
		cmocka_unit_test(test_leaf_binding),
		cmocka_unit_test(test_head),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
