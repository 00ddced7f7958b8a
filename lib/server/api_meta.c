/*
 * api_meta.c: the endpoints about the server itself: GET /v1/health,
 * GET /v1/params (what a client needs before discovery) and GET /metrics
 * (Prometheus text, with the metrics token; metrics_listen.c serves it
 * without one on the operator's separate --metrics-listen address).
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

/*
 * The DESIGN.md fields first, unchanged, then the limits a client paces
 * itself by: prefixes per POST /v1/buckets, the per-address guard (bytes
 * per second, burst, what each request costs beyond its bytes; 0 = no
 * guard) and the byte cap of one POST /v1/buckets reply; then the
 * gateway's key configurations; last the transparency key (DESIGN.md
 * "Directory transparency").
 */
void cds_api_params(struct cds_req *rq, struct cds_reply *rp)
{
	const struct cds_server_config *c = &rq->srv->cfg;
	struct cds_mirror_params p;
	char pk[CDS_B64_LEN(CDS_OPRF_ELEMENT_BYTES)];
	uint8_t tkey[CDS_TKEY_PUBLIC_BYTES];
	char tk[CDS_B64_LEN(CDS_TKEY_PUBLIC_BYTES)];

	cds_mirror_params(rq->srv->mirror, &p);
	cds_b64_encode(pk, p.public_key, sizeof(p.public_key));
	cds_mirror_tkey(rq->srv->mirror, tkey);
	cds_b64_encode(tk, tkey, sizeof(tkey));
	cds_reply_json(rp, 200,
		       json_pack("{s:i, s:s, s:s, s:I, s:s, s:i, s:I, s:b,"
				 " s:I, s:{s:I, s:I, s:I}, s:I, s:o*, s:s}",
				 "version", 1,
				 "suite", "ristretto255-SHA512",
				 "mode", "voprf",
				 "epoch", (json_int_t)p.epoch,
				 "public_key", pk,
				 "prefix_bits", (int)p.prefix_bits,
				 "max_batch", (json_int_t)c->max_batch,
				 "plain_lookup", c->plain_lookup,
				 "max_prefixes", (json_int_t)c->max_prefixes,
				 "bucket_limit",
				 "bytes_per_s", (json_int_t)c->bucket_bytes_per_ip,
				 "burst_bytes", (json_int_t)(c->bucket_bytes_per_ip > 0
							     ? c->bucket_burst_bytes : 0),
				 "request_bytes", (json_int_t)CDS_BUCKET_REQUEST_BYTES,
				 "max_bucket_reply", (json_int_t)c->max_bucket_reply,
				 "ohttp_keys", ohttp_keys_b64(rq->srv),
				 "transparency_key", tk));
}

/* The metrics text; rp gets 200 or the error met while rendering. */
void cds_api_metrics_render(struct cds_server *s, struct cds_reply *rp)
{
	struct cds_metrics_gauges g;
	struct cds_mirror_stats ms;
	struct cds_error err = {0};
	struct cds_buf b;
	uint8_t *body;
	size_t len;

	memset(&g, 0, sizeof(g));
	cds_mirror_params(s->mirror, &g.params);
	cds_qlog_get_stats(s->qlog, &g.qlog);
	g.rate_accounts = cds_ratelimit_accounts(s->rate);
	cds_mirror_stats(s->mirror, &ms);
	g.index_evaluations = ms.evaluations;
	g.inflight = atomic_load(&s->inflight);
	g.deadline_cuts = cds_deadline_cuts(s->deadline);
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

/*
 * On the API listener /metrics takes the metrics token: behind a local
 * proxy every peer is loopback, so an address is no credential.
 */
void cds_api_metrics(struct cds_req *rq, struct cds_reply *rp)
{
	if (cds_api_auth_metrics(rq, rp))
		cds_api_metrics_render(rq->srv, rp);
}
