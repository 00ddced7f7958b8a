/*
 * parallel.h: the one parallel for-loop of cds.  The index builder, the
 * mirror's OPRF evaluations and the client's batches all run through it.
 *
 * cds_parallel_for() cuts [0, n) into chunks [begin, end) of `grain` items
 * (the last one shorter) and hands them out in order, from an atomic
 * counter, to up to `threads` threads, so that threads of unequal speed
 * finish together.  The calling thread works too, as worker 0; `worker`
 * (0 .. threads-1) lets fn pick per-thread resources (an HTTP handle).
 *
 * Invariants:
 *  1. Every index of [0, n) is in exactly one chunk, whatever number of
 *     threads actually started: if a thread cannot be started (or its
 *     bookkeeping not allocated) the others do its share.
 *  2. Chunks are claimed in increasing order, and a claimed chunk is
 *     always passed to fn.  Once a chunk has failed the workers stop
 *     claiming (one claimed at that moment still runs).
 *  3. The error returned is that of the failed chunk with the lowest begin.
 *     Every chunk below a claimed one was claimed earlier and so ran: this
 *     is the failure one thread running the chunks in order would report,
 *     whatever the scheduling.
 *  4. Every thread started is joined before cds_parallel_for returns.
 */
#ifndef CDS_CORE_PARALLEL_H
#define CDS_CORE_PARALLEL_H

#include <stddef.h>

#include "core/err.h"

/*
 * One chunk [begin, end) on worker `worker`.  Returns CDS_OK, or an error
 * with err filled (err is never NULL; an index in it is the caller's to
 * define, e.g. relative to 0 rather than to begin).  fn runs concurrently
 * with itself on other chunks.
 */
typedef enum cds_err (*cds_parallel_fn)(void *ctx, size_t begin, size_t end,
					unsigned worker,
					struct cds_error *err);

/* Number of online CPUs (at least 1): the default thread count. */
unsigned cds_parallel_cpus(void);

/*
 * Run fn over [0, n) in chunks of `grain` items (0 counts as 1) on at most
 * `threads` threads (0 counts as 1; never more threads than chunks).
 * Returns CDS_OK when every chunk succeeded (also for n == 0), else the
 * error of invariant 3, copied into err (which may be NULL).
 */
enum cds_err cds_parallel_for(unsigned threads, size_t n, size_t grain,
			      cds_parallel_fn fn, void *ctx,
			      struct cds_error *err) CDS_MUST_CHECK;

#endif
