/*
 * metrics_listen.c: the --metrics-listen address: a second, tiny HTTP
 * daemon that answers GET /metrics without a token and nothing else.
 *
 * The operator binds it where only the monitoring system can reach it (a
 * private interface, a firewalled port); the main listener keeps asking
 * for the metrics token.  Requests here are not API requests: they get no
 * query-log record and are not counted in the request metrics.
 *
 * Invariant: any method or path other than GET /metrics is 404 or 405;
 * no request body is ever read.
 */
#include "server/server_int.h"

#include <stdlib.h>
#include <string.h>

static enum MHD_Result send_metrics_reply(struct MHD_Connection *conn, struct cds_reply *rp)
{
	size_t len;
	char *body = cds_reply_take_body(rp, &len);
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!resp) {
		free(body);
		cds_reply_fini(rp);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", rp->content_type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, rp->status, resp);
	MHD_destroy_response(resp);
	cds_reply_fini(rp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct cds_reply rp;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	cds_reply_init(&rp);
	if (strcmp(url, "/metrics") != 0)
		cds_reply_error(&rp, 404, "not_found", -1,
				"only /metrics is served on this address");
	else if (strcmp(method, "GET") != 0)
		cds_reply_error(&rp, 405, "method_not_allowed", -1,
				"%.16s is not allowed on /metrics (allowed: GET)",
				method);
	else
		cds_api_metrics_render(cls, &rp);
	return send_metrics_reply(conn, &rp);
}

enum cds_err cds_metrics_listen_start(struct cds_server *s,
				      struct cds_error *err)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
	enum cds_err rc;

	if (!s->cfg.metrics_listen)
		return CDS_OK;
	rc = cds_server_parse_listen(&sa, &salen, s->cfg.metrics_listen, err);
	if (rc)
		return rc;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->metrics_daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg.timeout_s,
		MHD_OPTION_END);
	if (!s->metrics_daemon)
		return cds_fail(err, CDS_ERR_IO,
				"cannot listen on --metrics-listen '%s' (address in use, or not allowed?)",
				s->cfg.metrics_listen);
	return CDS_OK;
}

void cds_metrics_listen_stop(struct cds_server *s)
{
	if (s->metrics_daemon)
		MHD_stop_daemon(s->metrics_daemon);
	s->metrics_daemon = NULL;
}
