/*
 * msm.h (internal to lib/crypto): variable-time multi-scalar multiplication
 * sum(s_i * P_i) over ristretto255, Pippenger's bucket method with signed
 * digits.  PUBLIC scalars and points only (ge_vt.h invariant 1): the DLEQ
 * composites and proof checks, never a key, blind or nonce.
 */
#ifndef CDS_CRYPTO_MSM_H
#define CDS_CRYPTO_MSM_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/ge_vt.h"

/* A scalar of cds_msm: little-endian, any 256-bit value. */
#define CDS_MSM_SCALAR_BYTES 32

/*
 * out = sum over i < n of scalar i (CDS_MSM_SCALAR_BYTES from
 * scalars + CDS_MSM_SCALAR_BYTES * i) times points[i].  n = 0 gives the identity.  Returns
 * CDS_OK, or CDS_ERR_NOMEM if the scratch space cannot be allocated.
 */
enum cds_err cds_msm(struct cds_ge *out, const uint8_t *scalars,
		     const struct cds_ge *points, size_t n,
		     struct cds_error *err) CDS_MUST_CHECK;

#endif
