/*
 * hpke.c: HPKE base mode (RFC 9180) for DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256 and the AEADs of aead.c.
 *
 * The labelled HKDF steps (§4) are written out once, with the suite id of
 * the KEM ("KEM" || kem_id) or of the whole suite ("HPKE" || kem || kdf ||
 * aead); the DH uses libsodium's X25519, whose clamping is the RFC's.
 * Invariants: see hpke.h (secrets wiped, failed setup leaves a zeroed
 * context, all-zero DH refused).
 */
#include "crypto/hpke.h"

#include <string.h>

#include <sodium.h>

#include "crypto/hkdf.h"

#define KEM_SUITE_BYTES 5
#define HPKE_SUITE_BYTES 10

static const uint8_t kem_suite[KEM_SUITE_BYTES] = {'K', 'E', 'M', 0x00, 0x20};

static void hpke_suite(uint8_t out[HPKE_SUITE_BYTES], uint16_t aead_id)
{
	static const uint8_t head[8] = {'H', 'P', 'K', 'E', 0x00, 0x20,
					0x00, 0x01};

	memcpy(out, head, sizeof(head));
	out[8] = (uint8_t)(aead_id >> 8);
	out[9] = (uint8_t)aead_id;
}

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1"||suite||label||ikm) */
static void labeled_extract(uint8_t prk[static CDS_HKDF_SHA256_BYTES],
			    const uint8_t *suite, size_t suite_len,
			    const uint8_t *salt, size_t salt_len,
			    const char *label, const uint8_t *ikm,
			    size_t ikm_len)
{
	const uint8_t *parts[] = {(const uint8_t *)"HPKE-v1", suite,
				  (const uint8_t *)label, ikm};
	size_t lens[] = {7, suite_len, strlen(label), ikm_len};

	cds_hkdf_extract(prk, salt, salt_len, parts, lens, 4);
}

/* LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L,2)||"HPKE-v1"||suite||label||info, L) */
static enum cds_err labeled_expand(uint8_t *out, size_t len,
				   const uint8_t prk[static CDS_HKDF_SHA256_BYTES],
				   const uint8_t *suite, size_t suite_len,
				   const char *label, const uint8_t *info,
				   size_t info_len, struct cds_error *err)
{
	uint8_t l2[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	const uint8_t *parts[] = {l2, (const uint8_t *)"HPKE-v1", suite,
				  (const uint8_t *)label, info};
	size_t lens[] = {2, 7, suite_len, strlen(label), info_len};

	if (len > 0xffff)
		return cds_fail(err, CDS_ERR_INVALID,
				"HPKE: %zu bytes asked of LabeledExpand", len);
	return cds_hkdf_expand(out, len, prk, parts, lens, 5, err);
}

void cds_hpke_derive_keypair(uint8_t sk[static CDS_HPKE_SK_BYTES],
			     uint8_t pk[static CDS_HPKE_PK_BYTES],
			     const uint8_t *ikm, size_t ikm_len)
{
	uint8_t prk[CDS_HKDF_SHA256_BYTES];

	labeled_extract(prk, kem_suite, KEM_SUITE_BYTES, NULL, 0, "dkp_prk",
			ikm, ikm_len);
	/* 32 bytes never exceed the HKDF limit: cannot fail. */
	(void)labeled_expand(sk, CDS_HPKE_SK_BYTES, prk, kem_suite,
			     KEM_SUITE_BYTES, "sk", NULL, 0, NULL);
	crypto_scalarmult_base(pk, sk);
	sodium_memzero(prk, sizeof(prk));
}

void cds_hpke_generate_keypair(uint8_t sk[static CDS_HPKE_SK_BYTES],
			       uint8_t pk[static CDS_HPKE_PK_BYTES])
{
	crypto_box_keypair(pk, sk);
}

/* ExtractAndExpand(dh, enc || pkR) of DHKEM (§4.1). */
static void kem_shared_secret(uint8_t ss[static CDS_HPKE_SECRET_BYTES],
			      const uint8_t dh[static CDS_HPKE_PK_BYTES],
			      const uint8_t enc[static CDS_HPKE_PK_BYTES],
			      const uint8_t pkR[static CDS_HPKE_PK_BYTES])
{
	uint8_t prk[CDS_HKDF_SHA256_BYTES];
	uint8_t kem_context[2 * CDS_HPKE_PK_BYTES];

	memcpy(kem_context, enc, CDS_HPKE_PK_BYTES);
	memcpy(kem_context + CDS_HPKE_PK_BYTES, pkR, CDS_HPKE_PK_BYTES);
	labeled_extract(prk, kem_suite, KEM_SUITE_BYTES, NULL, 0, "eae_prk",
			dh, CDS_HPKE_PK_BYTES);
	(void)labeled_expand(ss, CDS_HPKE_SECRET_BYTES, prk, kem_suite,
			     KEM_SUITE_BYTES, "shared_secret", kem_context,
			     sizeof(kem_context), NULL);
	sodium_memzero(prk, sizeof(prk));
}

enum cds_err cds_hpke_encap(uint8_t shared_secret[static CDS_HPKE_SECRET_BYTES],
			    uint8_t enc[static CDS_HPKE_PK_BYTES],
			    const uint8_t pkR[static CDS_HPKE_PK_BYTES],
			    const uint8_t *skE, struct cds_error *err)
{
	uint8_t sk[CDS_HPKE_SK_BYTES], dh[CDS_HPKE_PK_BYTES];
	enum cds_err rc = CDS_OK;

	if (skE) {
		memcpy(sk, skE, sizeof(sk));
		crypto_scalarmult_base(enc, sk);
	} else {
		cds_hpke_generate_keypair(sk, enc);
	}
	if (crypto_scalarmult(dh, sk, pkR) != 0) {
		sodium_memzero(shared_secret, CDS_HPKE_SECRET_BYTES);
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "HPKE: the recipient key is of small order");
		goto out;
	}
	kem_shared_secret(shared_secret, dh, enc, pkR);
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(dh, sizeof(dh));
	return rc;
}

enum cds_err cds_hpke_decap(uint8_t shared_secret[static CDS_HPKE_SECRET_BYTES],
			    const uint8_t enc[static CDS_HPKE_PK_BYTES],
			    const uint8_t skR[static CDS_HPKE_SK_BYTES],
			    const uint8_t *pkR, struct cds_error *err)
{
	uint8_t pk[CDS_HPKE_PK_BYTES], dh[CDS_HPKE_PK_BYTES];
	enum cds_err rc = CDS_OK;

	if (pkR)
		memcpy(pk, pkR, sizeof(pk));
	else
		crypto_scalarmult_base(pk, skR);
	if (crypto_scalarmult(dh, skR, enc) != 0) {
		sodium_memzero(shared_secret, CDS_HPKE_SECRET_BYTES);
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "HPKE: the encapsulated key is of small order");
		goto out;
	}
	kem_shared_secret(shared_secret, dh, enc, pk);
out:
	sodium_memzero(dh, sizeof(dh));
	return rc;
}

/* The three expansions of the key schedule (§5.1), from secret. */
static enum cds_err schedule_expand(struct cds_hpke_ctx *ctx,
				    const uint8_t *suite,
				    const uint8_t secret[static CDS_HKDF_SHA256_BYTES],
				    const uint8_t ks[static CDS_HPKE_KS_CONTEXT_BYTES],
				    struct cds_error *err)
{
	enum cds_err rc;

	rc = labeled_expand(ctx->key, ctx->key_len, secret, suite,
			    HPKE_SUITE_BYTES, "key", ks,
			    CDS_HPKE_KS_CONTEXT_BYTES, err);
	if (!rc)
		rc = labeled_expand(ctx->base_nonce, CDS_AEAD_NONCE_BYTES,
				    secret, suite, HPKE_SUITE_BYTES,
				    "base_nonce", ks, CDS_HPKE_KS_CONTEXT_BYTES,
				    err);
	if (!rc)
		rc = labeled_expand(ctx->exporter_secret,
				    CDS_HPKE_SECRET_BYTES, secret, suite,
				    HPKE_SUITE_BYTES, "exp", ks,
				    CDS_HPKE_KS_CONTEXT_BYTES, err);
	return rc;
}

enum cds_err cds_hpke_key_schedule(struct cds_hpke_ctx *ctx, uint16_t aead_id,
				   const uint8_t shared_secret[static CDS_HPKE_SECRET_BYTES],
				   const uint8_t *info, size_t info_len,
				   struct cds_hpke_ks_trace *trace,
				   struct cds_error *err)
{
	uint8_t suite[HPKE_SUITE_BYTES], ks[CDS_HPKE_KS_CONTEXT_BYTES];
	uint8_t secret[CDS_HKDF_SHA256_BYTES];
	enum cds_err rc;

	cds_hpke_ctx_wipe(ctx);
	if (!cds_aead_supported(aead_id))
		return cds_fail(err, CDS_ERR_INVALID,
				"HPKE: AEAD 0x%04x is not supported", aead_id);
	hpke_suite(suite, aead_id);
	ks[0] = CDS_HPKE_MODE_BASE;
	labeled_extract(ks + 1, suite, HPKE_SUITE_BYTES, NULL, 0,
			"psk_id_hash", NULL, 0);
	labeled_extract(ks + 1 + CDS_HPKE_SECRET_BYTES, suite,
			HPKE_SUITE_BYTES, NULL, 0, "info_hash", info,
			info_len);
	labeled_extract(secret, suite, HPKE_SUITE_BYTES, shared_secret,
			CDS_HPKE_SECRET_BYTES, "secret", NULL, 0);
	ctx->key_len = cds_aead_key_bytes(aead_id);
	rc = schedule_expand(ctx, suite, secret, ks, err);
	if (!rc && trace) {
		memcpy(trace->context, ks, sizeof(ks));
		memcpy(trace->secret, secret, sizeof(secret));
	}
	sodium_memzero(secret, sizeof(secret));
	if (rc)
		cds_hpke_ctx_wipe(ctx);
	else
		ctx->aead_id = aead_id;
	return rc;
}

enum cds_err cds_hpke_setup_sender(struct cds_hpke_ctx *ctx,
				   uint8_t enc[static CDS_HPKE_PK_BYTES],
				   uint16_t aead_id,
				   const uint8_t pkR[static CDS_HPKE_PK_BYTES],
				   const uint8_t *info, size_t info_len,
				   const uint8_t *skE, struct cds_error *err)
{
	uint8_t ss[CDS_HPKE_SECRET_BYTES];
	enum cds_err rc;

	cds_hpke_ctx_wipe(ctx);
	rc = cds_hpke_encap(ss, enc, pkR, skE, err);
	if (!rc)
		rc = cds_hpke_key_schedule(ctx, aead_id, ss, info, info_len,
					   NULL, err);
	sodium_memzero(ss, sizeof(ss));
	return rc;
}

enum cds_err cds_hpke_setup_recipient(struct cds_hpke_ctx *ctx,
				      uint16_t aead_id,
				      const uint8_t enc[static CDS_HPKE_PK_BYTES],
				      const uint8_t skR[static CDS_HPKE_SK_BYTES],
				      const uint8_t *pkR,
				      const uint8_t *info, size_t info_len,
				      struct cds_error *err)
{
	uint8_t ss[CDS_HPKE_SECRET_BYTES];
	enum cds_err rc;

	cds_hpke_ctx_wipe(ctx);
	rc = cds_hpke_decap(ss, enc, skR, pkR, err);
	if (!rc)
		rc = cds_hpke_key_schedule(ctx, aead_id, ss, info, info_len,
					   NULL, err);
	sodium_memzero(ss, sizeof(ss));
	return rc;
}

void cds_hpke_nonce(const struct cds_hpke_ctx *ctx, uint64_t seq,
		    uint8_t nonce[static CDS_AEAD_NONCE_BYTES])
{
	memcpy(nonce, ctx->base_nonce, CDS_AEAD_NONCE_BYTES);
	for (size_t i = 0; i < 8; i++)
		nonce[CDS_AEAD_NONCE_BYTES - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

/* §5.2: the sequence number must not wrap (it never nears 2^64 here). */
static enum cds_err check_ctx(const struct cds_hpke_ctx *ctx,
			      struct cds_error *err)
{
	if (!ctx->aead_id)
		return cds_fail(err, CDS_ERR_INTERNAL, "HPKE: context not set up");
	if (ctx->seq == UINT64_MAX)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"HPKE: message limit reached");
	return CDS_OK;
}

/* cds_aead_seal and cds_aead_open share this shape. */
typedef enum cds_err aead_fn(uint16_t aead_id, uint8_t *out,
			     const uint8_t *key,
			     const uint8_t nonce[static CDS_AEAD_NONCE_BYTES],
			     const uint8_t *aad, size_t aad_len,
			     const uint8_t *in, size_t in_len,
			     struct cds_error *err);

/* One AEAD operation at the context's sequence number, then seq + 1. */
static enum cds_err at_seq(struct cds_hpke_ctx *ctx, aead_fn *fn,
			   uint8_t *out, const uint8_t *aad, size_t aad_len,
			   const uint8_t *in, size_t in_len,
			   struct cds_error *err)
{
	uint8_t nonce[CDS_AEAD_NONCE_BYTES];
	enum cds_err rc = check_ctx(ctx, err);

	if (rc)
		return rc;
	cds_hpke_nonce(ctx, ctx->seq, nonce);
	rc = fn(ctx->aead_id, out, ctx->key, nonce, aad, aad_len, in, in_len,
		err);
	if (!rc)
		ctx->seq++;
	return rc;
}

enum cds_err cds_hpke_seal(struct cds_hpke_ctx *ctx, uint8_t *ct,
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *pt, size_t pt_len,
			   struct cds_error *err)
{
	return at_seq(ctx, cds_aead_seal, ct, aad, aad_len, pt, pt_len, err);
}

enum cds_err cds_hpke_open(struct cds_hpke_ctx *ctx, uint8_t *pt,
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *ct, size_t ct_len,
			   struct cds_error *err)
{
	return at_seq(ctx, cds_aead_open, pt, aad, aad_len, ct, ct_len, err);
}

enum cds_err cds_hpke_export(const struct cds_hpke_ctx *ctx, uint8_t *out,
			     size_t len, const uint8_t *exporter_context,
			     size_t ctx_len, struct cds_error *err)
{
	uint8_t suite[HPKE_SUITE_BYTES];

	if (!ctx->aead_id)
		return cds_fail(err, CDS_ERR_INTERNAL, "HPKE: context not set up");
	hpke_suite(suite, ctx->aead_id);
	return labeled_expand(out, len, ctx->exporter_secret, suite,
			      HPKE_SUITE_BYTES, "sec", exporter_context,
			      ctx_len, err);
}

void cds_hpke_ctx_wipe(struct cds_hpke_ctx *ctx)
{
	sodium_memzero(ctx, sizeof(*ctx));
}
