/*
 * bench_client.c: client figures.
 *
 *   crypto   blind + verify batched proof + finalise, elements/s, on one
 *            thread and on two (the client splits large address books in
 *            two halves, one per core); no server needed
 *   discover end-to-end private discovery of an address book against a
 *            running cdsd (wall time, best and median of ROUNDS)
 *   sync     with a fresh cache: first sync, unchanged sync, sync after
 *            adding one contact: wall time, bytes down, OPRF evaluations,
 *            buckets fetched and 304s, and the bytes of directory
 *            transparency (inclusion proofs, signed heads, consistency
 *            proofs) beside the entries' bytes
 *
 * Usage: bench_client [--elements N] [--rounds R]
 *                     [--server URL --token TOKEN --book FILE]
 * The server part runs only with all three of --server, --token, --book.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cds/client.h"
#include "crypto/oprf.h"

struct args {
	long elements, rounds;
	const char *server, *token, *book;
};

/* One thread's share of the elements and its buffers. */
struct share {
	const uint8_t *pk;
	size_t n;
	uint8_t *in, *bl, *bd, *ev, *out, proof[64];
	const uint8_t **ptrs;
	size_t *lens;
	int failed;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int share_init(struct share *s, const uint8_t *pk, long first, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->pk = pk;
	s->n = n;
	s->in = malloc(n * 24);
	s->bl = malloc(n * 32);
	s->bd = malloc(n * 32);
	s->ev = malloc(n * 32);
	s->out = malloc(n * 64);
	s->ptrs = malloc(n * sizeof(*s->ptrs));
	s->lens = malloc(n * sizeof(*s->lens));
	if (!s->in || !s->bl || !s->bd || !s->ev || !s->out || !s->ptrs || !s->lens)
		return -1;
	for (size_t i = 0; i < n; i++) {
		s->lens[i] = (size_t)snprintf((char *)s->in + i * 24, 24,
					      "tel:+1555%07ld", first + (long)i);
		s->ptrs[i] = s->in + i * 24;
	}
	return 0;
}

static void share_fini(struct share *s)
{
	if (s->bl)
		sodium_memzero(s->bl, s->n * 32);
	free(s->in), free(s->bl), free(s->bd), free(s->ev), free(s->out);
	free(s->ptrs), free(s->lens);
}

static void *blind_share(void *v)
{
	struct share *s = v;
	struct cds_error err;

	for (size_t i = 0; !s->failed && i < s->n; i++)
		s->failed = cds_oprf_blind(s->bl + i * 32, s->bd + i * 32,
					   CDS_OPRF_MODE_VOPRF, s->ptrs[i],
					   s->lens[i], NULL, &err) != CDS_OK;
	return NULL;
}

static void *finalize_share(void *v)
{
	struct share *s = v;
	struct cds_error err;

	if (!s->failed)
		s->failed = cds_oprf_finalize(s->out, CDS_OPRF_MODE_VOPRF, s->pk,
					      s->ptrs, s->lens, s->bl, s->bd,
					      s->ev, s->n, s->proof, NULL, 0,
					      &err) != CDS_OK;
	return NULL;
}

/* Run fn on each share, one thread per share; seconds of wall time. */
static double parallel(void *(*fn)(void *), struct share *s, int k)
{
	pthread_t tid[2];
	double t0 = now();
	int started = 0;

	for (int i = 1; i < k; i++)
		if (pthread_create(&tid[i], NULL, fn, &s[i]) == 0)
			started = i;
		else
			fn(&s[i]);
	fn(&s[0]);
	for (int i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	return now() - t0;
}

/* The client's cost for n elements on k threads (1 or 2): blinding and
 * verify+finalise are timed; the server's evaluation in between is not. */
static double client_seconds(const uint8_t *sk, const uint8_t *pk, long n,
			     int k, int *failed)
{
	struct share s[2];
	struct cds_error err;
	double t = 0;
	long half = n / k;

	for (int i = 0; i < k; i++)
		*failed |= share_init(&s[i], pk, i * half,
				      (size_t)(i == k - 1 ? n - i * half : half));
	if (!*failed)
		t += parallel(blind_share, s, k);
	for (int i = 0; !*failed && i < k; i++)
		*failed |= s[i].failed ||
			cds_oprf_blind_evaluate(s[i].ev, s[i].proof,
						CDS_OPRF_MODE_VOPRF, sk, s[i].bd,
						s[i].n, NULL, 0, NULL, &err) != CDS_OK;
	if (!*failed)
		t += parallel(finalize_share, s, k);
	for (int i = 0; i < k; i++) {
		*failed |= s[i].failed;
		share_fini(&s[i]);
	}
	return t;
}

static int bench_crypto(long n)
{
	uint8_t sk[32], pk[32];
	int failed = 0;
	double t1, t2;

	cds_oprf_keygen(sk, pk);
	t1 = client_seconds(sk, pk, n, 1, &failed);
	t2 = client_seconds(sk, pk, n, 2, &failed);
	if (failed)
		return fprintf(stderr, "bench_client: OPRF failed\n"), 1;
	printf("client crypto (blind + verify batched proof + finalise), %ld elements:\n",
	       n);
	printf("  1 thread   %10.0f elements/s  (%.1f us/element)\n", n / t1,
	       t1 * 1e6 / n);
	printf("  2 threads  %10.0f elements/s  (%.1f us/element)\n", n / t2,
	       t2 * 1e6 / n);
	return 0;
}

static int new_client(struct cds_client **c, const struct args *a,
		      const char *cache)
{
	struct cds_client_options o;
	struct cds_error err;

	cds_client_options_init(&o);
	o.server_url = a->server;
	o.token = a->token;
	o.cache_path = cache;
	if (cds_client_new(c, &o, &err) ||
	    cds_client_load_addressbook(*c, a->book, NULL, NULL, &err)) {
		fprintf(stderr, "bench_client: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static int bench_discover(const struct args *a)
{
	struct cds_client *c = NULL;
	struct cds_client_stats st;
	struct cds_error err;
	double *t = calloc((size_t)a->rounds, sizeof(*t));
	int rc = new_client(&c, a, NULL);

	for (long r = 0; !rc && t && r < a->rounds; r++) {
		double t0 = now();

		rc = cds_client_discover(c, 0, &err) != CDS_OK;
		t[r] = now() - t0;
		if (rc)
			fprintf(stderr, "bench_client: discover: %s\n", err.msg);
	}
	if (!rc && t) {
		cds_client_get_stats(c, &st);
		qsort(t, (size_t)a->rounds, sizeof(*t), cmp_double);
		printf("discover: %zu contacts, %zu handles, %zu registered\n",
		       st.contacts, st.handles, st.registered);
		printf("  wall      best %.1f ms, median %.1f ms (%ld rounds)\n",
		       t[0] * 1e3, t[a->rounds / 2] * 1e3, a->rounds);
		printf("  per round %llu OPRF evaluations, %llu buckets, %llu bytes down\n",
		       (unsigned long long)st.oprf_evaluations,
		       (unsigned long long)st.buckets_fetched,
		       (unsigned long long)st.bytes_down);
	}
	free(t);
	cds_client_free(c);
	return rc;
}

/*
 * What directory transparency adds to an operation: the inclusion proofs
 * (base64 in the JSON, as sent: 4/3 of their bytes) and the bodies of the
 * signed heads and consistency proofs, beside the entries' base64 bytes
 * and the whole transfer.
 */
static void print_transparency(const struct cds_client_stats *st)
{
	double proofs = (double)st->proof_bytes * 4 / 3;
	double entries = (double)st->entry_bytes * 4 / 3;
	double extra = proofs + (double)st->transparency_bytes;

	printf("  %-10s proofs %.0f B + heads %llu B = %.0f B: %.3f of the entries' %.0f B, %.3f of all bytes down\n",
	       "", proofs, (unsigned long long)st->transparency_bytes, extra,
	       entries > 0 ? extra / entries : 0.0, entries,
	       st->bytes_down ? extra / (double)st->bytes_down : 0.0);
}

static int sync_once(struct cds_client *c, const char *label)
{
	struct cds_client_stats st;
	struct cds_error err;
	double t0 = now();

	if (cds_client_sync(c, &err)) {
		fprintf(stderr, "bench_client: sync: %s\n", err.msg);
		return 1;
	}
	cds_client_get_stats(c, &st);
	printf("  %-10s %8.1f ms  %9llu bytes down  %5llu OPRF  %5llu buckets  %5llu x 304\n",
	       label, (now() - t0) * 1e3, (unsigned long long)st.bytes_down,
	       (unsigned long long)st.oprf_evaluations,
	       (unsigned long long)st.buckets_fetched,
	       (unsigned long long)st.buckets_not_modified);
	print_transparency(&st);
	return 0;
}

static int bench_sync(const struct args *a)
{
	char cache[] = "/tmp/bench_client.XXXXXX", raw[64];
	const char *entry = raw;
	struct cds_client *c = NULL;
	struct cds_error err;
	uint64_t id = 0;
	int fd = mkstemp(cache), rc;

	if (fd < 0)
		return perror("bench_client: mkstemp"), 1;
	close(fd);
	unlink(cache); /* the client creates it, 0600 */
	rc = new_client(&c, a, cache);
	printf("sync:\n");
	if (!rc)
		rc = sync_once(c, "first");
	if (!rc)
		rc = sync_once(c, "unchanged");
	snprintf(raw, sizeof(raw), "bench-%08x@example.org", randombytes_random());
	if (!rc && cds_client_contact_add(c, &id, "bench", &entry, 1, NULL, &err)) {
		fprintf(stderr, "bench_client: %s\n", err.msg);
		rc = 1;
	}
	if (!rc)
		rc = sync_once(c, "one new");
	cds_client_free(c);
	unlink(cache);
	return rc;
}

static int parse(struct args *a, int argc, char **argv)
{
	/* Every option takes a value: step over both. */
	for (int i = 1; i < argc; i += 2) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return fprintf(stderr, "bench_client: %s needs a value\n", o), 2;
		if (!strcmp(o, "--elements"))
			a->elements = atol(v);
		else if (!strcmp(o, "--rounds"))
			a->rounds = atol(v);
		else if (!strcmp(o, "--server"))
			a->server = v;
		else if (!strcmp(o, "--token"))
			a->token = v;
		else if (!strcmp(o, "--book"))
			a->book = v;
		else
			return fprintf(stderr, "bench_client: unknown option '%s'\n", o), 2;
	}
	if (a->elements < 2 || a->rounds < 1)
		return fprintf(stderr, "bench_client: --elements >= 2, --rounds >= 1\n"), 2;
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = {2000, 5, NULL, NULL, NULL};
	int rc = parse(&a, argc, argv);

	if (rc)
		return rc;
	if (sodium_init() < 0)
		return 1;
	rc = bench_crypto(a.elements);
	if (!rc && a.server && a.token && a.book)
		rc = bench_discover(&a) || bench_sync(&a);
	else if (!rc)
		printf("(no --server/--token/--book: end-to-end figures skipped)\n");
	return rc;
}
