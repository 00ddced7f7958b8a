/*
 * server_int.h: what the files of lib/server share and tools never see: the
 * server object, one request in flight, the route table and the endpoint
 * handlers.
 *
 * Request life (daemon.c): headers arrive -> route found (or 404/405) ->
 * early limits (content type, Content-Length) -> body accumulated up to
 * max_body -> the route's handler fills a struct cds_reply and notes what
 * the query log needs (endpoint, items, account, handles) -> the request is
 * logged (a refused log turns the reply into 503) -> counted -> sent.
 */
#ifndef CDS_SERVER_SERVER_INT_H
#define CDS_SERVER_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "core/bhttp.h"
#include "core/buf.h"
#include "index/mirror.h"
#include "server/clientaddr.h"
#include "server/deadline.h"
#include "server/decode.h"
#include "server/deliver.h"
#include "server/gateway.h"
#include "server/iplimit.h"
#include "server/metrics.h"
#include "server/ratelimit.h"
#include "server/reply.h"
#include "server/server.h"
#include "server/storepool.h"
#include "server/vcode.h"
#include "crypto/ohttp.h"
#include "qlog/qlog.h"

struct cds_server {
	struct cds_server_config cfg;   /* strings point into the copies below */
	char *datadir;
	char *listen;
	struct MHD_Daemon *daemon;
	unsigned port;
	struct cds_mirror *mirror;
	struct cds_qlog *qlog;
	struct cds_ratelimit *rate;
	struct cds_iplimit *iplimit;
	struct cds_metrics *metrics;
	struct cds_storepool *pool;
	struct cds_deadline *deadline;  /* receiving a request (deadline.h) */
	struct cds_cidr *proxies;       /* --trusted-proxy ranges */
	size_t n_proxies;
	uint8_t *metrics_hash;          /* SHA-256 of DIR/metrics.token, locked */
	struct MHD_Daemon *metrics_daemon; /* --metrics-listen, or NULL */
	/* verified handles (api_verify.c) */
	struct cds_iplimit *writes;     /* writes per account */
	struct cds_iplimit *verify_ip;  /* verifications per client address */
	struct cds_deliver *deliver;
	uint8_t vkey[CDS_VCODE_KEY_BYTES];
	struct cds_gateway *gateway;    /* Oblivious HTTP keys */
	bool rate_loaded;               /* saved state read: save at stop */
	/* background thread: store polling and rate-state saving */
	pthread_t bg;
	bool bg_running;
	pthread_mutex_t bg_mu;
	pthread_cond_t bg_cv;
	bool stopping;
	/* change-notice listener (notify.c): wakes bg on a shared store */
	pthread_t notify;
	bool notify_running;
	atomic_long inflight;           /* requests begun and not completed */
	atomic_bool draining;           /* stopping: refuse new requests */
	atomic_bool serving;            /* the daemon is up (log level of MHD) */
};

/*
 * notify.c: on a shared store (cfg.change_notify), a thread that listens
 * for change notices and wakes the background thread at once, so that
 * replicas poll on a change rather than at their next tick.  _stop (after
 * `stopping` is set) joins it; both are no-ops when there is none.
 */
enum cds_err cds_notify_start(struct cds_server *s,
			      struct cds_error *err) CDS_MUST_CHECK;
void cds_notify_stop(struct cds_server *s);

struct cds_req;
struct cds_route;

typedef void cds_api_fn(struct cds_req *rq, struct cds_reply *rp);

struct cds_route {
	const char *method;
	const char *path;               /* exact, or a prefix if is_prefix */
	bool is_prefix;
	bool has_body;                  /* read a JSON body before the handler */
	bool mutating;                  /* writes to the store */
	enum cds_endpoint ep;
	cds_api_fn *fn;
	const char *body_type;          /* media type of the body; NULL: JSON */
	/*
	 * Not through the Oblivious HTTP gateway (api_ohttp.c): the route
	 * meters by client address, which the gateway by design does not
	 * have, or defers its answer (daemon.c), which an inner request
	 * cannot.
	 */
	bool direct_only;
	/* With is_prefix: the path ends so, one segment after the prefix. */
	const char *suffix;
};

struct cds_req {
	struct cds_server *srv;
	struct MHD_Connection *conn;
	const struct cds_route *route;  /* NULL: answered 404/405 */
	const char *url;                /* path, owned by MHD */
	const struct sockaddr *peer;    /* the socket's peer; may be NULL */
	/* the client: peer, or X-Forwarded-For from a trusted proxy; NULL if
	 * peer is (for the query log and per-address limits) */
	const struct sockaddr *client;
	struct sockaddr_storage client_ss;
	int64_t start_us;               /* monotonic */
	struct cds_buf body;
	size_t body_seen;               /* bytes received, kept or not */
	bool body_too_large;
	bool replied;
	bool counted;                   /* in srv->inflight until completed */
	/* for the query log, filled by handlers */
	enum cds_endpoint ep;
	uint32_t items;
	bool has_account;
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	struct cds_lookup_req lookup;   /* plain lookup: handles to log */
	bool log_handles;
	/*
	 * A deferred answer (daemon.c): a handler that sets `defer` has its
	 * request suspended, then defer(rq) runs; whatever thread finishes
	 * the work fills `later` and calls cds_api_resume exactly once.
	 */
	void (*defer)(struct cds_req *rq);
	bool deferred;
	struct cds_reply later;
	void *defer_ctx;                /* the handler's own state */
	/*
	 * Through the Oblivious HTTP gateway (api_ohttp.c): the inner
	 * request's headers, and its query split into "name=value" strings
	 * (n_query of them, one after the other), replace the connection's.
	 */
	enum cds_qlog_via via;
	unsigned log_status;            /* the inner reply's status; 0: rp's */
	const struct cds_bhttp_msg *inner;
	const char *query;
	size_t n_query;
};

/*
 * request.c: a request header or query parameter (decoded), from the
 * connection or, through the gateway, from the encapsulated request.
 * NULL if absent.  The strings live as long as the request.
 */
const char *cds_req_header(const struct cds_req *rq, const char *name);
const char *cds_req_query(const struct cds_req *rq, const char *name);

/* router.c: the route of (method, path); NULL with `allow` filled ("" if
 * no route has that path, else the methods it accepts). */
const struct cds_route *cds_route_find(const char *method, const char *path,
				       char allow[64]);
/* The 405 (with Allow) or 404 answer when cds_route_find found nothing. */
void cds_route_reply_missing(struct cds_reply *rp, const char *method,
			     const char *path, const char allow[64]);

/* auth.c: on failure these fill rp (401, or 403/429/413) and return false. */
bool cds_api_auth_account(struct cds_req *rq, struct cds_reply *rp,
			  struct cds_account *acct);
bool cds_api_auth_admin(struct cds_req *rq, struct cds_reply *rp);
bool cds_api_auth_metrics(struct cds_req *rq, struct cds_reply *rp);
bool cds_api_charge(struct cds_req *rq, struct cds_reply *rp, size_t n);
/* A 429 with Retry-After, "too many WHAT; retry in N s", counted. */
void cds_api_reply_limited(struct cds_req *rq, struct cds_reply *rp,
			   enum cds_metric counter, uint32_t retry,
			   const char *what);
/* The per-account write limit (handle, key and verification changes). */
bool cds_api_write_guard(struct cds_req *rq, struct cds_reply *rp);
/*
 * The per-address bucket guard (iplimit.h): admit before any work (false
 * after a 429), then charge what the reply cost once it is built: its body
 * bytes plus CDS_BUCKET_REQUEST_BYTES, whatever its status, so that floods
 * of tiny or refused requests are paid for too.
 */
bool cds_api_ip_admit(struct cds_req *rq, struct cds_reply *rp);
void cds_api_ip_charge(struct cds_req *rq, const struct cds_reply *rp);

/* api_*.c */
cds_api_fn cds_api_health;
cds_api_fn cds_api_params;
cds_api_fn cds_api_metrics;
cds_api_fn cds_api_discover;
cds_api_fn cds_api_bucket_get;
cds_api_fn cds_api_buckets_post;
cds_api_fn cds_api_lookup;
cds_api_fn cds_api_account_create;
cds_api_fn cds_api_handles_update;
cds_api_fn cds_api_identity_key;
cds_api_fn cds_api_account_delete;
cds_api_fn cds_api_account_get;
cds_api_fn cds_api_verify;
cds_api_fn cds_api_register;
cds_api_fn cds_api_handle_bind;
cds_api_fn cds_api_ohttp_keys;
cds_api_fn cds_api_ohttp;
cds_api_fn cds_api_thead;
cds_api_fn cds_api_tconsistency;
cds_api_fn cds_api_tversion;
cds_api_fn cds_api_thistory;

/* api_accounts.c: make the server's own write visible at once. */
void cds_api_after_write(struct cds_req *rq);

/* True if epoch is among those the mirror serves (p from cds_mirror_params). */
bool cds_api_epoch_served(const struct cds_mirror_params *p, uint32_t epoch);

/* api_meta.c: the /metrics body, whoever asked (metrics_listen.c too). */
void cds_api_metrics_render(struct cds_server *s, struct cds_reply *rp);

/* metrics_listen.c: the --metrics-listen daemon (no-op without it). */
enum cds_err cds_metrics_listen_start(struct cds_server *s,
				      struct cds_error *err) CDS_MUST_CHECK;
void cds_metrics_listen_stop(struct cds_server *s);

/* daemon.c */
/* Before a write: false if the query log could not take its record. */
bool cds_log_has_room(struct cds_server *s);
/* The 503 of a full query log (counted in the metrics). */
void cds_reply_log_full(struct cds_server *s, struct cds_reply *rp);
/* ct (NULL: no Content-Type) is the media type the route's body wants. */
bool cds_body_type_ok(const struct cds_route *r, const char *ct);
enum cds_err cds_daemon_start(struct cds_server *s, const struct sockaddr *sa,
			      struct cds_error *err) CDS_MUST_CHECK;
void cds_daemon_stop(struct cds_server *s, unsigned drain_ms);
/* MHD's panic hook: flush the server's log and rate state, then abort. */
void cds_daemon_panic(void *cls, const char *file, unsigned line,
		      const char *reason);

/* server.c: commit the query log's queue and save the rate-limit state now
 * (at a panic; the process is about to die). */
void cds_server_flush(struct cds_server *s);
/* Resume a request whose answer was deferred, `later` filled (any thread). */
void cds_api_resume(struct cds_req *rq);

#endif
