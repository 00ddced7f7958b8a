/*
 * parallel.c: the parallel for-loop of parallel.h.
 *
 * Invariants (besides parallel.h's): while the threads run, `next` and
 * `failed` are the only state they share; each worker writes only its own
 * slot, and a worker records at most one failure (it stops claiming after
 * it), so a slot needs no lock.
 */
#include "core/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
	cds_parallel_fn fn;
	void *ctx;
	size_t n, grain;
	atomic_size_t next;
	atomic_bool failed;
};

/* One worker's thread and its failure, if any. */
struct slot {
	struct job *job;
	unsigned id;
	pthread_t th;
	enum cds_err rc;
	size_t failed_at; /* begin of the failed chunk, if rc != CDS_OK */
	struct cds_error err;
};

unsigned cds_parallel_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static void work(struct slot *s)
{
	struct job *j = s->job;

	while (!atomic_load(&j->failed)) {
		size_t begin = atomic_fetch_add(&j->next, j->grain);
		size_t end;
		enum cds_err rc;

		if (begin >= j->n)
			return;
		end = j->n - begin > j->grain ? begin + j->grain : j->n;
		rc = j->fn(j->ctx, begin, end, s->id, &s->err);
		if (rc != CDS_OK) {
			s->rc = rc;
			s->failed_at = begin;
			atomic_store(&j->failed, true);
			return;
		}
	}
}

static void *thread_main(void *arg)
{
	work(arg);
	return NULL;
}

/* Invariant 3: the failure of the lowest chunk, into err. */
static enum cds_err first_failure(const struct slot *s, unsigned workers,
				  struct cds_error *err)
{
	const struct slot *best = NULL;

	for (unsigned w = 0; w < workers; w++)
		if (s[w].rc != CDS_OK &&
		    (!best || s[w].failed_at < best->failed_at))
			best = &s[w];
	if (!best)
		return CDS_OK;
	if (err) {
		*err = best->err;
		err->code = best->rc;
	}
	return best->rc;
}

/* Workers worth having: no more than chunks, at least one. */
static unsigned plan_workers(unsigned threads, size_t n, size_t grain)
{
	size_t chunks = n ? (n - 1) / grain + 1 : 0;

	if (threads < 1)
		threads = 1;
	return chunks < threads ? (chunks ? (unsigned)chunks : 1) : threads;
}

enum cds_err cds_parallel_for(unsigned threads, size_t n, size_t grain,
			      cds_parallel_fn fn, void *ctx,
			      struct cds_error *err)
{
	struct job j = { .fn = fn, .ctx = ctx, .n = n,
			 .grain = grain ? grain : 1 };
	unsigned workers = plan_workers(threads, n, j.grain), started = 1;
	struct slot one, *s = workers > 1 ? calloc(workers, sizeof(*s)) : NULL;
	enum cds_err rc;

	atomic_init(&j.next, 0);
	atomic_init(&j.failed, false);
	if (!s) { /* one worker, or no room for more: invariant 1 */
		s = &one;
		workers = 1;
	}
	for (unsigned w = 0; w < workers; w++) {
		s[w] = (struct slot){ .job = &j, .id = w, .rc = CDS_OK };
		cds_error_clear(&s[w].err);
	}
	while (started < workers &&
	       pthread_create(&s[started].th, NULL, thread_main, &s[started]) == 0)
		started++;
	work(&s[0]);
	for (unsigned w = 1; w < started; w++)
		pthread_join(s[w].th, NULL);
	rc = first_failure(s, started, err);
	if (s != &one)
		free(s);
	return rc;
}
