/*
 * server.c: the server's life: configuration defaults and checks, start-up
 * in dependency order (store pool and rate state, mirror, query log, HTTP
 * daemon, background thread), and shutdown in the reverse order with a
 * drain and a final flush.
 *
 * The background thread polls the store's change log every second (so that
 * cdsctl's changes reach answers within the 5 s DESIGN.md promises) and
 * saves changed rate-limit state every RATE_SAVE_SECONDS.
 *
 * Invariant: cds_server_stop can be called on a half-started server; every
 * part checks whether it was started.
 */
#include "server/server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/log.h"
#include "core/timeutil.h"

#define POLL_MS 1000
#define RATE_SAVE_SECONDS 5
#define POLL_WARN_EVERY_US (60 * CDS_USEC_PER_SEC)

void cds_server_config_init(struct cds_server_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = "127.0.0.1:8080";
	c->threads = 2;
	c->plain_lookup = false;
	c->log_ip = CDS_QLOG_IP_TRUNCATED;
	c->retention_days = 30;
	c->durability = CDS_QLOG_BATCH;
	c->log_queue = 65536;
	c->epoch_grace_us = 86400 * CDS_USEC_PER_SEC;
	c->snapshot = true;
	c->max_body = 1 << 20;
	c->max_batch = 1024;
	c->max_prefixes = 256;
	c->max_conns = 4096;
	c->max_conns_per_ip = 1024;
	c->timeout_s = 10;
	c->conn_memory = 32 * 1024;
	c->rate_allowance = 50000;
	c->rate_refill = 5000;
	c->bucket_rate_per_ip = 2000;
	c->bucket_burst_per_ip = 4000;
	c->bucket_max_age = 5;
}

/* Values that no daemon could run with: CDS_ERR_USAGE naming them. */
static enum cds_err check_config(const struct cds_server_config *c,
				 struct cds_error *err)
{
	if (!c->datadir || !c->datadir[0])
		return cds_fail(err, CDS_ERR_USAGE, "--data DIR is required");
	if (c->threads < 1 || c->threads > 256)
		return cds_fail(err, CDS_ERR_USAGE, "--threads must be 1 to 256");
	if (c->max_batch < 1 || c->max_prefixes < 1 || c->max_body < 64)
		return cds_fail(err, CDS_ERR_USAGE,
				"batch limits must be at least 1 and the body limit at least 64 bytes");
	if (c->max_conns < c->threads || c->max_conns_per_ip < 1)
		return cds_fail(err, CDS_ERR_USAGE,
				"connection limits must be at least 1 per thread");
	if (c->conn_memory < 4096)
		return cds_fail(err, CDS_ERR_USAGE,
				"the per-connection memory must be at least 4096 bytes");
	if (c->timeout_s < 1)
		return cds_fail(err, CDS_ERR_USAGE,
				"the request timeout must be at least 1 second");
	if (c->retention_days < 0)
		return cds_fail(err, CDS_ERR_USAGE,
				"--retention-days must not be negative");
	if (c->bucket_rate_per_ip > 0 &&
	    c->bucket_burst_per_ip < (double)c->max_prefixes)
		return cds_fail(err, CDS_ERR_USAGE,
				"the per-IP bucket burst must cover one POST /v1/buckets (%zu prefixes)",
				c->max_prefixes);
	return CDS_OK;
}

/* Copy the configuration, with strings the server owns. */
static enum cds_err server_new(struct cds_server **out,
			       const struct cds_server_config *cfg,
			       struct cds_error *err)
{
	struct cds_server *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	s->cfg = *cfg;
	s->datadir = strdup(cfg->datadir);
	s->listen = strdup(cfg->listen);
	if (!s->datadir || !s->listen) {
		free(s->datadir);
		free(s->listen);
		free(s);
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	s->cfg.datadir = s->datadir;
	s->cfg.listen = s->listen;
	pthread_mutex_init(&s->bg_mu, NULL);
	pthread_cond_init(&s->bg_cv, NULL);
	atomic_init(&s->inflight, 0);
	atomic_init(&s->serving, false);
	*out = s;
	return CDS_OK;
}

/* The parts that need no network: limits, metrics, pool, rate state. */
static enum cds_err open_state(struct cds_server *s, struct cds_error *err)
{
	const struct cds_server_config *c = &s->cfg;
	struct cds_store *st = NULL;
	enum cds_err rc;

	if ((rc = cds_metrics_new(&s->metrics, err)) ||
	    (rc = cds_ratelimit_new(&s->rate, c->rate_allowance,
				    c->rate_refill, err)) ||
	    (rc = cds_iplimit_new(&s->iplimit, c->bucket_rate_per_ip,
				  c->bucket_burst_per_ip, err)) ||
	    (rc = cds_storepool_new(&s->pool, c->datadir, c->threads + 1, err)))
		return rc;
	if ((rc = cds_storepool_get(s->pool, &st, err)))
		return rc;
	rc = cds_ratelimit_load(s->rate, st, err);
	cds_storepool_put(s->pool, st);
	s->rate_loaded = !rc;
	if (!rc)
		cds_log_info("rate limits: %llu accounts with saved state; allowance %.0f, refill %.0f/day",
			     (unsigned long long)cds_ratelimit_accounts(s->rate),
			     c->rate_allowance, c->rate_refill);
	return rc;
}

static enum cds_err open_index(struct cds_server *s, struct cds_error *err)
{
	const struct cds_server_config *c = &s->cfg;
	struct cds_mirror_config mc = {
		.datadir = c->datadir,
		.threads = c->index_threads,
		.plain_lookup = c->plain_lookup,
		.epoch_grace_us = c->epoch_grace_us,
		.snapshot = c->snapshot,
		.quiet = c->quiet,
	};
	struct cds_mirror_params p;
	int64_t t0 = cds_monotonic_us();
	enum cds_err rc;

	cds_log_info("building the discovery index from %s", c->datadir);
	if ((rc = cds_mirror_open(&s->mirror, &mc, err)))
		return rc;
	cds_mirror_params(s->mirror, &p);
	cds_log_info("index ready in %.2f s: %llu handles, %llu accounts, epoch %u (%zu served), prefix bits %u",
		     (double)(cds_monotonic_us() - t0) / 1e6,
		     (unsigned long long)p.handles,
		     (unsigned long long)p.accounts, p.epoch, p.n_epochs,
		     p.prefix_bits);
	return CDS_OK;
}

static enum cds_err open_qlog(struct cds_server *s, struct cds_error *err)
{
	static const char *const ip[] = {"full", "truncated", "none"};
	const struct cds_server_config *c = &s->cfg;
	struct cds_qlog_config qc = {
		.datadir = c->datadir,
		.retention_days = c->retention_days,
		.durability = c->durability,
		.ip_policy = c->log_ip,
		.queue_capacity = c->log_queue,
		.plain_lookup = c->plain_lookup,
	};
	enum cds_err rc = cds_qlog_open(&s->qlog, &qc, err);

	if (!rc)
		cds_log_info("query log: retention %d days, durability %s, client IP %s",
			     c->retention_days,
			     c->durability == CDS_QLOG_SYNC ? "sync" : "batch",
			     ip[c->log_ip]);
	return rc;
}

/* Save changed rate-limit state on a pooled connection. */
static enum cds_err save_rates(struct cds_server *s, struct cds_error *err)
{
	struct cds_store *st = NULL;
	enum cds_err rc = cds_storepool_get(s->pool, &st, err);

	if (!rc)
		rc = cds_ratelimit_save(s->rate, st, err);
	cds_storepool_put(s->pool, st);
	return rc;
}

/* One round of background work; logs failures at most once a minute. */
static void bg_round(struct cds_server *s, int64_t *last_save,
		     int64_t *last_warn)
{
	struct cds_error err = {0};
	int64_t now = cds_monotonic_us();

	if (cds_mirror_poll(s->mirror, &err)) {
		cds_metrics_add(s->metrics, CDS_M_POLL_ERRORS, 1);
		if (now - *last_warn >= POLL_WARN_EVERY_US) {
			cds_log_warn("store poll failed: %s", err.msg);
			*last_warn = now;
		}
	}
	if (cds_gateway_poll(s->gateway, &err) &&
	    now - *last_warn >= POLL_WARN_EVERY_US) {
		cds_log_warn("gateway keys kept as they were: %s", err.msg);
		*last_warn = now;
	}
	if (now - *last_save >= RATE_SAVE_SECONDS * CDS_USEC_PER_SEC) {
		*last_save = now;
		if (save_rates(s, &err) && now - *last_warn >= POLL_WARN_EVERY_US) {
			cds_log_warn("saving rate limits failed: %s", err.msg);
			*last_warn = now;
		}
	}
}

static void *bg_main(void *arg)
{
	struct cds_server *s = arg;
	int64_t last_save = cds_monotonic_us();
	int64_t last_warn = -POLL_WARN_EVERY_US;
	struct timespec ts;

	pthread_mutex_lock(&s->bg_mu);
	while (!s->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += POLL_MS / 1000;
		pthread_cond_timedwait(&s->bg_cv, &s->bg_mu, &ts);
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->bg_mu);
		bg_round(s, &last_save, &last_warn);
		pthread_mutex_lock(&s->bg_mu);
	}
	pthread_mutex_unlock(&s->bg_mu);
	return NULL;
}

static enum cds_err start_bg(struct cds_server *s, struct cds_error *err)
{
	int e = pthread_create(&s->bg, NULL, bg_main, s);

	if (e)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"cannot start the background thread: %s",
				strerror(e));
	s->bg_running = true;
	return CDS_OK;
}

static void stop_bg(struct cds_server *s)
{
	if (!s->bg_running)
		return;
	pthread_mutex_lock(&s->bg_mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->bg_cv);
	pthread_mutex_unlock(&s->bg_mu);
	pthread_join(s->bg, NULL);
	s->bg_running = false;
}

enum cds_err cds_server_start(struct cds_server **out,
			      const struct cds_server_config *cfg,
			      struct cds_error *err)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	struct cds_server *s = NULL;
	enum cds_err rc;

	*out = NULL;
	if (sodium_init() < 0)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"libsodium failed to initialise");
	if ((rc = check_config(cfg, err)) ||
	    (rc = cds_server_parse_listen(&sa, &salen, cfg->listen, err)) ||
	    (rc = cds_server_check_listen((const struct sockaddr *)&sa, salen,
					  cfg->listen, err)) ||
	    (rc = server_new(&s, cfg, err)))
		return rc;
	if ((rc = open_state(s, err)) || (rc = open_index(s, err)) ||
	    (rc = open_qlog(s, err)) ||
	    (rc = cds_gateway_open(&s->gateway, s->cfg.datadir, err)) ||
	    (rc = cds_daemon_start(s, (const struct sockaddr *)&sa, err)) ||
	    (rc = start_bg(s, err)))
		goto fail;
	cds_log_info("listening on %s (port %u), %u threads, plain lookup %s, max batch %zu",
		     s->cfg.listen, s->port, s->cfg.threads,
		     s->cfg.plain_lookup ? "on" : "off", s->cfg.max_batch);
	*out = s;
	return CDS_OK;
fail:
	(void)cds_server_stop(s, 0);
	return rc;
}

unsigned cds_server_port(const struct cds_server *s)
{
	return s->port;
}

enum cds_err cds_server_stop(struct cds_server *s, unsigned drain_ms)
{
	struct cds_error err = {0};
	enum cds_err rc = CDS_OK;

	if (!s)
		return CDS_OK;
	cds_daemon_stop(s, drain_ms);
	stop_bg(s);
	if (s->rate_loaded && (rc = save_rates(s, &err)))
		cds_log_warn("saving rate limits at shutdown failed: %s",
			     err.msg);
	cds_qlog_close(s->qlog);
	cds_gateway_free(s->gateway);
	cds_mirror_close(s->mirror);
	cds_storepool_free(s->pool);
	cds_iplimit_free(s->iplimit);
	cds_ratelimit_free(s->rate);
	cds_metrics_free(s->metrics);
	pthread_cond_destroy(&s->bg_cv);
	pthread_mutex_destroy(&s->bg_mu);
	free(s->datadir);
	free(s->listen);
	free(s);
	return rc;
}
