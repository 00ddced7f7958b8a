/*
 * test_parallel.c: the parallel for-loop (lib/core/parallel.c): every index
 * in exactly one chunk whatever the thread count, worker ids within range,
 * no chunk claimed after a failure, and the error of the lowest failed
 * chunk even when a later chunk fails first.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "core/parallel.h"

/* ---- coverage: each index once ---- */

struct seen {
	unsigned char *hits;
	size_t grain;
	unsigned workers; /* worker ids must stay below this */
	unsigned bad;     /* chunks out of shape (checked on the main thread) */
};

static enum cds_err mark(void *ctx, size_t begin, size_t end, unsigned worker,
			 struct cds_error *err)
{
	struct seen *s = ctx;

	if (!err || worker >= s->workers || begin >= end ||
	    end - begin > s->grain || begin % s->grain != 0)
		__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED);
	for (size_t i = begin; i < end; i++)
		__atomic_fetch_add(&s->hits[i], 1, __ATOMIC_RELAXED);
	return CDS_OK;
}

static void cover(unsigned threads, size_t n, size_t grain, unsigned workers)
{
	struct seen s = { calloc(n ? n : 1, 1), grain ? grain : 1, workers, 0 };
	struct cds_error err;

	assert_non_null(s.hits);
	cds_error_clear(&err);
	assert_int_equal(cds_parallel_for(threads, n, grain, mark, &s, &err),
			 CDS_OK);
	assert_int_equal(err.code, CDS_OK);
	assert_int_equal(s.bad, 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s.hits[i], 1);
	free(s.hits);
}

static void test_cover(void **state)
{
	(void)state;
	cover(3, 10007, 7, 3);
	cover(2, 10007, 1, 2);
	cover(16, 100000, 64, 16);     /* more threads than cores */
	cover(4, 3, 1, 3);             /* never more workers than chunks */
	cover(4, 10, 100, 1);          /* one chunk: the calling thread */
	cover(1, 10007, 100000, 1);
	cover(0, 100, 0, 1);           /* 0 threads and grain 0 count as 1 */
	cover(3, 0, 7, 1);             /* nothing to do */
	assert_true(cds_parallel_cpus() >= 1);
}

/* ---- failures ---- */

struct failing {
	size_t fail_at;          /* the chunk holding this index fails */
	unsigned long calls;
};

static enum cds_err fail_one(void *ctx, size_t begin, size_t end,
			     unsigned worker, struct cds_error *err)
{
	struct failing *f = ctx;

	(void)worker;
	__atomic_fetch_add(&f->calls, 1, __ATOMIC_RELAXED);
	if (f->fail_at >= begin && f->fail_at < end)
		return cds_fail_at(err, CDS_ERR_INVALID, (long)f->fail_at,
				   "item %zu is bad", f->fail_at);
	return CDS_OK;
}

static void test_failure_stops(void **state)
{
	struct failing f = { .fail_at = 10 };
	struct cds_error err;

	(void)state;
	cds_error_clear(&err);
	assert_int_equal(cds_parallel_for(1, 1000, 1, fail_one, &f, &err),
			 CDS_ERR_INVALID);
	assert_string_equal(err.msg, "item 10 is bad");
	assert_int_equal(err.index, 10);      /* the callback's, untouched */
	assert_int_equal(f.calls, 11);        /* nothing after the failure */
	/* Two threads: a chunk may be claimed as the failure happens, but
	 * nowhere near all of them run; err may be NULL. */
	f.calls = 0;
	assert_int_equal(cds_parallel_for(2, 100000, 1, fail_one, &f, NULL),
			 CDS_ERR_INVALID);
	assert_true(f.calls < 100000);
}

/* A callback that fails without filling err still yields its code. */
static enum cds_err fail_silently(void *ctx, size_t begin, size_t end,
				  unsigned worker, struct cds_error *err)
{
	(void)ctx, (void)begin, (void)end, (void)worker, (void)err;
	return CDS_ERR_IO;
}

static void test_failure_code(void **state)
{
	struct cds_error err;

	(void)state;
	cds_error_clear(&err);
	assert_int_equal(cds_parallel_for(2, 10, 1, fail_silently, NULL, &err),
			 CDS_ERR_IO);
	assert_int_equal(err.code, CDS_ERR_IO);
}

/*
 * Chunk 3 fails, but only after chunk 7 has failed on the other thread: the
 * error returned must still be chunk 3's (invariant 3), not the first in
 * time.  The wait is on a condition, bounded only so that a broken
 * implementation fails the test instead of hanging it.
 */
struct race {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool late_failed;
	bool timed_out;
};

static void wait_for_late(struct race *r)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&r->mu);
	while (!r->late_failed && !r->timed_out)
		r->timed_out = pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0;
	pthread_mutex_unlock(&r->mu);
}

static enum cds_err fail_out_of_order(void *ctx, size_t begin, size_t end,
				      unsigned worker, struct cds_error *err)
{
	struct race *r = ctx;

	(void)end, (void)worker;
	if (begin == 700) {
		pthread_mutex_lock(&r->mu);
		r->late_failed = true;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		return cds_fail(err, CDS_ERR_CRYPTO, "chunk 700");
	}
	if (begin == 300) {
		wait_for_late(r);
		return cds_fail(err, CDS_ERR_INVALID, "chunk 300");
	}
	return CDS_OK;
}

static void test_lowest_failure_wins(void **state)
{
	struct race r = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			  false, false };
	struct cds_error err;

	(void)state;
	cds_error_clear(&err);
	assert_int_equal(cds_parallel_for(2, 1000, 100, fail_out_of_order, &r,
					  &err),
			 CDS_ERR_INVALID);
	assert_false(r.timed_out);
	assert_true(r.late_failed);
	assert_string_equal(err.msg, "chunk 300");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cover),
		cmocka_unit_test(test_failure_stops),
		cmocka_unit_test(test_failure_code),
		cmocka_unit_test(test_lowest_failure_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
