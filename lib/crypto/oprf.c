/*
 * oprf.c: the server side of RFC 9497 over ristretto255-SHA512, all three
 * modes: DeriveKeyPair, key generation, BlindEvaluate with the batched
 * proof (or its proof alone, Prove), and the unblinded Evaluate used to
 * build the discovery index.
 * The client side (Blind, Finalize) is oprf_client.c, hashing h2c.c, the
 * proof dleq.c.
 *
 * Invariants:
 *  1. Secret scalars (sk, the POPRF tweak t and 1/t, the proof nonce) go
 *     only to libsodium's constant-time calls and are wiped on every path.
 *  2. Blinded elements are decoded and checked before anything else: a
 *     non-canonical encoding or the identity is CDS_ERR_INVALID with
 *     err->index set to the offending item.
 *  3. Scalars given by the caller (keys, nonces) must be canonical and
 *     non-zero: a zero nonce would reveal the key.
 *  4. On failure no partial output is left: outputs are zeroed.
 */
#include "crypto/oprf.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/dleq.h"
#include "crypto/ge_vt.h"
#include "crypto/h2c.h"
#include "crypto/oprf_int.h"

/* POPRF tweaked key t = sk + m; zero only for a key/info collision. */
static enum cds_err poprf_tweak(uint8_t t[CDS_OPRF_SCALAR_BYTES],
				const uint8_t sk[CDS_OPRF_SCALAR_BYTES],
				const uint8_t *info, size_t info_len,
				struct cds_error *err)
{
	uint8_t m[CDS_OPRF_SCALAR_BYTES];

	cds_oprf_info_scalar(m, info, info_len);
	crypto_core_ristretto255_scalar_add(t, sk, m);
	if (sodium_is_zero(t, CDS_OPRF_SCALAR_BYTES))
		return cds_fail(err, CDS_ERR_INVALID,
				"POPRF info makes the tweaked key zero");
	return CDS_OK;
}

enum cds_err cds_oprf_derive_keypair(uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
				     uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
				     enum cds_oprf_mode mode,
				     const uint8_t seed[static CDS_OPRF_SEED_BYTES],
				     const uint8_t *info, size_t info_len,
				     struct cds_error *err)
{
	uint8_t dst[CDS_H2C_DST_MAX], il[2], ctr = 0;
	const struct cds_bytes t[4] = {
		{ seed, CDS_OPRF_SEED_BYTES }, { il, 2 }, { info, info_len },
		{ &ctr, 1 },
	};
	size_t dst_len;
	enum cds_err rc;

	sodium_memzero(sk, CDS_OPRF_SCALAR_BYTES);
	rc = cds_oprf_check_mode(mode, err);
	if (rc == CDS_OK)
		rc = cds_oprf_check_bytes(info, info_len, "key info", -1, err);
	if (rc)
		goto out;
	dst_len = cds_oprf_dst(dst, "DeriveKeyPair", mode);
	cds_put_u16(il, info_len);
	/* The RFC's counter loop: retry while the hash reduces to zero. */
	for (unsigned c = 0;
	     c < 256 && sodium_is_zero(sk, CDS_OPRF_SCALAR_BYTES); c++) {
		ctr = (uint8_t)c;
		cds_h2c_hash_to_scalar_dst(sk, t, 4, dst, dst_len);
	}
	if (sodium_is_zero(sk, CDS_OPRF_SCALAR_BYTES)) {
		rc = cds_fail(err, CDS_ERR_CRYPTO, "DeriveKeyPair found no "
			      "non-zero key for this seed");
		goto out;
	}
	if (crypto_scalarmult_ristretto255_base(pk, sk) != 0)
		rc = cds_fail(err, CDS_ERR_INTERNAL, "key derivation failed");
out:
	if (rc)
		sodium_memzero(sk, CDS_OPRF_SCALAR_BYTES);
	return rc;
}

void cds_oprf_keygen(uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
		     uint8_t pk[static CDS_OPRF_ELEMENT_BYTES])
{
	/* scalar_random never returns zero, so the base mult cannot fail. */
	crypto_core_ristretto255_scalar_random(sk);
	(void)crypto_scalarmult_ristretto255_base(pk, sk);
}

enum cds_err cds_oprf_public_key(uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
				 const uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
				 struct cds_error *err)
{
	uint8_t k[CDS_OPRF_SCALAR_BYTES];
	enum cds_err rc = cds_oprf_load_scalar(k, sk, "secret key", -1, err);

	if (rc == CDS_OK && crypto_scalarmult_ristretto255_base(pk, k) != 0)
		rc = cds_fail(err, CDS_ERR_INTERNAL, "public key derivation "
			      "failed");
	sodium_memzero(k, sizeof(k));
	return rc;
}

/*
 * The server's keys for one request: key multiplies the blinded elements
 * (sk, or 1/t in POPRF), pkey is the proof's secret (sk or t) and B its
 * public counterpart pkey * G (B may be NULL when no proof is made).
 */
static enum cds_err server_keys(uint8_t key[CDS_OPRF_SCALAR_BYTES],
				uint8_t pkey[CDS_OPRF_SCALAR_BYTES],
				uint8_t B[CDS_OPRF_ELEMENT_BYTES],
				enum cds_oprf_mode mode,
				const uint8_t sk[CDS_OPRF_SCALAR_BYTES],
				const uint8_t *info, size_t info_len,
				struct cds_error *err)
{
	enum cds_err rc = cds_oprf_load_scalar(pkey, sk, "secret key", -1, err);

	if (rc == CDS_OK && mode == CDS_OPRF_MODE_POPRF) {
		rc = cds_oprf_check_bytes(info, info_len, "POPRF info", -1,
					  err);
		if (rc == CDS_OK)
			rc = poprf_tweak(pkey, sk, info, info_len, err);
		if (rc == CDS_OK &&
		    crypto_core_ristretto255_scalar_invert(key, pkey) != 0)
			rc = cds_fail(err, CDS_ERR_INTERNAL, "tweak inversion");
	} else if (rc == CDS_OK) {
		memcpy(key, pkey, CDS_OPRF_SCALAR_BYTES);
	}
	if (rc == CDS_OK && B && crypto_scalarmult_ristretto255_base(B, pkey))
		rc = cds_fail(err, CDS_ERR_INTERNAL, "public key derivation");
	return rc;
}

static enum cds_err evaluate_all(uint8_t *evaluated,
				 const uint8_t key[CDS_OPRF_SCALAR_BYTES],
				 const uint8_t *blinded, size_t n,
				 struct cds_error *err)
{
	for (size_t i = 0; i < n; i++) {
		size_t at = CDS_OPRF_ELEMENT_BYTES * i;

		if (crypto_scalarmult_ristretto255(evaluated + at, key,
						   blinded + at) != 0)
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "blinded element is invalid");
	}
	return CDS_OK;
}

/*
 * The batched proof that evaluated = k * blinded (VOPRF) or, in POPRF,
 * blinded = t * evaluated, with pts the decoded blinded elements.
 */
static enum cds_err prove(uint8_t proof[CDS_OPRF_PROOF_BYTES],
			  enum cds_oprf_mode mode,
			  const uint8_t pkey[CDS_OPRF_SCALAR_BYTES],
			  const uint8_t B[CDS_OPRF_ELEMENT_BYTES],
			  const uint8_t *blinded, const uint8_t *evaluated,
			  size_t n, const struct cds_ge *pts,
			  const uint8_t *nonce, struct cds_error *err)
{
	if (mode == CDS_OPRF_MODE_VOPRF)
		return cds_dleq_prove(proof, mode, pkey, B, blinded, evaluated,
				      n, pts, CDS_DLEQ_KNOWN_C, nonce, err);
	return cds_dleq_prove(proof, mode, pkey, B, evaluated, blinded, n, pts,
			      CDS_DLEQ_KNOWN_D, nonce, err);
}

/*
 * What BlindEvaluate and Prove share: argument checks, the caller's nonce
 * (into nonce, if r is given) and the blinded elements decoded into a new
 * array *pts (when proving; the caller frees it) or just validated.
 */
static enum cds_err server_prepare(struct cds_ge **pts,
				   uint8_t nonce[CDS_OPRF_SCALAR_BYTES],
				   enum cds_oprf_mode mode,
				   const uint8_t *blinded,
				   const uint8_t *evaluated,
				   const uint8_t *proof, size_t n, int proving,
				   const uint8_t *r, struct cds_error *err)
{
	enum cds_err rc = cds_oprf_check_mode(mode, err);

	*pts = NULL;
	if (rc == CDS_OK)
		rc = cds_oprf_check_batch(n, err);
	if (rc == CDS_OK && (!evaluated || !blinded || (proving && !proof)))
		rc = cds_fail(err, CDS_ERR_INVALID, "BlindEvaluate: NULL "
			      "element or proof buffer");
	if (rc == CDS_OK && proving && r)
		rc = cds_oprf_load_scalar(nonce, r, "proof nonce", -1, err);
	if (rc)
		return rc;
	/* Decoded blinded elements feed the proof's composite (dleq.h). */
	if (proving && !(*pts = malloc(n * sizeof(**pts))))
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for %zu "
				"elements", n);
	return cds_oprf_check_elements(*pts, blinded, n, "blinded element",
				       err);
}

enum cds_err cds_oprf_blind_evaluate(uint8_t *evaluated, uint8_t *proof,
				     enum cds_oprf_mode mode,
				     const uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
				     const uint8_t *blinded, size_t n,
				     const uint8_t *info, size_t info_len,
				     const uint8_t *r,
				     struct cds_error *err)
{
	uint8_t key[CDS_OPRF_SCALAR_BYTES], pkey[CDS_OPRF_SCALAR_BYTES],
		B[CDS_OPRF_ELEMENT_BYTES], nonce[CDS_OPRF_SCALAR_BYTES];
	int proving = mode != CDS_OPRF_MODE_OPRF;
	struct cds_ge *pts;
	enum cds_err rc = server_prepare(&pts, nonce, mode, blinded, evaluated,
					 proof, n, proving, r, err);

	if (rc == CDS_OK)
		rc = server_keys(key, pkey, proving ? B : NULL, mode, sk, info,
				 info_len, err);
	if (rc == CDS_OK)
		rc = evaluate_all(evaluated, key, blinded, n, err);
	if (rc == CDS_OK && proving)
		rc = prove(proof, mode, pkey, B, blinded, evaluated, n, pts,
			   r ? nonce : NULL, err);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(pkey, sizeof(pkey));
	sodium_memzero(nonce, sizeof(nonce));
	free(pts);
	if (rc && evaluated && n <= CDS_OPRF_BATCH_MAX)
		memset(evaluated, 0, CDS_OPRF_ELEMENT_BYTES * n);
	if (rc && proof)
		memset(proof, 0, CDS_OPRF_PROOF_BYTES);
	return rc;
}

enum cds_err cds_oprf_prove(uint8_t proof[static CDS_OPRF_PROOF_BYTES],
			    enum cds_oprf_mode mode,
			    const uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
			    const uint8_t *blinded, const uint8_t *evaluated,
			    size_t n, const uint8_t *info, size_t info_len,
			    const uint8_t *r, struct cds_error *err)
{
	uint8_t key[CDS_OPRF_SCALAR_BYTES], pkey[CDS_OPRF_SCALAR_BYTES],
		B[CDS_OPRF_ELEMENT_BYTES], nonce[CDS_OPRF_SCALAR_BYTES];
	struct cds_ge *pts = NULL;
	enum cds_err rc = CDS_OK;

	if (mode == CDS_OPRF_MODE_OPRF)
		rc = cds_fail(err, CDS_ERR_INVALID, "mode OPRF has no proof");
	if (rc == CDS_OK)
		rc = server_prepare(&pts, nonce, mode, blinded, evaluated,
				    proof, n, 1, r, err);
	if (rc == CDS_OK)
		rc = server_keys(key, pkey, B, mode, sk, info, info_len, err);
	if (rc == CDS_OK)
		rc = prove(proof, mode, pkey, B, blinded, evaluated, n, pts,
			   r ? nonce : NULL, err);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(pkey, sizeof(pkey));
	sodium_memzero(nonce, sizeof(nonce));
	free(pts);
	if (rc)
		memset(proof, 0, CDS_OPRF_PROOF_BYTES);
	return rc;
}

enum cds_err cds_oprf_evaluate(uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
			       enum cds_oprf_mode mode,
			       const uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
			       const uint8_t *input, size_t input_len,
			       const uint8_t *info, size_t info_len,
			       struct cds_error *err)
{
	uint8_t key[CDS_OPRF_SCALAR_BYTES], pkey[CDS_OPRF_SCALAR_BYTES],
		P[CDS_OPRF_ELEMENT_BYTES] = { 0 },
		E[CDS_OPRF_ELEMENT_BYTES] = { 0 };
	enum cds_err rc = cds_oprf_check_mode(mode, err);

	if (rc == CDS_OK)
		rc = cds_oprf_check_bytes(input, input_len, "OPRF input", -1,
					  err);
	if (rc == CDS_OK)
		rc = server_keys(key, pkey, NULL, mode, sk, info, info_len,
				 err);
	if (rc)
		goto out;
	cds_h2c_hash_to_group(P, mode, input, input_len);
	if (sodium_is_zero(P, CDS_OPRF_ELEMENT_BYTES)) {
		rc = cds_fail(err, CDS_ERR_INVALID, "OPRF input hashes to the "
			      "identity element");
		goto out;
	}
	if (crypto_scalarmult_ristretto255(E, key, P) != 0) {
		rc = cds_fail(err, CDS_ERR_INTERNAL, "evaluation failed");
		goto out;
	}
	cds_oprf_finalize_hash(out, mode, input, input_len, info, info_len, E);
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(pkey, sizeof(pkey));
	sodium_memzero(E, sizeof(E));
	sodium_memzero(P, sizeof(P));
	if (rc)
		sodium_memzero(out, CDS_OPRF_OUTPUT_BYTES);
	return rc;
}
