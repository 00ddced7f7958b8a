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

#include "core/buf.h"
#include "index/mirror.h"
#include "server/decode.h"
#include "server/iplimit.h"
#include "server/metrics.h"
#include "server/ratelimit.h"
#include "server/reply.h"
#include "server/server.h"
#include "server/storepool.h"
#include "store/qlog.h"

struct cds_server {
	struct cds_server_config cfg;   /* strings point into the copies below */
	char *datadir;
	char *listen;
	struct MHD_Daemon *daemon;
	MHD_socket quiesced;            /* listen socket after quiesce */
	unsigned port;
	struct cds_mirror *mirror;
	struct cds_qlog *qlog;
	struct cds_ratelimit *rate;
	struct cds_iplimit *iplimit;
	struct cds_metrics *metrics;
	struct cds_storepool *pool;
	bool rate_loaded;               /* saved state read: save at stop */
	/* background thread: store polling and rate-state saving */
	pthread_t bg;
	bool bg_running;
	pthread_mutex_t bg_mu;
	pthread_cond_t bg_cv;
	bool stopping;
	atomic_long inflight;           /* requests begun and not completed */
	atomic_bool serving;            /* the daemon is up (log level of MHD) */
};

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
};

struct cds_req {
	struct cds_server *srv;
	struct MHD_Connection *conn;
	const struct cds_route *route;  /* NULL: answered 404/405 */
	const char *url;                /* path, owned by MHD */
	const struct sockaddr *peer;    /* may be NULL */
	int64_t start_us;               /* monotonic */
	struct cds_buf body;
	size_t body_seen;               /* bytes received, kept or not */
	bool body_too_large;
	bool replied;
	/* for the query log, filled by handlers */
	enum cds_endpoint ep;
	uint32_t items;
	bool has_account;
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	struct cds_lookup_req lookup;   /* plain lookup: handles to log */
	bool log_handles;
};

/* router.c: the route of (method, path); NULL with `allow` filled ("" if
 * no route has that path, else the methods it accepts). */
const struct cds_route *cds_route_find(const char *method, const char *path,
				       char allow[64]);

/* auth.c: on failure these fill rp (401, or 403/429/413) and return false. */
bool cds_api_auth_account(struct cds_req *rq, struct cds_reply *rp,
			  struct cds_account *acct);
bool cds_api_auth_admin(struct cds_req *rq, struct cds_reply *rp);
bool cds_api_charge(struct cds_req *rq, struct cds_reply *rp, size_t n);
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

/* api_accounts.c: make the server's own write visible at once. */
void cds_api_after_write(struct cds_req *rq);

/* True if epoch is among those the mirror serves (p from cds_mirror_params). */
bool cds_api_epoch_served(const struct cds_mirror_params *p, uint32_t epoch);

/* daemon.c */
enum cds_err cds_daemon_start(struct cds_server *s, const struct sockaddr *sa,
			      struct cds_error *err) CDS_MUST_CHECK;
void cds_daemon_stop(struct cds_server *s, unsigned drain_ms);

#endif
