/*
 * tverify.c: bucket answers checked against signed heads, heads checked
 * against each other (tverify.h).
 *
 * Heads of one operation are few (one per version its buckets came from,
 * usually one), so they sit in a small array searched linearly.
 */
#include "client/tverify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/protocol_tlog.h"
#include "core/codec.h"
#include "crypto/btree.h"

void cds_tverify_init(struct cds_tverify *tv, struct cds_tfetch *fetch,
		      const uint8_t key[static CDS_TKEY_PUBLIC_BYTES],
		      const struct cds_thead *kept)
{
	memset(tv, 0, sizeof(*tv));
	tv->fetch = fetch;
	memcpy(tv->key, key, sizeof(tv->key));
	if (kept) {
		tv->have_kept = true;
		tv->kept = *kept;
	}
}

void cds_tverify_fini(struct cds_tverify *tv)
{
	free(tv->heads);
	tv->heads = NULL;
	tv->n = tv->cap = 0;
}

void cds_thead_wire(uint8_t out[static CDS_THEAD_WIRE_BYTES],
		    const struct cds_thead *h)
{
	cds_thead_signed_bytes(out, h);
	memcpy(out + CDS_THEAD_SIGNED_BYTES, h->signature, CDS_THEAD_SIG_BYTES);
}

enum cds_err cds_thead_unwire(struct cds_thead *h,
			      const uint8_t in[static CDS_THEAD_WIRE_BYTES],
			      struct cds_error *err)
{
	size_t t = sizeof(CDS_THEAD_LABEL) - 1;
	const uint8_t *r = in + t;

	if (memcmp(in, CDS_THEAD_LABEL, t))
		return cds_fail(err, CDS_ERR_INVALID,
				"a kept head does not start with \"%s\"",
				CDS_THEAD_LABEL);
	h->epoch = cds_get_u32be(r);
	h->version = cds_get_u64be(r + 4);
	h->time_ms = cds_get_u64be(r + 12);
	memcpy(h->root, r + 20, CDS_HASH_BYTES);
	memcpy(h->log_root, r + 20 + CDS_HASH_BYTES, CDS_HASH_BYTES);
	memcpy(h->signature, in + CDS_THEAD_SIGNED_BYTES, CDS_THEAD_SIG_BYTES);
	return CDS_OK;
}

static bool same_head(const struct cds_thead *a, const struct cds_thead *b)
{
	uint8_t x[CDS_THEAD_WIRE_BYTES], y[CDS_THEAD_WIRE_BYTES];

	cds_thead_wire(x, a);
	cds_thead_wire(y, b);
	return !memcmp(x, y, sizeof(x));
}

/* Invariant 2: the evidence is both heads, signed bytes then signature. */
static enum cds_err split_view(const struct cds_thead *a,
			       const struct cds_thead *b,
			       struct cds_error *err)
{
	uint8_t w[CDS_THEAD_WIRE_BYTES];
	char x[CDS_B64_LEN(CDS_THEAD_WIRE_BYTES)], y[sizeof(x)];

	cds_thead_wire(w, a);
	cds_b64_encode(x, w, sizeof(w));
	cds_thead_wire(w, b);
	cds_b64_encode(y, w, sizeof(w));
	return cds_fail(err, CDS_ERR_CRYPTO,
			"split view: the server signed two different heads for version %llu (keep this as evidence; signed bytes then signature, base64): %s %s",
			(unsigned long long)a->version, x, y);
}

enum cds_err cds_tverify_fetch_head(struct cds_tfetch *f, uint64_t v,
				    const uint8_t key[static CDS_TKEY_PUBLIC_BYTES],
				    struct cds_thead *h, struct cds_error *err)
{
	char path[80];
	struct cds_buf body;
	enum cds_err rc;

	cds_buf_init(&body);
	if (v)
		snprintf(path, sizeof(path),
			 "/v1/transparency/head?version=%llu",
			 (unsigned long long)v);
	else
		snprintf(path, sizeof(path), "/v1/transparency/head");
	rc = f->get(f->ctx, path, "GET /v1/transparency/head", &body, err);
	f->bytes += body.len;
	if (!rc)
		rc = cds_proto_parse_thead(h, v, (const char *)body.data,
					   body.len, err);
	if (!rc)
		rc = cds_thead_verify(h, key, err);
	cds_buf_fini(&body);
	return rc;
}

enum cds_err cds_tverify_consistent(struct cds_tfetch *f,
				    const struct cds_thead *a,
				    const struct cds_thead *b,
				    struct cds_error *err)
{
	uint8_t proof[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES];
	char path[96];
	struct cds_buf body;
	size_t n = 0;
	enum cds_err rc;

	cds_buf_init(&body);
	snprintf(path, sizeof(path),
		 "/v1/transparency/consistency?from=%llu&to=%llu",
		 (unsigned long long)a->version, (unsigned long long)b->version);
	rc = f->get(f->ctx, path, "GET /v1/transparency/consistency", &body,
		    err);
	f->bytes += body.len;
	if (!rc)
		rc = cds_proto_parse_consistency(proof, &n, a->version,
						 b->version,
						 (const char *)body.data,
						 body.len, err);
	if (!rc && cds_mlog_verify_consistency(a->version, b->version,
					       a->log_root, b->log_root,
					       (const uint8_t (*)[CDS_HASH_BYTES])proof,
					       n, NULL))
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "the signed head of version %llu does not extend that of version %llu: the server rewrote its log",
			      (unsigned long long)b->version,
			      (unsigned long long)a->version);
	cds_buf_fini(&body);
	return rc;
}

static const struct cds_thead *find_head(const struct cds_tverify *tv,
					 uint64_t v)
{
	for (size_t i = 0; i < tv->n; i++)
		if (tv->heads[i].version == v)
			return &tv->heads[i];
	return NULL;
}

static enum cds_err remember(struct cds_tverify *tv, const struct cds_thead *h,
			     struct cds_error *err)
{
	if (tv->n == tv->cap) {
		size_t cap = tv->cap ? 2 * tv->cap : 4;
		struct cds_thead *v = realloc(tv->heads, cap * sizeof(*v));

		if (!v)
			return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		tv->heads = v;
		tv->cap = cap;
	}
	tv->heads[tv->n++] = *h;
	return CDS_OK;
}

/* h against kept: equal for the same version, else a consistency proof;
 * kept moves forward (invariant 4). */
static enum cds_err against_kept(struct cds_tverify *tv,
				 const struct cds_thead *h,
				 struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	if (!tv->have_kept) {
		tv->have_kept = tv->kept_moved = true;
		tv->kept = *h;
		return CDS_OK;
	}
	if (h->version == tv->kept.version)
		return same_head(h, &tv->kept) ? CDS_OK
					       : split_view(&tv->kept, h, err);
	if (h->version < tv->kept.version)
		return cds_tverify_consistent(tv->fetch, h, &tv->kept, err);
	rc = cds_tverify_consistent(tv->fetch, &tv->kept, h, err);
	if (!rc) {
		tv->kept = *h;
		tv->kept_moved = true;
	}
	return rc;
}

enum cds_err cds_tverify_admit(struct cds_tverify *tv,
			       const struct cds_thead *h,
			       struct cds_error *err)
{
	const struct cds_thead *seen = find_head(tv, h->version);
	enum cds_err rc;

	if (seen)
		return same_head(seen, h) ? CDS_OK : split_view(seen, h, err);
	rc = cds_thead_verify(h, tv->key, err);
	if (!rc)
		rc = against_kept(tv, h, err);
	if (!rc)
		rc = remember(tv, h, err);
	return rc;
}

enum cds_err cds_tverify_head(struct cds_tverify *tv, uint64_t v,
			      const struct cds_thead **out,
			      struct cds_error *err)
{
	struct cds_thead h;
	enum cds_err rc;

	*out = find_head(tv, v);
	if (*out)
		return CDS_OK;
	rc = cds_tverify_fetch_head(tv->fetch, v, tv->key, &h, err);
	if (!rc)
		rc = cds_tverify_admit(tv, &h, err);
	if (!rc)
		*out = find_head(tv, v);
	return rc;
}

enum cds_err cds_tverify_bucket(struct cds_tverify *tv, uint32_t epoch,
				unsigned k, uint32_t prefix,
				const uint8_t *entries, size_t n,
				uint64_t version, const uint8_t *proof,
				struct cds_error *err)
{
	const struct cds_thead *h;
	uint8_t leaf[CDS_HASH_BYTES];
	enum cds_err rc = cds_tverify_head(tv, version, &h, err);

	if (rc)
		return rc;
	if (h->epoch != epoch)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"bucket %u of epoch %u is said to be of version %llu, which commits epoch %u",
				prefix, epoch, (unsigned long long)version,
				h->epoch);
	cds_btree_leaf(leaf, epoch, prefix, entries, n);
	if (cds_btree_verify(k, prefix, leaf, proof, h->root, NULL))
		return cds_fail(err, CDS_ERR_CRYPTO,
				"bucket %u of epoch %u does not match the signed head of version %llu: refusing it (the bucket or its proof was altered)",
				prefix, epoch, (unsigned long long)version);
	return CDS_OK;
}
