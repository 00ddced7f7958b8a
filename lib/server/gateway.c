/*
 * gateway.c: the gateway's key set in a running server (gateway.h):
 * loading, reloading when the file changes, publishing and decrypting.
 */
#include "server/gateway.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "core/log.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "crypto/gwkeys.h"

/* Reload at least this often, so that retired keys expire on time. */
#define RELOAD_EVERY_US (INT64_C(3600) * 1000000)

struct cds_gateway {
	char *datadir;
	pthread_rwlock_t lock;
	struct cds_ohttp_key keys[CDS_GWKEYS_MAX];   /* current first */
	size_t n;
	struct stat seen;                            /* file last loaded */
	int64_t loaded_us;                           /* monotonic */
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Load the file into g (under the write lock), remembering what it was. */
static enum cds_err load(struct cds_gateway *g, const struct stat *st,
			 struct cds_error *err)
{
	struct cds_gwkey k[CDS_GWKEYS_MAX];
	size_t n = 0;
	enum cds_err rc = cds_gwkeys_load(g->datadir, cds_now_us(), k, &n, err);

	if (!rc) {
		pthread_rwlock_wrlock(&g->lock);
		sodium_memzero(g->keys, sizeof(g->keys));
		for (size_t i = 0; i < n; i++)
			g->keys[i] = k[i].key;
		g->n = n;
		g->seen = *st;
		g->loaded_us = cds_monotonic_us();
		pthread_rwlock_unlock(&g->lock);
	}
	sodium_memzero(k, sizeof(k));
	return rc;
}

static enum cds_err stat_keys(const char *datadir, struct stat *st,
			      struct cds_error *err)
{
	char path[PATH_MAX];
	enum cds_err rc = cds_gwkeys_path(path, datadir, err);

	if (!rc && stat(path, st) != 0)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND, "no gateway key file '%s'",
			      path);
	return rc;
}

enum cds_err cds_gateway_open(struct cds_gateway **out, const char *datadir,
			      struct cds_error *err)
{
	struct cds_gateway *g = calloc(1, sizeof(*g));
	struct stat st;
	enum cds_err rc = CDS_OK;

	*out = NULL;
	if (!g || !(g->datadir = strdup(datadir)) ||
	    cds_rwlock_init_writer_pref(&g->lock)) {
		if (g)
			free(g->datadir);
		free(g);
		return cds_fail(err, CDS_ERR_NOMEM, "gateway: out of memory");
	}
	if (stat_keys(datadir, &st, NULL) == CDS_ERR_NOT_FOUND) {
		rc = cds_gwkeys_create(datadir, err);
		if (!rc)
			cds_log_info("created the Oblivious HTTP gateway key in %s/keys",
				     datadir);
	}
	if (!rc)
		rc = stat_keys(datadir, &st, err);
	if (!rc)
		rc = load(g, &st, err);
	if (rc) {
		cds_gateway_free(g);
		return rc;
	}
	cds_log_info("Oblivious HTTP gateway: key id %u current, %zu keys",
		     g->keys[0].id, g->n);
	*out = g;
	return CDS_OK;
}

void cds_gateway_free(struct cds_gateway *g)
{
	if (!g)
		return;
	sodium_memzero(g->keys, sizeof(g->keys));
	pthread_rwlock_destroy(&g->lock);
	free(g->datadir);
	free(g);
}

enum cds_err cds_gateway_poll(struct cds_gateway *g, struct cds_error *err)
{
	struct stat st;
	enum cds_err rc = stat_keys(g->datadir, &st, err);

	if (rc)
		return rc;
	if (same_file(&st, &g->seen) &&
	    cds_monotonic_us() - g->loaded_us < RELOAD_EVERY_US)
		return CDS_OK;
	rc = load(g, &st, err);
	if (!rc)
		cds_log_info("Oblivious HTTP gateway keys reloaded: key id %u current, %zu keys",
			     g->keys[0].id, g->n);
	return rc;
}

enum cds_err cds_gateway_configs(struct cds_gateway *g, struct cds_buf *out,
				 struct cds_error *err)
{
	enum cds_err rc;

	pthread_rwlock_rdlock(&g->lock);
	rc = cds_ohttp_keys_encode(out, g->keys, 1, err);
	pthread_rwlock_unlock(&g->lock);
	return rc;
}

enum cds_err cds_gateway_decapsulate(struct cds_gateway *g,
				     struct cds_ohttp_exchange *x,
				     struct cds_buf *out,
				     const uint8_t *req, size_t len,
				     struct cds_error *err)
{
	enum cds_err rc;

	pthread_rwlock_rdlock(&g->lock);
	rc = cds_ohttp_request_open(x, out, req, len, g->keys, g->n, err);
	pthread_rwlock_unlock(&g->lock);
	return rc;
}
