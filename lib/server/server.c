/*
 * server.c: the server's life: configuration defaults and checks, start-up
 * in dependency order (store pool and rate state, mirror, query log, HTTP
 * daemon, background thread), and shutdown in the reverse order with a
 * drain and a final flush.
 *
 * The background thread polls the store's change log every second (so that
 * cdsctl's changes reach answers within the 5 s DESIGN.md promises), or
 * sooner when changes wait for the seal interval to seal them, and
 * saves changed rate-limit state every RATE_SAVE_SECONDS, and prunes the
 * store's change log every --prune-interval (mirror_prune.c says what is
 * kept).
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
#include "core/secrets.h"
#include "core/timeutil.h"
#include "store/keysrc.h"
#include "store/shared.h"
#include "store/metrics_token.h"

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
	c->change_notify = true;
	c->prune_interval_s = 3600;
	c->transparency_interval_ms = 1000;
	c->max_body = 1 << 20;
	c->max_batch = 1024;
	c->max_prefixes = 256;
	c->max_conns = 4096;
	c->max_conns_per_ip = 1024;
	c->timeout_s = 10;
	c->deadline_s = 30;
	c->conn_memory = 32 * 1024;
	c->rate_allowance = 50000;
	c->rate_refill = 5000;
	/* Sized in docs/operations.md "Per-address limits": the burst covers
	 * a 10,000-handle first discovery with the densest buckets cdsctl
	 * init chooses; the rate bounds what one address can pull for long. */
	c->bucket_bytes_per_ip = 8 << 20;
	c->bucket_burst_bytes = 256 << 20;
	c->max_bucket_reply = 16 << 20;
	c->bucket_max_age = 5;
	c->verify_ttl_s = 600;
	c->verify_attempts = 5;
	c->verify_per_handle = 5;
	c->verify_per_ip = 30;
	c->writes_per_account = 60;
	c->verify_timeout_s = 10;
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
	if (c->timeout_s < 1 || c->deadline_s < 1)
		return cds_fail(err, CDS_ERR_USAGE,
				"the request timeout and deadline must be at least 1 second");
	if (c->transparency_interval_ms < 100 ||
	    c->transparency_interval_ms > 60000)
		return cds_fail(err, CDS_ERR_USAGE,
				"--transparency-interval must be 100 to 60000 ms");
	if (c->retention_days < 0)
		return cds_fail(err, CDS_ERR_USAGE,
				"--retention-days must not be negative");
	if (c->verify_attempts < 1 || c->verify_per_handle < 1 ||
	    c->verify_timeout_s < 1)
		return cds_fail(err, CDS_ERR_USAGE,
				"verification attempts, per-handle limit and timeout must be at least 1");
	if (c->max_bucket_reply < 4096)
		return cds_fail(err, CDS_ERR_USAGE,
				"--max-bucket-reply must be at least 4096 bytes");
	if (c->bucket_bytes_per_ip > 0 &&
	    c->bucket_burst_bytes < CDS_BUCKET_REQUEST_BYTES)
		return cds_fail(err, CDS_ERR_USAGE,
				"--bucket-burst-bytes must cover one request (%d bytes)",
				CDS_BUCKET_REQUEST_BYTES);
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

/* The --trusted-proxy ranges, parsed once. */
static enum cds_err parse_proxies(struct cds_server *s, struct cds_error *err)
{
	const struct cds_server_config *c = &s->cfg;
	enum cds_err rc;

	if (!c->n_trusted_proxies)
		return CDS_OK;
	s->proxies = calloc(c->n_trusted_proxies, sizeof(*s->proxies));
	if (!s->proxies)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < c->n_trusted_proxies; i++)
		if ((rc = cds_cidr_parse(&s->proxies[i], c->trusted_proxies[i],
					 err)))
			return rc;
	s->n_proxies = c->n_trusted_proxies;
	cds_log_info("X-Forwarded-For believed from %zu trusted proxy range%s",
		     s->n_proxies, s->n_proxies == 1 ? "" : "s");
	return CDS_OK;
}

/* The metrics token's hash, in locked memory (secrets.h). */
static enum cds_err load_metrics_token(struct cds_server *s,
				       struct cds_error *err)
{
	bool created = false;
	enum cds_err rc;

	s->metrics_hash = cds_secret_alloc(CDS_TOKEN_HASH_BYTES);
	if (!s->metrics_hash)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	rc = cds_metrics_token_load(s->cfg.datadir, s->metrics_hash, &created,
				    err);
	if (!rc && created)
		cds_log_info("created %s/metrics.token (mode 0600): GET /metrics needs it",
			     s->cfg.datadir);
	return rc;
}

/* Per-hour limits as token buckets: a burst of one hour's worth. */
static enum cds_err hourly(struct cds_iplimit **out, double per_hour,
			   struct cds_error *err)
{
	return cds_iplimit_new(out, per_hour / 3600.0, per_hour, err);
}

/* Verified handles: limits, the code key, the delivery channels. */
/*
 * The verification-code key: one for every replica of a shared store (a
 * code sent by one replica is redeemed through another), sealed in the
 * store; DIR/keys/verify.key otherwise.
 */
static enum cds_err load_vkey(struct cds_server *s, struct cds_error *err)
{
	struct cds_keysrc ks;
	enum cds_err rc = cds_keysrc_open(&ks, s->cfg.datadir, err);

	if (!rc && cds_keysrc_sealed(&ks))
		rc = cds_keysrc_secret(&ks, "verify", s->vkey, sizeof(s->vkey),
				       err);
	else if (!rc)
		rc = cds_vcode_key_load(s->vkey, s->cfg.datadir, err);
	cds_keysrc_fini(&ks);
	return rc;
}

static enum cds_err open_verify(struct cds_server *s, struct cds_error *err)
{
	const struct cds_server_config *c = &s->cfg;
	struct cds_deliver_config dc = {
		.outbox = c->verify_outbox,
		.smtp_url = c->verify_smtp,
		.smtp_from = c->verify_from,
		.sms_url = c->verify_sms_webhook,
		.sms_token_file = c->verify_sms_token_file,
		.timeout_s = c->verify_timeout_s,
		.senders = 2,
		.queue = 256,
	};
	enum cds_err rc;

	if ((rc = hourly(&s->writes, c->writes_per_account, err)) ||
	    (rc = hourly(&s->verify_ip, c->verify_per_ip, err)) ||
	    (rc = cds_deliver_new(&s->deliver, &dc, err)))
		return rc;
	(void)sodium_mlock(s->vkey, sizeof(s->vkey)); /* best effort */
	rc = load_vkey(s, err);
	if (!rc)
		cds_log_info("verification: e-mail codes by %s, phone codes by %s; registration %s",
			     c->verify_smtp ? "SMTP" : c->verify_outbox ? "outbox" : "(none)",
			     c->verify_sms_webhook ? "SMS webhook"
						   : c->verify_outbox ? "outbox" : "(none)",
			     c->registration_closed ? "closed" : "open");
	return rc;
}

/* The parts that need no network: limits, metrics, pool, rate state. */
static enum cds_err open_state(struct cds_server *s, struct cds_error *err)
{
	const struct cds_server_config *c = &s->cfg;
	struct cds_store *st = NULL;
	enum cds_err rc;

	if ((rc = parse_proxies(s, err)) ||
	    (rc = load_metrics_token(s, err)) ||
	    (rc = cds_deadline_new(&s->deadline,
				   (int64_t)c->deadline_s * CDS_USEC_PER_SEC,
				   err)) ||
	    (rc = cds_metrics_new(&s->metrics, err)) ||
	    (rc = cds_ratelimit_new(&s->rate, c->rate_allowance,
				    c->rate_refill, err)) ||
	    (rc = cds_iplimit_new(&s->iplimit, c->bucket_bytes_per_ip,
				  c->bucket_burst_bytes, err)) ||
	    (rc = cds_storepool_new(&s->pool, c->datadir, c->threads + 1, err)) ||
	    (rc = open_verify(s, err)))
		return rc;
	if ((rc = cds_storepool_get(s->pool, &st, err)))
		return rc;
	if (cds_store_is_shared(st)) {
		/* Replicas share the buckets in the store (ratelimit.h). */
		cds_storepool_put(s->pool, st);
		cds_ratelimit_share(s->rate, s->pool);
		cds_log_info("rate limits: kept in the shared store; allowance "
			     "%.0f, refill %.0f/day", c->rate_allowance,
			     c->rate_refill);
		return CDS_OK;
	}
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
		.quiet = c->quiet,
		.seal_interval_us = (int64_t)c->transparency_interval_ms * 1000,
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

/* Prune the change log every prune_interval_s (mirror_prune.c). */
static void prune_round(struct cds_server *s, int64_t now, int64_t *last_prune,
			int64_t *last_warn)
{
	struct cds_error err = {0};
	uint64_t removed;

	if (!s->cfg.prune_interval_s ||
	    now - *last_prune < (int64_t)s->cfg.prune_interval_s * CDS_USEC_PER_SEC)
		return;
	*last_prune = now;
	if (cds_mirror_prune(s->mirror, &removed, &err) &&
	    now - *last_warn >= POLL_WARN_EVERY_US) {
		cds_log_warn("pruning the change log failed: %s", err.msg);
		*last_warn = now;
	}
}

/* One round of background work; logs failures at most once a minute. */
static void bg_round(struct cds_server *s, int64_t *last_save,
		     int64_t *last_prune, int64_t *last_warn)
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
	prune_round(s, now, last_prune, last_warn);
}

static void *bg_main(void *arg)
{
	struct cds_server *s = arg;
	int64_t last_save = cds_monotonic_us(), last_prune = last_save;
	int64_t last_warn = -POLL_WARN_EVERY_US;
	struct timespec ts;

	pthread_mutex_lock(&s->bg_mu);
	while (!s->stopping) {
		int64_t wait_us = POLL_MS * 1000;
		int64_t due = cds_mirror_seal_due_us(s->mirror);

		/* Changes held back by the seal interval: poll when due. */
		if (due && due - cds_monotonic_us() < wait_us)
			wait_us = due - cds_monotonic_us();
		if (wait_us < 1000)
			wait_us = 1000;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(wait_us % 1000000) * 1000;
		ts.tv_sec += (time_t)(wait_us / 1000000) + ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&s->bg_cv, &s->bg_mu, &ts);
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->bg_mu);
		bg_round(s, &last_save, &last_prune, &last_warn);
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
	cds_notify_stop(s);
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
	    (rc = cds_metrics_listen_start(s, err)) ||
	    (rc = start_bg(s, err)) ||
	    (rc = cds_notify_start(s, err)))
		goto fail;
	cds_log_info("listening on %s (port %u), %u threads, plain lookup %s, max batch %zu",
		     s->cfg.listen, s->port, s->cfg.threads,
		     s->cfg.plain_lookup ? "on" : "off", s->cfg.max_batch);
	if (s->metrics_daemon)
		cds_log_info("metrics on %s without a token", s->cfg.metrics_listen);
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

/* Bounded: a wedged writer must not turn a crash into a hang. */
#define PANIC_FLUSH_US (5 * CDS_USEC_PER_SEC)

void cds_server_flush(struct cds_server *s)
{
	struct cds_error err = {0};

	if (cds_qlog_flush(s->qlog, PANIC_FLUSH_US))
		cds_log_warn("query log: records still queued after %d s",
			      (int)(PANIC_FLUSH_US / CDS_USEC_PER_SEC));
	if (s->rate_loaded && save_rates(s, &err))
		cds_log_warn("saving rate limits failed: %s", err.msg);
}

enum cds_err cds_server_stop(struct cds_server *s, unsigned drain_ms)
{
	struct cds_error err = {0};
	enum cds_err rc = CDS_OK;

	if (!s)
		return CDS_OK;
	cds_metrics_listen_stop(s);
	/*
	 * Deliver what is queued and stop the senders first: every suspended
	 * request is then resumed, as MHD needs before it stops, and later
	 * verifications are answered 503 at once.
	 */
	cds_deliver_close(s->deliver);
	cds_daemon_stop(s, drain_ms);
	cds_deadline_free(s->deadline);
	stop_bg(s);
	if (s->rate_loaded && (rc = save_rates(s, &err)))
		cds_log_warn("saving rate limits at shutdown failed: %s",
			     err.msg);
	cds_qlog_close(s->qlog);
	cds_gateway_free(s->gateway);
	cds_mirror_close(s->mirror);
	cds_storepool_free(s->pool);
	cds_iplimit_free(s->iplimit);
	cds_deliver_free(s->deliver);
	cds_iplimit_free(s->writes);
	cds_iplimit_free(s->verify_ip);
	sodium_munlock(s->vkey, sizeof(s->vkey));
	cds_ratelimit_free(s->rate);
	cds_metrics_free(s->metrics);
	cds_secret_free(s->metrics_hash, CDS_TOKEN_HASH_BYTES);
	free(s->proxies);
	pthread_cond_destroy(&s->bg_cv);
	pthread_mutex_destroy(&s->bg_mu);
	free(s->datadir);
	free(s->listen);
	free(s);
	return rc;
}
