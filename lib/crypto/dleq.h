/*
 * dleq.h (internal to lib/crypto): the batched discrete-log-equality proof
 * of RFC 9497 section 2.2, proving D[i] = k * C[i] for all i and B = k * G
 * with one (c, s) pair.
 *
 * Composites M = sum d_i C[i], Z = sum d_i D[i] take the per-item scalars
 * d_i from a public transcript, so they are computed with the variable-time
 * multi-scalar multiplication (msm.h).  The secret k and the nonce r only
 * ever go through libsodium's constant-time scalar multiplication.
 */
#ifndef CDS_CRYPTO_DLEQ_H
#define CDS_CRYPTO_DLEQ_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/ge_vt.h"
#include "crypto/oprf.h"

/* Which side of the relation the prover has decoded (see cds_dleq_prove). */
enum cds_dleq_side {
	CDS_DLEQ_KNOWN_C, /* VOPRF: C = blinded, D = k * C evaluated */
	CDS_DLEQ_KNOWN_D, /* POPRF: D = blinded, C = k^-1 * D evaluated */
};

/*
 * The composite scalars d_i (n * 32 bytes) of ComputeComposites for public
 * key B and the encoded elements C, D (n * 32 bytes each).  n < 65536.
 */
void cds_dleq_composite_scalars(uint8_t *d, enum cds_oprf_mode mode,
				const uint8_t B[static CDS_OPRF_ELEMENT_BYTES],
				const uint8_t *C, const uint8_t *D, size_t n);

/*
 * Prover: GenerateProof(k, G, B, C, D) with ComputeCompositesFast.  known
 * holds the n decoded points of one side: with CDS_DLEQ_KNOWN_C the
 * composite M comes from them and Z = k * M; with CDS_DLEQ_KNOWN_D, Z comes
 * from them and M = k^-1 * Z (same M, Z; only the blinded elements need
 * decoding either way).  r is the nonce (NULL = random; must be canonical
 * and non-zero, checked by the caller).  CDS_ERR_CRYPTO if a composite is
 * the identity, CDS_ERR_NOMEM.
 */
enum cds_err cds_dleq_prove(uint8_t proof[static CDS_OPRF_PROOF_BYTES],
			    enum cds_oprf_mode mode,
			    const uint8_t k[static CDS_OPRF_SCALAR_BYTES],
			    const uint8_t B[static CDS_OPRF_ELEMENT_BYTES],
			    const uint8_t *C, const uint8_t *D, size_t n,
			    const struct cds_ge *known,
			    enum cds_dleq_side side, const uint8_t *r,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Verifier: VerifyProof(G, B, C, D, proof) with ComputeComposites.  Cp, Dp
 * are the decoded C and D, Bp the decoded B.  CDS_OK if the proof holds,
 * CDS_ERR_CRYPTO if it does not (including non-canonical proof scalars),
 * CDS_ERR_NOMEM.
 */
enum cds_err cds_dleq_verify(enum cds_oprf_mode mode,
			     const uint8_t B[static CDS_OPRF_ELEMENT_BYTES],
			     const struct cds_ge *Bp,
			     const uint8_t *C, const uint8_t *D,
			     const struct cds_ge *Cp, const struct cds_ge *Dp,
			     size_t n,
			     const uint8_t proof[static CDS_OPRF_PROOF_BYTES],
			     struct cds_error *err) CDS_MUST_CHECK;

/* 1 if the 32 bytes are a canonical scalar (below the group order). */
int cds_scalar_is_canonical(const uint8_t s[static CDS_OPRF_SCALAR_BYTES]);

#endif
