/*
 * server.h: the cds HTTP/JSON server (DESIGN.md "HTTP API v1"), the whole of
 * what tools/cdsd.c needs.
 *
 * cds_server_start opens everything the server owns (the in-memory mirror of
 * the directory, the query log, the rate-limit state, a small pool of store
 * connections for the accounts API) and starts libmicrohttpd with its own
 * epoll thread pool plus one background thread that polls the store for
 * changes every second and persists rate-limit state every few seconds.
 * cds_server_stop refuses new requests, drains those in flight, flushes
 * the query log and the rate state, and frees everything.
 *
 * Invariants:
 *  1. Every request that reaches the API gets one query-log record, or a 503
 *     when the log refuses it (so no request goes unlogged silently).
 *  2. OPRF evaluations and plain-lookup handles are charged to the account
 *     before any work is done for them.
 *  3. No input, however malformed, changes stored data unless it is a
 *     well-formed, authenticated request to change it.
 */
#ifndef CDS_SERVER_SERVER_H
#define CDS_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"
#include "qlog/qlog.h"

/*
 * What one bucket request costs against the per-address guard beyond its
 * body bytes: about what the headers of a small request and its reply,
 * and the work of answering it, are worth.  It bounds floods of tiny
 * requests (304s, errors) at bucket_bytes_per_ip / this many per second.
 */
#define CDS_BUCKET_REQUEST_BYTES 2048

struct cds_server_config {
	const char *datadir;
	const char *listen;           /* "HOST:PORT" or "[V6]:PORT" */
	unsigned threads;             /* HTTP worker threads */
	bool plain_lookup;
	/* query log */
	enum cds_qlog_ip_policy log_ip;
	int retention_days;
	enum cds_qlog_durability durability;
	size_t log_queue;             /* query-log queue capacity (records) */
	/* index */
	int64_t epoch_grace_us;
	bool change_notify;           /* shared store: poll on change notices */
	unsigned index_threads;       /* 0 = number of cores */
	unsigned prune_interval_s;    /* change-log pruning; 0 = never */
	unsigned transparency_interval_ms; /* sealing at most this often */
	/* limits */
	size_t max_body;              /* bytes of a request body */
	size_t max_batch;             /* elements or handles per request */
	size_t max_prefixes;          /* prefixes per POST /v1/buckets */
	unsigned max_conns;           /* concurrent connections */
	unsigned max_conns_per_ip;
	unsigned timeout_s;           /* idle connection timeout */
	unsigned deadline_s;          /* whole request (headers + body) */
	size_t conn_memory;           /* per connection: headers + buffers */
	/* rate limits */
	double rate_allowance;        /* onboarding tokens per account */
	double rate_refill;           /* tokens per day */
	double bucket_bytes_per_ip;   /* bucket bytes/s per address; 0 = none */
	double bucket_burst_bytes;    /* burst of that guard, bytes */
	size_t max_bucket_reply;      /* bytes of one POST /v1/buckets reply */
	unsigned bucket_max_age;      /* Cache-Control max-age of buckets */
	/* whom to believe about client addresses (clientaddr.h) */
	const char *const *trusted_proxies; /* CIDR texts, n_trusted_proxies */
	size_t n_trusted_proxies;
	/* /metrics: with DIR/metrics.token here, or without on this address */
	const char *metrics_listen;   /* "HOST:PORT" or NULL */
	/* verified handles (api_verify.c, deliver.h) */
	bool registration_closed;     /* POST /v1/register refused */
	const char *verify_outbox;    /* directory, or NULL */
	const char *verify_smtp;      /* smtp:// or smtps:// URL, or NULL */
	const char *verify_from;
	const char *verify_sms_webhook;
	const char *verify_sms_token_file;
	unsigned verify_ttl_s;        /* code lifetime; 0 (tests): born expired */
	unsigned verify_attempts;     /* wrong codes before one dies */
	unsigned verify_per_handle;   /* codes per handle per hour */
	double verify_per_ip;         /* verifications per address per hour */
	double writes_per_account;    /* account writes per hour */
	unsigned verify_timeout_s;    /* delivery timeout per message */
	bool quiet;                   /* no index build progress */
};

struct cds_server;

/* Fill c with the defaults documented in docs/api.md and cdsd --help. */
void cds_server_config_init(struct cds_server_config *c);

/*
 * Parse "HOST:PORT", "[IPV6]:PORT" or ":PORT" (all interfaces) into an
 * address to bind.  HOST may be a name that resolves locally.  Port 0 lets
 * the kernel choose.  CDS_ERR_USAGE quoting the input if it is malformed.
 */
enum cds_err cds_server_parse_listen(struct sockaddr_storage *out,
				     socklen_t *outlen, const char *s,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Bind a throw-away socket to sa and close it, so that an address in use
 * is reported before minutes of index building rather than after.
 * CDS_ERR_IO naming `text` (the --listen value) and the reason.
 */
enum cds_err cds_server_check_listen(const struct sockaddr *sa, socklen_t len,
				     const char *text,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Open the data directory and start serving.  Logs start-up figures
 * (handles, accounts, epochs, build time, listen address) to stderr.
 * CDS_ERR_USAGE for a bad configuration value, otherwise the error of the
 * part that failed (store missing, port in use...).
 */
enum cds_err cds_server_start(struct cds_server **out,
			      const struct cds_server_config *cfg,
			      struct cds_error *err) CDS_MUST_CHECK;

/* The port actually bound (useful with port 0). */
unsigned cds_server_port(const struct cds_server *s);

/*
 * Answer new requests 503 (shutting_down, Retry-After, Connection: close),
 * wait up to drain_ms for requests in flight, then stop the threads, save rate-limit state, close the query log (which commits what it
 * holds) and free everything.  Accepts NULL.  Returns CDS_OK, or the first
 * error met while flushing (logged too), so that cdsd can exit 1.
 */
enum cds_err cds_server_stop(struct cds_server *s, unsigned drain_ms);

#endif
