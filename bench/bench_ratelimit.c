/*
 * bench_ratelimit.c: what the per-account rate limit costs a request, in
 * one cdsd's memory (SQLite, one machine) and in a PostgreSQL store that
 * replicas share (one rate_charge call: store/shared.h).
 *
 *   pgserver.py -- bench_ratelimit [--store URL] [-n ACCOUNTS] [--pairs P]
 *
 * Makes a store with ACCOUNTS accounts (default 1000) in PostgreSQL (URL,
 * default $CDS_TEST_PG, which tests/integration/pgserver.py sets), then
 * runs P interleaved pairs (default 5) of: 200,000 charges of one token to
 * random accounts in memory (cds_ratelimit_charge), and 2,000 charges to
 * random accounts in the store over one connection
 * (cds_store_rate_charge, a round trip each).  Prints the median cost of
 * one charge of each, and their ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/timeutil.h"
#include "server/ratelimit.h"
#include "store/shared.h"
#include "store/store_impl.h"

#define MEM_CHARGES 200000
#define PG_CHARGES 2000

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, const struct cds_error *err)
{
	fprintf(stderr, "bench_ratelimit: %s: %s\n", what, err->msg);
	exit(1);
}

/* Microseconds per in-memory charge. */
static double run_memory(struct cds_ratelimit *rl, struct cds_new_account *a,
			 size_t n)
{
	struct cds_error err;
	uint32_t retry;
	int64_t t0 = cds_monotonic_us();

	for (int i = 0; i < MEM_CHARGES; i++)
		if (cds_ratelimit_charge(rl, a[randombytes_uniform((uint32_t)n)].id,
					 1, cds_now_us(), &retry, &err))
			die("memory charge", &err);
	return (double)(cds_monotonic_us() - t0) / MEM_CHARGES;
}

/* Microseconds per charge in the store. */
static double run_store(struct cds_store *s, struct cds_new_account *a,
			size_t n)
{
	const struct cds_rate_bucket b = {1e12, 1e12, 1};
	struct cds_error err;
	bool charged;
	double left;
	int64_t t0 = cds_monotonic_us();

	for (int i = 0; i < PG_CHARGES; i++)
		if (cds_store_rate_charge(s, a[randombytes_uniform((uint32_t)n)].id,
					  &b, 1, cds_now_us(), &charged, &left,
					  &err) || !charged)
			die("store charge", &err);
	return (double)(cds_monotonic_us() - t0) / PG_CHARGES;
}

int main(int argc, char **argv)
{
	const char *url = getenv("CDS_TEST_PG");
	size_t n = 1000;
	int pairs = 5;
	char dir[] = "/tmp/cds-bench-rate-XXXXXX";
	struct cds_new_account *a;
	struct cds_ratelimit *rl;
	struct cds_store *s = NULL;
	struct cds_error err;
	double mem[32], pg[32];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--store"))
			url = argv[i + 1];
		else if (!strcmp(argv[i], "-n"))
			n = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--pairs"))
			pairs = atoi(argv[i + 1]);
	}
	if (sodium_init() < 0 || !url || !n || pairs < 1 || pairs > 32 ||
	    !mkdtemp(dir)) {
		fprintf(stderr, "usage: bench_ratelimit [--store URL] [-n N] "
				"[--pairs 1..32] (or CDS_TEST_PG)\n");
		return 2;
	}
	cds_pg_remove(url);
	a = calloc(n, sizeof(*a));
	for (size_t i = 0; i < n; i++)
		randombytes_buf(a[i].identity_key, sizeof(a[i].identity_key));
	if (cds_store_create_at(dir, 4, url, &err) ||
	    cds_store_open(&s, dir, &err) ||
	    cds_store_accounts_create(s, a, n, &err) ||
	    cds_ratelimit_new(&rl, 1e12, 1e12, &err))
		die("setup", &err);
	for (int p = 0; p < pairs; p++) {
		mem[p] = run_memory(rl, a, n);
		pg[p] = run_store(s, a, n);
	}
	printf("rate-limit charge, %zu accounts, %d interleaved pairs (medians):\n",
	       n, pairs);
	printf("  in memory (one cdsd):          %8.3f us per charge\n",
	       median(mem, pairs));
	printf("  in PostgreSQL (rate_charge):   %8.3f us per charge\n",
	       median(pg, pairs));
	printf("  ratio PostgreSQL / memory:     %8.0f\n",
	       median(pg, pairs) / median(mem, pairs));
	cds_ratelimit_free(rl);
	cds_store_close(s);
	cds_pg_remove(url);
	sodium_memzero(a, n * sizeof(*a));
	free(a);
	for (const char *const *f = (const char *const[]){"admin.token",
							  "store.conf", NULL};
	     *f; f++) {
		char path[sizeof(dir) + 32];

		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}
