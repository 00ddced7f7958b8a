/*
 * api_buckets.c: step 2 of private discovery, public and cacheable:
 * GET /v1/buckets/{prefix}?epoch=E and POST /v1/buckets.
 *
 * Buckets are the same bytes for every client, so these endpoints need no
 * account and are not charged to one; the per-address guard (iplimit.h)
 * admits a request while the address's balance is positive and charges the
 * bytes of the reply.  GET answers carry an ETag derived from (epoch,
 * prefix, bucket version, representation) and honour If-None-Match with
 * 304; Accept: application/octet-stream returns the raw concatenated
 * entries.  POST answers carry each bucket's (JSON) ETag and, given
 * "etags", answer a bucket whose ETag still matches with "not_modified"
 * and no entries, so a client revalidates 256 buckets per request.  A
 * POST with Accept: application/octet-stream gets the same answer in the
 * binary form of core/bucketsbin.h (raw entries, each bucket's raw ETag).
 *
 * Every bucket answer names the sealed version its bytes belong to and
 * carries their inclusion proof in that version's tree (DESIGN.md
 * "Directory transparency"): "version" and "proof" in JSON (not_modified
 * buckets too, for the current version), CDS-Version and CDS-Proof
 * headers on raw answers.  A GET's ETag follows the bucket's bytes alone,
 * so a 304 leaves the client with bytes and a proof that still verify
 * against the older version's head.
 *
 * Invariants:
 *  1. A POST reply never exceeds cfg.max_bucket_reply bytes unless it
 *     holds one bucket (a bucket is always servable on its own): past the
 *     cap the request is refused with 413 naming the first prefix that
 *     did not fit, before that bucket is encoded.
 *  2. Every reply, error or not, is charged to the peer's address.
 *
 * Bodies are written by hand: they hold only numbers, base64 and our own
 * ETags, so no escaping beyond the ETag's quotes is needed, and this is
 * the hottest path of the server.
 */
#include "server/server_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/bucketsbin.h"
#include "core/codec.h"
#include "server/pubenc.h"

#define BUCKET_PATH "/v1/buckets/"
#define ETAG_BYTES 80

/* The ETag of a bucket version in one representation ('j' JSON, 'b' raw). */
static void bucket_etag(char out[ETAG_BYTES], uint32_t epoch, uint32_t prefix,
			uint64_t version, char repr)
{
	snprintf(out, ETAG_BYTES, "\"%u.%u.%llx.%c\"", epoch, prefix,
		 (unsigned long long)version, repr);
}

/* True if tag (weak or strong) names this bucket version in either
 * representation: the entries are the same bytes. */
static bool etag_current(const char *tag, uint32_t epoch, uint32_t prefix,
			 uint64_t version)
{
	char mine[ETAG_BYTES];

	if (!strncmp(tag, "W/", 2))
		tag += 2;
	bucket_etag(mine, epoch, prefix, version, 'j');
	if (!strcmp(tag, mine))
		return true;
	bucket_etag(mine, epoch, prefix, version, 'b');
	return !strcmp(tag, mine);
}

/* Append `"version":V,"proof":"<base64>"` to out. */
static enum cds_err append_proof(struct cds_buf *out,
				 const struct cds_mirror_tproof *tp)
{
	char b64[CDS_B64_LEN(sizeof(tp->proof))];

	cds_pubenc_b64(b64, tp->proof, tp->proof_len);
	return cds_buf_appendf(out, "\"version\":%llu,\"proof\":\"%s\"",
			       (unsigned long long)tp->head.version, b64);
}

/* Append `"entries":"<base64 of bucket>"` to out. */
static enum cds_err append_entries(struct cds_buf *out, const uint8_t *raw,
				   size_t n)
{
	enum cds_err rc;
	size_t need = CDS_B64_LEN(n);

	if ((rc = cds_buf_appendf(out, "\"entries\":\"")) ||
	    (rc = cds_buf_reserve(out, need + 2)))
		return rc;
	cds_pubenc_b64((char *)out->data + out->len, raw, n);
	out->len += need - 1;
	return cds_buf_append(out, "\"", 1);
}

static bool wants_raw(const struct cds_req *rq)
{
	const char *a = cds_req_header(rq, "Accept");

	return a && strcasestr(a, "application/octet-stream") != NULL;
}

/*
 * True if If-None-Match lists etag (weak comparison, RFC 9110 13.1.2) or
 * is "*".
 */
static bool etag_matches(const struct cds_req *rq, const char *etag)
{
	const char *h = cds_req_header(rq, "If-None-Match");
	size_t elen = strlen(etag);

	while (h && *h) {
		size_t n;

		while (*h == ' ' || *h == '\t' || *h == ',')
			h++;
		if (*h == '*')
			return true;
		if (!strncmp(h, "W/", 2))
			h += 2;
		n = strcspn(h, ",");
		while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if (n == elen && !memcmp(h, etag, n))
			return true;
		h += strcspn(h, ",");
	}
	return false;
}

/* Prefix and epoch from the path and query; false after a 400. */
static bool bucket_args(struct cds_req *rq, struct cds_reply *rp,
			uint32_t *prefix, uint32_t *epoch)
{
	const char *ps = rq->url + strlen(BUCKET_PATH);
	const char *es = cds_req_query(rq, "epoch");
	struct cds_error err = {0};

	if (cds_decode_u32(prefix, ps, strlen(ps), 0, UINT32_MAX,
			   "bucket prefix", &err)) {
		cds_reply_from_err(rp, &err);
		return false;
	}
	if (!es) {
		cds_reply_error(rp, 400, "invalid", -1,
				"missing query parameter 'epoch' (GET /v1/buckets/PREFIX?epoch=E)");
		return false;
	}
	if (cds_decode_u32(epoch, es, strlen(es), 1, UINT32_MAX, "epoch",
			   &err)) {
		cds_reply_from_err(rp, &err);
		return false;
	}
	return true;
}

/* Check epoch and prefix against the index; false after a 400 or 409. */
static bool bucket_check(struct cds_req *rq, struct cds_reply *rp,
			 uint32_t epoch, uint32_t prefix)
{
	struct cds_mirror_params p;
	uint64_t limit;

	cds_mirror_params(rq->srv->mirror, &p);
	limit = UINT64_C(1) << p.prefix_bits;
	if (prefix >= limit) {
		cds_reply_error(rp, 400, "invalid", -1,
				"bucket prefix %u is out of range 0..%llu",
				prefix, (unsigned long long)(limit - 1));
		return false;
	}
	if (!cds_api_epoch_served(&p, epoch)) {
		cds_reply_epoch(rp, epoch, p.epoch);
		return false;
	}
	return true;
}

/* Fetch one bucket into raw; false after an error reply. */
static bool fetch(struct cds_req *rq, struct cds_reply *rp, uint32_t epoch,
		  uint32_t prefix, struct cds_buf *raw, uint64_t *version,
		  struct cds_mirror_tproof *tp, long index)
{
	struct cds_error err = {0};
	struct cds_mirror_params p;

	if (!cds_mirror_bucket(rq->srv->mirror, epoch, prefix, raw, version,
			       tp, &err)) {
		cds_metrics_add(rq->srv->metrics, CDS_M_BUCKET_FETCHES, 1);
		return true;
	}
	if (err.code == CDS_ERR_EPOCH) {
		cds_mirror_params(rq->srv->mirror, &p);
		cds_reply_epoch(rp, epoch, p.epoch);
	} else {
		if (index >= 0)
			err.index = index;
		cds_reply_from_err(rp, &err);
	}
	return false;
}

/* The 200 body of a GET, JSON or raw. */
static void bucket_body(struct cds_reply *rp, struct cds_buf *raw, bool octets,
			uint32_t epoch, uint32_t prefix,
			const struct cds_mirror_tproof *tp)
{
	struct cds_buf out;
	uint8_t *body;
	size_t len;

	if (octets) {
		body = cds_buf_steal(raw, &len);
		cds_reply_raw(rp, 200, "application/octet-stream", body, len);
		return;
	}
	cds_buf_init(&out);
	if (cds_buf_appendf(&out, "{\"epoch\":%u,\"prefix\":%u,", epoch,
			    prefix) ||
	    append_entries(&out, raw->data, raw->len) ||
	    cds_buf_append(&out, ",", 1) || append_proof(&out, tp) ||
	    cds_buf_append(&out, "}", 1)) {
		cds_buf_fini(&out);
		cds_reply_error(rp, 503, "busy", -1, "out of memory");
		return;
	}
	body = cds_buf_steal(&out, &len);
	cds_reply_raw(rp, 200, "application/json", body, len);
}

/* CDS-Version and CDS-Proof: what a raw answer cannot say in its body. */
static void proof_headers(struct cds_reply *rp,
			  const struct cds_mirror_tproof *tp)
{
	char b64[CDS_B64_LEN(sizeof(tp->proof))];

	cds_pubenc_b64(b64, tp->proof, tp->proof_len);
	cds_reply_header(rp, "CDS-Version", "%llu",
			 (unsigned long long)tp->head.version);
	cds_reply_header_long(rp, "CDS-Proof", b64);
}

void cds_api_bucket_get(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_mirror_tproof tp;
	uint32_t prefix, epoch;
	uint64_t version = 0;
	struct cds_buf raw;
	char etag[ETAG_BYTES];
	bool octets = wants_raw(rq);

	rq->items = 1;
	cds_buf_init(&raw);
	if (!cds_api_ip_admit(rq, rp))
		goto out;
	if (!bucket_args(rq, rp, &prefix, &epoch) ||
	    !bucket_check(rq, rp, epoch, prefix) ||
	    !fetch(rq, rp, epoch, prefix, &raw, &version, &tp, -1))
		goto charge;
	bucket_etag(etag, epoch, prefix, version, octets ? 'b' : 'j');
	if (etag_matches(rq, etag)) {
		cds_metrics_add(rq->srv->metrics, CDS_M_BUCKET_NOT_MODIFIED, 1);
		cds_reply_raw(rp, 304, octets ? "application/octet-stream"
					      : "application/json", NULL, 0);
	} else {
		bucket_body(rp, &raw, octets, epoch, prefix, &tp);
	}
	if (octets)
		proof_headers(rp, &tp);
	cds_reply_header(rp, "ETag", "%s", etag);
	cds_reply_header(rp, "Cache-Control", "public, max-age=%u",
			 rq->srv->cfg.bucket_max_age);
	cds_reply_header(rp, "Vary", "Accept");
charge:
	cds_metrics_add(rq->srv->metrics, CDS_M_BUCKET_BYTES, rp->len);
	cds_api_ip_charge(rq, rp);
out:
	cds_buf_fini(&raw);
}

/* A POST reply's item in JSON: not_modified (etag NULL), or a bucket. */
static bool json_item(struct cds_buf *out, size_t i, uint32_t p,
		      const char *etag, const struct cds_buf *raw,
		      const struct cds_mirror_tproof *tp)
{
	if (!etag)
		return !cds_buf_appendf(out, "%s{\"prefix\":%u,\"not_modified\":true,",
					i ? "," : "", p) &&
		       !append_proof(out, tp) && !cds_buf_append(out, "}", 1);
	/* Our ETags hold no backslash; only their quotes need escaping. */
	return !cds_buf_appendf(out, "%s{\"prefix\":%u,\"etag\":\"\\\"%.*s\\\"\",",
				i ? "," : "", p, (int)strlen(etag) - 2, etag + 1) &&
	       !append_entries(out, raw->data, raw->len) &&
	       !cds_buf_append(out, ",", 1) && !append_proof(out, tp) &&
	       !cds_buf_append(out, "}", 1);
}

/* The same item in the binary answer. */
static bool bin_item(struct cds_buf *out, uint32_t p, const char *etag,
		     const struct cds_buf *raw,
		     const struct cds_mirror_tproof *tp)
{
	return !cds_bucketsbin_item(out, p, tp->head.version, tp->proof,
				    tp->proof_len, etag, raw->data, raw->len);
}

/* Bytes a bucket adds to the reply, at most (for invariant 1). */
static size_t item_bytes(bool bin, const struct cds_buf *raw,
			 const struct cds_mirror_tproof *tp)
{
	if (bin)
		return CDS_BUCKETSBIN_ITEM_BYTES + tp->proof_len + 1 +
		       ETAG_BYTES + 4 + raw->len;
	return CDS_B64_LEN(raw->len) + 2 * ETAG_BYTES +
	       CDS_B64_LEN(tp->proof_len) + 40;
}

/* One bucket of a POST reply: not_modified, or with its ETag and entries.
 * 413 (invariant 1) or 503 on failure, both with the prefix's index. */
static bool bucket_item(struct cds_req *rq, struct cds_reply *rp,
			const struct cds_buckets_req *b, size_t i, bool bin,
			const struct cds_buf *raw, uint64_t version,
			const struct cds_mirror_tproof *tp, struct cds_buf *out)
{
	size_t cap = rq->srv->cfg.max_bucket_reply;
	uint32_t p = b->prefixes[i];
	char etag[ETAG_BYTES];
	const char *tag = etag;

	if (b->etags && b->etags[i] &&
	    etag_current(b->etags[i], b->epoch, p, version)) {
		cds_metrics_add(rq->srv->metrics, CDS_M_BUCKET_NOT_MODIFIED, 1);
		tag = NULL;
	} else if (i > 0 && out->len + item_bytes(bin, raw, tp) > cap) {
		cds_reply_error(rp, 413, "too_large", (long)i,
				"the reply would exceed %zu bytes at prefixes[%zu]; ask for fewer buckets",
				cap, i);
		return false;
	} else {
		bucket_etag(etag, b->epoch, p, version, bin ? 'b' : 'j');
	}
	if (bin ? bin_item(out, p, tag, raw, tp)
		: json_item(out, i, p, tag, raw, tp))
		return true;
	cds_reply_error(rp, 503, "busy", (long)i, "out of memory");
	return false;
}

/* {"epoch":E,"buckets":[...]} (or its binary form) into out; false after
 * an error reply. */
static bool buckets_doc(struct cds_req *rq, struct cds_reply *rp,
			const struct cds_buckets_req *b, bool bin,
			struct cds_buf *out)
{
	struct cds_mirror_tproof tp;
	struct cds_buf raw;
	uint64_t version;
	bool ok = false;

	cds_buf_init(&raw);
	if (bin ? cds_bucketsbin_head(out, b->epoch, (uint32_t)b->n)
		: cds_buf_appendf(out, "{\"epoch\":%u,\"buckets\":[", b->epoch)) {
		cds_reply_error(rp, 503, "busy", -1, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < b->n; i++) {
		cds_buf_reset(&raw);
		if (!fetch(rq, rp, b->epoch, b->prefixes[i], &raw, &version,
			   &tp, (long)i) ||
		    !bucket_item(rq, rp, b, i, bin, &raw, version, &tp, out))
			goto out;
	}
	if (!bin && cds_buf_append(out, "]}", 2)) {
		cds_reply_error(rp, 503, "busy", -1, "out of memory");
		goto out;
	}
	ok = true;
out:
	cds_buf_fini(&raw);
	return ok;
}

void cds_api_buckets_post(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_buckets_req b = {0};
	struct cds_mirror_params p;
	struct cds_error err = {0};
	struct cds_buf out;
	uint8_t *body;
	size_t len;
	bool bin = wants_raw(rq);

	cds_buf_init(&out);
	if (!cds_api_ip_admit(rq, rp))
		goto out;
	cds_mirror_params(rq->srv->mirror, &p);
	if (cds_decode_buckets(&b, (const char *)rq->body.data, rq->body.len,
			       rq->srv->cfg.max_prefixes, p.prefix_bits,
			       &err)) {
		cds_reply_from_err(rp, &err);
		goto charge;
	}
	rq->items = (uint32_t)b.n;
	if (!cds_api_epoch_served(&p, b.epoch)) {
		cds_reply_epoch(rp, b.epoch, p.epoch);
		goto charge;
	}
	if (!buckets_doc(rq, rp, &b, bin, &out))
		goto charge;
	body = cds_buf_steal(&out, &len);
	cds_reply_raw(rp, 200, bin ? CDS_BUCKETSBIN_TYPE : "application/json",
		      body, len);
	cds_reply_header(rp, "Vary", "Accept");
charge:
	cds_metrics_add(rq->srv->metrics, CDS_M_BUCKET_BYTES, rp->len);
	cds_api_ip_charge(rq, rp);
out:
	cds_buf_fini(&out);
	cds_buckets_req_fini(&b);
}
