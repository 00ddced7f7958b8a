/*
 * api_meta.c: the endpoints about the server itself: GET /v1/health,
 * GET /v1/params (what a client needs before discovery) and GET /metrics
 * (Prometheus text, for loopback peers unless --metrics-allow-any).
 */
#include "server/server_int.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"

void cds_api_health(struct cds_req *rq, struct cds_reply *rp)
{
	(void)rq;
	cds_reply_json(rp, 200, json_pack("{s:s}", "status", "ok"));
}

bool cds_api_epoch_served(const struct cds_mirror_params *p, uint32_t epoch)
{
	for (size_t i = 0; i < p->n_epochs && i < 2; i++)
		if (p->epochs[i] == epoch)
			return true;
	return false;
}

/*
 * The gateway's key configurations (base64 of application/ohttp-keys), so
 * that a client can check the config it got through a relay against what
 * the server tells everyone (NULL if it cannot be built).
 */
static json_t *ohttp_keys_b64(struct cds_server *s)
{
	struct cds_buf b;
	json_t *v = NULL;
	char *text;

	cds_buf_init(&b);
	if (!cds_gateway_configs(s->gateway, &b, NULL) &&
	    (text = malloc(CDS_B64_LEN(b.len)))) {
		cds_b64_encode(text, b.data, b.len);
		v = json_string(text);
		free(text);
	}
	cds_buf_fini(&b);
	return v;
}

void cds_api_params(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_mirror_params p;
	char pk[CDS_B64_LEN(CDS_OPRF_ELEMENT_BYTES)];

	cds_mirror_params(rq->srv->mirror, &p);
	cds_b64_encode(pk, p.public_key, sizeof(p.public_key));
	cds_reply_json(rp, 200,
		       json_pack("{s:i, s:s, s:s, s:I, s:s, s:i, s:I, s:b, s:o*}",
				 "version", 1,
				 "suite", "ristretto255-SHA512",
				 "mode", "voprf",
				 "epoch", (json_int_t)p.epoch,
				 "public_key", pk,
				 "prefix_bits", (int)p.prefix_bits,
				 "max_batch", (json_int_t)rq->srv->cfg.max_batch,
				 "plain_lookup", rq->srv->cfg.plain_lookup,
				 "ohttp_keys", ohttp_keys_b64(rq->srv)));
}

/* Loopback: 127.0.0.0/8, ::1, or an IPv4-mapped 127.x address. */
static bool is_loopback(const struct sockaddr *sa)
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
		       (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
			s6->sin6_addr.s6_addr[12] == 127);
	}
	return false;
}

void cds_api_metrics(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_server *s = rq->srv;
	struct cds_metrics_gauges g;
	struct cds_error err = {0};
	struct cds_buf b;
	uint8_t *body;
	size_t len;

	if (!s->cfg.metrics_allow_any && !is_loopback(rq->peer)) {
		cds_reply_error(rp, 403, "forbidden", -1,
				"/metrics is served to loopback clients only");
		return;
	}
	memset(&g, 0, sizeof(g));
	cds_mirror_params(s->mirror, &g.params);
	cds_qlog_get_stats(s->qlog, &g.qlog);
	g.rate_accounts = cds_ratelimit_accounts(s->rate);
	g.inflight = atomic_load(&s->inflight);
	cds_buf_init(&b);
	if (cds_metrics_render(s->metrics, &g, &b, &err)) {
		cds_buf_fini(&b);
		cds_reply_from_err(rp, &err);
		return;
	}
	body = cds_buf_steal(&b, &len);
	cds_reply_raw(rp, 200, "text/plain; version=0.0.4; charset=utf-8",
		      body, len);
}
