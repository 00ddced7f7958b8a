/*
 * workers.c: a tiny fork-join pool for the client's parallel steps
 * (blinding and finalising batches, bucket fetches).
 *
 * Invariants: every thread started is joined before cds_workers_run
 * returns; `next` and `failed` are the only state shared between threads
 * while they run (each worker writes only its own slot of `slots`).
 */
#include "workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

struct slot {
	struct cds_error err;
	size_t failed_task; /* valid if err.code != CDS_OK */
};

struct pool {
	cds_task_fn fn;
	void *ctx;
	size_t ntasks;
	atomic_size_t next;
	atomic_bool failed;
	struct slot slots[CDS_WORKERS_MAX];
};

struct arg {
	struct pool *p;
	unsigned worker;
};

static void work(struct pool *p, unsigned worker)
{
	struct slot *s = &p->slots[worker];

	while (!atomic_load(&p->failed)) {
		size_t t = atomic_fetch_add(&p->next, 1);

		if (t >= p->ntasks)
			break;
		if (p->fn(p->ctx, t, worker, &s->err) != CDS_OK) {
			s->failed_task = t;
			atomic_store(&p->failed, true);
		}
	}
}

static void *thread_main(void *v)
{
	struct arg *a = v;

	work(a->p, a->worker);
	return NULL;
}

/* Copy the failure of the lowest-numbered task into err. */
static enum cds_err first_failure(const struct pool *p, unsigned workers,
				  struct cds_error *err)
{
	const struct slot *best = NULL;

	for (unsigned w = 0; w < workers; w++) {
		const struct slot *s = &p->slots[w];

		if (s->err.code != CDS_OK &&
		    (!best || s->failed_task < best->failed_task))
			best = s;
	}
	if (!best)
		return CDS_OK;
	if (err)
		*err = best->err;
	return best->err.code;
}

enum cds_err cds_workers_run(unsigned workers, size_t ntasks, cds_task_fn fn,
			     void *ctx, struct cds_error *err)
{
	struct pool p;
	pthread_t tid[CDS_WORKERS_MAX];
	struct arg args[CDS_WORKERS_MAX];
	unsigned started = 1;

	if (workers < 1)
		workers = 1;
	if (workers > CDS_WORKERS_MAX)
		workers = CDS_WORKERS_MAX;
	if ((size_t)workers > ntasks)
		workers = ntasks ? (unsigned)ntasks : 1;
	p.fn = fn;
	p.ctx = ctx;
	p.ntasks = ntasks;
	atomic_init(&p.next, 0);
	atomic_init(&p.failed, false);
	for (unsigned w = 0; w < workers; w++) {
		cds_error_clear(&p.slots[w].err);
		p.slots[w].failed_task = 0;
	}
	/* If a thread cannot start, the remaining workers take its tasks. */
	for (unsigned w = 1; w < workers; w++) {
		args[w].p = &p;
		args[w].worker = w;
		if (pthread_create(&tid[started], NULL, thread_main, &args[w]))
			break;
		started++;
	}
	work(&p, 0);
	for (unsigned i = 1; i < started; i++)
		pthread_join(tid[i], NULL);
	return first_failure(&p, workers, err);
}
