/*
 * bench_index.c: the discovery index's figures (DESIGN.md: at most 128
 * bytes resident per registered handle, 10 million handles built in under
 * 10 minutes).
 *
 *   bench_index [--threads T] [--prefix-bits K] [--keep] N
 *       make a temporary data directory with N synthetic handles (cdsctl
 *       synth's generator), then measure;
 *   bench_index [--threads T] --data DIR
 *       measure an existing data directory (read only).
 *
 * Prints: build time and handles/s, resident bytes per handle by the
 * index's own accounting and by /proc/self/statm (RSS after the build minus
 * RSS before it, measured after a warm-up scan, so that the store's page
 * cache and the process's baseline are excluded), the time of a copy of
 * the index (cds_index_clone: how a sealer makes its working index from a
 * published view at start-up or takeover), and single-thread bucket
 * reads/s from memory.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "crypto/keys.h"
#include "index/build.h"
#include "index/index.h"
#include "store/store.h"
#include "store/synth.h"

struct args {
	uint64_t n;
	const char *data;
	unsigned threads;
	int bits; /* -1 = about 64 handles a bucket */
	int keep;
};

static int usage(void)
{
	fputs("usage: bench_index [--threads T] [--prefix-bits K] [--keep] N\n"
	      "       bench_index [--threads T] --data DIR\n",
	      stderr);
	return 2;
}

static int parse(int argc, char **argv, struct args *a)
{
	a->bits = -1;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--threads") && v) {
			a->threads = (unsigned)strtoul(v, NULL, 10);
			i++;
		} else if (!strcmp(argv[i], "--prefix-bits") && v) {
			a->bits = atoi(v);
			i++;
		} else if (!strcmp(argv[i], "--data") && v) {
			a->data = v;
			i++;
		} else if (!strcmp(argv[i], "--keep")) {
			a->keep = 1;
		} else if (argv[i][0] != '-' && !a->n) {
			a->n = strtoull(argv[i], NULL, 10);
		} else {
			fprintf(stderr, "bench_index: bad argument '%s'\n",
				argv[i]);
			return -1;
		}
	}
	if (!a->data && (a->n == 0 || a->n > CDS_SYNTH_MAX)) {
		fputs("bench_index: give N (1..512000000) or --data DIR\n",
		      stderr);
		return -1;
	}
	if (a->bits > CDS_PREFIX_BITS_MAX) {
		fprintf(stderr, "bench_index: --prefix-bits %d over %d\n",
			a->bits, CDS_PREFIX_BITS_MAX);
		return -1;
	}
	return 0;
}

static size_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static double secs_since(int64_t t0)
{
	return (double)(cds_monotonic_us() - t0) / 1e6;
}

static unsigned auto_bits(uint64_t n)
{
	unsigned b = 0;

	while (b < CDS_PREFIX_BITS_MAX && (n >> b) > 64)
		b++;
	return b;
}

/* A temporary data directory with n synthetic accounts. */
static int make_store(const struct args *a, char *dir, size_t cap)
{
	struct cds_synth_opts o = { .count = a->n, .seed = 1 };
	struct cds_store *s = NULL;
	struct cds_error err;
	unsigned bits = a->bits >= 0 ? (unsigned)a->bits : auto_bits(a->n);
	uint64_t done = 0;
	int64_t t0 = cds_monotonic_us();

	snprintf(dir, cap, "/tmp/cds-bench-index-XXXXXX");
	cds_error_clear(&err);
	if (!mkdtemp(dir) || cds_store_create(dir, bits, &err) ||
	    cds_keys_init(dir, &err) || cds_store_open(&s, dir, &err) ||
	    cds_synth_run(s, &o, &done, &err)) {
		fprintf(stderr, "bench_index: cannot make the store: %s\n",
			err.msg);
		cds_store_close(s);
		return -1;
	}
	cds_store_close(s);
	printf("store: %" PRIu64 " synthetic handles, prefix bits %u, made in "
	       "%.1f s (%s)\n", done, bits, secs_since(t0), dir);
	return 0;
}

/* Single-thread bucket reads from memory for about half a second. */
static void bench_reads(struct cds_index *ix)
{
	uint32_t nb = cds_index_nbuckets(cds_index_prefix_bits(ix));
	struct cds_buf b;
	struct cds_error err;
	uint64_t v, n = 0, bytes = 0;
	int64_t t0 = cds_monotonic_us();

	cds_buf_init(&b);
	while (cds_monotonic_us() - t0 < 500000) {
		for (int i = 0; i < 1000; i++) {
			cds_buf_reset(&b);
			if (cds_index_bucket(ix, randombytes_uniform(nb), &b,
					     &v, &err))
				break;
			bytes += b.len;
			n++;
		}
	}
	printf("bucket reads (1 thread, in memory): %.0f/s, %.0f bytes "
	       "average\n", (double)n / secs_since(t0),
	       n ? (double)bytes / (double)n : 0.0);
	cds_buf_fini(&b);
}

/* Copy the index, as a sealer copies a view; the copy replaces it. */
static int bench_copy(struct cds_index **ix)
{
	struct cds_index *copy = NULL;
	struct cds_error err;
	int64_t t0 = cds_monotonic_us();

	if (cds_index_clone(*ix, cds_index_seq(*ix), &copy, &err)) {
		fprintf(stderr, "bench_index: %s\n", err.msg);
		return -1;
	}
	printf("copy (a sealer's working index from its view): %.2f s\n",
	       secs_since(t0));
	cds_index_free(*ix);
	*ix = copy;
	return 0;
}

static int count_row(void *ctx, const char *handle, size_t len,
		     const struct cds_account *acct)
{
	(void)handle;
	(void)len;
	(void)acct;
	++*(uint64_t *)ctx;
	return 0;
}

static int run(const struct args *a, const char *dir)
{
	struct cds_index_build_opts o = { .threads = a->threads };
	struct cds_epoch_key *keys = NULL;
	struct cds_store *s = NULL;
	struct cds_index *ix = NULL;
	struct cds_error err;
	size_t nk = 0, rss0, rss1;
	unsigned bits;
	uint64_t evals = 0, n, seq, rows = 0;
	int64_t t0;
	double t;
	int rc = 1;

	cds_error_clear(&err);
	if (cds_store_open(&s, dir, &err) ||
	    cds_store_prefix_bits(s, &bits, &err) ||
	    cds_keys_load(dir, &keys, &nk, &err))
		goto out;
	/* A first scan fills the store's page cache, so RSS below is ours. */
	if (cds_store_scan(s, count_row, &rows, &seq, &err))
		goto out;
	rss0 = rss_bytes();
	t0 = cds_monotonic_us();
	if (cds_index_build(&ix, s, &keys[0], bits, &o, &evals, &err))
		goto out;
	t = secs_since(t0);
	rss1 = rss_bytes();
	n = cds_index_count(ix);
	printf("build: %" PRIu64 " handles, prefix bits %u, %u threads, "
	       "%.2f s, %.0f handles/s (10 M would take %.1f min)\n", n, bits,
	       a->threads ? a->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN),
	       t, t > 0 ? (double)n / t : 0.0,
	       t > 0 && n ? 1e7 / ((double)n / t) / 60.0 : 0.0);
	if (n) {
		printf("resident per handle, index accounting: %.1f bytes\n",
		       (double)cds_index_memory(ix) / (double)n);
		printf("resident per handle, /proc/self/statm: %.1f bytes "
		       "(RSS %.1f -> %.1f MB)\n",
		       (double)(rss1 > rss0 ? rss1 - rss0 : 0) / (double)n,
		       (double)rss0 / 1e6, (double)rss1 / 1e6);
	}
	bench_reads(ix);
	if (bench_copy(&ix))
		goto out_quiet;
	bench_reads(ix);
	rc = 0;
	goto out_quiet;
out:
	fprintf(stderr, "bench_index: %s\n", err.msg);
out_quiet:
	cds_index_free(ix);
	cds_keys_free(keys, nk);
	cds_store_close(s);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	char dir[64], cmd[128];
	int rc;

	if (sodium_init() < 0)
		return 1;
	cds_log_set_program("bench_index");
	if (parse(argc, argv, &a))
		return usage();
	if (a.data)
		return run(&a, a.data);
	if (make_store(&a, dir, sizeof(dir)))
		return 1;
	rc = run(&a, dir);
	if (!a.keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
