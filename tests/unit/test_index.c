/*
 * test_index.c: one epoch's discovery index (lib/index: index.c, build.c)
 * and the mirror's two maps (accounts.c, dirmap.c).
 *
 * The fixture is a real store in a temporary directory holding N_ACCOUNTS
 * accounts of two handles each; every check of a handle is the client's:
 * evaluate the OPRF, find the fingerprint in the handle's bucket, open the
 * entry and compare account and identity key.
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

#include "core/handle.h"
#include "crypto/entry.h"
#include "crypto/keys.h"
#include "index/accounts.h"
#include "index/build.h"
#include "index/dirmap.h"
#include "index/index.h"
#include "store/store.h"
#include "storetest.h"

#define N_ACCOUNTS 1000
#define N_HANDLES (2 * N_ACCOUNTS)

struct fixture {
	char dir[64];
	struct cds_store *store;
	struct cds_epoch_key *keys;
	size_t n_keys;
	char handles[N_HANDLES][24];
	uint8_t ids[N_ACCOUNTS][CDS_ACCOUNT_ID_BYTES];
	uint8_t iks[N_ACCOUNTS][CDS_IDENTITY_KEY_BYTES];
};

static struct fixture *fx;

static void handle_name(char *out, size_t cap, unsigned i)
{
	snprintf(out, cap, "tel:+1555%07u", i);
}

static int fixture_setup(void **state)
{
	struct cds_new_account *na = calloc(N_ACCOUNTS, sizeof(*na));
	const char **hp = calloc(N_HANDLES, sizeof(*hp));
	struct cds_error err;

	(void)state;
	fx = calloc(1, sizeof(*fx));
	if (!fx || !na || !hp)
		return -1;
	strcpy(fx->dir, "/tmp/cds-test-index-XXXXXX");
	if (!mkdtemp(fx->dir) || storetest_create(fx->dir, 8, &err) ||
	    cds_keys_init(fx->dir, &err) ||
	    cds_store_open(&fx->store, fx->dir, &err))
		return -1;
	for (unsigned i = 0; i < N_HANDLES; i++) {
		handle_name(fx->handles[i], sizeof(fx->handles[i]), i);
		hp[i] = fx->handles[i];
	}
	for (unsigned a = 0; a < N_ACCOUNTS; a++) {
		randombytes_buf(na[a].identity_key, CDS_IDENTITY_KEY_BYTES);
		na[a].handles = &hp[2 * a];
		na[a].n_handles = 2;
	}
	if (cds_store_accounts_create(fx->store, na, N_ACCOUNTS, &err) ||
	    cds_keys_load(fx->dir, &fx->keys, &fx->n_keys, &err)) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		return -1;
	}
	for (unsigned a = 0; a < N_ACCOUNTS; a++) {
		memcpy(fx->ids[a], na[a].id, CDS_ACCOUNT_ID_BYTES);
		memcpy(fx->iks[a], na[a].identity_key, CDS_IDENTITY_KEY_BYTES);
	}
	free(na);
	free(hp);
	return 0;
}

static int fixture_teardown(void **state)
{
	char cmd[128];

	(void)state;
	cds_store_close(fx->store);
	cds_keys_free(fx->keys, fx->n_keys);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static struct cds_index *build(unsigned bits)
{
	struct cds_index_build_opts o = { .threads = 2, .quiet = true };
	struct cds_index *ix = NULL;
	struct cds_error err;
	uint64_t evals = 0;

	cds_error_clear(&err);
	assert_int_equal(cds_index_build(&ix, fx->store, &fx->keys[0], bits, &o,
					 &evals, &err), CDS_OK);
	assert_int_equal(evals, N_HANDLES);
	assert_int_equal(cds_index_count(ix), N_HANDLES);
	return ix;
}

/*
 * What a client learns about handle h: 1 and acct/ik if registered, 0 if
 * absent, -1 if its fingerprint is there but the entry does not open.
 */
static int client_check(struct cds_index *ix, const char *h,
			uint8_t acct[CDS_ACCOUNT_ID_BYTES],
			uint8_t ik[CDS_IDENTITY_KEY_BYTES])
{
	uint8_t out[CDS_OPRF_OUTPUT_BYTES];
	const struct cds_epoch_key *k = &fx->keys[0];
	struct cds_buf b;
	struct cds_error err;
	const uint8_t *e;
	uint64_t v;
	uint32_t bucket;
	int r = 0;

	cds_buf_init(&b);
	assert_int_equal(cds_oprf_evaluate(out, CDS_OPRF_MODE_VOPRF, k->sk,
					   (const uint8_t *)h, strlen(h), NULL,
					   0, &err), CDS_OK);
	bucket = cds_bucket_of((const uint8_t *)h, strlen(h),
			       cds_index_prefix_bits(ix));
	assert_int_equal(cds_index_bucket(ix, bucket, &b, &v, &err), CDS_OK);
	assert_int_equal(b.len % CDS_ENTRY_BYTES, 0);
	e = cds_entry_find(b.data, b.len / CDS_ENTRY_BYTES, out);
	if (e)
		r = cds_entry_open(acct, ik, e, out, k->epoch, &err) == CDS_OK ?
			    1 : -1;
	cds_buf_fini(&b);
	return r;
}

static void assert_registered(struct cds_index *ix, unsigned i)
{
	uint8_t acct[CDS_ACCOUNT_ID_BYTES], ik[CDS_IDENTITY_KEY_BYTES];

	assert_int_equal(client_check(ix, fx->handles[i], acct, ik), 1);
	assert_memory_equal(acct, fx->ids[i / 2], CDS_ACCOUNT_ID_BYTES);
	assert_memory_equal(ik, fx->iks[i / 2], CDS_IDENTITY_KEY_BYTES);
}

static void assert_absent(struct cds_index *ix, const char *h)
{
	uint8_t acct[CDS_ACCOUNT_ID_BYTES], ik[CDS_IDENTITY_KEY_BYTES];

	assert_int_equal(client_check(ix, h, acct, ik), 0);
}

/* Every bucket strictly sorted by fp; sizes add up to the count. */
static void assert_sorted(struct cds_index *ix)
{
	uint32_t nb = cds_index_nbuckets(cds_index_prefix_bits(ix));
	uint64_t total = 0;
	struct cds_buf b;
	struct cds_error err;
	uint64_t v;

	cds_buf_init(&b);
	for (uint32_t i = 0; i < nb; i++) {
		size_t n;

		cds_buf_reset(&b);
		assert_int_equal(cds_index_bucket(ix, i, &b, &v, &err), CDS_OK);
		n = b.len / CDS_ENTRY_BYTES;
		for (size_t j = 1; j < n; j++)
			assert_true(memcmp(b.data + (j - 1) * CDS_ENTRY_BYTES,
					   b.data + j * CDS_ENTRY_BYTES,
					   CDS_FP_BYTES) < 0);
		total += n;
	}
	assert_int_equal(total, cds_index_count(ix));
	assert_int_equal(cds_index_bucket(ix, nb, &b, &v, &err),
			 CDS_ERR_INVALID);
	cds_buf_fini(&b);
}

static void test_build_finds_every_handle(void **state)
{
	struct cds_index *ix = build(8);
	char h[32];

	(void)state;
	for (unsigned i = 0; i < N_HANDLES; i++)
		assert_registered(ix, i);
	for (unsigned i = N_HANDLES; i < N_HANDLES + 500; i++) {
		handle_name(h, sizeof(h), i);
		assert_absent(ix, h);
	}
	assert_absent(ix, "mailto:nobody@example.org");
	assert_sorted(ix);
	assert_true(cds_index_memory(ix) >=
		    cds_index_region_bytes(8, N_HANDLES));
	cds_index_free(ix);
}

static void test_prefix_bits_edges(void **state)
{
	struct cds_index *ix;
	struct cds_buf b;
	struct cds_error err;
	uint64_t v;

	(void)state;
	/* 0 bits: one bucket holding everything, sorted. */
	ix = build(0);
	cds_buf_init(&b);
	assert_int_equal(cds_index_bucket(ix, 0, &b, &v, &err), CDS_OK);
	assert_int_equal(b.len, (size_t)N_HANDLES * CDS_ENTRY_BYTES);
	assert_int_equal(cds_index_bucket(ix, 1, &b, &v, &err),
			 CDS_ERR_INVALID);
	assert_sorted(ix);
	for (unsigned i = 0; i < N_HANDLES; i += 7)
		assert_registered(ix, i);
	cds_index_free(ix);
	/* 24 bits: 16 M buckets, nearly all empty. */
	ix = build(24);
	for (unsigned i = 0; i < N_HANDLES; i += 7)
		assert_registered(ix, i);
	cds_buf_reset(&b);
	assert_int_equal(cds_index_bucket(ix, (1u << 24) - 1, &b, &v, &err),
			 CDS_OK);
	assert_int_equal(cds_index_bucket(ix, 1u << 24, &b, &v, &err),
			 CDS_ERR_INVALID);
	assert_true(cds_index_memory(ix) >= ((size_t)1 << 24) * 4);
	cds_buf_fini(&b);
	cds_index_free(ix);
}

static void bucket_of(struct cds_index *ix, const char *h, struct cds_buf *b,
		      uint64_t *version)
{
	struct cds_error err;
	uint32_t bucket = cds_bucket_of((const uint8_t *)h, strlen(h),
					cds_index_prefix_bits(ix));

	cds_buf_reset(b);
	assert_int_equal(cds_index_bucket(ix, bucket, b, version, &err), CDS_OK);
}

static void eval(const char *h, uint8_t out[CDS_OPRF_OUTPUT_BYTES])
{
	struct cds_error err;

	assert_int_equal(cds_oprf_evaluate(out, CDS_OPRF_MODE_VOPRF,
					   fx->keys[0].sk, (const uint8_t *)h,
					   strlen(h), NULL, 0, &err), CDS_OK);
}

/* Versions change iff the bytes change; other buckets are untouched. */
static void test_put_remove_versions(void **state)
{
	struct cds_index *ix = build(4);
	uint8_t out[CDS_OPRF_OUTPUT_BYTES], ik2[CDS_IDENTITY_KEY_BYTES];
	uint8_t acct[CDS_ACCOUNT_ID_BYTES], ik[CDS_IDENTITY_KEY_BYTES];
	const char *nh = "mailto:new@example.org";
	uint32_t nb = cds_bucket_of((const uint8_t *)nh, strlen(nh), 4);
	struct cds_buf b0, b1, other0, other1;
	uint64_t v0, v1, ov0, ov1;
	struct cds_error err;
	const char *oh = NULL;
	bool changed;

	(void)state;
	cds_buf_init(&b0);
	cds_buf_init(&b1);
	cds_buf_init(&other0);
	cds_buf_init(&other1);
	for (unsigned i = 0; i < N_HANDLES && !oh; i++)
		if (cds_bucket_of((const uint8_t *)fx->handles[i],
				  strlen(fx->handles[i]), 4) != nb)
			oh = fx->handles[i];
	bucket_of(ix, nh, &b0, &v0);
	bucket_of(ix, oh, &other0, &ov0);
	/* Add. */
	eval(nh, out);
	assert_int_equal(cds_index_put(ix, nb, out, fx->ids[0], fx->iks[0],
				       &changed, &err), CDS_OK);
	assert_true(changed);
	assert_int_equal(cds_index_count(ix), N_HANDLES + 1);
	assert_int_equal(client_check(ix, nh, acct, ik), 1);
	assert_memory_equal(acct, fx->ids[0], CDS_ACCOUNT_ID_BYTES);
	bucket_of(ix, nh, &b1, &v1);
	assert_int_equal(b1.len, b0.len + CDS_ENTRY_BYTES);
	assert_true(v1 != v0);
	bucket_of(ix, oh, &other1, &ov1);
	assert_int_equal(ov1, ov0);
	assert_memory_equal(other1.data, other0.data, other0.len);
	/* The same again: nothing changes, not even the nonce. */
	cds_buf_reset(&b0);
	assert_int_equal(cds_buf_append(&b0, b1.data, b1.len), CDS_OK);
	v0 = v1;
	assert_int_equal(cds_index_put(ix, nb, out, fx->ids[0], fx->iks[0],
				       &changed, &err), CDS_OK);
	assert_false(changed);
	bucket_of(ix, nh, &b1, &v1);
	assert_int_equal(v1, v0);
	assert_memory_equal(b1.data, b0.data, b0.len);
	/* Re-keyed: new identity key, new nonce, new version. */
	randombytes_buf(ik2, sizeof(ik2));
	assert_int_equal(cds_index_put(ix, nb, out, fx->ids[0], ik2, &changed,
				       &err), CDS_OK);
	assert_true(changed);
	bucket_of(ix, nh, &b1, &v1);
	assert_true(v1 != v0);
	assert_int_equal(b1.len, b0.len);
	{
		const uint8_t *e0 = cds_entry_find(b0.data, b0.len / 104, out);
		const uint8_t *e1 = cds_entry_find(b1.data, b1.len / 104, out);

		assert_non_null(e0);
		assert_non_null(e1);
		assert_memory_not_equal(e0 + CDS_FP_BYTES, e1 + CDS_FP_BYTES,
					CDS_ENTRY_NONCE_BYTES);
	}
	assert_int_equal(client_check(ix, nh, acct, ik), 1);
	assert_memory_equal(ik, ik2, sizeof(ik2));
	/* Remove, twice. */
	v0 = v1;
	assert_int_equal(cds_index_remove(ix, nb, out, &changed, &err), CDS_OK);
	assert_true(changed);
	assert_int_equal(client_check(ix, nh, acct, ik), 0);
	bucket_of(ix, nh, &b1, &v1);
	assert_true(v1 != v0);
	v0 = v1;
	assert_int_equal(cds_index_remove(ix, nb, out, &changed, &err), CDS_OK);
	assert_false(changed);
	bucket_of(ix, nh, &b1, &v1);
	assert_int_equal(v1, v0);
	assert_int_equal(cds_index_count(ix), N_HANDLES);
	/* Out of range buckets are refused. */
	assert_int_equal(cds_index_put(ix, 16, out, fx->ids[0], ik2, &changed,
				       &err), CDS_ERR_INVALID);
	assert_int_equal(cds_index_remove(ix, 16, out, &changed, &err),
			 CDS_ERR_INVALID);
	assert_sorted(ix);
	cds_buf_fini(&b0);
	cds_buf_fini(&b1);
	cds_buf_fini(&other0);
	cds_buf_fini(&other1);
	cds_index_free(ix);
}

/* Remove every handle of the first 300 through remove(), then compact. */
static void test_remove_many_and_compact(void **state)
{
	struct cds_index *ix = build(6);
	uint8_t out[CDS_OPRF_OUTPUT_BYTES];
	struct cds_error err;
	bool removed;

	(void)state;
	for (unsigned i = 0; i < 300; i++) {
		const char *h = fx->handles[i];

		eval(h, out);
		assert_int_equal(cds_index_remove(ix, cds_bucket_of(
				(const uint8_t *)h, strlen(h), 6), out,
				&removed, &err), CDS_OK);
		assert_true(removed);
	}
	assert_int_equal(cds_index_count(ix), N_HANDLES - 300);
	assert_int_equal(cds_index_compact(ix, &err), CDS_OK);
	assert_int_equal(cds_index_count(ix), N_HANDLES - 300);
	assert_sorted(ix);
	for (unsigned i = 0; i < N_HANDLES; i += 3) {
		if (i < 300)
			assert_absent(ix, fx->handles[i]);
		else
			assert_registered(ix, i);
	}
	cds_index_free(ix);
}

static void assert_same(struct cds_index *a, struct cds_index *b,
			bool versions)
{
	uint32_t nb = cds_index_nbuckets(cds_index_prefix_bits(a));
	struct cds_buf x, y;
	struct cds_error err;
	uint64_t vx, vy;

	cds_buf_init(&x);
	cds_buf_init(&y);
	assert_int_equal(cds_index_count(a), cds_index_count(b));
	for (uint32_t i = 0; i < nb; i++) {
		cds_buf_reset(&x);
		cds_buf_reset(&y);
		assert_int_equal(cds_index_bucket(a, i, &x, &vx, &err), CDS_OK);
		assert_int_equal(cds_index_bucket(b, i, &y, &vy, &err), CDS_OK);
		assert_int_equal(x.len, y.len);
		if (x.len)
			assert_memory_equal(x.data, y.data, x.len);
		if (versions)
			assert_int_equal(vx, vy);
	}
	cds_buf_fini(&x);
	cds_buf_fini(&y);
}

/*
 * A copy (how a sealer makes its working index from a published view):
 * the same bytes and entries, the seq asked for, no dirty mark; a put that
 * changes nothing (same account and key) keeps the copy's nonce; the copy
 * takes changes of its own without touching the original.
 */
static void test_clone(void **state)
{
	struct cds_index *ix = build(8), *cp = NULL;
	uint8_t out[CDS_OPRF_OUTPUT_BYTES], acct[CDS_ACCOUNT_ID_BYTES];
	uint8_t ik[CDS_IDENTITY_KEY_BYTES];
	const char *nh = "tel:+4930123456";
	uint32_t nb = cds_bucket_of((const uint8_t *)nh, strlen(nh), 8);
	uint32_t *dirty = NULL;
	size_t nd = 0;
	struct cds_buf b0, b1;
	struct cds_error err;
	uint64_t v;
	bool changed = true;

	(void)state;
	cds_buf_init(&b0);
	cds_buf_init(&b1);
	/* Give the original an overlay bucket: the copy flattens it. */
	eval(nh, out);
	assert_int_equal(cds_index_put(ix, nb, out, fx->ids[1], fx->iks[1],
				       NULL, &err), CDS_OK);
	assert_int_equal(cds_index_clone(ix, 42, &cp, &err), CDS_OK);
	assert_same(ix, cp, false);
	assert_int_equal(cds_index_seq(cp), 42);
	for (unsigned i = 0; i < N_HANDLES; i += 5)
		assert_registered(cp, i);
	assert_int_equal(cds_index_dirty_take(cp, &dirty, &nd, &err), CDS_OK);
	assert_int_equal(nd, 0);
	free(dirty);
	/* The same answer again: no change, the same bytes (nonce kept). */
	bucket_of(cp, nh, &b0, &v);
	assert_int_equal(cds_index_put(cp, nb, out, fx->ids[1], fx->iks[1],
				       &changed, &err), CDS_OK);
	assert_false(changed);
	bucket_of(cp, nh, &b1, &v);
	assert_int_equal(b0.len, b1.len);
	assert_memory_equal(b0.data, b1.data, b0.len);
	/* Another answer changes the copy alone. */
	assert_int_equal(cds_index_put(cp, nb, out, fx->ids[2], fx->iks[2],
				       &changed, &err), CDS_OK);
	assert_true(changed);
	assert_int_equal(client_check(cp, nh, acct, ik), 1);
	assert_memory_equal(ik, fx->iks[2], sizeof(ik));
	assert_int_equal(client_check(ix, nh, acct, ik), 1);
	assert_memory_equal(ik, fx->iks[1], sizeof(ik));
	cds_index_free(cp);
	cds_index_free(ix);
	cds_buf_fini(&b0);
	cds_buf_fini(&b1);
}

static void test_build_cancel(void **state)
{
	atomic_bool cancel;
	struct cds_index_build_opts o = { .threads = 2, .quiet = true,
					  .cancel = &cancel };
	struct cds_index *ix = NULL;
	struct cds_error err;

	(void)state;
	atomic_init(&cancel, true);
	assert_int_equal(cds_index_build(&ix, fx->store, &fx->keys[0], 8, &o,
					 NULL, &err), CDS_ERR_BUSY);
	assert_null(ix);
	assert_non_null(strstr(err.msg, "cancelled"));
	assert_int_equal(cds_index_build(&ix, fx->store, &fx->keys[0], 25, &o,
					 NULL, &err), CDS_ERR_INVALID);
}

static void test_empty_index(void **state)
{
	struct cds_index *ix = NULL;
	struct cds_buf b;
	struct cds_error err;
	uint64_t v1, v2;

	(void)state;
	cds_buf_init(&b);
	assert_int_equal(cds_index_new_empty(&ix, 3, 2, 7, &err), CDS_OK);
	assert_int_equal(cds_index_count(ix), 0);
	assert_int_equal(cds_index_seq(ix), 7);
	cds_index_set_seq(ix, 5); /* never goes back */
	assert_int_equal(cds_index_seq(ix), 7);
	assert_int_equal(cds_index_bucket(ix, 3, &b, &v1, &err), CDS_OK);
	assert_int_equal(b.len, 0);
	assert_int_equal(cds_index_bucket(ix, 2, &b, &v2, &err), CDS_OK);
	assert_true(v1 != v2); /* per-bucket versions */
	cds_index_free(ix);
	assert_int_equal(cds_index_new_empty(&ix, 3, 25, 7, &err),
			 CDS_ERR_INVALID);
	cds_buf_fini(&b);
}

static void test_dirmap(void **state)
{
	struct cds_dirmap *m = NULL;
	uint8_t id[CDS_ACCOUNT_ID_BYTES], want[CDS_ACCOUNT_ID_BYTES];
	char h[CDS_HANDLE_MAX_BYTES + 2];
	struct cds_error err;
	const unsigned n = 50000;

	(void)state;
	assert_int_equal(cds_dirmap_new(&m, &err), CDS_OK);
	assert_false(cds_dirmap_get(m, "tel:+15550000000", 16, id));
	for (unsigned i = 0; i < n; i++) {
		memset(want, 0, sizeof(want));
		memcpy(want, &i, sizeof(i));
		handle_name(h, sizeof(h), i);
		assert_int_equal(cds_dirmap_put(m, h, strlen(h), want, &err),
				 CDS_OK);
	}
	assert_int_equal(cds_dirmap_count(m), n);
	/* Replace the account of every third handle. */
	for (unsigned i = 0; i < n; i += 3) {
		memset(want, 0xee, sizeof(want));
		handle_name(h, sizeof(h), i);
		assert_int_equal(cds_dirmap_put(m, h, strlen(h), want, &err),
				 CDS_OK);
	}
	assert_int_equal(cds_dirmap_count(m), n);
	/* Remove the even ones (enough to compact the records). */
	for (unsigned i = 0; i < n; i += 2) {
		handle_name(h, sizeof(h), i);
		assert_true(cds_dirmap_remove(m, h, strlen(h)));
		assert_false(cds_dirmap_remove(m, h, strlen(h)));
	}
	assert_int_equal(cds_dirmap_count(m), n / 2);
	for (unsigned i = 0; i < n; i++) {
		handle_name(h, sizeof(h), i);
		if (i % 2 == 0) {
			assert_false(cds_dirmap_get(m, h, strlen(h), id));
			continue;
		}
		assert_true(cds_dirmap_get(m, h, strlen(h), id));
		memset(want, i % 3 == 0 ? 0xee : 0, sizeof(want));
		if (i % 3)
			memcpy(want, &i, sizeof(i));
		assert_memory_equal(id, want, sizeof(want));
	}
	/* A prefix or an extension of a key is another key. */
	assert_false(cds_dirmap_get(m, "tel:+1555000000", 15, id));
	assert_true(cds_dirmap_get(m, "tel:+15550000011", 16, id));
	assert_false(cds_dirmap_get(m, "tel:+155500000111", 17, id));
	memset(h, 'a', sizeof(h));
	assert_int_equal(cds_dirmap_put(m, h, CDS_HANDLE_MAX_BYTES + 1, want,
					&err), CDS_ERR_INVALID);
	assert_int_equal(cds_dirmap_put(m, h, 0, want, &err), CDS_ERR_INVALID);
	assert_int_equal(cds_dirmap_put(m, h, CDS_HANDLE_MAX_BYTES, want, &err),
			 CDS_OK);
	assert_true(cds_dirmap_get(m, h, CDS_HANDLE_MAX_BYTES, id));
	assert_true(cds_dirmap_memory(m) > n / 2 * 8);
	cds_dirmap_free(m);
	cds_dirmap_free(NULL);
}

/* Account i with every other byte set to fill. */
static void make_account(struct cds_account *x, unsigned i, int fill)
{
	memset(x, fill, sizeof(*x));
	memset(x->id, 0, sizeof(x->id));
	memcpy(x->id, &i, sizeof(i));
}

static void test_accounts(void **state)
{
	struct cds_accounts *a = NULL;
	struct cds_account x, y;
	struct cds_error err;
	const unsigned n = 20000;

	(void)state;
	assert_int_equal(cds_accounts_new(&a, &err), CDS_OK);
	memset(&x, 0, sizeof(x));
	assert_false(cds_accounts_get(a, x.id, &y));
	assert_false(cds_accounts_remove(a, x.id));
	for (unsigned i = 0; i < n; i++) {
		make_account(&x, i, (int)(i & 0xff));
		assert_int_equal(cds_accounts_put(a, &x, &err), CDS_OK);
	}
	assert_int_equal(cds_accounts_count(a), n);
	for (unsigned i = 0; i < n; i += 2) {
		make_account(&x, i, 0);
		assert_true(cds_accounts_remove(a, x.id));
		assert_false(cds_accounts_remove(a, x.id));
	}
	for (unsigned i = 1; i < n; i += 4) { /* replace */
		make_account(&x, i, 0x5a);
		assert_int_equal(cds_accounts_put(a, &x, &err), CDS_OK);
	}
	assert_int_equal(cds_accounts_count(a), n / 2);
	for (unsigned i = 0; i < n; i++) {
		make_account(&x, i, 0);
		if (i % 2 == 0) {
			assert_false(cds_accounts_get(a, x.id, &y));
			continue;
		}
		assert_true(cds_accounts_get(a, x.id, &y));
		make_account(&x, i, i % 4 == 1 ? 0x5a : (int)(i & 0xff));
		assert_memory_equal(&x, &y, sizeof(x));
	}
	assert_true(cds_accounts_memory(a) > n / 2 * sizeof(x));
	cds_accounts_free(a);
	cds_accounts_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_finds_every_handle),
		cmocka_unit_test(test_prefix_bits_edges),
		cmocka_unit_test(test_put_remove_versions),
		cmocka_unit_test(test_remove_many_and_compact),
		cmocka_unit_test(test_clone),
		cmocka_unit_test(test_build_cancel),
		cmocka_unit_test(test_empty_index),
		cmocka_unit_test(test_dirmap),
		cmocka_unit_test(test_accounts),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
