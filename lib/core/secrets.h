/*
 * secrets.h: keeping a process's secrets out of core dumps and swap.
 *
 * cdsd holds the OPRF keys of the served epochs and the hash of every
 * account token.  A core dump or a swapped-out page would copy them to
 * disk, where the key files' 0600 mode no longer protects them.  So the
 * server turns core dumps off and keeps those secrets in locked memory.
 *
 * Locking needs RLIMIT_MEMLOCK room (or CAP_IPC_LOCK).  Where the platform
 * refuses, the secret stays in ordinary memory: the first refusal is logged
 * once as a warning and the program carries on, since refusing to serve
 * would protect nothing.  With core dumps off, swap is what remains
 * exposed; docs/operations.md says how to raise the limit.
 */
#ifndef CDS_CORE_SECRETS_H
#define CDS_CORE_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * No core dumps of this process: prctl(PR_SET_DUMPABLE, 0) (which also
 * keeps other users' ptrace and /proc/PID/mem out) and RLIMIT_CORE 0.
 * CDS_ERR_INTERNAL naming the call that failed.
 */
enum cds_err cds_secrets_no_core_dumps(struct cds_error *err) CDS_MUST_CHECK;

/*
 * n zeroed bytes of guarded, locked memory (sodium_malloc), or NULL if out
 * of memory.  Free with cds_secret_free, which wipes them.
 */
void *cds_secret_alloc(size_t n);
void cds_secret_free(void *p, size_t n);

/*
 * Lock p[0..n) into memory (sodium_mlock, which also excludes it from core
 * dumps where the platform can).  Returns false if refused (warned about
 * once per process); later calls after a refusal return false at once.
 */
bool cds_secret_lock(void *p, size_t n);

#endif
