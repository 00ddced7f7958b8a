/*
 * daemon.c: libmicrohttpd glue: the access handler that turns MHD's
 * callbacks into one struct cds_req per request, body accumulation with
 * its limits, query logging, counting, and sending the reply.
 *
 * MHD calls the access handler once when the headers are in, once per body
 * chunk, and once more at the end of the body (also when there is none); we
 * answer at the last call, or at the first when the request is refused
 * before its body (unknown route, wrong content type, declared length over
 * the limit: MHD then closes the connection, so the body is never read).
 * Invariants:
 *  1. Every request that got a struct cds_req is answered exactly once,
 *     logged once (or answered 503 if the log refuses it) and counted once.
 *  2. At most max_body bytes of a body are kept; past that the rest is
 *     discarded (up to a bound, then the connection is closed) and the
 *     answer is 413.
 *  3. A request (headers and body) not received within the request
 *     deadline closes the connection (deadline.h; a body chunk arriving
 *     late is refused here too): slow clients cannot hold a connection.
 *  4. The query log and the per-address limits see rq->client, never the
 *     raw peer (clientaddr.h).
 *  5. A handler that defers its answer (sets rq->defer: work that must
 *     not block a worker thread, such as sending a verification code) has
 *     its connection suspended before the work starts, and is answered
 *     from rq->later when the work's thread resumes it: the worker thread
 *     serves its other connections meanwhile.
 */
#include "server/server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "core/log.h"
#include "core/timeutil.h"

/* Keep discarding an oversized body up to this multiple of max_body. */
#define DRAIN_FACTOR 4

static struct cds_req *req_new(struct cds_server *s,
			       struct MHD_Connection *conn, const char *url)
{
	struct cds_req *rq = calloc(1, sizeof(*rq));
	const union MHD_ConnectionInfo *ci;

	if (!rq)
		return NULL;
	rq->srv = s;
	rq->conn = conn;
	rq->url = url;
	rq->start_us = cds_monotonic_us();
	rq->ep = CDS_EP_OTHER;
	cds_buf_init(&rq->body);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	rq->peer = ci ? ci->client_addr : NULL;
	/* The header is looked for only when some proxy could vouch for it. */
	if (cds_client_addr(&rq->client_ss, rq->peer,
			    s->n_proxies ? MHD_lookup_connection_value(
						   conn, MHD_HEADER_KIND,
						   "X-Forwarded-For")
					 : NULL,
			    s->proxies, s->n_proxies))
		rq->client = (const struct sockaddr *)&rq->client_ss;
	return rq;
}

static void req_free(struct cds_req *rq)
{
	if (!rq)
		return;
	cds_buf_fini(&rq->body);
	cds_lookup_req_fini(&rq->lookup);
	cds_reply_fini(&rq->later);
	free(rq);
}

/* Free callback of secret bodies (NUL-terminated JSON text). */
static void wipe_free(void *p)
{
	sodium_memzero(p, strlen(p));
	free(p);
}

/* Hand the reply to MHD.  The reply's body is given away. */
static enum MHD_Result send_reply(struct cds_req *rq, struct cds_reply *rp)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	bool cache_set = false;
	size_t len;
	char *body = cds_reply_take_body(rp, &len);

	if (rp->secret && body)
		resp = MHD_create_response_from_buffer_with_free_callback(
			len, body, wipe_free);
	else
		resp = MHD_create_response_from_buffer(len, body,
						       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		if (body)
			wipe_free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", rp->content_type);
	for (size_t i = 0; i < rp->n_hdr; i++) {
		MHD_add_response_header(resp, rp->hdr[i].name,
					cds_reply_header_value(&rp->hdr[i]));
		cache_set |= !strcasecmp(rp->hdr[i].name, "Cache-Control");
	}
	/* Tokens and account data must never sit in a shared cache. */
	if (!cache_set)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(rq->conn, rp->status, resp);
	MHD_destroy_response(resp);
	rq->replied = true;
	return ret;
}

/*
 * Submit the query-log record of this request.  If the log refuses it
 * (queue full, write failure in sync mode) the reply becomes a 503, except
 * for a write that already happened: its true outcome is sent and the
 * missing record is reported on stderr.
 */
static void log_request(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_qlog_request qr = {
		.peer = rq->client,
		.account = rq->has_account ? rq->account : NULL,
		.endpoint = rq->ep,
		.items = rq->items,
		.status = (uint16_t)(rq->log_status ? rq->log_status : rp->status),
		.via = rq->via,
	};
	struct cds_error err = {0};
	enum cds_err rc;

	if (rq->log_handles)
		rc = cds_qlog_submit_lookup(rq->srv->qlog, &qr,
					    rq->lookup.handles.v,
					    rq->lookup.handles.n, &err);
	else
		rc = cds_qlog_submit(rq->srv->qlog, &qr, &err);
	if (!rc)
		return;
	if (rq->route && rq->route->mutating && qr.status < 300) {
		cds_metrics_add(rq->srv->metrics, CDS_M_LOG_REFUSED, 1);
		cds_log_warn("%s answered %u but not logged: %s",
			     cds_endpoint_name(rq->ep), qr.status, err.msg);
		return;
	}
	cds_reply_log_full(rq->srv, rp);
}

void cds_reply_log_full(struct cds_server *s, struct cds_reply *rp)
{
	cds_metrics_add(s->metrics, CDS_M_LOG_REFUSED, 1);
	cds_reply_error(rp, 503, "busy", -1,
			"the server is overloaded (query log full); retry shortly");
	cds_reply_header(rp, "Retry-After", "1");
}

/* The deadline registration of a connection (set at NOTIFY_STARTED). */
static struct cds_deadline_conn *conn_deadline(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Log, count and send a finished reply. */
static enum MHD_Result complete(struct cds_req *rq, struct cds_reply *rp)
{
	enum MHD_Result ret;

	/* Received whole (or refused): the answer is not on the clock. */
	cds_deadline_disarm(rq->srv->deadline, conn_deadline(rq->conn));
	log_request(rq, rp);
	/* through the gateway: the inner request's endpoint and status */
	cds_metrics_request(rq->srv->metrics, rq->ep,
			    rq->log_status ? rq->log_status : rp->status,
			    cds_monotonic_us() - rq->start_us);
	ret = send_reply(rq, rp);
	cds_reply_fini(rp);
	return ret;
}

bool cds_log_has_room(struct cds_server *s)
{
	struct cds_qlog_stats st;

	if (s->cfg.retention_days <= 0)
		return true;
	cds_qlog_get_stats(s->qlog, &st);
	return st.queue_depth < s->cfg.log_queue;
}

bool cds_body_type_ok(const struct cds_route *r, const char *ct)
{
	const char *want = r->body_type ? r->body_type : "application/json";
	size_t n = strlen(want);

	/* A JSON body may come without a type; any other must say what it is. */
	if (!ct)
		return !r->body_type;
	if (strncasecmp(ct, want, n))
		return false;
	ct += n;
	return *ct == '\0' || *ct == ';' || *ct == ' ' || *ct == '\t';
}

/* Content-Length over the limit: refuse before reading the body. */
static bool declared_too_large(struct cds_req *rq)
{
	const char *cl = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
						    "Content-Length");
	char *end;
	unsigned long long v;

	if (!cl)
		return false;
	errno = 0;
	v = strtoull(cl, &end, 10);
	return errno == ERANGE || (end != cl && v > rq->srv->cfg.max_body);
}

/*
 * First call: route the request and apply the limits known from the
 * headers.  Returns true if rp holds an answer to send now.
 */
static bool begin(struct cds_req *rq, const char *method,
		  struct cds_reply *rp)
{
	char allow[64];

	rq->route = cds_route_find(method, rq->url, allow);
	if (!rq->route) {
		cds_route_reply_missing(rp, method, rq->url, allow);
		return true;
	}
	rq->ep = rq->route->ep;
	/* Through the gateway the peer is the relay's: never logged. */
	if (rq->ep == CDS_EP_OHTTP)
		rq->via = CDS_QLOG_VIA_OHTTP;
	if (rq->route->mutating && !cds_log_has_room(rq->srv)) {
		cds_reply_log_full(rq->srv, rp);
		return true;
	}
	if (!rq->route->has_body)
		return false;
	if (!cds_body_type_ok(rq->route, MHD_lookup_connection_value(
					 rq->conn, MHD_HEADER_KIND, "Content-Type"))) {
		cds_reply_error(rp, 415, "unsupported_media_type", -1,
				"the request body must be %s",
				rq->route->body_type ? rq->route->body_type
						     : "application/json");
		return true;
	}
	if (declared_too_large(rq)) {
		cds_reply_error(rp, 413, "too_large", -1,
				"request body over the limit of %zu bytes",
				rq->srv->cfg.max_body);
		return true;
	}
	return false;
}

/* A body chunk: keep it if it fits.  MHD_NO closes the connection. */
static enum MHD_Result absorb(struct cds_req *rq, const char *data, size_t n)
{
	const struct cds_server_config *c = &rq->srv->cfg;

	rq->body_seen += n;
	if (cds_monotonic_us() - rq->start_us >
	    (int64_t)c->deadline_s * CDS_USEC_PER_SEC) {
		cds_log_debug("request body too slow: connection closed");
		return MHD_NO;
	}
	if (rq->body_seen > c->max_body) {
		rq->body_too_large = true;
		cds_buf_fini(&rq->body);
		return rq->body_seen > DRAIN_FACTOR * c->max_body ? MHD_NO
								  : MHD_YES;
	}
	if (cds_buf_append(&rq->body, data, n))
		return MHD_NO;
	return MHD_YES;
}

/*
 * Count the request as in flight unless the server is draining; then it is
 * refused with 503 and "Connection: close".  Counting before looking at
 * the flag (both sequentially consistent, as in cds_daemon_stop, which sets
 * the flag before reading the count) means a request is either refused or
 * waited for: none slips between the two.
 */
static bool admit(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_server *s = rq->srv;

	atomic_fetch_add(&s->inflight, 1);
	if (!atomic_load(&s->draining)) {
		rq->counted = true;
		return true;
	}
	atomic_fetch_sub(&s->inflight, 1);
	cds_reply_error(rp, 503, "shutting_down", -1,
			"the server is shutting down; retry shortly");
	cds_reply_header(rp, "Retry-After", "1");
	cds_reply_header(rp, "Connection", "close");
	return false;
}

/*
 * Suspend first, then start the deferred work: the work's thread may
 * resume the connection before this returns, which MHD allows once the
 * connection is suspended (never before).
 */
static enum MHD_Result suspend(struct cds_req *rq, struct cds_reply *rp)
{
	cds_reply_fini(rp);
	cds_reply_init(&rq->later);
	rq->deferred = true;
	MHD_suspend_connection(rq->conn);
	rq->defer(rq);
	return MHD_YES;
}

void cds_api_resume(struct cds_req *rq)
{
	MHD_resume_connection(rq->conn);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct cds_server *s = cls;
	struct cds_req *rq = *con_cls;
	struct cds_reply rp;

	(void)version;
	if (!rq) {
		rq = req_new(s, conn, url);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		cds_reply_init(&rp);
		if (!admit(rq, &rp) || begin(rq, method, &rp))
			return complete(rq, &rp);
		/*
		 * Answer at the next call, even without a body: a reply
		 * queued while MHD may still expect a body makes it close
		 * the connection, which would cost keep-alive.
		 */
		cds_reply_fini(&rp);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		return rq->replied ? MHD_YES : absorb(rq, upload_data, n);
	}
	if (rq->replied)
		return MHD_YES;
	if (rq->deferred)   /* resumed: the deferred work is done */
		return complete(rq, &rq->later);
	cds_reply_init(&rp);
	if (rq->body_too_large)
		cds_reply_error(&rp, 413, "too_large", -1,
				"request body over the limit of %zu bytes",
				s->cfg.max_body);
	else
		rq->route->fn(rq, &rp);
	if (rq->defer)
		return suspend(rq, &rp);
	return complete(rq, &rp);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct cds_server *s = cls;

	struct cds_req *rq = *con_cls;

	(void)toe;
	if (!rq)
		return;
	if (rq->counted)
		atomic_fetch_sub(&s->inflight, 1);
	/* The next request on this connection starts its own clock. */
	cds_deadline_rearm(s->deadline, conn_deadline(conn));
	req_free(rq);
	*con_cls = NULL;
}

/* Register each connection with the request deadline (deadline.h). */
static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct cds_server *s = cls;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = ci ? cds_deadline_open(s->deadline,
							 ci->connect_fd)
				     : NULL;
		return;
	}
	cds_deadline_close(s->deadline, *socket_context);
	*socket_context = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct cds_server *s = cls;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	/*
	 * At start-up (binding) MHD's messages matter; once serving, they
	 * are mostly about clients' malformed requests, which anyone could
	 * use to flood the log: debug level then.
	 */
	if (atomic_load(&s->serving))
		cds_log_debug("libmicrohttpd: %s", line);
	else
		cds_log_warn("libmicrohttpd: %s", line);
}

/*
 * MHD panics (an internal invariant broken) end in abort().  Before that,
 * commit what the query log holds and save the rate-limit state: a crash
 * of the HTTP library must not lose records the operations doc promises.
 * MHD's panic hook is process-wide: it flushes the first server started
 * (cdsd runs one).
 */
static _Atomic(struct cds_server *) panic_server;

void cds_daemon_panic(void *cls, const char *file, unsigned line,
		      const char *reason)
{
	static atomic_flag once = ATOMIC_FLAG_INIT;
	struct cds_server *s = atomic_load(&panic_server);

	(void)cls;
	cds_log_warn("libmicrohttpd failed at %s:%u: %s",
		      file ? file : "?", line,
		      reason ? reason : "(no reason given)");
	if (s && !atomic_flag_test_and_set(&once))
		cds_server_flush(s);
	abort();
}

enum cds_err cds_daemon_start(struct cds_server *s, const struct sockaddr *sa,
			      struct cds_error *err)
{
	const struct cds_server_config *c = &s->cfg;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	const union MHD_DaemonInfo *di;
	struct cds_server *none = NULL;

	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (atomic_compare_exchange_strong(&panic_server, &none, s))
		MHD_set_panic_func(cds_daemon_panic, NULL);
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,  /* first, as MHD asks */
		MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)c->threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_conns,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->max_conns_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)c->conn_memory,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_END);
	if (!s->daemon)
		return cds_fail(err, CDS_ERR_IO,
				"cannot listen on '%s' (address in use, or not allowed?)",
				c->listen);
	di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	atomic_store(&s->serving, true);
	return CDS_OK;
}

/*
 * Stop in two steps: drain, then stop MHD.
 *
 * While draining, requests already begun finish normally and every new
 * one is answered 503 with Retry-After and "Connection: close".  We do not
 * use MHD_quiesce_daemon: with a thread pool in epoll mode (0.9.75) it
 * removes the listen socket from each worker's epoll set from our thread
 * while the worker may be removing it itself (it saw was_quiesced), and
 * the loser's EPOLL_CTL_DEL fails with ENOENT, which MHD turns into a
 * panic ("Failed to remove listen FD from epoll set", daemon.c:5531).
 * Answering 503 keeps the listen socket MHD's alone until MHD_stop_daemon,
 * which joins the workers before closing it.
 */
void cds_daemon_stop(struct cds_server *s, unsigned drain_ms)
{
	int64_t deadline = cds_monotonic_us() + (int64_t)drain_ms * 1000;
	struct cds_server *self = s;

	if (!s->daemon)
		return;
	atomic_store(&s->draining, true);
	while (atomic_load(&s->inflight) > 0 && cds_monotonic_us() < deadline)
		usleep(5000);
	if (atomic_load(&s->inflight) > 0)
		cds_log_warn("%ld requests still in flight after %u ms; closing",
			     (long)atomic_load(&s->inflight), drain_ms);
	MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
	atomic_compare_exchange_strong(&panic_server, &self, NULL);
}
