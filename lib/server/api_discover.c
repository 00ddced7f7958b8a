/*
 * api_discover.c: POST /v1/discover, step 1 of private discovery: VOPRF
 * BlindEvaluate of the client's blinded elements with one batched proof.
 *
 * Order matters (invariant 2 of server.h): authenticate, decode and
 * validate every element, check the epoch, charge the account for every
 * element, and only then evaluate.  If evaluation fails after the charge
 * (the epoch was retired in between), the charge is refunded.  Nothing
 * about the elements reaches the query log beyond their count.
 */
#include "server/server_int.h"

#include <stdlib.h>

#include "core/codec.h"

/* {"epoch":E,"evaluated":[B64...],"proof":B64} */
static json_t *discover_doc(uint32_t epoch, const uint8_t *evaluated,
			    size_t n, const uint8_t *proof)
{
	char b64[CDS_B64_LEN(CDS_OPRF_PROOF_BYTES)];
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		cds_b64_encode(b64, evaluated + i * CDS_OPRF_ELEMENT_BYTES,
			       CDS_OPRF_ELEMENT_BYTES);
		if (json_array_append_new(arr, json_string_nocheck(b64))) {
			json_decref(arr);
			return NULL;
		}
	}
	if (!arr)
		return NULL;
	cds_b64_encode(b64, proof, CDS_OPRF_PROOF_BYTES);
	return json_pack("{s:I, s:o, s:s}", "epoch", (json_int_t)epoch,
			 "evaluated", arr, "proof", b64);
}

void cds_api_discover(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_server *s = rq->srv;
	struct cds_discover_req d = {0};
	struct cds_mirror_params p;
	struct cds_account acct;
	struct cds_error err = {0};
	uint8_t proof[CDS_OPRF_PROOF_BYTES], *evaluated = NULL;

	if (!cds_api_auth_account(rq, rp, &acct))
		return;
	if (cds_decode_discover(&d, (const char *)rq->body.data, rq->body.len,
				s->cfg.max_batch, &err)) {
		cds_reply_from_err(rp, &err);
		goto out;
	}
	rq->items = (uint32_t)d.n;
	cds_mirror_params(s->mirror, &p);
	if (!cds_api_epoch_served(&p, d.epoch)) {
		cds_reply_epoch(rp, d.epoch, p.epoch);
		goto out;
	}
	if (!cds_api_charge(rq, rp, d.n))
		goto out;
	evaluated = malloc(d.n * CDS_OPRF_ELEMENT_BYTES);
	if (!evaluated) {
		cds_ratelimit_refund(s->rate, rq->account, (double)d.n);
		cds_fail(&err, CDS_ERR_NOMEM, "out of memory");
		cds_reply_from_err(rp, &err);
		goto out;
	}
	if (cds_mirror_evaluate(s->mirror, d.epoch, d.elements, d.n,
				evaluated, proof, &err)) {
		cds_ratelimit_refund(s->rate, rq->account, (double)d.n);
		if (err.code == CDS_ERR_EPOCH) {
			cds_mirror_params(s->mirror, &p);
			cds_reply_epoch(rp, d.epoch, p.epoch);
		} else {
			cds_reply_from_err(rp, &err);
		}
		goto out;
	}
	cds_metrics_add(s->metrics, CDS_M_ELEMENTS_EVALUATED, d.n);
	cds_reply_json(rp, 200, discover_doc(d.epoch, evaluated, d.n, proof));
out:
	free(evaluated);
	cds_discover_req_fini(&d);
}
