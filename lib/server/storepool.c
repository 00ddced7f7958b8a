/*
 * storepool.c: the connection pool of storepool.h.
 *
 * Invariant: idle[0..n_idle) are open connections nobody holds; `opened`
 * counts every connection this pool has opened and not closed, so
 * opened - n_idle are out on loan, and opened <= size.
 */
#include "server/storepool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cds_storepool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *datadir;
	size_t size;
	size_t opened;
	size_t n_idle;
	struct cds_store **idle;
};

enum cds_err cds_storepool_new(struct cds_storepool **out,
			       const char *datadir, size_t size,
			       struct cds_error *err)
{
	struct cds_storepool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	if (size == 0)
		size = 1;
	p->datadir = strdup(datadir);
	p->idle = calloc(size, sizeof(*p->idle));
	if (!p->datadir || !p->idle) {
		free(p->datadir);
		free(p->idle);
		free(p);
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	p->size = size;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	*out = p;
	return CDS_OK;
}

void cds_storepool_free(struct cds_storepool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_idle; i++)
		cds_store_close(p->idle[i]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->idle);
	free(p->datadir);
	free(p);
}

enum cds_err cds_storepool_get(struct cds_storepool *p, struct cds_store **s,
			       struct cds_error *err)
{
	enum cds_err rc;

	*s = NULL;
	pthread_mutex_lock(&p->mu);
	while (p->n_idle == 0 && p->opened >= p->size)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->n_idle > 0) {
		*s = p->idle[--p->n_idle];
		pthread_mutex_unlock(&p->mu);
		return CDS_OK;
	}
	/* Reserve the slot, then open without holding the lock. */
	p->opened++;
	pthread_mutex_unlock(&p->mu);
	rc = cds_store_open(s, p->datadir, err);
	if (rc) {
		pthread_mutex_lock(&p->mu);
		p->opened--;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return rc;
}

void cds_storepool_put(struct cds_storepool *p, struct cds_store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&p->mu);
	p->idle[p->n_idle++] = s;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}
