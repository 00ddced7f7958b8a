/*
 * bench_seal.c: the cost of sealing directory versions (DESIGN.md
 * "Directory transparency"; lib/index/tview.h).
 *
 *   bench_seal [--prefix-bits K] [--changes C1,C2,...] [--rounds R] N
 *
 * Builds a working index of N handles (random entries, K as `cdsctl init
 * --expected-handles N` picks it unless given), seals the epoch's first
 * version into a published view (diff_all, root_after, sign, apply), then
 * for each C (default 10,100,1000) seals versions of C random changes, R x
 * 2^K changes in all (default 1: both indexes compact every ~2^K / 5
 * changed buckets, so the figures include about five compactions): a third
 * new handles, a third rebound, a third removed, made with
 * cds_index_put/_remove as the mirror makes them.
 * A seal is what the sealer does per version apart from the store write:
 * take the dirty buckets, diff, root_after, sign the head, apply.
 *
 * Times are this thread's CPU time (the machine is shared).  Prints, each
 * beside a baseline from the same run:
 *   - the first version's time against one pass of leaf hashing over the
 *     whole directory and against one copy of it (cds_index_compact);
 *   - versions/s and the seal's time per version against the time the
 *     same changes took in the working index (cds_index_put/_remove);
 *   - SHA-256 calls per change (counted: every one, leaf or node, starts
 *     with crypto_hash_sha256_init, which this program wraps), against a
 *     full recomputation of the tree (2^(K+1) - 1 hashes).
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/timeutil.h"
#include "crypto/btree.h"
#include "crypto/thead.h"
#include "index/index.h"
#include "index/tview.h"

#define EPOCH 1
#define MAX_CHANGES 16

struct args {
	uint64_t n;
	int bits;
	size_t changes[MAX_CHANGES];
	size_t n_changes;
	unsigned rounds;
};

struct bench {
	unsigned k;
	struct cds_index *work;
	struct cds_tview *view;
	uint8_t pk[CDS_TKEY_PUBLIC_BYTES], sk[CDS_TKEY_SECRET_BYTES];
	uint64_t version;
	uint64_t rng;
};

static int usage(void)
{
	fputs("usage: bench_seal [--prefix-bits K] [--changes C1,C2,...] "
	      "[--rounds R] N\n", stderr);
	return 2;
}

static int parse_changes(struct args *a, const char *v)
{
	char *end;

	a->n_changes = 0;
	while (*v && a->n_changes < MAX_CHANGES) {
		a->changes[a->n_changes] = strtoul(v, &end, 10);
		if (end == v || a->changes[a->n_changes] == 0)
			return -1;
		a->n_changes++;
		v = *end == ',' ? end + 1 : end;
	}
	return *v ? -1 : 0;
}

static int parse(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->bits = -1;
	a->rounds = 1;
	parse_changes(a, "10,100,1000");
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--prefix-bits") && v) {
			a->bits = atoi(v);
			i++;
		} else if (!strcmp(argv[i], "--changes") && v) {
			if (parse_changes(a, v))
				return -1;
			i++;
		} else if (!strcmp(argv[i], "--rounds") && v) {
			a->rounds = (unsigned)strtoul(v, NULL, 10);
			i++;
		} else if (argv[i][0] != '-' && !a->n) {
			a->n = strtoull(argv[i], NULL, 10);
		} else {
			return -1;
		}
	}
	return a->n && a->rounds && a->bits <= CDS_PREFIX_BITS_MAX ? 0 : -1;
}

/* K as `cdsctl init --expected-handles N` picks it (about 90 a bucket). */
static unsigned bits_for(uint64_t n)
{
	unsigned k = 0;

	while (k < CDS_PREFIX_BITS_MAX && (double)n / (double)(1u << k) > 90.51)
		k++;
	return k;
}

/*
 * CPU time of this thread: the machine is shared, so wall time would
 * measure the other programs too; every figure here is single-threaded.
 */
static int64_t cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double secs_since(int64_t t0)
{
	return (double)(cpu_us() - t0) / 1e6;
}

/*
 * Every SHA-256 the library computes, leaf or node (cds_btree_leaf,
 * cds_mlog_node_hash through crypto_hash_sha256), starts here: this
 * definition takes the place of libsodium's for the whole program.
 */
static uint64_t sha256_calls;

int crypto_hash_sha256_init(crypto_hash_sha256_state *state)
{
	static int (*real)(crypto_hash_sha256_state *);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "crypto_hash_sha256_init");
	sha256_calls++;
	return real(state);
}

/* splitmix64: cheap reproducible choices (randombytes costs a syscall). */
static uint64_t next_rand(struct bench *b)
{
	uint64_t z = (b->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A working index of n random entries spread over 2^k buckets. */
static int build_work(struct bench *b, uint64_t n)
{
	uint32_t nb = cds_index_nbuckets(b->k), *off;
	size_t len = cds_index_region_bytes(b->k, n);
	uint8_t seed[randombytes_SEEDBYTES] = {1}, *entries;
	struct cds_error err;
	void *map;

	if (cds_index_map_anon(&map, len, &err))
		return fprintf(stderr, "bench_seal: %s\n", err.msg), -1;
	off = map;
	entries = (uint8_t *)map + ((size_t)nb + 1) * sizeof(uint32_t);
	for (uint64_t i = 0; i < n; i++)
		off[(next_rand(b) % nb) + 1]++;
	for (uint32_t p = 0; p < nb; p++)
		off[p + 1] += off[p];
	randombytes_buf_deterministic(entries, n * CDS_ENTRY_BYTES, seed);
	for (uint32_t p = 0; p < nb; p++)
		cds_index_sort_bucket(entries + (size_t)off[p] * CDS_ENTRY_BYTES,
				      off[p + 1] - off[p]);
	if (cds_index_new(&b->work, EPOCH, b->k, map, len, off, entries, NULL,
			  0, &err))
		return fprintf(stderr, "bench_seal: %s\n", err.msg), -1;
	return 0;
}

/* Where a seal's time goes. */
struct phases {
	double diff, root, sign, apply;
};

/*
 * One version as the sealer makes it (but for the store write): the dirty
 * buckets diffed against the view, the would-be root, the head signed, the
 * version applied.  *hashes gets its SHA-256 calls; ph (may be NULL) the
 * time of each step.
 */
static int seal(struct bench *b, bool all, uint64_t *hashes, size_t *buckets,
		struct phases *ph)
{
	struct cds_error err;
	struct cds_tdiff *d = NULL;
	struct cds_thead h = {0};
	uint32_t *dirty = NULL;
	struct phases t;
	size_t n;
	int64_t t0 = cpu_us();
	uint64_t calls = sha256_calls;
	int rc = -1;

	if (cds_index_dirty_take(b->work, &dirty, &n, &err) ||
	    (all ? cds_tview_diff_all(b->view, b->work, &d, &err)
		 : cds_tview_diff(b->view, b->work, dirty, n, &d, &err)))
		goto out;
	t.diff = secs_since(t0);
	h.epoch = EPOCH;
	h.version = ++b->version;
	h.time_ms = (uint64_t)(cds_now_us() / 1000);
	t0 = cpu_us();
	if (cds_tview_root_after(b->view, d, h.root, &err))
		goto out;
	t.root = secs_since(t0);
	t0 = cpu_us();
	cds_thead_sign(&h, b->sk);
	t.sign = secs_since(t0);
	t0 = cpu_us();
	if (cds_tview_apply(b->view, &h, d->ch, d->n, &err))
		goto out;
	t.apply = secs_since(t0);
	*hashes = sha256_calls - calls;
	*buckets = d->n;
	if (ph)
		*ph = t;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_seal: version %" PRIu64 ": %s\n",
			b->version, err.msg);
	cds_tdiff_free(d);
	free(dirty);
	return rc;
}

/* One pass of leaf hashing over every bucket: the first version's floor. */
static double hash_pass(struct bench *b)
{
	struct cds_buf buf;
	struct cds_error err;
	uint8_t leaf[CDS_HASH_BYTES];
	int64_t t0 = cpu_us();

	cds_buf_init(&buf);
	for (uint32_t p = 0; p < cds_index_nbuckets(b->k); p++) {
		cds_buf_reset(&buf);
		if (cds_index_bucket(b->work, p, &buf, NULL, &err) == CDS_OK)
			cds_btree_leaf(leaf, EPOCH, p, buf.data,
				       buf.len / CDS_ENTRY_BYTES);
	}
	cds_buf_fini(&buf);
	return secs_since(t0);
}

static int first_version(struct bench *b, uint64_t n)
{
	struct cds_error err;
	uint64_t hashes;
	size_t buckets;
	struct phases ph;
	double t_hash, t_copy, t_seal;
	int64_t t0;

	t_hash = hash_pass(b);
	t0 = cpu_us();
	if (cds_index_compact(b->work, &err))
		return fprintf(stderr, "bench_seal: %s\n", err.msg), -1;
	t_copy = secs_since(t0);
	t0 = cpu_us();
	if (seal(b, true, &hashes, &buckets, &ph))
		return -1;
	t_seal = secs_since(t0);
	printf("first version: %" PRIu64 " handles, %zu buckets: %.3f s "
	       "(%.2fx one leaf-hash pass %.3f s, %.2fx one copy %.3f s); "
	       "%" PRIu64 " hashes\n", n, buckets, t_seal, t_seal / t_hash,
	       t_hash, t_seal / t_copy, t_copy, hashes);
	printf("  diff_all %.3f s, root_after %.3f s, sign %.6f s, apply "
	       "%.3f s\n", ph.diff, ph.root, ph.sign, ph.apply);
	return 0;
}

enum { OP_NEW, OP_REBIND, OP_REMOVE };

struct op {
	int kind;
	uint32_t bucket;
	uint8_t out[CDS_OPRF_OUTPUT_BYTES];
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	uint8_t ik[CDS_IDENTITY_KEY_BYTES];
};

static void fill(struct bench *b, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next_rand(b);
}

/* c changes (a third of each kind), targets picked before any timing. */
static void pick_ops(struct bench *b, struct op *ops, size_t c,
		     struct cds_buf *buf)
{
	struct cds_error err;

	for (size_t i = 0; i < c; i++) {
		struct op *o = &ops[i];
		size_t n;

		o->kind = (int)(i % 3);
		o->bucket = (uint32_t)(next_rand(b) % cds_index_nbuckets(b->k));
		fill(b, o->out, sizeof(o->out));
		fill(b, o->account, sizeof(o->account));
		fill(b, o->ik, sizeof(o->ik));
		if (o->kind == OP_NEW)
			continue;
		cds_buf_reset(buf);
		if (cds_index_bucket(b->work, o->bucket, buf, NULL, &err) ||
		    (n = buf->len / CDS_ENTRY_BYTES) == 0) {
			o->kind = OP_NEW;
			continue;
		}
		memcpy(o->out, buf->data + (next_rand(b) % n) * CDS_ENTRY_BYTES,
		       CDS_FP_BYTES);
	}
}

static int apply_ops(struct bench *b, const struct op *ops, size_t c)
{
	struct cds_error err;
	bool done;

	for (size_t i = 0; i < c; i++) {
		const struct op *o = &ops[i];
		enum cds_err rc = o->kind == OP_REMOVE
			? cds_index_remove(b->work, o->bucket, o->out, &done, &err)
			: cds_index_put(b->work, o->bucket, o->out, o->account,
					o->ik, &done, &err);
		if (rc)
			return fprintf(stderr, "bench_seal: %s\n", err.msg), -1;
	}
	return 0;
}

struct totals {
	double *put, *seal;   /* per version */
	uint64_t hashes, versions;
	size_t buckets;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double sum(const double *x, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s;
}

/* Sorts x. */
static double median(double *x, size_t n)
{
	qsort(x, n, sizeof(*x), cmp_double);
	return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/*
 * Means include the compactions both indexes make now and then (a copy of
 * the whole directory); medians are a version's own cost without them.
 */
static void report(const struct bench *b, size_t c, struct totals *t)
{
	size_t n = (size_t)t->versions;
	double put = sum(t->put, n), seal = sum(t->seal, n);
	uint64_t full = (UINT64_C(2) << b->k) - 1;

	printf("%zu changes a version: %zu versions, %.1f buckets changed "
	       "each, %.1f versions/s\n", c, n,
	       (double)t->buckets / (double)n, (double)n / seal);
	printf("  seal mean %.3f ms = %.2fx the same changes in the working "
	       "index (%.3f ms)\n", 1e3 * seal / (double)n, seal / put,
	       1e3 * put / (double)n);
	seal = median(t->seal, n);
	put = median(t->put, n);
	printf("  seal median %.3f ms = %.2fx (%.3f ms)\n", 1e3 * seal,
	       seal / put, 1e3 * put);
	printf("  %.1f SHA-256 a change, %.1f a version = %.5fx recomputing "
	       "the tree (%" PRIu64 ")\n",
	       (double)t->hashes / (double)(n * c),
	       (double)t->hashes / (double)n,
	       (double)t->hashes / (double)n / (double)full, full);
}

/* Versions of c changes, `total` changes in all (at least 3 versions). */
static int run_versions(struct bench *b, size_t c, uint64_t total)
{
	size_t max = (size_t)((total + c - 1) / c);
	struct op *ops = calloc(c, sizeof(*ops));
	struct totals t = {0};
	struct cds_buf buf;
	int rc = 0;

	if (max < 3)
		max = 3;
	t.put = calloc(max, sizeof(double));
	t.seal = calloc(max, sizeof(double));
	if (!ops || !t.put || !t.seal)
		rc = -1;
	cds_buf_init(&buf);
	for (; !rc && t.versions < max; t.versions++) {
		uint64_t hashes = 0;
		size_t buckets = 0;
		int64_t t0;

		pick_ops(b, ops, c, &buf);
		t0 = cpu_us();
		rc = apply_ops(b, ops, c);
		t.put[t.versions] = secs_since(t0);
		t0 = cpu_us();
		if (!rc)
			rc = seal(b, false, &hashes, &buckets, NULL);
		t.seal[t.versions] = secs_since(t0);
		t.hashes += hashes;
		t.buckets += buckets;
	}
	if (!rc)
		report(b, c, &t);
	cds_buf_fini(&buf);
	free(t.put);
	free(t.seal);
	free(ops);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a;
	struct bench b = {0};
	struct cds_error err;
	int64_t t0;
	int rc = 1;

	if (parse(argc, argv, &a))
		return usage();
	if (sodium_init() < 0)
		return 1;
	b.k = a.bits >= 0 ? (unsigned)a.bits : bits_for(a.n);
	b.rng = 42;
	crypto_sign_keypair(b.pk, b.sk);
	t0 = cpu_us();
	if (build_work(&b, a.n) ||
	    cds_tview_new(&b.view, EPOCH, b.k, &err) != CDS_OK)
		goto out;
	printf("bench_seal: %" PRIu64 " handles, K = %u (%u buckets), built "
	       "in %.1f s\n", a.n, b.k, cds_index_nbuckets(b.k),
	       secs_since(t0));
	if (first_version(&b, a.n))
		goto out;
	for (size_t i = 0; i < a.n_changes; i++)
		if (run_versions(&b, a.changes[i],
				 (uint64_t)a.rounds << b.k))
			goto out;
	printf("memory: view %.1f MiB, working index %.1f MiB\n",
	       (double)cds_tview_memory(b.view) / 1048576.0,
	       (double)cds_index_memory(b.work) / 1048576.0);
	rc = 0;
out:
	cds_tview_free(b.view);
	cds_index_free(b.work);
	sodium_memzero(b.sk, sizeof(b.sk));
	return rc;
}
