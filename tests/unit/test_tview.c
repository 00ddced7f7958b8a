/*
 * test_tview.c: the published view of an epoch and sealing's arithmetic
 * (lib/index: tview*.c) and the working index's dirty buckets (index_raw.c,
 * dirty.c).
 *
 * Every root is checked against a straightforward recomputation: a fresh
 * crypto/btree tree with every bucket's leaf set from its bytes.  The
 * working index is changed the way the mirror changes it (cds_index_put /
 * _remove with random OPRF outputs), its dirty buckets diffed against the
 * view, the diff's root computed, then applied; after each version every
 * bucket of the view must equal work's and prove against the head.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/btree.h"
#include "crypto/entry.h"
#include "index/index.h"
#include "index/tview.h"

#define EPOCH 7
#define MAX_LIVE 512

/* ---- a working index changed like the mirror changes it ---- */

struct live {
	uint32_t bucket;
	uint8_t out[CDS_OPRF_OUTPUT_BYTES];
};

struct world {
	unsigned k;
	struct cds_index *work;
	struct cds_tview *view;
	struct live live[MAX_LIVE];
	size_t n_live;
	uint64_t version;
};

static void put_random(struct world *w, struct live *l)
{
	uint8_t acct[CDS_ACCOUNT_ID_BYTES], ik[CDS_IDENTITY_KEY_BYTES];
	struct cds_error err = {0};
	bool changed;

	randombytes_buf(acct, sizeof(acct));
	randombytes_buf(ik, sizeof(ik));
	assert_int_equal(cds_index_put(w->work, l->bucket, l->out, acct, ik,
				       &changed, &err), CDS_OK);
	assert_true(changed);
}

/* One random change: a new handle, a rebound one or a removed one. */
static void change_one(struct world *w)
{
	uint32_t r = randombytes_uniform(3);
	struct cds_error err = {0};
	bool removed;

	if (w->n_live == 0 || (r == 0 && w->n_live < MAX_LIVE)) {
		struct live *l = &w->live[w->n_live++];

		l->bucket = randombytes_uniform(1u << w->k);
		randombytes_buf(l->out, sizeof(l->out));
		put_random(w, l);
	} else if (r == 1) {
		put_random(w, &w->live[randombytes_uniform((uint32_t)w->n_live)]);
	} else {
		size_t i = randombytes_uniform((uint32_t)w->n_live);

		assert_int_equal(cds_index_remove(w->work, w->live[i].bucket,
						  w->live[i].out, &removed, &err),
				 CDS_OK);
		assert_true(removed);
		w->live[i] = w->live[--w->n_live];
	}
}

static void world_init(struct world *w, unsigned k)
{
	struct cds_error err = {0};

	memset(w, 0, sizeof(*w));
	w->k = k;
	assert_int_equal(cds_index_new_empty(&w->work, EPOCH, k, 0, &err), CDS_OK);
	assert_int_equal(cds_tview_new(&w->view, EPOCH, k, &err), CDS_OK);
}

static void world_fini(struct world *w)
{
	cds_index_free(w->work);
	cds_tview_free(w->view);
}

/* ---- the reference: every leaf from its bytes ---- */

static void ref_root(struct cds_index *ix, unsigned k, uint8_t root[32])
{
	struct cds_btree *t;
	struct cds_error err = {0};
	struct cds_buf b;
	uint8_t leaf[CDS_HASH_BYTES];

	cds_buf_init(&b);
	assert_int_equal(cds_btree_new(&t, k, EPOCH, &err), CDS_OK);
	for (uint32_t p = 0; p < (1u << k); p++) {
		cds_buf_reset(&b);
		assert_int_equal(cds_index_bucket(ix, p, &b, NULL, &err), CDS_OK);
		cds_btree_leaf(leaf, EPOCH, p, b.data, b.len / CDS_ENTRY_BYTES);
		cds_btree_set(t, p, leaf);
	}
	cds_btree_root(t, root);
	cds_btree_free(t);
	cds_buf_fini(&b);
}

/* Every bucket of the view: equal to ix's, proved against the head. */
static void check_view_equals(struct cds_tview *v, struct cds_index *ix,
			      unsigned k)
{
	struct cds_buf a, b;
	struct cds_thead h;
	struct cds_error err = {0};
	uint8_t proof[CDS_PREFIX_BITS_MAX * CDS_HASH_BYTES + 1];
	uint8_t leaf[CDS_HASH_BYTES];
	uint64_t etag;

	cds_buf_init(&a);
	cds_buf_init(&b);
	for (uint32_t p = 0; p < (1u << k); p++) {
		cds_buf_reset(&a);
		cds_buf_reset(&b);
		assert_int_equal(cds_tview_bucket(v, p, &a, &h, proof, &etag, &err),
				 CDS_OK);
		assert_int_equal(cds_index_bucket(ix, p, &b, NULL, &err), CDS_OK);
		assert_int_equal(a.len, b.len);
		if (a.len)
			assert_memory_equal(a.data, b.data, a.len);
		cds_btree_leaf(leaf, EPOCH, p, a.data, a.len / CDS_ENTRY_BYTES);
		assert_int_equal(cds_btree_verify(k, p, leaf, proof, h.root, &err),
				 CDS_OK);
	}
	cds_buf_fini(&a);
	cds_buf_fini(&b);
}

/* Is d canonical: ascending buckets, each change non-empty and sorted? */
static void check_canonical(const struct cds_tdiff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct cds_tchange *c = &d->ch[i];

		assert_true(c->n_removed + c->n_added > 0);
		if (i)
			assert_true(d->ch[i - 1].prefix < c->prefix);
		for (size_t j = 1; j < c->n_removed; j++)
			assert_true(memcmp(c->removed + (j - 1) * CDS_FP_BYTES,
					   c->removed + j * CDS_FP_BYTES,
					   CDS_FP_BYTES) < 0);
		for (size_t j = 1; j < c->n_added; j++)
			assert_true(memcmp(c->added + (j - 1) * CDS_ENTRY_BYTES,
					   c->added + j * CDS_ENTRY_BYTES,
					   CDS_FP_BYTES) < 0);
	}
}

static void head_of(struct world *w, const uint8_t root[32],
		    struct cds_thead *h)
{
	memset(h, 0, sizeof(*h));
	h->epoch = EPOCH;
	h->version = ++w->version;
	h->time_ms = 1000 * w->version;
	memcpy(h->root, root, CDS_HASH_BYTES);
}

/*
 * Seal what changed in work as the sealer does (take the dirty buckets,
 * diff, root_after, apply) and check the root against the reference.
 * all: the epoch's first version (diff_all).
 */
static void seal(struct world *w, bool all)
{
	struct cds_error err = {0};
	struct cds_tdiff *d;
	struct cds_thead h;
	uint32_t *dirty;
	size_t n;
	uint8_t root[CDS_HASH_BYTES], ref[CDS_HASH_BYTES];

	assert_int_equal(cds_index_dirty_take(w->work, &dirty, &n, &err), CDS_OK);
	if (all)
		assert_int_equal(cds_tview_diff_all(w->view, w->work, &d, &err),
				 CDS_OK);
	else
		assert_int_equal(cds_tview_diff(w->view, w->work, dirty, n, &d,
						&err), CDS_OK);
	free(dirty);
	check_canonical(d);
	assert_int_equal(cds_tview_root_after(w->view, d, root, &err), CDS_OK);
	ref_root(w->work, w->k, ref);
	assert_memory_equal(root, ref, CDS_HASH_BYTES);
	head_of(w, root, &h);
	assert_int_equal(cds_tview_apply(w->view, &h, d->ch, d->n, &err), CDS_OK);
	cds_tdiff_free(d);
	check_view_equals(w->view, w->work, w->k);
	assert_int_equal(cds_tview_count(w->view), cds_index_count(w->work));
}

static void test_seal_matches_recompute(void **state)
{
	(void)state;
	for (unsigned k = 0; k <= 6; k++) {
		struct world w;

		world_init(&w, k);
		for (int i = 0; i < 40; i++)
			change_one(&w);
		seal(&w, true);
		for (int round = 0; round < 30; round++) {
			uint32_t c = randombytes_uniform(12);

			for (uint32_t i = 0; i < c; i++)
				change_one(&w);
			seal(&w, false);
		}
		world_fini(&w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_matches_recompute),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
