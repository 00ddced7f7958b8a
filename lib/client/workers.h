/*
 * workers.h: run independent tasks on a few threads (lib/client internal).
 *
 * Tasks 0..n-1 are handed out in order to `workers` threads (the calling
 * thread is worker 0).  After the first failure no new task starts; the
 * error reported is that of the lowest-numbered failed task, so results do
 * not depend on scheduling.  With one worker or one task everything runs on
 * the calling thread.
 */
#ifndef CDS_CLIENT_WORKERS_H
#define CDS_CLIENT_WORKERS_H

#include <stddef.h>

#include "core/err.h"

#define CDS_WORKERS_MAX 8

/* One task: worker is 0..workers-1 (to pick per-thread resources). */
typedef enum cds_err (*cds_task_fn)(void *ctx, size_t task, unsigned worker,
				    struct cds_error *err);

enum cds_err cds_workers_run(unsigned workers, size_t ntasks, cds_task_fn fn,
			     void *ctx, struct cds_error *err) CDS_MUST_CHECK;

#endif
