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
 *   - signed heads: the byte layout, and a flipped byte anywhere refused;
 *   - docs/protocol.md's worked example, byte for byte.
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

/* ---- docs/protocol.md's worked example (scripts/tvectors.py) ---- */

/*
 * The entries of tests/data/vectors/cds-v1.json in fingerprint order
 * (epoch 3; at K = 2 the first three are bucket 1, the last bucket 2), and
 * mailto:alice@example.org's entry of version 3 (identity key 77..77,
 * nonce 99..99).  The expected values are the script's, which computes
 * them from DESIGN.md's text alone.
 */
static const char *const DOC_ENTRIES[4] = {
	"55c4745aa7dcab9ec93bd939d48ca16d7dfa38cca9c62504cc242b0df2e7251593f1d62a32fc7e52bdc7e2ed829ba10a1be81b75"
	"9bb96ef3cbfcbc9b932792a59817a2dc251f0b42c16827338b759d8f0f0669043c3cd68bfaad28a4bf81f711635adf57bcf52cf0",
	"5e2c733bd3c40a3b35601605fe3fe74c956158c12e925064949db99b84fe25c7c0772d4729fe735ec6e7edc469dfd7cd07ec300c"
	"2780350b28d50e29cfa7322901cde389744d12d9c2496e05be20738335ffd4c2ea0320520772373fe07a48fa2908b049c98209ce",
	"69c66e31504295d19dcf8d63692dcd564528b7c9664abdb3e62726a4cee3b4a3582dbbd68cd58c86fc1c8b42db05ae10355263b1"
	"d55089406639caac667586995ffcacf3456ca6a6f686c5602bba5ab724b2800d01c72a90dea4c138035d435e45868842f6fdb953",
	"dd22ae5b3faeae753be810888704caae9ecc5d4ce91f7718973124aade7ac8c1d1346e56f35a76dba15238b279f1191b8203e0ec"
	"546762724bdd77c503bebdbecf345024f7742f878a0d8cfac2402eabdaf1c7c0507de459b02490c153b3e6d6454f26dbbe61b224",
};
static const char DOC_ALICE_V3[] =
	"5e2c733bd3c40a3b35601605fe3fe74c999999999999999999999999999999999999999999999999052cb866fab2d0e76d835fe1"
	"4915c8d9c358b26334fdf6d4f435588d249440c1423daf5d30947916b9aa670d118ed3d234decb4782f7f4e03da0beaf3956a958";

static const struct {
	const char *root, *log_root, *signature, *proof2;
} DOC_VERSIONS[3] = {
	{ "1ee76544b743b6146701857ff30c511584190a5d82c874e581fa225e4d3676eb",
	  "300e497a6109964d0a62082c3e8568f012396f2d18e16fbc2b23a7af32667701",
	  "72dbdba1af37fb1eb0a23607ce46d1aab29c93cbeda0d75374ef743f905657af"
	  "81705d02ca10166a86ccab354f4b9903b02e21a49989777e18f29ada1e9b5d01",
	  "bb56ad8c6f6ed6285e5414be0cc78b2b7b9ca3881b297818ad347ad7e714db35"
	  "9163a4837ca4de1976511907d22d7f963df7d724d911dce0d6a8d1bc4c34c24f" },
	{ "ee7e6a5b2a92ad054fdb1a4943377dcc5d76e9d3be9124ac712699c8625c043e",
	  "738578ac41e63594895e59e243a6eedb3f355324b7d60d2725e6a5daeee17cbd",
	  "7e8a601157db2ce48c61436fed800d1b73ae6da747f893f5d4cbab6137324309"
	  "ec33699162e4f69439a9860d3cca7d68e58ece83fecc1ab75584d56e3a363b00",
	  "bb56ad8c6f6ed6285e5414be0cc78b2b7b9ca3881b297818ad347ad7e714db35"
	  "9163a4837ca4de1976511907d22d7f963df7d724d911dce0d6a8d1bc4c34c24f" },
	{ "eb1cddcc2fb0e7d0ed50d9ce70e5467563fc7eff251ccf0e4b9cc958fc5481e2",
	  "1a72b127d7bb67a9b657325c125c66d49c9d949f61e9466a4cc8973dd8d62a78",
	  "9f032bab5a3b1da4359938857a9ca844deb8023c897efc4cbfd6d667006013ec"
	  "8d534bcf7105b37be372a2e1eddc00808ead712ef88baecc50bab289b1901c00",
	  "bb56ad8c6f6ed6285e5414be0cc78b2b7b9ca3881b297818ad347ad7e714db35"
	  "8b64159d8417ed4ca4f63e7d3d1e4e19457871953eb5deb6fce155b99b0319e6" },
};

/* Sets buckets 1 and 2 of t as the example's version v (1..3) has them. */
static void doc_buckets(struct cds_btree *t, int v,
			const uint8_t e[4][CDS_ENTRY_BYTES],
			const uint8_t alice[CDS_ENTRY_BYTES])
{
	uint8_t b1[3 * CDS_ENTRY_BYTES], leaf[CDS_HASH_BYTES];

	memcpy(b1, e, sizeof(b1));
	if (v == 3)
		memcpy(b1 + CDS_ENTRY_BYTES, alice, CDS_ENTRY_BYTES);
	cds_btree_leaf(leaf, 3, 1, b1, 3);
	cds_btree_set(t, 1, leaf);
	cds_btree_leaf(leaf, 3, 2, e[3], v == 1 ? 1 : 0);
	cds_btree_set(t, 2, leaf);
}

static void test_docs_example(void **state)
{
	uint8_t e[4][CDS_ENTRY_BYTES], alice[CDS_ENTRY_BYTES];
	uint8_t seed[32], pk[CDS_TKEY_PUBLIC_BYTES], sk[CDS_TKEY_SECRET_BYTES];
	uint8_t want[2 * CDS_HASH_BYTES], got[2 * CDS_HASH_BYTES];
	uint8_t record[CDS_TLOG_RECORD_BYTES], leaf[CDS_HASH_BYTES];
	uint8_t logs[3][CDS_HASH_BYTES], proof[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES];
	struct cds_mlog_mem *log;
	struct cds_btree *t;
	struct cds_error err = {0};
	struct cds_mlog_src src;
	size_t len = 0;

	(void)state;
	for (int i = 0; i < 4; i++)
		hex(e[i], CDS_ENTRY_BYTES, DOC_ENTRIES[i]);
	hex(alice, CDS_ENTRY_BYTES, DOC_ALICE_V3);
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	crypto_sign_seed_keypair(pk, sk, seed);
	hex(want, CDS_TKEY_PUBLIC_BYTES,
	    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
	assert_memory_equal(pk, want, CDS_TKEY_PUBLIC_BYTES);
	assert_int_equal(cds_btree_new(&t, 2, 3, &err), CDS_OK);
	assert_int_equal(cds_mlog_mem_new(&log, &err), CDS_OK);
	src = cds_mlog_mem_src(log);

	for (int v = 1; v <= 3; v++) {
		struct cds_thead h = { .epoch = 3, .version = (uint64_t)v,
				       .time_ms = 1796040000000 + 1000 * (uint64_t)(v - 1) };

		doc_buckets(t, v, (const uint8_t (*)[CDS_ENTRY_BYTES])e, alice);
		cds_btree_root(t, h.root);
		hex(want, CDS_HASH_BYTES, DOC_VERSIONS[v - 1].root);
		assert_memory_equal(h.root, want, CDS_HASH_BYTES);
		cds_btree_proof(t, 2, got);
		hex(want, 2 * CDS_HASH_BYTES, DOC_VERSIONS[v - 1].proof2);
		assert_memory_equal(got, want, 2 * CDS_HASH_BYTES);

		cds_tlog_record(record, &h);
		cds_mlog_leaf_hash(leaf, record, sizeof(record));
		assert_int_equal(cds_mlog_mem_append(log, leaf, &err), CDS_OK);
		assert_int_equal(cds_mlog_root(&src, (uint64_t)v, h.log_root, &err),
				 CDS_OK);
		hex(want, CDS_HASH_BYTES, DOC_VERSIONS[v - 1].log_root);
		assert_memory_equal(h.log_root, want, CDS_HASH_BYTES);
		memcpy(logs[v - 1], h.log_root, CDS_HASH_BYTES);

		cds_thead_sign(&h, sk);
		hex(want, CDS_THEAD_SIG_BYTES, DOC_VERSIONS[v - 1].signature);
		assert_memory_equal(h.signature, want, CDS_THEAD_SIG_BYTES);
	}

	assert_int_equal(cds_mlog_consistency(&src, 1, 3, proof, &len, &err),
			 CDS_OK);
	assert_int_equal(len, 2);
	hex(want, 2 * CDS_HASH_BYTES,
	    "1b7056ee45e0681fb0dc19a00ef5219c6fac10233d07e141b331d3c4e7455dd6"
	    "d8690eac2b71af642245e6331d3ca6db87f6a36f40dad427cd9e7816a2616bc2");
	assert_memory_equal(proof, want, 2 * CDS_HASH_BYTES);
	assert_int_equal(cds_mlog_verify_consistency(1, 3, logs[0], logs[2],
		(const uint8_t (*)[CDS_HASH_BYTES])proof, len, &err), CDS_OK);

	/* K = 0: the root is leaf(0) over all four entries. */
	cds_btree_leaf(got, 3, 0, &e[0][0], 4);
	hex(want, CDS_HASH_BYTES,
	    "77afaeba3068a06464dc566aeab359c058d2961cac23b2acb2d16ef46a7e8ca6");
	assert_memory_equal(got, want, CDS_HASH_BYTES);

	cds_mlog_mem_free(log);
	cds_btree_free(t);
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
		cmocka_unit_test(test_docs_example),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
