/*
 * workers.c: the parallel for-loop of workers.h.
 *
 * Invariant: every index in [0, n) is passed to fn exactly once, in exactly
 * one chunk, whatever number of threads actually started.
 */
#include "index/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
	atomic_size_t next;
	size_t n, grain;
	cds_workers_fn fn;
	void *ctx;
};

struct worker {
	struct job *job;
	unsigned id;
	pthread_t th;
};

unsigned cds_workers_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static void work(struct job *j, unsigned id)
{
	for (;;) {
		size_t begin = atomic_fetch_add(&j->next, j->grain);

		if (begin >= j->n)
			return;
		j->fn(j->ctx, begin, begin + j->grain < j->n ?
			      begin + j->grain : j->n, id);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	work(w->job, w->id);
	return NULL;
}

void cds_workers_run(unsigned threads, size_t n, size_t grain,
		     cds_workers_fn fn, void *ctx)
{
	struct job j = { .n = n, .grain = grain ? grain : 1, .fn = fn,
			 .ctx = ctx };
	struct worker *w = NULL;
	unsigned started = 0;

	atomic_init(&j.next, 0);
	if (threads > 1 && n > j.grain)
		w = calloc(threads - 1, sizeof(*w));
	for (unsigned i = 0; w && i + 1 < threads; i++) {
		w[started].job = &j;
		w[started].id = started + 1;
		if (pthread_create(&w[started].th, NULL, worker_main,
				   &w[started]))
			break;
		started++;
	}
	work(&j, 0);
	for (unsigned i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	free(w);
}
