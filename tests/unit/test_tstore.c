/*
 * test_tstore.c: transparency's history in the store (store/tstore.h):
 * appends and reads round-trip byte for byte; a version must be the last
 * + 1 and a refused append writes nothing; two sealers racing on two
 * connections, exactly one winning each version; paging a version's
 * changes by prefix; a bucket's history and an epoch's changes by range;
 * the empty history; the sealer lock; rows that survive a reopen and a
 * schema migration; damaged rows refused.  Runs on SQLite, and on PostgreSQL as tstore_pg
 * (storetest.h), where the append-only trigger and the sealer lock's
 * exclusivity across connections are tested too.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "core/timeutil.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_sqlite.h"
#include "store/tstore.h"
#include "storetest.h"

#define BITS 4 /* 16 buckets */
#define MAX_ENTRIES 8

struct fx {
	char *dir;
	struct cds_store *s;
	struct cds_error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = tmpdir_new();
	if (storetest_create(f->dir, BITS, &f->err) ||
	    cds_store_open(&f->s, f->dir, &f->err)) {
		fprintf(stderr, "setup: %s\n", f->err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->s)
		cds_store_close(f->s);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* One bucket's change, its lists filled from (version, prefix, salt). */
struct change {
	struct cds_tchange c;
	uint8_t removed[MAX_ENTRIES * CDS_FP_BYTES];
	uint8_t added[MAX_ENTRIES * CDS_ENTRY_BYTES];
};

static void fill(uint8_t *p, size_t len, uint64_t version, uint32_t prefix,
		 uint8_t salt)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + version * 13 + prefix * 31 + salt);
}

static void mkchange(struct change *c, uint64_t version, uint32_t prefix,
		     size_t n_removed, size_t n_added, uint8_t salt)
{
	memset(c, 0, sizeof(*c));
	fill(c->removed, n_removed * CDS_FP_BYTES, version, prefix, salt);
	fill(c->added, n_added * CDS_ENTRY_BYTES, version, prefix, salt + 1);
	c->c = (struct cds_tchange){.prefix = prefix,
				    .removed = c->removed,
				    .n_removed = n_removed,
				    .added = c->added,
				    .n_added = n_added};
}

static struct cds_tversion mkversion(uint64_t version, uint32_t epoch,
				     uint8_t salt)
{
	struct cds_tversion v = {.seq = version * 10 + salt};

	v.head.version = version;
	v.head.epoch = epoch;
	v.head.time_ms = 1700000000000ull + version;
	fill(v.head.root, sizeof(v.head.root), version, 1, salt);
	fill(v.head.log_root, sizeof(v.head.log_root), version, 2, salt);
	fill(v.head.signature, sizeof(v.head.signature), version, 3, salt);
	return v;
}

/* Append version (epoch) changing the buckets prefixes[0..n), ascending. */
static enum cds_err append(struct fx *f, struct cds_store *s, uint64_t version,
			   uint32_t epoch, const uint32_t *prefixes, size_t n,
			   uint8_t salt)
{
	struct change ch[16];
	struct cds_tchange c[16];
	struct cds_tversion v = mkversion(version, epoch, salt);

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++) {
		mkchange(&ch[i], version, prefixes[i], i % 3, (i + salt) % 4 + 1,
			 salt);
		c[i] = ch[i].c;
	}
	return cds_store_tversion_append(s, &v, c, n, &f->err);
}

static void append_ok(struct fx *f, uint64_t version, uint32_t epoch,
		      const uint32_t *prefixes, size_t n)
{
	if (append(f, f->s, version, epoch, prefixes, n, 0) != CDS_OK)
		fail_msg("append %llu: %s", (unsigned long long)version,
			 f->err.msg);
}

/* A change row as read back: its version, prefix and list bytes. */
struct row {
	uint64_t version;
	uint32_t prefix;
	size_t n_removed, n_added;
	uint8_t removed[MAX_ENTRIES * CDS_FP_BYTES];
	uint8_t added[MAX_ENTRIES * CDS_ENTRY_BYTES];
};

struct rows {
	struct row r[64];
	size_t n, stop_after; /* stop_after 0: never stop */
};

static int collect(void *ctx, uint64_t version, const struct cds_tchange *c)
{
	struct rows *rs = ctx;
	struct row *r = &rs->r[rs->n++];

	assert_true(rs->n <= 64);
	assert_true(c->n_removed <= MAX_ENTRIES && c->n_added <= MAX_ENTRIES);
	r->version = version;
	r->prefix = c->prefix;
	r->n_removed = c->n_removed;
	r->n_added = c->n_added;
	if (c->n_removed)
		memcpy(r->removed, c->removed, c->n_removed * CDS_FP_BYTES);
	if (c->n_added)
		memcpy(r->added, c->added, c->n_added * CDS_ENTRY_BYTES);
	return rs->stop_after && rs->n == rs->stop_after;
}

/* Row i of rs is bucket prefix of version, as append() (salt 0) made it. */
static void expect_row(const struct rows *rs, size_t i, uint64_t version,
		       uint32_t prefix, size_t index)
{
	struct change want;

	assert_true(i < rs->n);
	mkchange(&want, version, prefix, index % 3, index % 4 + 1, 0);
	assert_int_equal(rs->r[i].version, version);
	assert_int_equal(rs->r[i].prefix, prefix);
	assert_int_equal(rs->r[i].n_removed, want.c.n_removed);
	assert_int_equal(rs->r[i].n_added, want.c.n_added);
	assert_memory_equal(rs->r[i].removed, want.removed,
			    want.c.n_removed * CDS_FP_BYTES);
	assert_memory_equal(rs->r[i].added, want.added,
			    want.c.n_added * CDS_ENTRY_BYTES);
}

static void expect_version(const struct cds_tversion *got, uint64_t version,
			   uint32_t epoch, uint8_t salt)
{
	struct cds_tversion want = mkversion(version, epoch, salt);

	assert_int_equal(got->head.version, version);
	assert_int_equal(got->head.epoch, epoch);
	assert_int_equal(got->head.time_ms, want.head.time_ms);
	assert_int_equal(got->seq, want.seq);
	assert_memory_equal(got->head.root, want.head.root, CDS_HASH_BYTES);
	assert_memory_equal(got->head.log_root, want.head.log_root,
			    CDS_HASH_BYTES);
	assert_memory_equal(got->head.signature, want.head.signature,
			    CDS_THEAD_SIG_BYTES);
}

struct versions {
	struct cds_tversion v[64];
	size_t n, stop_after;
};

static int collect_version(void *ctx, const struct cds_tversion *v)
{
	struct versions *vs = ctx;

	assert_true(vs->n < 64);
	vs->v[vs->n++] = *v;
	return vs->stop_after && vs->n == vs->stop_after;
}

static void expect_last(struct fx *f, struct cds_store *s, uint64_t version)
{
	struct cds_tversion v;
	bool found = true;

	assert_int_equal(cds_store_tversion_last(s, &v, &found, &f->err), CDS_OK);
	assert_int_equal(found, version != 0);
	if (found)
		assert_int_equal(v.head.version, version);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	const uint32_t p1[] = {0, 3, 7, 15}, p2[] = {3};
	struct versions vs = {0};
	struct rows rs = {0};
	struct cds_tversion last;
	bool found = false;
	uint64_t seen = 0;

	append_ok(f, 1, 9, p1, 4);
	append_ok(f, 2, 9, p2, 1);
	assert_int_equal(cds_store_tversion_last(f->s, &last, &found, &f->err),
			 CDS_OK);
	assert_true(found);
	expect_version(&last, 2, 9, 0);
	assert_int_equal(cds_store_tversions(f->s, 1, 10, collect_version, &vs,
					     &seen, &f->err), CDS_OK);
	assert_int_equal(vs.n, 2);
	assert_int_equal(seen, 2);
	expect_version(&vs.v[0], 1, 9, 0);
	expect_version(&vs.v[1], 2, 9, 0);
	/* Every list byte for byte, empty ones included (index 0 removes 0). */
	assert_int_equal(cds_store_tchanges(f->s, 1, 0, 100, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 4);
	for (size_t i = 0; i < 4; i++)
		expect_row(&rs, i, 1, p1[i], i);
	/* A version with no change at all (an empty epoch's first). */
	append_ok(f, 3, 10, NULL, 0);
	rs.n = 0;
	assert_int_equal(cds_store_tchanges(f->s, 3, 0, 100, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 0);
	expect_last(f, f->s, 3);
}

static void test_versions_walk(void **state)
{
	struct fx *f = *state;
	const uint32_t p[] = {1};
	struct versions vs = {0};
	uint64_t seen = 0;

	for (uint64_t v = 1; v <= 5; v++)
		append_ok(f, v, 1, p, 1);
	/* From, limit, and a stop by the callback. */
	assert_int_equal(cds_store_tversions(f->s, 2, 2, collect_version, &vs,
					     &seen, &f->err), CDS_OK);
	assert_int_equal(vs.n, 2);
	assert_int_equal(vs.v[0].head.version, 2);
	assert_int_equal(seen, 3);
	vs = (struct versions){.stop_after = 1};
	assert_int_equal(cds_store_tversions(f->s, 1, 100, collect_version, &vs,
					     &seen, &f->err), CDS_OK);
	assert_int_equal(vs.n, 1);
	assert_int_equal(seen, 1);
	/* Past the end: nothing, and *last is from - 1. */
	vs = (struct versions){0};
	assert_int_equal(cds_store_tversions(f->s, 9, 100, collect_version, &vs,
					     &seen, &f->err), CDS_OK);
	assert_int_equal(vs.n, 0);
	assert_int_equal(seen, 8);
	assert_int_equal(cds_store_tversions(f->s, UINT64_MAX, 100,
					     collect_version, &vs, &seen,
					     &f->err), CDS_OK);
	assert_int_equal(vs.n, 0);
	assert_int_equal(cds_store_tversions(f->s, 0, 100, collect_version, &vs,
					     &seen, &f->err), CDS_OK);
	assert_int_equal(vs.n, 5);
	assert_int_equal(seen, 5);
	assert_int_equal(cds_store_tversions(f->s, 1, 1, NULL, NULL, &seen,
					     &f->err), CDS_ERR_INVALID);
}

static void test_next_version_only(void **state)
{
	struct fx *f = *state;
	const uint32_t p[] = {2, 5}, unsorted[] = {5, 2}, twice[] = {4, 4},
		       outside[] = {16};
	struct cds_tversion v = mkversion(2, 1, 0);
	struct cds_tchange bad = {.prefix = 1, .n_added = 1};
	struct rows rs = {0};

	/* The first version is 1; not 0, not 2. */
	assert_int_equal(append(f, f->s, 0, 1, p, 2, 0), CDS_ERR_INVALID);
	assert_int_equal(append(f, f->s, 2, 1, p, 2, 0), CDS_ERR_INVALID);
	assert_non_null(strstr(f->err.msg, "does not follow"));
	append_ok(f, 1, 1, p, 2);
	/* Again: another sealer won it. */
	assert_int_equal(append(f, f->s, 1, 1, p, 2, 1), CDS_ERR_EXISTS);
	assert_non_null(strstr(f->err.msg, "already sealed"));
	assert_int_equal(append(f, f->s, 3, 1, p, 2, 0), CDS_ERR_INVALID);
	/* Bad change lists: order, duplicates, prefixes outside the tree. */
	assert_int_equal(append(f, f->s, 2, 1, unsorted, 2, 0), CDS_ERR_INVALID);
	assert_int_equal(f->err.index, 1);
	assert_int_equal(append(f, f->s, 2, 1, twice, 2, 0), CDS_ERR_INVALID);
	assert_int_equal(append(f, f->s, 2, 1, outside, 1, 0), CDS_ERR_INVALID);
	assert_non_null(strstr(f->err.msg, "outside the tree"));
	assert_int_equal(cds_store_tversion_append(f->s, &v, &bad, 1, &f->err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_store_tversion_append(f->s, &v, NULL, 1, &f->err),
			 CDS_ERR_INVALID);
	assert_int_equal(cds_store_tversion_append(f->s, NULL, NULL, 0, &f->err),
			 CDS_ERR_INVALID);
	v.seq = UINT64_MAX;
	assert_int_equal(cds_store_tversion_append(f->s, &v, NULL, 0, &f->err),
			 CDS_ERR_INVALID);
	/* None of it wrote anything: version 1 as first written, alone. */
	expect_last(f, f->s, 1);
	assert_int_equal(cds_store_tchanges(f->s, 1, 0, 100, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 2);
	expect_row(&rs, 0, 1, 2, 0);
	expect_row(&rs, 1, 1, 5, 1);
	rs.n = 0;
	assert_int_equal(cds_store_tchanges(f->s, 2, 0, 100, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 0);
}

/* Two sealers, each on its own connection, append the same versions. */
#define RACE_VERSIONS 20
struct racer {
	struct fx *f;
	struct cds_store *s;
	pthread_barrier_t *start;
	uint8_t salt;
	int won[RACE_VERSIONS + 1];
	enum cds_err bad;
	struct cds_error err;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	const uint32_t p[] = {0, 6, 9};

	for (uint64_t v = 1; v <= RACE_VERSIONS; v++) {
		struct fx f = {.s = r->s};
		enum cds_err rc;

		pthread_barrier_wait(r->start);
		rc = append(&f, r->s, v, 1, p, 3, r->salt);
		if (rc == CDS_OK)
			r->won[v] = 1;
		else if (rc != CDS_ERR_EXISTS && !r->bad) {
			r->bad = rc;
			r->err = f.err;
		}
	}
	return NULL;
}

/* The stored version v is whole, and is the one salt's sealer made. */
static void expect_whole(struct fx *f, uint64_t v, uint8_t salt)
{
	struct cds_tversion want = mkversion(v, 1, salt);
	struct versions vs = {0};
	struct rows rs = {0};
	struct change c;
	uint64_t seen;

	assert_int_equal(cds_store_tversions(f->s, v, 1, collect_version, &vs,
					     &seen, &f->err), CDS_OK);
	assert_int_equal(vs.n, 1);
	assert_memory_equal(vs.v[0].head.root, want.head.root, CDS_HASH_BYTES);
	assert_int_equal(cds_store_tchanges(f->s, v, 0, 100, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 3);
	mkchange(&c, v, 9, 2, (2 + salt) % 4 + 1, salt);
	assert_int_equal(rs.r[2].n_added, c.c.n_added);
	assert_memory_equal(rs.r[2].added, c.added,
			    c.c.n_added * CDS_ENTRY_BYTES);
}

static void test_racing_sealers(void **state)
{
	struct fx *f = *state;
	pthread_barrier_t start;
	struct racer r[2];
	pthread_t t[2];

	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct racer){.f = f, .start = &start,
				      .salt = (uint8_t)(i + 1)};
		assert_int_equal(cds_store_open(&r[i].s, f->dir, &f->err),
				 CDS_OK);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer_main, &r[i]),
				 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < 2; i++) {
		if (r[i].bad)
			fail_msg("racer %d: %s", i, r[i].err.msg);
		cds_store_close(r[i].s);
	}
	/* Exactly one winner per version, and its version is stored whole. */
	for (uint64_t v = 1; v <= RACE_VERSIONS; v++) {
		assert_int_equal(r[0].won[v] + r[1].won[v], 1);
		expect_whole(f, v, r[0].won[v] ? 1 : 2);
	}
	expect_last(f, f->s, RACE_VERSIONS);
}

static void test_changes_paging(void **state)
{
	struct fx *f = *state;
	const uint32_t p[] = {0, 1, 4, 5, 6, 8, 11, 12, 14, 15};
	struct rows rs = {0};
	uint32_t from = 0;
	size_t pages = 0;

	append_ok(f, 1, 1, p, 10);
	/* Pages of 3, each from the prefix after the last one seen. */
	for (;;) {
		size_t before = rs.n;

		assert_int_equal(cds_store_tchanges(f->s, 1, from, 3, collect,
						    &rs, &f->err), CDS_OK);
		if (rs.n == before)
			break;
		assert_true(rs.n - before <= 3);
		from = rs.r[rs.n - 1].prefix + 1;
		pages++;
	}
	assert_int_equal(pages, 4);
	assert_int_equal(rs.n, 10);
	for (size_t i = 0; i < 10; i++)
		expect_row(&rs, i, 1, p[i], i);
	/* A page starting between prefixes; a callback that stops. */
	rs = (struct rows){.stop_after = 2};
	assert_int_equal(cds_store_tchanges(f->s, 1, 7, 100, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 2);
	expect_row(&rs, 0, 1, 8, 5);
	expect_row(&rs, 1, 1, 11, 6);
	/* Unknown versions, limit 0: nothing. */
	rs = (struct rows){0};
	assert_int_equal(cds_store_tchanges(f->s, 2, 0, 100, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(cds_store_tchanges(f->s, 0, 0, 100, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(cds_store_tchanges(f->s, UINT64_MAX, 0, 100, collect,
					    &rs, &f->err), CDS_OK);
	assert_int_equal(cds_store_tchanges(f->s, 1, 0, 0, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 0);
}

/*
 * Epoch 1: v1 {2, 5}, v3 {5}, v4 {1, 5, 9}, v6 {9}.
 * Epoch 2: v2 {5}, v5 {0, 5} (two epochs served at once).
 */
static void two_epochs(struct fx *f)
{
	const uint32_t v1[] = {2, 5}, v2[] = {5}, v4[] = {1, 5, 9},
		       v5[] = {0, 5}, v6[] = {9};

	append_ok(f, 1, 1, v1, 2);
	append_ok(f, 2, 2, v2, 1);
	append_ok(f, 3, 1, v2, 1);
	append_ok(f, 4, 1, v4, 3);
	append_ok(f, 5, 2, v5, 2);
	append_ok(f, 6, 1, v6, 1);
}

static void test_history(void **state)
{
	struct fx *f = *state;
	struct rows rs = {0};

	two_epochs(f);
	assert_int_equal(cds_store_thistory(f->s, 1, 5, 0, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 3);
	expect_row(&rs, 0, 1, 5, 1);
	expect_row(&rs, 1, 3, 5, 0);
	expect_row(&rs, 2, 4, 5, 1);
	rs = (struct rows){0};
	assert_int_equal(cds_store_thistory(f->s, 1, 5, 3, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 1);
	expect_row(&rs, 0, 4, 5, 1);
	rs = (struct rows){0};
	assert_int_equal(cds_store_thistory(f->s, 2, 5, 1, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 2);
	expect_row(&rs, 0, 2, 5, 0);
	expect_row(&rs, 1, 5, 5, 1);
	/* Nothing since the last change, in an untouched bucket, or epoch. */
	rs = (struct rows){0};
	assert_int_equal(cds_store_thistory(f->s, 1, 5, 4, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(cds_store_thistory(f->s, 1, 3, 0, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(cds_store_thistory(f->s, 7, 5, 0, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(cds_store_thistory(f->s, 1, 5, UINT64_MAX, collect,
					    &rs, &f->err), CDS_OK);
	assert_int_equal(rs.n, 0);
	rs = (struct rows){.stop_after = 1};
	assert_int_equal(cds_store_thistory(f->s, 1, 5, 0, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(rs.n, 1);
}

static void test_epoch_changes(void **state)
{
	struct fx *f = *state;
	struct rows rs = {0};
	uint64_t first = 0;
	bool found = false;

	two_epochs(f);
	assert_int_equal(cds_store_tepoch_first(f->s, 1, &first, &found, &f->err),
			 CDS_OK);
	assert_true(found);
	assert_int_equal(first, 1);
	assert_int_equal(cds_store_tepoch_first(f->s, 2, &first, &found, &f->err),
			 CDS_OK);
	assert_true(found);
	assert_int_equal(first, 2);
	assert_int_equal(cds_store_tepoch_first(f->s, 3, &first, &found, &f->err),
			 CDS_OK);
	assert_false(found);
	/* Epoch 1 whole: (version, prefix) order, epoch 2's rows left out. */
	assert_int_equal(cds_store_tepoch_changes(f->s, 1, 0, 6, collect, &rs,
						  &f->err), CDS_OK);
	assert_int_equal(rs.n, 7);
	expect_row(&rs, 0, 1, 2, 0);
	expect_row(&rs, 1, 1, 5, 1);
	expect_row(&rs, 2, 3, 5, 0);
	expect_row(&rs, 3, 4, 1, 0);
	expect_row(&rs, 4, 4, 5, 1);
	expect_row(&rs, 5, 4, 9, 2);
	expect_row(&rs, 6, 6, 9, 0);
	/* after < version <= upto. */
	rs = (struct rows){0};
	assert_int_equal(cds_store_tepoch_changes(f->s, 1, 1, 4, collect, &rs,
						  &f->err), CDS_OK);
	assert_int_equal(rs.n, 4);
	expect_row(&rs, 0, 3, 5, 0);
	expect_row(&rs, 3, 4, 9, 2);
	rs = (struct rows){0};
	assert_int_equal(cds_store_tepoch_changes(f->s, 2, 0, UINT64_MAX,
						  collect, &rs, &f->err),
			 CDS_OK);
	assert_int_equal(rs.n, 3);
	expect_row(&rs, 0, 2, 5, 0);
	expect_row(&rs, 1, 5, 0, 0);
	expect_row(&rs, 2, 5, 5, 1);
	/* Empty ranges. */
	rs = (struct rows){0};
	assert_int_equal(cds_store_tepoch_changes(f->s, 1, 4, 4, collect, &rs,
						  &f->err), CDS_OK);
	assert_int_equal(cds_store_tepoch_changes(f->s, 1, 5, 3, collect, &rs,
						  &f->err), CDS_OK);
	assert_int_equal(cds_store_tepoch_changes(f->s, 2, 2, 4, collect, &rs,
						  &f->err), CDS_OK);
	assert_int_equal(rs.n, 0);
}

static void test_empty_history(void **state)
{
	struct fx *f = *state;
	struct versions vs = {0};
	struct rows rs = {0};
	uint64_t seen = 99, first = 77;
	bool found = true, held = false;

	expect_last(f, f->s, 0);
	assert_int_equal(cds_store_tversions(f->s, 1, 100, collect_version, &vs,
					     &seen, &f->err), CDS_OK);
	assert_int_equal(vs.n, 0);
	assert_int_equal(seen, 0);
	assert_int_equal(cds_store_tepoch_first(f->s, 1, &first, &found, &f->err),
			 CDS_OK);
	assert_false(found);
	assert_int_equal(first, 77);
	assert_int_equal(cds_store_tchanges(f->s, 1, 0, 100, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(cds_store_thistory(f->s, 1, 0, 0, collect, &rs,
					    &f->err), CDS_OK);
	assert_int_equal(cds_store_tepoch_changes(f->s, 1, 0, 100, collect, &rs,
						  &f->err), CDS_OK);
	assert_int_equal(rs.n, 0);
	assert_int_equal(cds_store_tseal_try(f->s, &held, &f->err), CDS_OK);
	assert_true(held);
}

static void test_reopen(void **state)
{
	struct fx *f = *state;
	struct rows rs = {0};

	two_epochs(f);
	cds_store_close(f->s);
	f->s = NULL;
	assert_int_equal(cds_store_open(&f->s, f->dir, &f->err), CDS_OK);
	expect_last(f, f->s, 6);
	assert_int_equal(cds_store_tepoch_changes(f->s, 1, 0, 6, collect, &rs,
						  &f->err), CDS_OK);
	assert_int_equal(rs.n, 7);
	expect_row(&rs, 5, 4, 9, 2);
	append_ok(f, 7, 2, (const uint32_t[]){3}, 1);
	expect_last(f, f->s, 7);
}

/* Rows counted, checked to come in strictly ascending (version, prefix). */
struct order {
	size_t n;
	uint64_t version;
	uint32_t prefix;
};

static int count_ordered(void *ctx, uint64_t version,
			 const struct cds_tchange *c)
{
	struct order *o = ctx;

	if (o->n)
		assert_true(version > o->version ||
			    (version == o->version && c->prefix > o->prefix));
	assert_true(c->n_added >= 1);
	o->n++;
	o->version = version;
	o->prefix = c->prefix;
	return 0;
}

static int count_version(void *ctx, const struct cds_tversion *v)
{
	struct order *o = ctx;

	assert_int_equal(v->head.version, o->version + 1);
	o->n++;
	o->version = v->head.version;
	return 0;
}

/*
 * Long walks: more rows than one page of the PostgreSQL backend's reads
 * (512), with a page boundary inside a version (3 rows each).
 */
#define MANY 600
static void test_long_walks(void **state)
{
	struct fx *f = *state;
	const uint32_t p[] = {3, 5, 9};
	struct order o = {0};
	uint64_t seen = 0;

	for (uint64_t v = 1; v <= MANY; v++)
		append_ok(f, v, 1, p, 3);
	assert_int_equal(cds_store_tepoch_changes(f->s, 1, 0, MANY,
						  count_ordered, &o, &f->err),
			 CDS_OK);
	assert_int_equal(o.n, 3 * MANY);
	o = (struct order){0};
	assert_int_equal(cds_store_tepoch_changes(f->s, 1, 100, 400,
						  count_ordered, &o, &f->err),
			 CDS_OK);
	assert_int_equal(o.n, 3 * 300);
	o = (struct order){0};
	assert_int_equal(cds_store_thistory(f->s, 1, 5, 10, count_ordered, &o,
					    &f->err), CDS_OK);
	assert_int_equal(o.n, MANY - 10);
	o = (struct order){0};
	assert_int_equal(cds_store_tversions(f->s, 1, SIZE_MAX, count_version,
					     &o, &seen, &f->err), CDS_OK);
	assert_int_equal(o.n, MANY);
	assert_int_equal(seen, MANY);
	o = (struct order){.version = 49};
	assert_int_equal(cds_store_tversions(f->s, 50, 520, count_version, &o,
					     &seen, &f->err), CDS_OK);
	assert_int_equal(o.n, 520);
	assert_int_equal(seen, 569);
}

/* Try the sealer lock until granted or ms pass; whether it was granted. */
static bool seal_within(struct fx *f, struct cds_store *s, int64_t ms)
{
	int64_t end = cds_monotonic_us() + ms * 1000;
	bool held = false;

	while (!held && cds_monotonic_us() < end) {
		assert_int_equal(cds_store_tseal_try(s, &held, &f->err), CDS_OK);
		if (!held)
			usleep(1000);
	}
	return held;
}

/*
 * The sealer lock: on SQLite always granted; on PostgreSQL one
 * connection at a time, freed when its holder's connection closes.
 */
static void test_seal_lock(void **state)
{
	struct fx *f = *state;
	struct cds_store *other = NULL;
	bool held = false;

	assert_int_equal(cds_store_open(&other, f->dir, &f->err), CDS_OK);
	assert_int_equal(cds_store_tseal_try(f->s, &held, &f->err), CDS_OK);
	assert_true(held);
	assert_int_equal(cds_store_tseal_try(f->s, &held, &f->err), CDS_OK);
	assert_true(held); /* again: kept */
	assert_int_equal(cds_store_tseal_try(other, &held, &f->err), CDS_OK);
	assert_int_equal(held, storetest_pg() == NULL);
	assert_int_equal(cds_store_tseal_try(other, &held, &f->err), CDS_OK);
	assert_int_equal(held, storetest_pg() == NULL);
	cds_store_close(f->s);
	f->s = NULL;
	/* The session's end frees it, once the server has seen the close. */
	assert_true(seal_within(f, other, 30000));
	assert_int_equal(cds_store_open(&f->s, f->dir, &f->err), CDS_OK);
	assert_int_equal(cds_store_tseal_try(f->s, &held, &f->err), CDS_OK);
	assert_int_equal(held, storetest_pg() == NULL);
	cds_store_close(other);
}

/* A data directory made before transparency gains the tables. */
static void test_migration(void **state)
{
	struct fx *f = *state;
	const char *url = storetest_pg();

	cds_store_close(f->s);
	f->s = NULL;
	if (url) {
		cds_pg_remove(url);
		assert_int_equal(cds_pg_create_version(url, BITS,
						       CDS_PG_SCHEMA_VERSION - 1,
						       &f->err), CDS_OK);
	} else {
		cds_sqlite_remove(f->dir);
		assert_int_equal(cds_sqlite_create_version(f->dir, BITS,
							   CDS_SQLITE_SCHEMA_VERSION - 1,
							   &f->err), CDS_OK);
	}
	assert_int_equal(cds_store_open(&f->s, f->dir, &f->err), CDS_OK);
	expect_last(f, f->s, 0);
	two_epochs(f);
	expect_last(f, f->s, 6);
}

/* Run sql on the test database; true if PostgreSQL accepted it. */
static bool pg_try(const char *sql)
{
	PGconn *c = PQconnectdb(storetest_pg());
	PGresult *r;
	bool ok;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	     PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	PQfinish(c);
	return ok;
}

/* PostgreSQL: the history is append-only, even for a direct client. */
static void test_append_only(void **state)
{
	struct fx *f = *state;

	if (!storetest_pg())
		skip();
	two_epochs(f);
	assert_false(pg_try("UPDATE cds.tversions SET time_ms = 0"));
	assert_false(pg_try("DELETE FROM cds.tversions WHERE version = 6"));
	assert_false(pg_try("UPDATE cds.tchanges SET added = ''::bytea"));
	assert_false(pg_try("DELETE FROM cds.tchanges"));
	expect_last(f, f->s, 6);
	assert_true(pg_try("SELECT count(*) FROM cds.tchanges"));
}

/* SQLite: run sql on the store's file, CHECK constraints off. */
static void sq_raw(struct fx *f, const char *sql)
{
	char path[4200];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/%s", f->dir, CDS_SQLITE_FILE);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA ignore_check_constraints = ON;",
				      NULL, NULL, NULL), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("sq_raw: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* A damaged row (a list or a hash of the wrong size) is refused, not read. */
static void test_damaged_rows(void **state)
{
	struct fx *f = *state;
	const uint32_t p[] = {1, 2};
	struct versions vs = {0};
	struct rows rs = {0};
	struct cds_tversion v;
	uint64_t seen;
	bool found;

	if (storetest_pg())
		skip(); /* the trigger and the CHECKs guard every row */
	append_ok(f, 1, 1, p, 2);
	sq_raw(f, "UPDATE tchanges SET added = x'0102' WHERE prefix = 2;"
		  "UPDATE tversions SET root = x'00' WHERE version = 1");
	assert_int_equal(cds_store_tchanges(f->s, 1, 0, 10, collect, &rs,
					    &f->err), CDS_ERR_INTERNAL);
	assert_int_equal(rs.n, 1); /* prefix 1, before the damaged row */
	assert_int_equal(cds_store_tversion_last(f->s, &v, &found, &f->err),
			 CDS_ERR_INTERNAL);
	assert_false(found);
	assert_int_equal(cds_store_tversions(f->s, 1, 10, collect_version, &vs,
					     &seen, &f->err), CDS_ERR_INTERNAL);
	assert_int_equal(vs.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions_walk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_next_version_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_racing_sealers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_changes_paging, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_walks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoch_changes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_empty_history, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged_rows, setup,
						teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
