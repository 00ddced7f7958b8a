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
#include <sched.h>
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

/*
 * One random change: a new handle (half the time, so the directory grows),
 * a rebound one or a removed one.
 */
static void change_one(struct world *w)
{
	uint32_t r = randombytes_uniform(4);
	struct cds_error err = {0};
	bool removed;

	if (w->n_live == 0 || (r <= 1 && w->n_live < MAX_LIVE)) {
		struct live *l = &w->live[w->n_live++];

		l->bucket = randombytes_uniform(1u << w->k);
		randombytes_buf(l->out, sizeof(l->out));
		put_random(w, l);
	} else if (r == 2) {
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

/* diff_all against a view that holds versions: nothing, then all of it. */
static void test_diff_all_after_lost_marks(void **state)
{
	struct world w;
	struct cds_error err = {0};
	struct cds_tdiff *d;
	uint32_t *dirty;
	size_t n;

	(void)state;
	world_init(&w, 5);
	for (int i = 0; i < 100; i++)
		change_one(&w);
	seal(&w, true);
	assert_int_equal(cds_tview_diff_all(w.view, w.work, &d, &err), CDS_OK);
	assert_int_equal(d->n, 0);
	cds_tdiff_free(d);
	/* Changes whose marks are lost (a rebuilt working index): the whole
	 * difference still seals. */
	for (int i = 0; i < 30; i++)
		change_one(&w);
	assert_int_equal(cds_index_dirty_take(w.work, &dirty, &n, &err), CDS_OK);
	assert_true(n > 0);
	free(dirty);
	seal(&w, true);
	world_fini(&w);
}

/* ---- refusals leave the view exactly as it was ---- */

/* Everything a reader can see of a view: bytes, ETags, proofs, head. */
struct picture {
	struct cds_buf bytes;
	uint8_t proofs[64][6 * CDS_HASH_BYTES];
	uint64_t etags[64];
	struct cds_thead head;
	uint64_t count;
};

static void picture_take(struct cds_tview *v, unsigned k, struct picture *pic)
{
	struct cds_error err = {0};

	assert_true(k <= 6);
	memset(pic, 0, sizeof(*pic));
	cds_buf_init(&pic->bytes);
	for (uint32_t p = 0; p < (1u << k); p++)
		assert_int_equal(cds_tview_bucket(v, p, &pic->bytes, &pic->head,
						  pic->proofs[p], &pic->etags[p],
						  &err), CDS_OK);
	pic->count = cds_tview_count(v);
}

static void picture_same(struct cds_tview *v, unsigned k, struct picture *was)
{
	struct picture now;

	picture_take(v, k, &now);
	assert_int_equal(now.bytes.len, was->bytes.len);
	if (now.bytes.len)
		assert_memory_equal(now.bytes.data, was->bytes.data, now.bytes.len);
	assert_memory_equal(now.proofs, was->proofs, sizeof(now.proofs));
	assert_memory_equal(now.etags, was->etags, sizeof(now.etags));
	assert_memory_equal(&now.head, &was->head, sizeof(now.head));
	assert_int_equal(now.count, was->count);
	cds_buf_fini(&now.bytes);
	cds_buf_fini(&was->bytes);
}

/*
 * A scene for refusals: a world at version 2 with changes pending in work,
 * their diff and its root, and a picture of the view to compare with.
 */
struct scene {
	struct world w;
	struct cds_tdiff *d;
	uint8_t root[CDS_HASH_BYTES];
	struct picture pic;
	struct cds_error err;
};

static void scene_open(struct scene *sc, unsigned k)
{
	struct world *w = &sc->w;
	uint32_t *dirty;
	size_t n;

	memset(sc, 0, sizeof(*sc));
	world_init(w, k);
	for (int i = 0; i < 60; i++)
		change_one(w);
	seal(w, true);
	for (int i = 0; i < 20; i++)
		change_one(w);
	seal(w, false);
	/* At least one of the view's entries replaced or removed, and at
	 * least one new handle: changes that remove and changes that add. */
	assert_true(w->n_live > 0);
	put_random(w, &w->live[0]);
	for (int i = 0; i < 20; i++)
		change_one(w);
	w->live[w->n_live].bucket = randombytes_uniform(1u << k);
	randombytes_buf(w->live[w->n_live].out, CDS_OPRF_OUTPUT_BYTES);
	put_random(w, &w->live[w->n_live++]);
	assert_int_equal(cds_index_dirty_take(w->work, &dirty, &n, &sc->err),
			 CDS_OK);
	assert_int_equal(cds_tview_diff(w->view, w->work, dirty, n, &sc->d,
					&sc->err), CDS_OK);
	free(dirty);
	assert_true(sc->d->n > 0);
	assert_int_equal(cds_tview_root_after(w->view, sc->d, sc->root,
					      &sc->err), CDS_OK);
	picture_take(w->view, k, &sc->pic);
}

/* The view must be as the picture shows it. */
static void scene_close(struct scene *sc)
{
	picture_same(sc->w.view, sc->w.k, &sc->pic);
	cds_tdiff_free(sc->d);
	world_fini(&sc->w);
}

/* Apply ch (n changes) under a head with sc's root, expecting `want`. */
static void expect_refused(struct scene *sc, const struct cds_tchange *ch,
			   size_t n, enum cds_err want)
{
	struct cds_thead h;

	head_of(&sc->w, sc->root, &h);
	cds_error_clear(&sc->err);
	assert_int_equal(cds_tview_apply(sc->w.view, &h, ch, n, &sc->err), want);
	assert_true(sc->err.msg[0] != '\0');
}

static void test_wrong_root_refused(void **state)
{
	struct scene sc;
	struct cds_thead h;

	(void)state;
	scene_open(&sc, 4);
	for (size_t byte = 0; byte < CDS_HASH_BYTES; byte += 7) {
		head_of(&sc.w, sc.root, &h);
		h.root[byte] ^= 0x20;
		assert_int_equal(cds_tview_apply(sc.w.view, &h, sc.d->ch,
						 sc.d->n, &sc.err),
				 CDS_ERR_CRYPTO);
		assert_non_null(strstr(sc.err.msg, "version"));
	}
	picture_same(sc.w.view, 4, &sc.pic);
	/* The right root still applies afterwards. */
	head_of(&sc.w, sc.root, &h);
	assert_int_equal(cds_tview_apply(sc.w.view, &h, sc.d->ch, sc.d->n,
					 &sc.err), CDS_OK);
	check_view_equals(sc.w.view, sc.w.work, 4);
	picture_take(sc.w.view, 4, &sc.pic);
	scene_close(&sc);
}

/* A copy of d's changes over bytes the test may flip. */
struct tamper {
	struct cds_tchange ch[64];
	uint8_t bytes[64][2][4096];
};

static void tamper_copy(struct tamper *t, const struct cds_tdiff *d)
{
	assert_true(d->n <= 64);
	for (size_t i = 0; i < d->n; i++) {
		const struct cds_tchange *c = &d->ch[i];
		size_t rl = c->n_removed * CDS_FP_BYTES;
		size_t al = c->n_added * CDS_ENTRY_BYTES;

		assert_true(rl <= 2048 && al <= 2048);
		t->ch[i] = *c;
		memcpy(t->bytes[i][0], c->removed, rl);
		memcpy(t->bytes[i][1], c->added, al);
		t->ch[i].removed = t->bytes[i][0];
		t->ch[i].added = t->bytes[i][1];
	}
}

static void test_flipped_byte_refused(void **state)
{
	struct scene sc;
	static struct tamper t;
	size_t flipped = 0;

	(void)state;
	scene_open(&sc, 3);
	for (size_t i = 0; i < sc.d->n; i++) {
		/* Past the fingerprint, so only the bytes change, not the order. */
		for (size_t a = 0; a < sc.d->ch[i].n_added; a++) {
			tamper_copy(&t, sc.d);
			t.bytes[i][1][a * CDS_ENTRY_BYTES + CDS_FP_BYTES +
				      randombytes_uniform(CDS_ENTRY_BYTES -
							  CDS_FP_BYTES)] ^= 1;
			expect_refused(&sc, t.ch, sc.d->n, CDS_ERR_CRYPTO);
			flipped++;
		}
	}
	assert_true(flipped > 0);
	scene_close(&sc);
}

/* The first change of d that removes something, or that adds. */
static size_t first_with(const struct cds_tdiff *d, bool removes)
{
	for (size_t i = 0; i < d->n; i++)
		if (removes ? d->ch[i].n_removed : d->ch[i].n_added)
			return i;
	fail_msg("no change that %s", removes ? "removes" : "adds");
	return 0;
}

/* An entry the view holds, added again without being removed. */
static void add_present(struct scene *sc)
{
	struct cds_buf cur;
	struct cds_thead h;
	uint8_t proof[6 * CDS_HASH_BYTES];
	struct cds_tchange c = {0};

	cds_buf_init(&cur);
	for (c.prefix = 0; cur.len == 0; c.prefix++)
		assert_int_equal(cds_tview_bucket(sc->w.view, c.prefix, &cur, &h,
						  proof, NULL, &sc->err), CDS_OK);
	c.prefix--;
	c.added = cur.data;
	c.n_added = 1;
	expect_refused(sc, &c, 1, CDS_ERR_INVALID);
	cds_buf_fini(&cur);
}

static void test_bad_changes_invalid(void **state)
{
	struct scene sc;
	struct cds_thead h;
	static struct tamper t;
	uint8_t absent[CDS_FP_BYTES];
	size_t r, a;

	(void)state;
	scene_open(&sc, 5);
	r = first_with(sc.d, true);
	a = first_with(sc.d, false);
	/* A removed fingerprint that is not in the bucket. */
	tamper_copy(&t, sc.d);
	memset(absent, 0xff, sizeof(absent));
	t.ch[r].removed = absent;
	t.ch[r].n_removed = 1;
	expect_refused(&sc, t.ch, sc.d->n, CDS_ERR_INVALID);
	add_present(&sc);
	/* The same entry added twice; removed fingerprints out of order. */
	tamper_copy(&t, sc.d);
	memcpy(t.bytes[a][1] + sc.d->ch[a].n_added * CDS_ENTRY_BYTES,
	       sc.d->ch[a].added, CDS_ENTRY_BYTES);
	t.ch[a].n_added++;
	expect_refused(&sc, t.ch, sc.d->n, CDS_ERR_INVALID);
	tamper_copy(&t, sc.d);
	memcpy(t.bytes[r][0] + sc.d->ch[r].n_removed * CDS_FP_BYTES,
	       sc.d->ch[r].removed, CDS_FP_BYTES);
	t.ch[r].n_removed++;
	expect_refused(&sc, t.ch, sc.d->n, CDS_ERR_INVALID);
	/* Prefix out of range, and changes out of order. */
	tamper_copy(&t, sc.d);
	t.ch[sc.d->n - 1].prefix = 1u << 5;
	expect_refused(&sc, t.ch, sc.d->n, CDS_ERR_INVALID);
	if (sc.d->n > 1) {
		tamper_copy(&t, sc.d);
		t.ch[0] = sc.d->ch[1];
		t.ch[1] = sc.d->ch[0];
		expect_refused(&sc, t.ch, sc.d->n, CDS_ERR_INVALID);
	}
	/* A head of another epoch, and one not after the view's version. */
	head_of(&sc.w, sc.root, &h);
	h.epoch = EPOCH + 1;
	assert_int_equal(cds_tview_apply(sc.w.view, &h, sc.d->ch, sc.d->n,
					 &sc.err), CDS_ERR_INVALID);
	head_of(&sc.w, sc.root, &h);
	h.version = 1;
	assert_int_equal(cds_tview_apply(sc.w.view, &h, sc.d->ch, sc.d->n,
					 &sc.err), CDS_ERR_INVALID);
	scene_close(&sc);
}

/* ---- readers racing the applier ---- */

struct race {
	struct cds_tview *v;
	unsigned k;
	atomic_bool done;
	atomic_ulong checks, bad;
};

/* Every (bytes, head, proof) a reader gets must prove against that head. */
static void *reader(void *arg)
{
	struct race *r = arg;
	struct cds_buf b;
	struct cds_thead h;
	struct cds_error err;
	uint8_t proof[6 * CDS_HASH_BYTES], leaf[CDS_HASH_BYTES];

	cds_buf_init(&b);
	while (!atomic_load(&r->done)) {
		uint32_t p = randombytes_uniform(1u << r->k);

		cds_buf_reset(&b);
		if (cds_tview_bucket(r->v, p, &b, &h, proof, NULL, &err) ||
		    (cds_btree_leaf(leaf, EPOCH, p, b.data,
				    b.len / CDS_ENTRY_BYTES),
		     cds_btree_verify(r->k, p, leaf, proof, h.root, &err)))
			atomic_fetch_add(&r->bad, 1);
		atomic_fetch_add(&r->checks, 1);
	}
	cds_buf_fini(&b);
	return NULL;
}

static void test_readers_race_applier(void **state)
{
	struct world w;
	struct race r = {0};
	pthread_t t;
	unsigned long before;

	(void)state;
	world_init(&w, 6);
	for (int i = 0; i < 200; i++)
		change_one(&w);
	seal(&w, true);
	r.v = w.view;
	r.k = 6;
	assert_int_equal(pthread_create(&t, NULL, reader, &r), 0);
	while (atomic_load(&r.checks) == 0)
		sched_yield();
	for (int round = 0; round < 150; round++) {
		for (int i = 0; i < 8; i++)
			change_one(&w);
		seal(&w, false);
	}
	/* The reader ran while versions were applied, not only before. */
	before = atomic_load(&r.checks);
	while (atomic_load(&r.checks) < before + 100)
		sched_yield();
	atomic_store(&r.done, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(atomic_load(&r.bad), 0);
	world_fini(&w);
}

/* ---- the working index's dirty buckets ---- */

static void expect_dirty(struct cds_index *ix, const uint32_t *want, size_t n)
{
	struct cds_error err = {0};
	uint32_t *got;
	size_t m;

	assert_int_equal(cds_index_dirty_take(ix, &got, &m, &err), CDS_OK);
	assert_int_equal(m, n);
	if (n)
		assert_memory_equal(got, want, n * sizeof(*want));
	else
		assert_null(got);
	free(got);
}

static void test_dirty_tracking(void **state)
{
	struct cds_index *ix;
	struct cds_error err = {0};
	uint8_t out[2][CDS_OPRF_OUTPUT_BYTES], acct[CDS_ACCOUNT_ID_BYTES] = {1};
	uint8_t ik[CDS_IDENTITY_KEY_BYTES] = {2}, absent[CDS_FP_BYTES] = {0};
	uint8_t entry[CDS_ENTRY_BYTES] = {0};
	struct cds_index_bucket_bytes rb = {11, entry, 1};
	bool changed, removed;

	(void)state;
	randombytes_buf(out, sizeof(out));
	assert_int_equal(cds_index_new_empty(&ix, EPOCH, 4, 0, &err), CDS_OK);
	expect_dirty(ix, NULL, 0);
	assert_int_equal(cds_index_put(ix, 9, out[0], acct, ik, &changed, &err),
			 CDS_OK);
	assert_int_equal(cds_index_put(ix, 3, out[1], acct, ik, &changed, &err),
			 CDS_OK);
	assert_int_equal(cds_index_dirty_count(ix), 2); /* counting keeps them */
	expect_dirty(ix, (const uint32_t[]){3, 9}, 2);
	assert_int_equal(cds_index_dirty_count(ix), 0);
	expect_dirty(ix, NULL, 0); /* taking cleared them */
	/* Nothing changes: no mark. */
	assert_int_equal(cds_index_put(ix, 9, out[0], acct, ik, &changed, &err),
			 CDS_OK);
	assert_false(changed);
	assert_int_equal(cds_index_remove(ix, 5, absent, &removed, &err), CDS_OK);
	assert_false(removed);
	expect_dirty(ix, NULL, 0);
	/* A remove and a replace mark; a compaction keeps the marks. */
	assert_int_equal(cds_index_remove(ix, 3, out[1], &removed, &err), CDS_OK);
	assert_true(removed);
	assert_int_equal(cds_index_replace(ix, &rb, 1, &err), CDS_OK);
	assert_int_equal(cds_index_compact(ix, &err), CDS_OK);
	expect_dirty(ix, (const uint32_t[]){3, 11}, 2);
	/* Marks given back (a seal that failed) come out again, once each. */
	cds_index_dirty_mark(ix, (const uint32_t[]){2, 7, 2}, 3);
	assert_int_equal(cds_index_dirty_count(ix), 2);
	expect_dirty(ix, (const uint32_t[]){2, 7}, 2);
	/* A bucket out of range is refused and marks nothing. */
	rb.bucket = 16;
	assert_int_equal(cds_index_replace(ix, &rb, 1, &err), CDS_ERR_INVALID);
	expect_dirty(ix, NULL, 0);
	assert_int_equal(cds_index_count(ix), 2);
	cds_index_free(ix);
}

/* ---- reads before the first version, K = 0, a big first version ---- */

static void test_reads_and_edges(void **state)
{
	struct world w;
	struct cds_buf b;
	struct cds_thead h;
	struct cds_error err = {0};
	uint8_t proof[1], leaf[CDS_HASH_BYTES];

	(void)state;
	cds_buf_init(&b);
	world_init(&w, 0);
	assert_false(cds_tview_head(w.view, &h));
	assert_int_equal(cds_tview_bucket(w.view, 0, &b, &h, proof, NULL, &err),
			 CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_tview_bucket(w.view, 1, &b, &h, proof, NULL, &err),
			 CDS_ERR_INVALID);
	for (int i = 0; i < 30; i++)
		change_one(&w);
	seal(&w, true);
	/* K = 0: the root is the one leaf, the proof empty. */
	assert_int_equal(cds_tview_bucket(w.view, 0, &b, &h, proof, NULL, &err),
			 CDS_OK);
	assert_true(cds_tview_head(w.view, &h));
	cds_btree_leaf(leaf, EPOCH, 0, b.data, b.len / CDS_ENTRY_BYTES);
	assert_memory_equal(leaf, h.root, CDS_HASH_BYTES);
	assert_true(cds_tview_memory(w.view) > b.len);
	world_fini(&w);
	cds_buf_fini(&b);
}

/* A first version over 1 MiB: the view's index compacts while applying. */
static void test_big_first_version(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, 6);
	for (int i = 0; i < 12000; i++) {
		struct live l;

		l.bucket = randombytes_uniform(64);
		randombytes_buf(l.out, sizeof(l.out));
		put_random(&w, &l);
	}
	seal(&w, true);
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 50; i++)
			change_one(&w);
		seal(&w, false);
	}
	world_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_matches_recompute),
		cmocka_unit_test(test_diff_all_after_lost_marks),
		cmocka_unit_test(test_wrong_root_refused),
		cmocka_unit_test(test_flipped_byte_refused),
		cmocka_unit_test(test_bad_changes_invalid),
		cmocka_unit_test(test_readers_race_applier),
		cmocka_unit_test(test_dirty_tracking),
		cmocka_unit_test(test_reads_and_edges),
		cmocka_unit_test(test_big_first_version),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
