/*
 * test_tverify.c: the client's transparency checks (lib/client/tverify.c,
 * cache_tlog.c) against data made with the crypto layer: a small directory
 * of K = 3 with a log of versions, served by a fake fetcher that answers
 * head and consistency requests from it (or from a forged twin).
 *
 * A flipped byte anywhere in a head, a proof or a bucket is refused; a head
 * signed by another key is refused; a head whose log does not extend the
 * kept one is refused; two heads for one version are a split view whose
 * message holds both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "client/audit.h"
#include "client/cache.h"
#include "client/protocol_tlog.h"
#include "client/tverify.h"
#include "core/codec.h"
#include "crypto/btree.h"
#include "crypto/entry.h"
#include "crypto/mlog.h"

#define K 3
#define EPOCH 7
#define VERSIONS 5

/* A directory with VERSIONS versions: in version v bucket (v % 8) gets one
 * more entry.  heads[v] is the head of version v (1-based). */
struct world {
	uint8_t pk[CDS_TKEY_PUBLIC_BYTES], sk[CDS_TKEY_SECRET_BYTES];
	struct cds_mlog_mem *log;
	struct cds_thead heads[VERSIONS + 1];
	uint8_t entries[8][VERSIONS][CDS_ENTRY_BYTES];
	size_t n[8];
	uint8_t proof[VERSIONS + 1][8][K * CDS_HASH_BYTES];
	int flip_head;        /* flip this byte of served heads' JSON fields, -1 none */
	int flip_consistency; /* flip this byte of served consistency proofs */
	const struct cds_thead *forged; /* served instead of heads[forged->version] */
	int requests;
};

static struct world W;

static void build_world(struct world *w, uint64_t time_base)
{
	struct cds_btree *t;
	struct cds_error err;

	memset(w, 0, sizeof(*w));
	crypto_sign_keypair(w->pk, w->sk);
	assert_int_equal(cds_btree_new(&t, K, EPOCH, &err), CDS_OK);
	assert_int_equal(cds_mlog_mem_new(&w->log, &err), CDS_OK);
	for (uint64_t v = 1; v <= VERSIONS; v++) {
		uint32_t p = (uint32_t)(v % 8);
		uint8_t leaf[CDS_HASH_BYTES], rec[CDS_TLOG_RECORD_BYTES];
		struct cds_thead *h = &w->heads[v];
		struct cds_mlog_src src;

		/* fingerprints ascending: first byte = position */
		memset(w->entries[p][w->n[p]], (int)(w->n[p] + 1), CDS_ENTRY_BYTES);
		randombytes_buf(w->entries[p][w->n[p]] + CDS_FP_BYTES, 8);
		w->n[p]++;
		cds_btree_leaf(leaf, EPOCH, p, w->entries[p][0], w->n[p]);
		cds_btree_set(t, p, leaf);
		h->epoch = EPOCH;
		h->version = v;
		h->time_ms = time_base + v;
		cds_btree_root(t, h->root);
		cds_tlog_record(rec, h);
		cds_mlog_leaf_hash(leaf, rec, sizeof(rec));
		assert_int_equal(cds_mlog_mem_append(w->log, leaf, &err), CDS_OK);
		src = cds_mlog_mem_src(w->log);
		assert_int_equal(cds_mlog_root(&src, v, h->log_root, &err), CDS_OK);
		cds_thead_sign(h, w->sk);
		for (uint32_t q = 0; q < 8; q++)
			cds_btree_proof(t, q, w->proof[v][q]);
	}
	cds_btree_free(t);
	w->flip_head = w->flip_consistency = -1;
}

static void b64_field(struct cds_buf *b, const char *name, const uint8_t *x,
		      size_t n)
{
	char s[CDS_B64_LEN(CDS_THEAD_SIG_BYTES)];

	cds_b64_encode(s, x, n);
	assert_int_equal(cds_buf_appendf(b, ",\"%s\":\"%s\"", name, s), CDS_OK);
}

/* The head JSON, with byte flip_head of time||root||log_root||signature
 * flipped (index into those 8 + 32 + 32 + 64 bytes). */
static void head_json(struct cds_buf *b, const struct cds_thead *h0, int flip)
{
	struct cds_thead h = *h0;
	uint8_t *parts[] = {h.root, h.log_root, h.signature};
	size_t lens[] = {CDS_HASH_BYTES, CDS_HASH_BYTES, CDS_THEAD_SIG_BYTES};

	if (flip >= 0 && flip < 8)
		h.time_ms ^= (uint64_t)1 << (8 * flip);
	for (int i = 0, at = 8; i < 3; at += (int)lens[i], i++)
		if (flip >= at && flip < at + (int)lens[i])
			parts[i][flip - at] ^= 0x01;
	assert_int_equal(cds_buf_appendf(b, "{\"epoch\":%u,\"version\":%llu,"
					 "\"time_ms\":%llu", h.epoch,
					 (unsigned long long)h.version,
					 (unsigned long long)h.time_ms), CDS_OK);
	b64_field(b, "root", h.root, CDS_HASH_BYTES);
	b64_field(b, "log_root", h.log_root, CDS_HASH_BYTES);
	b64_field(b, "signature", h.signature, CDS_THEAD_SIG_BYTES);
	assert_int_equal(cds_buf_append(b, "}", 1), CDS_OK);
}

static void consistency_json(struct cds_buf *b, uint64_t m, uint64_t n,
			     int flip)
{
	uint8_t proof[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES];
	struct cds_mlog_src src = cds_mlog_mem_src(W.log);
	size_t len = 0;
	struct cds_error err;

	assert_int_equal(cds_mlog_consistency(&src, m, n, proof, &len, &err),
			 CDS_OK);
	if (flip >= 0 && (size_t)flip < len * CDS_HASH_BYTES)
		proof[flip / CDS_HASH_BYTES][flip % CDS_HASH_BYTES] ^= 0x80;
	assert_int_equal(cds_buf_appendf(b, "{\"from\":%llu,\"to\":%llu,\"proof\":[",
					 (unsigned long long)m,
					 (unsigned long long)n), CDS_OK);
	for (size_t i = 0; i < len; i++) {
		char s[CDS_B64_LEN(CDS_HASH_BYTES)];

		cds_b64_encode(s, proof[i], CDS_HASH_BYTES);
		assert_int_equal(cds_buf_appendf(b, "%s\"%s\"", i ? "," : "", s),
				 CDS_OK);
	}
	assert_int_equal(cds_buf_append(b, "]}", 2), CDS_OK);
}

static enum cds_err fake_get(void *ctx, const char *path, const char *what,
			     struct cds_buf *body, struct cds_error *err)
{
	unsigned long long v, m, n;

	(void)ctx;
	W.requests++;
	cds_buf_reset(body);
	if (sscanf(path, "/v1/transparency/head?version=%llu", &v) == 1 &&
	    v >= 1 && v <= VERSIONS) {
		const struct cds_thead *h = W.forged && W.forged->version == v
						    ? W.forged : &W.heads[v];

		head_json(body, h, W.flip_head);
		return CDS_OK;
	}
	if (sscanf(path, "/v1/transparency/consistency?from=%llu&to=%llu", &m,
		   &n) == 2 && m >= 1 && m <= n && n <= VERSIONS) {
		consistency_json(body, m, n, W.flip_consistency);
		return CDS_OK;
	}
	return cds_fail(err, CDS_ERR_NOT_FOUND, "%s failed: HTTP 404", what);
}

/* Heads compared by their wire form (the struct has padding). */
static void assert_same_head(const struct cds_thead *a, const struct cds_thead *b)
{
	uint8_t x[CDS_THEAD_WIRE_BYTES], y[CDS_THEAD_WIRE_BYTES];

	cds_thead_wire(x, a);
	cds_thead_wire(y, b);
	assert_memory_equal(x, y, sizeof(x));
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	build_world(&W, 1000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cds_mlog_mem_free(W.log);
	return 0;
}

/* Check bucket p as served in version v (its content then) with kept. */
static enum cds_err check(uint32_t p, uint64_t v, const uint8_t *entries,
			  size_t n, const uint8_t *proof,
			  const struct cds_thead *kept, struct cds_error *err)
{
	struct cds_tfetch f = {fake_get, NULL, 0};
	struct cds_tverify tv;
	enum cds_err rc;

	cds_error_clear(err);
	cds_tverify_init(&tv, &f, W.pk, kept);
	rc = cds_tverify_bucket(&tv, EPOCH, K, p, entries, n, v, proof, err);
	cds_tverify_fini(&tv);
	return rc;
}

/* Bucket p's content as of version v. */
static size_t count_at(uint32_t p, uint64_t v)
{
	size_t n = 0;

	for (uint64_t u = 1; u <= v; u++)
		n += u % 8 == p;
	return n;
}

static void test_bucket_ok(void **state)
{
	struct cds_error err;

	(void)state;
	for (uint64_t v = 1; v <= VERSIONS; v++)
		for (uint32_t p = 0; p < 8; p++)
			assert_int_equal(check(p, v, W.entries[p][0],
					       count_at(p, v), W.proof[v][p],
					       NULL, &err), CDS_OK);
	/* With a kept head older and newer: consistency proofs both ways. */
	assert_int_equal(check(3, 5, W.entries[3][0], 1, W.proof[5][3],
			       &W.heads[2], &err), CDS_OK);
	assert_int_equal(check(3, 3, W.entries[3][0], 1, W.proof[3][3],
			       &W.heads[5], &err), CDS_OK);
	assert_int_equal(check(3, 3, W.entries[3][0], 1, W.proof[3][3],
			       &W.heads[3], &err), CDS_OK);
}

static void test_flipped_bucket_or_proof(void **state)
{
	uint8_t e[CDS_ENTRY_BYTES], proof[K * CDS_HASH_BYTES];
	struct cds_error err;

	(void)state;
	for (size_t i = 0; i < CDS_ENTRY_BYTES; i++) {
		memcpy(e, W.entries[4][0], sizeof(e));
		e[i] ^= 0x01;
		assert_int_equal(check(4, 4, e, 1, W.proof[4][4], NULL, &err),
				 CDS_ERR_CRYPTO);
		assert_non_null(strstr(err.msg, "bucket 4"));
		assert_non_null(strstr(err.msg, "version 4"));
	}
	for (size_t i = 0; i < sizeof(proof); i++) {
		memcpy(proof, W.proof[4][4], sizeof(proof));
		proof[i] ^= 0x01;
		assert_int_equal(check(4, 4, W.entries[4][0], 1, proof, NULL,
				       &err), CDS_ERR_CRYPTO);
	}
	/* Dropping the entry, or naming another bucket, another version. */
	assert_int_equal(check(4, 4, W.entries[4][0], 0, W.proof[4][4], NULL,
			       &err), CDS_ERR_CRYPTO);
	assert_int_equal(check(5, 4, W.entries[4][0], 1, W.proof[4][4], NULL,
			       &err), CDS_ERR_CRYPTO);
	assert_int_equal(check(4, 5, W.entries[4][0], 1, W.proof[4][4], NULL,
			       &err), CDS_ERR_CRYPTO);
}

static void test_flipped_head(void **state)
{
	struct cds_error err;

	(void)state;
	for (int i = 0; i < (int)(8 + 2 * CDS_HASH_BYTES + CDS_THEAD_SIG_BYTES); i++) {
		W.flip_head = i;
		assert_int_equal(check(2, 2, W.entries[2][0], 1, W.proof[2][2],
				       NULL, &err), CDS_ERR_CRYPTO);
		assert_non_null(strstr(err.msg, "version 2"));
	}
	W.flip_head = -1;
}

static void test_other_key(void **state)
{
	struct cds_tfetch f = {fake_get, NULL, 0};
	struct cds_tverify tv;
	uint8_t pk[CDS_TKEY_PUBLIC_BYTES], sk[CDS_TKEY_SECRET_BYTES];
	const struct cds_thead *h;
	struct cds_error err;

	(void)state;
	crypto_sign_keypair(pk, sk);
	cds_tverify_init(&tv, &f, pk, NULL);
	assert_int_equal(cds_tverify_head(&tv, 1, &h, &err), CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "signature"));
	cds_tverify_fini(&tv);
}

/* A kept head from another history (same key): its log is not a prefix. */
static void test_inconsistent(void **state)
{
	struct world saved = W, other;
	struct cds_error err;

	(void)state;
	build_world(&other, 5000);
	/* other's heads signed with W's key, so only the log can tell. */
	for (int v = 1; v <= VERSIONS; v++)
		cds_thead_sign(&other.heads[v], saved.sk);
	assert_int_equal(check(3, 5, W.entries[3][0], 1, W.proof[5][3],
			       &other.heads[2], &err), CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "does not extend"));
	/* A flipped byte of a good consistency proof is refused too. */
	for (int i = 0; i < (int)(2 * CDS_HASH_BYTES); i++) { /* PROOF(2, D[5]) */
		W.flip_consistency = i;
		if (check(3, 5, W.entries[3][0], 1, W.proof[5][3], &W.heads[2],
			  &err) == CDS_OK)
			fail_msg("flipped byte %d of a consistency proof accepted", i);
	}
	W.flip_consistency = -1;
	cds_mlog_mem_free(other.log);
}

/* The kept head of version 3 and another, validly signed, for version 3. */
static void test_split_view(void **state)
{
	struct cds_thead forged = W.heads[3];
	uint8_t w[CDS_THEAD_WIRE_BYTES];
	char a[CDS_B64_LEN(CDS_THEAD_WIRE_BYTES)], b[sizeof(a)];
	struct cds_error err;

	(void)state;
	forged.time_ms += 1;
	cds_thead_sign(&forged, W.sk);
	W.forged = &forged;
	assert_int_equal(check(3, 3, W.entries[3][0], 1, W.proof[3][3],
			       &W.heads[3], &err), CDS_ERR_CRYPTO);
	W.forged = NULL;
	assert_non_null(strstr(err.msg, "split view"));
	cds_thead_wire(w, &W.heads[3]);
	cds_b64_encode(a, w, sizeof(w));
	cds_thead_wire(w, &forged);
	cds_b64_encode(b, w, sizeof(w));
	assert_non_null(strstr(err.msg, a));
	assert_non_null(strstr(err.msg, b));
}

/* Heads are fetched once per version per operation; kept moves forward. */
static void test_heads_once(void **state)
{
	struct cds_tfetch f = {fake_get, NULL, 0};
	struct cds_tverify tv;
	struct cds_error err;

	(void)state;
	W.requests = 0;
	cds_tverify_init(&tv, &f, W.pk, &W.heads[1]);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cds_tverify_bucket(&tv, EPOCH, K, 4,
						    W.entries[4][0], 1, 4,
						    W.proof[4][4], &err), CDS_OK);
	assert_int_equal(W.requests, 2); /* head 4, consistency 1 -> 4 */
	assert_true(tv.kept_moved);
	assert_int_equal(tv.kept.version, 4);
	assert_true(f.bytes > 0);
	cds_tverify_fini(&tv);
	/* Wire form round trip. */
	{
		uint8_t w[CDS_THEAD_WIRE_BYTES];
		struct cds_thead h;

		cds_thead_wire(w, &W.heads[4]);
		assert_int_equal(cds_thead_unwire(&h, w, &err), CDS_OK);
		assert_same_head(&h, &W.heads[4]);
		w[0] ^= 1;
		assert_int_equal(cds_thead_unwire(&h, w, &err), CDS_ERR_INVALID);
	}
}

/* A name for a file that does not exist yet (template XXXXXX filled). */
static void fresh_path(char *path)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	unlink(path);
}

/* The cache pins the key once and keeps a head; another key is refused. */
static void test_cache_pin(void **state)
{
	char path[] = "/tmp/cds-tverify-XXXXXX";
	struct cds_cache *c = NULL;
	uint8_t other[CDS_TKEY_PUBLIC_BYTES];
	struct cds_thead h;
	struct cds_error err;
	bool found, reset;
	uint8_t opk[32];

	(void)state;
	fresh_path(path);
	assert_int_equal(cds_cache_open(&c, path, &err), CDS_OK);
	crypto_core_ristretto255_random(opk);
	assert_int_equal(cds_cache_reconcile(c, "http://a", 1, opk, 8, &reset,
					     &err), CDS_OK);
	assert_int_equal(cds_cache_thead_get(c, &h, &found, &err), CDS_OK);
	assert_false(found);
	assert_int_equal(cds_cache_tkey_pin(c, W.pk, &err), CDS_OK);
	assert_int_equal(cds_cache_tkey_pin(c, W.pk, &err), CDS_OK);
	memcpy(other, W.pk, sizeof(other));
	other[31] ^= 1;
	assert_int_equal(cds_cache_tkey_pin(c, other, &err), CDS_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "transparency key"));
	assert_int_equal(cds_cache_thead_put(c, &W.heads[5], &err), CDS_OK);
	assert_int_equal(cds_cache_thead_get(c, &h, &found, &err), CDS_OK);
	assert_true(found);
	assert_same_head(&h, &W.heads[5]);
	/* The same server in a new epoch keeps them; another URL drops them. */
	assert_int_equal(cds_cache_reconcile(c, "http://a", 2, opk, 8, &reset,
					     &err), CDS_OK);
	assert_int_equal(cds_cache_tkey_pin(c, other, &err), CDS_ERR_CRYPTO);
	assert_int_equal(cds_cache_reconcile(c, "http://b", 1, opk, 8, &reset,
					     &err), CDS_OK);
	assert_int_equal(cds_cache_thead_get(c, &h, &found, &err), CDS_OK);
	assert_false(found);
	assert_int_equal(cds_cache_tkey_pin(c, other, &err), CDS_OK);
	cds_cache_close(c);
	unlink(path);
}

/* A schema 1 cache (before transparency) is migrated in place, keeping
 * what it held; the monitor's state works after it. */
static void test_cache_migration(void **state)
{
	char path[] = "/tmp/cds-tverify-XXXXXX", wal[64];
	struct cds_cache *c = NULL;
	struct cds_error err;
	sqlite3 *db;
	uint64_t v;
	bool reset;
	uint8_t opk[32];

	(void)state;
	fresh_path(path);
	crypto_core_ristretto255_random(opk);
	assert_int_equal(cds_cache_open(&c, path, &err), CDS_OK);
	assert_int_equal(cds_cache_reconcile(c, "http://a", 3, opk, 8, &reset,
					     &err), CDS_OK);
	cds_cache_close(c);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE monitor_handles;"
				      " DROP TABLE monitor_epochs;"
				      " DROP TABLE monitor_keys;"
				      " DROP TABLE monitor_buckets;"
				      " PRAGMA user_version = 1;", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(cds_cache_open(&c, path, &err), CDS_OK);
	assert_int_equal(cds_cache_mon_version_put(c, 3, 41, &err), CDS_OK);
	assert_int_equal(cds_cache_mon_version_get(c, 3, &v, &err), CDS_OK);
	assert_int_equal(v, 41);
	/* what schema 1 held is still there: the same server is no reset */
	assert_int_equal(cds_cache_reconcile(c, "http://a", 3, opk, 8, &reset,
					     &err), CDS_OK);
	assert_false(reset);
	cds_cache_close(c);
	unlink(path);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
}

/* The auditor's right edge of the log gives RFC 9162's root at every size
 * (against the in-memory log of the crypto layer). */
static void test_frontier(void **state)
{
	struct cds_afrontier f;
	struct cds_mlog_mem *m = NULL;
	struct cds_error err;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(cds_mlog_mem_new(&m, &err), CDS_OK);
	for (int n = 1; n <= 70; n++) {
		uint8_t leaf[CDS_HASH_BYTES], a[CDS_HASH_BYTES], b[CDS_HASH_BYTES];
		struct cds_mlog_src src;

		randombytes_buf(leaf, sizeof(leaf));
		assert_int_equal(cds_mlog_mem_append(m, leaf, &err), CDS_OK);
		cds_afrontier_append(&f, leaf);
		src = cds_mlog_mem_src(m);
		assert_int_equal(cds_mlog_root(&src, (uint64_t)n, a, &err), CDS_OK);
		assert_int_equal(cds_afrontier_root(&f, b, &err), CDS_OK);
		assert_memory_equal(a, b, sizeof(a));
	}
	cds_mlog_mem_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_ok),
		cmocka_unit_test(test_flipped_bucket_or_proof),
		cmocka_unit_test(test_flipped_head),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_inconsistent),
		cmocka_unit_test(test_split_view),
		cmocka_unit_test(test_heads_once),
		cmocka_unit_test(test_cache_pin),
		cmocka_unit_test(test_cache_migration),
		cmocka_unit_test(test_frontier),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
