/*
 * secrets.c: core dumps off, locked memory for secrets (secrets.h).
 *
 * Invariant: after the first refused lock, no further lock is attempted
 * (a large table would otherwise retry, and warn, on every growth).
 */
#include "core/secrets.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <sodium.h>

#include "core/log.h"

static atomic_bool lock_refused;

enum cds_err cds_secrets_no_core_dumps(struct cds_error *err)
{
	struct rlimit none = {0, 0};

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"prctl(PR_SET_DUMPABLE, 0) failed: %s",
				strerror(errno));
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"setrlimit(RLIMIT_CORE, 0) failed: %s",
				strerror(errno));
	return CDS_OK;
}

bool cds_secret_lock(void *p, size_t n)
{
	int e;

	if (!n || atomic_load(&lock_refused))
		return !n;
	if (sodium_mlock(p, n) == 0)
		return true;
	e = errno;
	if (!atomic_exchange(&lock_refused, true))
		cds_log_warn("cannot lock secrets in memory (%s); they stay in "
			     "ordinary memory and could reach swap: raise "
			     "RLIMIT_MEMLOCK (ulimit -l) to lock them",
			     strerror(e));
	return false;
}

void *cds_secret_alloc(size_t n)
{
	void *p = sodium_malloc(n);

	if (!p)
		return NULL;
	memset(p, 0, n);
	/* sodium_malloc locks too but ignores a refusal: ask again, to warn. */
	(void)cds_secret_lock(p, n);
	return p;
}

void cds_secret_free(void *p, size_t n)
{
	(void)n;
	if (p)
		sodium_free(p); /* wipes and unlocks */
}
