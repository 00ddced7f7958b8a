/*
 * gateway.c: the gateway's key set in a running server (gateway.h):
 * loading, reloading when it changes, publishing and decrypting.  The set
 * comes through the data directory's key source (store/keysrc.h): the
 * file DIR/keys/ohttp-gateway.keys, or, for replicas of one PostgreSQL
 * store, a sealed row they all read, so that every replica behind one
 * load balancer publishes the same key config.
 */
#include "server/gateway.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/os.h"
#include "core/timeutil.h"
#include "crypto/gwkeys.h"
#include "store/keysrc.h"

/* Reload at least this often, so that retired keys expire on time. */
#define RELOAD_EVERY_US (INT64_C(3600) * 1000000)

struct cds_gateway {
	char *datadir;
	struct cds_keysrc ks;                        /* poller only */
	pthread_rwlock_t lock;
	struct cds_ohttp_key keys[CDS_GWKEYS_MAX];   /* current first */
	size_t n;
	uint64_t seen;                               /* stamp last loaded */
	int64_t loaded_us;                           /* monotonic */
};

/* Load the key set into g (under the write lock), remembering its stamp. */
static enum cds_err load(struct cds_gateway *g, uint64_t stamp,
			 struct cds_error *err)
{
	struct cds_gwkey k[CDS_GWKEYS_MAX];
	size_t n = 0;
	enum cds_err rc = cds_keysrc_gw_load(&g->ks, cds_now_us(), k, &n, err);

	if (!rc) {
		pthread_rwlock_wrlock(&g->lock);
		sodium_memzero(g->keys, sizeof(g->keys));
		for (size_t i = 0; i < n; i++)
			g->keys[i] = k[i].key;
		g->n = n;
		g->seen = stamp;
		g->loaded_us = cds_monotonic_us();
		pthread_rwlock_unlock(&g->lock);
	}
	sodium_memzero(k, sizeof(k));
	return rc;
}

/* Open the key source; create a first key set if there is none. */
static enum cds_err open_keys(struct cds_gateway *g, uint64_t *stamp,
			      struct cds_error *err)
{
	struct cds_gwkey k[CDS_GWKEYS_MAX];
	size_t n = 0;
	enum cds_err rc;

	rc = cds_keysrc_open(&g->ks, g->datadir, err);
	if (!rc && cds_keysrc_gw_load(&g->ks, cds_now_us(), k, &n, NULL) ==
			   CDS_ERR_NOT_FOUND) {
		rc = cds_keysrc_gw_create(&g->ks, err);
		if (rc == CDS_ERR_EXISTS) /* another replica was quicker */
			rc = CDS_OK;
		else if (!rc)
			cds_log_info("created the Oblivious HTTP gateway key%s",
				     cds_keysrc_sealed(&g->ks) ? " (sealed in the store)"
							       : " in DIR/keys");
	}
	sodium_memzero(k, sizeof(k));
	if (!rc)
		rc = cds_keysrc_gw_stamp(&g->ks, stamp, err);
	return rc;
}

enum cds_err cds_gateway_open(struct cds_gateway **out, const char *datadir,
			      struct cds_error *err)
{
	struct cds_gateway *g = calloc(1, sizeof(*g));
	uint64_t stamp = 0;
	enum cds_err rc;

	*out = NULL;
	if (!g || !(g->datadir = strdup(datadir)) ||
	    cds_rwlock_init_writer_pref(&g->lock)) {
		if (g)
			free(g->datadir);
		free(g);
		return cds_fail(err, CDS_ERR_NOMEM, "gateway: out of memory");
	}
	rc = open_keys(g, &stamp, err);
	if (!rc)
		rc = load(g, stamp, err);
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
	cds_keysrc_fini(&g->ks);
	free(g->datadir);
	free(g);
}

enum cds_err cds_gateway_poll(struct cds_gateway *g, struct cds_error *err)
{
	uint64_t stamp = 0;
	enum cds_err rc = cds_keysrc_gw_stamp(&g->ks, &stamp, err);

	if (rc)
		return rc;
	if (stamp == g->seen &&
	    cds_monotonic_us() - g->loaded_us < RELOAD_EVERY_US)
		return CDS_OK;
	rc = load(g, stamp, err);
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
