/*
 * ohttp.c: encapsulated requests and responses (RFC 9458 §4.3, §4.4).
 *
 *   request  = hdr || enc || Seal(ctx, "", bhttp request),
 *              hdr = key_id || kem_id || kdf_id || aead_id,
 *              ctx = SetupBaseS(pkR, "message/bhttp request" || 0 || hdr)
 *   response = response_nonce || Seal(aead_key, aead_nonce, "", response),
 *              secret = ctx.Export("message/bhttp response", max(Nn, Nk)),
 *              prk = Extract(enc || response_nonce, secret),
 *              aead_key = Expand(prk, "key", Nk),
 *              aead_nonce = Expand(prk, "nonce", Nn)
 *
 * Invariants: the exporter secret, the response keys and every failed
 * plaintext are wiped; out buffers are only appended to on success.
 */
#include "crypto/ohttp.h"

#include <string.h>

#include <sodium.h>

#include "crypto/hkdf.h"

#define REQ_LABEL "message/bhttp request"
#define RES_LABEL "message/bhttp response"
#define INFO_BYTES (sizeof(REQ_LABEL) + CDS_OHTTP_HDR_BYTES)
#define MAX_RES_NONCE CDS_AEAD_KEY_MAX_BYTES

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* info = "message/bhttp request" || 0x00 || hdr (sizeof counts the NUL). */
static void request_info(uint8_t info[INFO_BYTES],
			 const uint8_t hdr[CDS_OHTTP_HDR_BYTES])
{
	memcpy(info, REQ_LABEL, sizeof(REQ_LABEL));
	memcpy(info + sizeof(REQ_LABEL), hdr, CDS_OHTTP_HDR_BYTES);
}

static void request_header(uint8_t hdr[CDS_OHTTP_HDR_BYTES], uint8_t key_id,
			   uint16_t aead_id)
{
	hdr[0] = key_id;
	put16(hdr + 1, CDS_HPKE_KEM_X25519_SHA256);
	put16(hdr + 3, CDS_HPKE_KDF_HKDF_SHA256);
	put16(hdr + 5, aead_id);
}

/* Append ct of pt sealed with ctx, or fail leaving out as it was. */
static enum cds_err append_sealed(struct cds_buf *out,
				  struct cds_hpke_ctx *ctx, const uint8_t *pt,
				  size_t len, struct cds_error *err)
{
	size_t at = out->len;
	enum cds_err rc = cds_buf_reserve(out, len + CDS_AEAD_TAG_BYTES);

	if (rc)
		return cds_fail(err, rc, "ohttp: out of memory");
	rc = cds_hpke_seal(ctx, out->data + at, NULL, 0, pt, len, err);
	if (!rc)
		out->len = at + len + CDS_AEAD_TAG_BYTES;
	return rc;
}

enum cds_err cds_ohttp_request_seal(struct cds_ohttp_exchange *x,
				    struct cds_buf *out,
				    const struct cds_ohttp_config *cfg,
				    const uint8_t *request, size_t len,
				    const uint8_t *skE, struct cds_error *err)
{
	uint8_t hdr[CDS_OHTTP_HDR_BYTES], info[INFO_BYTES];
	size_t at = out->len;
	enum cds_err rc;

	request_header(hdr, cfg->id, cfg->aead_id);
	request_info(info, hdr);
	rc = cds_hpke_setup_sender(&x->hpke, x->enc, cfg->aead_id, cfg->pk,
				   info, sizeof(info), skE, err);
	if (!rc && (cds_buf_append(out, hdr, sizeof(hdr)) ||
		    cds_buf_append(out, x->enc, sizeof(x->enc))))
		rc = cds_fail(err, CDS_ERR_NOMEM, "ohttp: out of memory");
	if (!rc)
		rc = append_sealed(out, &x->hpke, request, len, err);
	if (rc) {
		out->len = at;
		cds_ohttp_exchange_wipe(x);
	}
	return rc;
}

static const struct cds_ohttp_key *key_of(const struct cds_ohttp_key *keys,
					  size_t n, uint8_t id)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i].id == id)
			return &keys[i];
	return NULL;
}

/* Decrypt ct into out with x's context (already set up). */
static enum cds_err append_opened(struct cds_buf *out,
				  struct cds_hpke_ctx *ctx, const uint8_t *ct,
				  size_t len, struct cds_error *err)
{
	size_t at = out->len, pt_len = len - CDS_AEAD_TAG_BYTES;
	enum cds_err rc = cds_buf_reserve(out, pt_len + 1);

	if (rc)
		return cds_fail(err, rc, "ohttp: out of memory");
	rc = cds_hpke_open(ctx, out->data + at, NULL, 0, ct, len, err);
	if (rc)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"ohttp: the request does not decrypt");
	out->len = at + pt_len;
	out->data[out->len] = '\0';
	return CDS_OK;
}

enum cds_err cds_ohttp_request_open(struct cds_ohttp_exchange *x,
				    struct cds_buf *out,
				    const uint8_t *req, size_t len,
				    const struct cds_ohttp_key *keys, size_t n,
				    struct cds_error *err)
{
	const size_t head = CDS_OHTTP_HDR_BYTES + CDS_HPKE_PK_BYTES;
	uint8_t info[INFO_BYTES];
	const struct cds_ohttp_key *k;
	enum cds_err rc;

	memset(x, 0, sizeof(*x));
	if (len < head + CDS_AEAD_TAG_BYTES)
		return cds_fail(err, CDS_ERR_INVALID,
				"ohttp: request of %zu bytes is too short", len);
	k = key_of(keys, n, req[0]);
	if (!k)
		return cds_fail(err, CDS_ERR_NOT_FOUND,
				"ohttp: unknown key id %u", req[0]);
	if (get16(req + 1) != CDS_HPKE_KEM_X25519_SHA256 ||
	    get16(req + 3) != CDS_HPKE_KDF_HKDF_SHA256 ||
	    !cds_aead_supported(get16(req + 5)))
		return cds_fail(err, CDS_ERR_INVALID,
				"ohttp: suite %04x/%04x/%04x is not offered",
				get16(req + 1), get16(req + 3), get16(req + 5));
	request_info(info, req);
	memcpy(x->enc, req + CDS_OHTTP_HDR_BYTES, CDS_HPKE_PK_BYTES);
	rc = cds_hpke_setup_recipient(&x->hpke, get16(req + 5), x->enc, k->sk,
				      k->pk, info, sizeof(info), err);
	if (!rc)
		rc = append_opened(out, &x->hpke, req + head, len - head, err);
	if (rc)
		cds_ohttp_exchange_wipe(x);
	return rc;
}

/* aead_key and aead_nonce of a response (§4.4), from x and the nonce. */
static enum cds_err response_keys(const struct cds_ohttp_exchange *x,
				  const uint8_t *nonce, size_t nonce_len,
				  uint8_t key[CDS_AEAD_KEY_MAX_BYTES],
				  uint8_t aead_nonce[CDS_AEAD_NONCE_BYTES],
				  struct cds_error *err)
{
	uint8_t secret[MAX_RES_NONCE], prk[CDS_HKDF_SHA256_BYTES];
	const uint8_t *salt[] = {x->enc, nonce};
	const size_t salt_len[] = {CDS_HPKE_PK_BYTES, nonce_len};
	uint8_t salt_buf[CDS_HPKE_PK_BYTES + MAX_RES_NONCE];
	const uint8_t *lk[] = {(const uint8_t *)"key"};
	const uint8_t *ln[] = {(const uint8_t *)"nonce"};
	const size_t lk_len[] = {3}, ln_len[] = {5};
	const uint8_t *ikm[] = {secret};
	enum cds_err rc;

	rc = cds_hpke_export(&x->hpke, secret, nonce_len,
			     (const uint8_t *)RES_LABEL, sizeof(RES_LABEL) - 1,
			     err);
	if (rc)
		return rc;
	memcpy(salt_buf, salt[0], salt_len[0]);
	memcpy(salt_buf + salt_len[0], salt[1], salt_len[1]);
	cds_hkdf_extract(prk, salt_buf, salt_len[0] + salt_len[1], ikm,
			 &nonce_len, 1);
	rc = cds_hkdf_expand(key, x->hpke.key_len, prk, lk, lk_len, 1, err);
	if (!rc)
		rc = cds_hkdf_expand(aead_nonce, CDS_AEAD_NONCE_BYTES, prk, ln,
				     ln_len, 1, err);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(prk, sizeof(prk));
	return rc;
}

/* max(Nn, Nk): the length of the response nonce. */
static size_t response_nonce_len(const struct cds_ohttp_exchange *x)
{
	return x->hpke.key_len > CDS_AEAD_NONCE_BYTES ? x->hpke.key_len
						      : CDS_AEAD_NONCE_BYTES;
}

enum cds_err cds_ohttp_response_begin(const struct cds_ohttp_exchange *x,
				      struct cds_buf *out, const uint8_t *nonce,
				      struct cds_error *err)
{
	uint8_t rn[MAX_RES_NONCE];
	size_t nlen = response_nonce_len(x);

	if (nonce)
		memcpy(rn, nonce, nlen);
	else
		randombytes_buf(rn, nlen);
	if (cds_buf_append(out, rn, nlen))
		return cds_fail(err, CDS_ERR_NOMEM, "ohttp: out of memory");
	return CDS_OK;
}

enum cds_err cds_ohttp_response_finish(const struct cds_ohttp_exchange *x,
				       struct cds_buf *out, size_t at,
				       struct cds_error *err)
{
	uint8_t key[CDS_AEAD_KEY_MAX_BYTES], an[CDS_AEAD_NONCE_BYTES];
	size_t nlen = response_nonce_len(x), len;
	uint8_t *pt;
	enum cds_err rc;

	if (at > out->len || out->len - at < nlen)
		return cds_fail(err, CDS_ERR_INVALID,
				"ohttp: no response nonce at offset %zu", at);
	len = out->len - at - nlen;
	rc = cds_buf_reserve(out, CDS_AEAD_TAG_BYTES);
	if (rc)
		rc = cds_fail(err, rc, "ohttp: out of memory");
	pt = out->data + at + nlen;
	if (!rc)
		rc = response_keys(x, out->data + at, nlen, key, an, err);
	if (!rc)
		rc = cds_aead_seal(x->hpke.aead_id, pt, key, an, NULL, 0, pt,
				   len, err);
	if (rc) {
		sodium_memzero(out->data + at, out->len - at);
		out->len = at;
	} else {
		out->len += CDS_AEAD_TAG_BYTES;
	}
	sodium_memzero(key, sizeof(key));
	return rc;
}

enum cds_err cds_ohttp_response_seal(struct cds_ohttp_exchange *x,
				     struct cds_buf *out,
				     const uint8_t *response, size_t len,
				     const uint8_t *nonce,
				     struct cds_error *err)
{
	size_t at = out->len;
	enum cds_err rc = cds_ohttp_response_begin(x, out, nonce, err);

	if (!rc && cds_buf_append(out, response, len)) {
		out->len = at;
		rc = cds_fail(err, CDS_ERR_NOMEM, "ohttp: out of memory");
	}
	return rc ? rc : cds_ohttp_response_finish(x, out, at, err);
}

enum cds_err cds_ohttp_response_open_in(const struct cds_ohttp_exchange *x,
					uint8_t *res, size_t len, size_t *off,
					size_t *pt_len, struct cds_error *err)
{
	uint8_t key[CDS_AEAD_KEY_MAX_BYTES], an[CDS_AEAD_NONCE_BYTES];
	size_t nlen = response_nonce_len(x);
	enum cds_err rc;

	if (len < nlen + CDS_AEAD_TAG_BYTES)
		return cds_fail(err, CDS_ERR_PROTO,
				"ohttp: response of %zu bytes is too short", len);
	rc = response_keys(x, res, nlen, key, an, err);
	if (!rc && cds_aead_open(x->hpke.aead_id, res + nlen, key, an, NULL, 0,
				 res + nlen, len - nlen, err))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "ohttp: the response does not decrypt");
	if (!rc) {
		*off = nlen;
		*pt_len = len - nlen - CDS_AEAD_TAG_BYTES;
	}
	sodium_memzero(key, sizeof(key));
	return rc;
}

enum cds_err cds_ohttp_response_open(struct cds_ohttp_exchange *x,
				     struct cds_buf *out,
				     const uint8_t *res, size_t len,
				     struct cds_error *err)
{
	size_t at = out->len, off = 0, pt_len = 0;
	enum cds_err rc;

	if (cds_buf_append(out, res, len))
		return cds_fail(err, CDS_ERR_NOMEM, "ohttp: out of memory");
	rc = cds_ohttp_response_open_in(x, out->data + at, len, &off, &pt_len,
					err);
	if (!rc)
		memmove(out->data + at, out->data + at + off, pt_len);
	out->len = at + pt_len;
	out->data[out->len] = '\0';
	return rc;
}

void cds_ohttp_exchange_wipe(struct cds_ohttp_exchange *x)
{
	sodium_memzero(x, sizeof(*x));
}
