/*
 * oprf_verify.c: the client's check of the server's batched DLEQ proof
 * (RFC 9497 VerifyProof with ComputeComposites), VOPRF and POPRF.
 *
 * Invariants:
 *  1. The public key and the evaluated elements come from the server: they
 *     are decoded and checked (CDS_ERR_INVALID, err->index = item) before
 *     the proof is looked at.
 *  2. Everything here is public, so the variable-time decoder and
 *     multi-scalar multiplication (ge_vt.c, msm.c) may be used throughout.
 */
#include "crypto/oprf.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/dleq.h"
#include "crypto/ge_vt.h"
#include "crypto/oprf_int.h"

/*
 * The key the proof is about, encoded (B) and decoded (Bp): pk itself, or
 * in POPRF the tweaked key HashToScalar(info) * G + pk.
 */
static enum cds_err proof_key(uint8_t B[CDS_OPRF_ELEMENT_BYTES],
			      struct cds_ge *Bp, enum cds_oprf_mode mode,
			      const uint8_t pk[CDS_OPRF_ELEMENT_BYTES],
			      const uint8_t *info, size_t info_len,
			      struct cds_error *err)
{
	uint8_t m[CDS_OPRF_SCALAR_BYTES], T[CDS_OPRF_ELEMENT_BYTES];

	if (sodium_is_zero(pk, CDS_OPRF_ELEMENT_BYTES))
		return cds_fail(err, CDS_ERR_INVALID, "public key is the "
				"identity element");
	if (cds_ge_decode(Bp, pk) != 0)
		return cds_fail(err, CDS_ERR_INVALID, "public key is not a "
				"canonical ristretto255 encoding");
	if (mode != CDS_OPRF_MODE_POPRF) {
		memcpy(B, pk, CDS_OPRF_ELEMENT_BYTES);
		return CDS_OK;
	}
	cds_oprf_info_scalar(m, info, info_len);
	if (crypto_scalarmult_ristretto255_base(T, m) != 0 ||
	    crypto_core_ristretto255_add(B, T, pk) != 0 ||
	    sodium_is_zero(B, CDS_OPRF_ELEMENT_BYTES) ||
	    cds_ge_decode(Bp, B) != 0)
		return cds_fail(err, CDS_ERR_INVALID, "POPRF info makes the "
				"tweaked public key the identity");
	return CDS_OK;
}

/* Decode both sides and check the batched proof. */
static enum cds_err verify_batch(enum cds_oprf_mode mode,
				 const uint8_t pk[CDS_OPRF_ELEMENT_BYTES],
				 const uint8_t *blinded,
				 const uint8_t *evaluated, size_t n,
				 const uint8_t *proof, const uint8_t *info,
				 size_t info_len, struct cds_error *err)
{
	struct cds_ge Bp, *bl = NULL, *ev;
	uint8_t B[CDS_OPRF_ELEMENT_BYTES];
	enum cds_err rc = proof_key(B, &Bp, mode, pk, info, info_len, err);

	if (rc)
		return rc;
	bl = malloc(2 * n * sizeof(*bl));
	if (!bl)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for %zu "
				"elements", n);
	ev = bl + n;
	rc = cds_oprf_check_elements(ev, evaluated, n, "evaluated element",
				     err);
	if (rc == CDS_OK)
		rc = cds_oprf_check_elements(bl, blinded, n, "blinded element",
					     err);
	if (rc == CDS_OK && mode == CDS_OPRF_MODE_VOPRF)
		rc = cds_dleq_verify(mode, B, &Bp, blinded, evaluated, bl, ev,
				     n, proof, err);
	else if (rc == CDS_OK)
		rc = cds_dleq_verify(mode, B, &Bp, evaluated, blinded, ev, bl,
				     n, proof, err);
	free(bl);
	return rc;
}

static enum cds_err check_verify_args(enum cds_oprf_mode mode,
				      const uint8_t *blinded,
				      const uint8_t *evaluated, size_t n,
				      const uint8_t *proof, const uint8_t *info,
				      size_t info_len, struct cds_error *err)
{
	enum cds_err rc = cds_oprf_check_mode(mode, err);

	if (rc == CDS_OK && mode == CDS_OPRF_MODE_OPRF)
		return cds_fail(err, CDS_ERR_INVALID, "mode OPRF has no proof "
				"to verify");
	if (rc == CDS_OK)
		rc = cds_oprf_check_batch(n, err);
	if (rc == CDS_OK && (!blinded || !evaluated || !proof))
		rc = cds_fail(err, CDS_ERR_INVALID, "Verify: NULL element or "
			      "proof");
	if (rc == CDS_OK && mode == CDS_OPRF_MODE_POPRF)
		rc = cds_oprf_check_bytes(info, info_len, "POPRF info", -1,
					  err);
	return rc;
}

enum cds_err cds_oprf_verify(enum cds_oprf_mode mode,
			     const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
			     const uint8_t *blinded, const uint8_t *evaluated,
			     size_t n, const uint8_t *proof,
			     const uint8_t *info, size_t info_len,
			     struct cds_error *err)
{
	enum cds_err rc = check_verify_args(mode, blinded, evaluated, n, proof,
					    info, info_len, err);

	if (rc == CDS_OK)
		rc = verify_batch(mode, pk, blinded, evaluated, n, proof, info,
				  info_len, err);
	return rc;
}
