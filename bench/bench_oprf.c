/*
 * bench_oprf.c: single-threaded OPRF figures (DESIGN.md "Figures"):
 *
 *   bare       crypto_scalarmult_ristretto255, the floor per element
 *   server     cds_oprf_blind_evaluate, VOPRF, batches of 1000, with the
 *              batched proof; elements/s and the cost ratio to bare
 *   client     cds_oprf_blind + cds_oprf_finalize (proof verified)
 *   evaluate   cds_oprf_evaluate, as the index build uses it
 *
 * Usage: bench_oprf [ITERATIONS]   (batches of 1000 per figure, default 5)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto/oprf.h"

#define BATCH 1000
#define MODE CDS_OPRF_MODE_VOPRF

struct batch {
	uint8_t in[BATCH][24];
	const uint8_t *ptrs[BATCH];
	size_t lens[BATCH];
	uint8_t blinds[BATCH * 32], blinded[BATCH * 32], evaluated[BATCH * 32];
	uint8_t outputs[BATCH * 64], proof[64];
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int die(const char *what, const struct cds_error *err)
{
	fprintf(stderr, "bench_oprf: %s: %s\n", what, err->msg);
	return 1;
}

/* Phone-number-like handles, distinct per batch. */
static void make_inputs(struct batch *b, long k)
{
	for (int i = 0; i < BATCH; i++) {
		int n = snprintf((char *)b->in[i], sizeof(b->in[i]),
				 "tel:+1555%07ld", k * BATCH + i);

		b->ptrs[i] = b->in[i];
		b->lens[i] = (size_t)n;
	}
}

/* One batch worth of bare scalar multiplications: seconds taken. */
static double bench_bare(void)
{
	uint8_t sc[32], p[32], q[32];
	double t;

	crypto_core_ristretto255_scalar_random(sc);
	crypto_core_ristretto255_random(p);
	t = now();
	/* An external library call: the compiler cannot drop it. */
	for (int i = 0; i < BATCH; i++)
		if (crypto_scalarmult_ristretto255(q, sc, p) != 0)
			return -1;
	return now() - t;
}

static int bench_evaluate(double *secs, const struct batch *b,
			  const uint8_t sk[32], struct cds_error *err)
{
	uint8_t out[64];
	double t = now();

	for (int i = 0; i < BATCH; i++)
		if (cds_oprf_evaluate(out, MODE, sk, b->ptrs[i], b->lens[i],
				      NULL, 0, err))
			return 1;
	*secs += now() - t;
	return 0;
}

static int client_blind(struct batch *b, struct cds_error *err)
{
	for (int i = 0; i < BATCH; i++)
		if (cds_oprf_blind(b->blinds + 32 * i, b->blinded + 32 * i, MODE,
				   b->ptrs[i], b->lens[i], NULL, err))
			return 1;
	return 0;
}

static int client_finalize(struct batch *b, const uint8_t pk[32],
			   struct cds_error *err)
{
	return cds_oprf_finalize(b->outputs, MODE, pk, b->ptrs, b->lens,
				 b->blinds, b->blinded, b->evaluated, BATCH,
				 b->proof, NULL, 0, err) != CDS_OK;
}

/*
 * The figures are interleaved batch by batch, so that a busy machine slows
 * the bare baseline and the protocol alike and the ratio stays meaningful;
 * the best batch of each is printed too, the least disturbed figure.
 */
int main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 5;
	uint8_t sk[32], pk[32];
	double bare = 0, server = 0, client = 0, eval = 0, t, n, x;
	double best_bare = 1e30, best_server = 1e30;
	struct cds_error err;
	struct batch *b = calloc(1, sizeof(*b));

	if (sodium_init() < 0 || !b || iters < 1) {
		fprintf(stderr, "usage: bench_oprf [ITERATIONS >= 1]\n");
		free(b);
		return 2;
	}
	cds_error_clear(&err);
	cds_oprf_keygen(sk, pk);
	for (long k = 0; k < iters; k++) {
		make_inputs(b, k);
		x = bench_bare();
		bare += x;
		best_bare = x < best_bare ? x : best_bare;
		t = now();
		if (client_blind(b, &err))
			return die("blind", &err);
		client += now() - t;
		t = now();
		if (cds_oprf_blind_evaluate(b->evaluated, b->proof, MODE, sk,
					    b->blinded, BATCH, NULL, 0, NULL,
					    &err))
			return die("blind_evaluate", &err);
		x = now() - t;
		server += x;
		best_server = x < best_server ? x : best_server;
		t = now();
		if (client_finalize(b, pk, &err))
			return die("finalize", &err);
		client += now() - t;
		if (bench_evaluate(&eval, b, sk, &err))
			return die("evaluate", &err);
	}
	n = (double)(iters * BATCH);
	printf("bench_oprf: ristretto255-SHA512 VOPRF, 1 thread, %ld x %d "
	       "elements\n", iters, BATCH);
	printf("bare scalarmult:          %10.0f ops/s\n", n / bare);
	printf("server blind_evaluate:    %10.0f elements/s (batch %d, with "
	       "proof), %.2fx bare\n", n / server, BATCH, server / bare);
	printf("  best batches:           %10.0f vs %.0f ops/s, %.2fx bare\n",
	       BATCH / best_server, BATCH / best_bare, best_server / best_bare);
	printf("client blind+finalize:    %10.0f elements/s (proof verified)\n",
	       n / client);
	printf("evaluate (index build):   %10.0f elements/s\n", n / eval);
	sodium_memzero(sk, sizeof(sk));
	free(b);
	return 0;
}
