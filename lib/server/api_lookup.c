/*
 * api_lookup.c: POST /v1/lookup, the classic plain lookup, served only when
 * cdsd runs with --plain-lookup on (403 "disabled" otherwise).
 *
 * Unlike discovery, the server learns every handle asked for, and the query
 * log records them all (cds_qlog_submit_lookup): that is the point of
 * offering it only for compatibility and comparison.  Each handle costs one
 * rate-limit token, charged before any lookup.
 *
 * The reply is written by hand (it is a hot path in the benchmarks);
 * handles are canonical, so they are printable ASCII, but are escaped
 * anyway so that the output is valid JSON whatever cds_handle_check admits.
 */
#include "server/server_int.h"

#include <stdio.h>
#include <string.h>

#include "core/codec.h"
#include "server/pubenc.h"

/* Append s as a JSON string literal. */
static enum cds_err append_json_str(struct cds_buf *b, const char *s)
{
	enum cds_err rc = cds_buf_append(b, "\"", 1);
	const char *run = s;

	for (; !rc && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		rc = cds_buf_append(b, run, (size_t)(s - run));
		if (!rc) {
			char esc[8];

			snprintf(esc, sizeof(esc), "\\u%04x", c);
			rc = cds_buf_append(b, esc, 6);
		}
		run = s + 1;
	}
	if (!rc)
		rc = cds_buf_append(b, run, (size_t)(s - run));
	if (!rc)
		rc = cds_buf_append(b, "\"", 1);
	return rc;
}

/* Append a string literal (no printf: this runs once per handle). */
#define APPEND_LIT(b, lit) cds_buf_append((b), (lit), sizeof(lit) - 1)

/* One element of "results". */
static enum cds_err append_result(struct cds_buf *b, const char *h,
				  bool found, const struct cds_account *a)
{
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];
	char key[CDS_B64_LEN(CDS_IDENTITY_KEY_BYTES)];
	enum cds_err rc;

	if ((rc = APPEND_LIT(b, "{\"handle\":")) ||
	    (rc = append_json_str(b, h)))
		return rc;
	if (!found)
		return APPEND_LIT(b, ",\"registered\":false}");
	cds_pubenc_hex(hex, a->id, CDS_ACCOUNT_ID_BYTES);
	cds_pubenc_b64(key, a->identity_key, CDS_IDENTITY_KEY_BYTES);
	if ((rc = APPEND_LIT(b, ",\"registered\":true,\"account\":\"")) ||
	    (rc = cds_buf_append(b, hex, sizeof(hex) - 1)) ||
	    (rc = APPEND_LIT(b, "\",\"identity_key\":\"")) ||
	    (rc = cds_buf_append(b, key, sizeof(key) - 1)))
		return rc;
	return APPEND_LIT(b, "\"}");
}

static enum cds_err lookup_doc(struct cds_server *s,
			       const struct cds_handle_list *hl,
			       struct cds_buf *out)
{
	struct cds_account a[CDS_MIRROR_LOOKUP_MAX];
	bool found[CDS_MIRROR_LOOKUP_MAX];
	enum cds_err rc = cds_buf_reserve(out, 64 + hl->n * 160);

	if (!rc)
		rc = APPEND_LIT(out, "{\"results\":[");
	/* Look up a chunk under one lock, then write its answers. */
	for (size_t c = 0; !rc && c < hl->n; c += CDS_MIRROR_LOOKUP_MAX) {
		size_t k = hl->n - c < CDS_MIRROR_LOOKUP_MAX ? hl->n - c
							     : CDS_MIRROR_LOOKUP_MAX;

		cds_mirror_lookup_many(s->mirror,
				       (const char *const *)hl->v + c, k, a,
				       found);
		for (size_t i = 0; !rc && i < k; i++) {
			if (c + i)
				rc = cds_buf_append(out, ",", 1);
			if (!rc)
				rc = append_result(out, hl->v[c + i], found[i],
						   &a[i]);
		}
	}
	if (!rc)
		rc = cds_buf_append(out, "]}", 2);
	return rc;
}

void cds_api_lookup(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_server *s = rq->srv;
	struct cds_account acct;
	struct cds_error err = {0};
	struct cds_buf out;
	uint8_t *body;
	size_t len;

	if (!s->cfg.plain_lookup) {
		cds_reply_error(rp, 403, "disabled", -1,
				"plain lookup is disabled on this server; use private discovery (/v1/discover)");
		return;
	}
	if (!cds_api_auth_account(rq, rp, &acct))
		return;
	if (cds_decode_lookup(&rq->lookup, (const char *)rq->body.data,
			      rq->body.len, s->cfg.max_batch, &err)) {
		cds_reply_from_err(rp, &err);
		return;
	}
	/* From here on the handles were revealed to us: they are logged. */
	rq->items = (uint32_t)rq->lookup.handles.n;
	rq->log_handles = true;
	if (!cds_api_charge(rq, rp, rq->lookup.handles.n))
		return;
	cds_buf_init(&out);
	if (lookup_doc(s, &rq->lookup.handles, &out)) {
		cds_buf_fini(&out);
		cds_reply_error(rp, 503, "busy", -1, "out of memory");
		return;
	}
	cds_metrics_add(s->metrics, CDS_M_LOOKUP_HANDLES,
			rq->lookup.handles.n);
	body = cds_buf_steal(&out, &len);
	cds_reply_raw(rp, 200, "application/json", body, len);
}
