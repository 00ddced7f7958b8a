/*
 * workers.h: a parallel for-loop over [0, n) for the index builder and the
 * poller's batch of OPRF evaluations.
 *
 * The range is cut into chunks of `grain` items handed out from an atomic
 * counter, so that threads of unequal speed finish together.  The calling
 * thread works too (as worker 0), so `threads` counts it.  If a thread
 * cannot be started the others do its share: the loop always completes.
 * fn reports its own errors through ctx; it should return quickly once it
 * sees that another chunk failed.
 */
#ifndef CDS_INDEX_WORKERS_H
#define CDS_INDEX_WORKERS_H

#include <stddef.h>

typedef void (*cds_workers_fn)(void *ctx, size_t begin, size_t end,
			       unsigned worker);

/* Number of online CPUs (at least 1). */
unsigned cds_workers_default(void);

/* Run fn over [0, n) in chunks of grain (>= 1) on `threads` threads. */
void cds_workers_run(unsigned threads, size_t n, size_t grain,
		     cds_workers_fn fn, void *ctx);

#endif
