/*
 * ge_vt.h (internal to lib/crypto): ristretto255 points (RFC 9496) on the
 * edwards25519 curve in extended coordinates, VARIABLE TIME.
 *
 * Why it exists: the batched DLEQ proof needs composites sum(d_i * C_i)
 * whose points and scalars are all public (blinded elements, transcript
 * hashes).  libsodium offers only one constant-time scalar multiplication
 * at a time; a multi-scalar multiplication (msm.c) over these primitives
 * does the whole sum for a fraction of that cost.
 *
 * Invariants:
 *  1. NEVER pass a secret (a key, a blind, a proof nonce) to anything here:
 *     running time and memory access depend on the values.
 *  2. A struct cds_ge holds a point (X:Y:Z:T) with x = X/Z, y = Y/Z and
 *     X*Y = Z*T; it represents the ristretto255 element of its coset, so
 *     two different representatives may encode to the same bytes.
 *  3. cds_ge_decode accepts exactly the canonical encodings of RFC 9496
 *     (including the identity, all zero bytes); callers that must reject
 *     the identity check for it themselves.
 */
#ifndef CDS_CRYPTO_GE_VT_H
#define CDS_CRYPTO_GE_VT_H

#include <stdint.h>

#include "crypto/fe51.h"

/* An encoded ristretto255 element: one field element (RFC 9496 4.3). */
#define CDS_GE_BYTES CDS_FE_BYTES

struct cds_ge {
	cds_fe X, Y, Z, T;
};

/*
 * A point prepared for addition: (Y+X, Y-X, 2Z, 2d*T).  affine is set when
 * Z = 1 (freshly decoded points), which saves a multiplication per add.
 */
struct cds_ge_cached {
	cds_fe YplusX, YminusX, Z2, T2d;
	int affine;
};

/* RFC 9496 4.3.1 Decode.  0 on success, -1 if s is not a valid encoding. */
int cds_ge_decode(struct cds_ge *p, const uint8_t s[CDS_GE_BYTES]);

/* RFC 9496 4.3.2 Encode (the identity encodes as 32 zero bytes). */
void cds_ge_encode(uint8_t s[CDS_GE_BYTES], const struct cds_ge *p);

void cds_ge_identity(struct cds_ge *p);

void cds_ge_to_cached(struct cds_ge_cached *c, const struct cds_ge *p);

/* r = p + q and r = p - q (r may alias p). */
void cds_ge_add_cached(struct cds_ge *r, const struct cds_ge *p,
		       const struct cds_ge_cached *q);
void cds_ge_sub_cached(struct cds_ge *r, const struct cds_ge *p,
		       const struct cds_ge_cached *q);

/* r = p + q for two extended points (r may alias either). */
void cds_ge_add(struct cds_ge *r, const struct cds_ge *p,
		const struct cds_ge *q);

/* r = 2p (r may alias p). */
void cds_ge_dbl(struct cds_ge *r, const struct cds_ge *p);

#endif
