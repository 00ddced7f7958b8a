/*
 * oprf_int.h (internal to lib/crypto): checks and hashes shared by the
 * server side (oprf.c) and the client side (oprf_client.c) of RFC 9497.
 *
 * Every check returns CDS_OK or fills err with a message naming the input
 * (and err->index for batch items, -1 otherwise).
 */
#ifndef CDS_CRYPTO_OPRF_INT_H
#define CDS_CRYPTO_OPRF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/ge_vt.h"
#include "crypto/oprf.h"

enum cds_err cds_oprf_check_mode(enum cds_oprf_mode mode,
				 struct cds_error *err) CDS_MUST_CHECK;

/* A byte string framed with I2OSP(len, 2): NULL only when empty. */
enum cds_err cds_oprf_check_bytes(const uint8_t *p, size_t len,
				  const char *what, long index,
				  struct cds_error *err) CDS_MUST_CHECK;

/* 1 <= n <= CDS_OPRF_BATCH_MAX. */
enum cds_err cds_oprf_check_batch(size_t n,
				  struct cds_error *err) CDS_MUST_CHECK;

/* Copy a caller's scalar after checking it is canonical and non-zero. */
enum cds_err cds_oprf_load_scalar(uint8_t out[static CDS_OPRF_SCALAR_BYTES],
				  const uint8_t *in, const char *what,
				  long index,
				  struct cds_error *err) CDS_MUST_CHECK;

/*
 * Decode the n elements els[32 i ..] into pts[i] (pts NULL: validate only).
 * The identity or a non-canonical encoding is CDS_ERR_INVALID naming
 * `what` with err->index = i.
 */
enum cds_err cds_oprf_check_elements(struct cds_ge *pts, const uint8_t *els,
				     size_t n, const char *what,
				     struct cds_error *err) CDS_MUST_CHECK;

/* POPRF: m = HashToScalar("Info" || I2OSP(len(info), 2) || info). */
void cds_oprf_info_scalar(uint8_t m[static CDS_OPRF_SCALAR_BYTES],
			  const uint8_t *info, size_t info_len);

/*
 * The Finalize hash: SHA-512(I2OSP(len(input), 2) || input
 * [|| I2OSP(len(info), 2) || info, POPRF only] || I2OSP(32, 2) || element
 * || "Finalize").
 */
void cds_oprf_finalize_hash(uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
			    enum cds_oprf_mode mode,
			    const uint8_t *input, size_t input_len,
			    const uint8_t *info, size_t info_len,
			    const uint8_t element[static CDS_OPRF_ELEMENT_BYTES]);

#endif
