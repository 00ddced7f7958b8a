/*
 * oprf.h: RFC 9497 oblivious pseudorandom functions, suite
 * ristretto255-SHA512, all three modes, over libsodium's ristretto255.
 *
 * cds uses mode VOPRF (1): input = canonical handle bytes, one batched DLEQ
 * proof per request.  OPRF (0) and POPRF (2) are implemented too so that the
 * whole RFC test-vector file is a test.
 *
 * Conventions: outputs first; n is the batch size and arrays hold n items of
 * the fixed size back to back; every function that can fail returns
 * enum cds_err and fills err.  Secrets (keys, blinds, nonces) are wiped on
 * every return path.  Points that come from outside are validated: a
 * non-canonical encoding or the identity is CDS_ERR_INVALID with the index of
 * the offending element.
 */
#ifndef CDS_CRYPTO_OPRF_H
#define CDS_CRYPTO_OPRF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CDS_OPRF_SCALAR_BYTES 32
#define CDS_OPRF_ELEMENT_BYTES 32
#define CDS_OPRF_OUTPUT_BYTES 64
#define CDS_OPRF_PROOF_BYTES 64 /* c || s, little-endian scalars */
#define CDS_OPRF_SEED_BYTES 32
/* Longest input, info and batch: the RFC frames them with I2OSP(x, 2). */
#define CDS_OPRF_INPUT_MAX 65535
#define CDS_OPRF_BATCH_MAX 65535

enum cds_oprf_mode {
	CDS_OPRF_MODE_OPRF = 0,
	CDS_OPRF_MODE_VOPRF = 1,
	CDS_OPRF_MODE_POPRF = 2,
};

/* RFC 9497 DeriveKeyPair(seed, info). */
enum cds_err cds_oprf_derive_keypair(uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
				     uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
				     enum cds_oprf_mode mode,
				     const uint8_t seed[static CDS_OPRF_SEED_BYTES],
				     const uint8_t *info, size_t info_len,
				     struct cds_error *err) CDS_MUST_CHECK;

/* A fresh random key pair (non-zero scalar). */
void cds_oprf_keygen(uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
		     uint8_t pk[static CDS_OPRF_ELEMENT_BYTES]);

/* pk = sk * G. */
enum cds_err cds_oprf_public_key(uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
				 const uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
				 struct cds_error *err) CDS_MUST_CHECK;

/*
 * Client: Blind(input).  If blind_in is NULL a random blind is drawn;
 * otherwise it is used (test vectors).  blind receives the scalar (secret,
 * caller wipes it after finalising), blinded the element to send.
 */
enum cds_err cds_oprf_blind(uint8_t blind[static CDS_OPRF_SCALAR_BYTES],
			    uint8_t blinded[static CDS_OPRF_ELEMENT_BYTES],
			    enum cds_oprf_mode mode,
			    const uint8_t *input, size_t input_len,
			    const uint8_t *blind_in,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Server: BlindEvaluate for a batch of n blinded elements, with one batched
 * DLEQ proof (GenerateProof using ComputeCompositesFast) in modes VOPRF and
 * POPRF.  proof may be NULL in mode OPRF.  info/info_len is the POPRF public
 * input (ignored otherwise).  r is the proof's random scalar, NULL = random
 * (test vectors pass it).  n >= 1.
 */
enum cds_err cds_oprf_blind_evaluate(uint8_t *evaluated, uint8_t *proof,
				     enum cds_oprf_mode mode,
				     const uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
				     const uint8_t *blinded, size_t n,
				     const uint8_t *info, size_t info_len,
				     const uint8_t *r,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Server: the batched proof alone, for callers that spread a large batch
 * over threads.  For VOPRF, evaluate slices with cds_oprf_blind_evaluate
 * in mode OPRF (the same multiplication by sk, no proof), then prove the
 * whole batch here.  Blinded elements are validated as in
 * cds_oprf_blind_evaluate; evaluated is taken as given (a wrong one only
 * yields a proof the client rejects).  Modes VOPRF and POPRF.
 */
enum cds_err cds_oprf_prove(uint8_t proof[static CDS_OPRF_PROOF_BYTES],
			    enum cds_oprf_mode mode,
			    const uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
			    const uint8_t *blinded, const uint8_t *evaluated,
			    size_t n, const uint8_t *info, size_t info_len,
			    const uint8_t *r, struct cds_error *err) CDS_MUST_CHECK;

/*
 * Client: verify the batched proof (VOPRF, POPRF; CDS_ERR_CRYPTO if it does
 * not hold) and Finalize each item into 64 bytes.  inputs[i]/input_lens[i]
 * are the original inputs; blinds, blinded, evaluated are n items each.
 */
enum cds_err cds_oprf_finalize(uint8_t *outputs, enum cds_oprf_mode mode,
			       const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
			       const uint8_t *const *inputs,
			       const size_t *input_lens,
			       const uint8_t *blinds, const uint8_t *blinded,
			       const uint8_t *evaluated, size_t n,
			       const uint8_t *proof,
			       const uint8_t *info, size_t info_len,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Client, the two halves of cds_oprf_finalize, for callers that spread a
 * large batch over threads: cds_oprf_verify checks the batched proof of
 * the whole batch (VOPRF, POPRF; CDS_ERR_CRYPTO if it does not hold,
 * CDS_ERR_INVALID with err->index for a bad element or key);
 * cds_oprf_unblind then Finalizes any slice of it WITHOUT checking the
 * proof (err->index is relative to the slice).  Never unblind a batch whose
 * proof has not been verified.
 */
enum cds_err cds_oprf_verify(enum cds_oprf_mode mode,
			     const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
			     const uint8_t *blinded, const uint8_t *evaluated,
			     size_t n, const uint8_t *proof,
			     const uint8_t *info, size_t info_len,
			     struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_oprf_unblind(uint8_t *outputs, enum cds_oprf_mode mode,
			      const uint8_t *const *inputs,
			      const size_t *input_lens, const uint8_t *blinds,
			      const uint8_t *evaluated, size_t n,
			      const uint8_t *info, size_t info_len,
			      struct cds_error *err) CDS_MUST_CHECK;

/*
 * Server-side unblinded evaluation, RFC 9497 Evaluate(skS, input): the same
 * 64 bytes the client's Finalize yields.  The index build uses it for every
 * registered handle.
 */
enum cds_err cds_oprf_evaluate(uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
			       enum cds_oprf_mode mode,
			       const uint8_t sk[static CDS_OPRF_SCALAR_BYTES],
			       const uint8_t *input, size_t input_len,
			       const uint8_t *info, size_t info_len,
			       struct cds_error *err) CDS_MUST_CHECK;

#endif
