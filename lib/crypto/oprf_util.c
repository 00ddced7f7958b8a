/*
 * oprf_util.c: the input checks and hashes of oprf_int.h.
 *
 * Invariant: an element accepted by cds_oprf_check_elements is a canonical
 * ristretto255 encoding of a point other than the identity, so libsodium's
 * scalar multiplication by a non-zero scalar cannot fail on it.
 */
#include "crypto/oprf_int.h"

#include <string.h>

#include <sodium.h>

#include "crypto/dleq.h"
#include "crypto/h2c.h"

enum cds_err cds_oprf_check_mode(enum cds_oprf_mode mode,
				 struct cds_error *err)
{
	if (mode != CDS_OPRF_MODE_OPRF && mode != CDS_OPRF_MODE_VOPRF &&
	    mode != CDS_OPRF_MODE_POPRF)
		return cds_fail(err, CDS_ERR_INVALID, "unknown OPRF mode %d",
				(int)mode);
	return CDS_OK;
}

enum cds_err cds_oprf_check_bytes(const uint8_t *p, size_t len,
				  const char *what, long index,
				  struct cds_error *err)
{
	if (!p && len)
		return cds_fail_at(err, CDS_ERR_INVALID, index, "%s is NULL",
				   what);
	if (len > CDS_OPRF_INPUT_MAX)
		return cds_fail_at(err, CDS_ERR_TOO_LARGE, index,
				   "%s of %zu bytes is longer than %d", what,
				   len, CDS_OPRF_INPUT_MAX);
	return CDS_OK;
}

enum cds_err cds_oprf_check_batch(size_t n, struct cds_error *err)
{
	if (n == 0)
		return cds_fail(err, CDS_ERR_INVALID, "empty OPRF batch");
	if (n > CDS_OPRF_BATCH_MAX)
		return cds_fail(err, CDS_ERR_TOO_LARGE, "OPRF batch of %zu "
				"elements is larger than %d", n,
				CDS_OPRF_BATCH_MAX);
	return CDS_OK;
}

enum cds_err cds_oprf_load_scalar(uint8_t out[static CDS_OPRF_SCALAR_BYTES],
				  const uint8_t *in, const char *what,
				  long index, struct cds_error *err)
{
	if (!cds_scalar_is_canonical(in))
		return cds_fail_at(err, CDS_ERR_INVALID, index,
				   "%s is not a canonical scalar", what);
	/* A zero blind or nonce would give the input or the key away. */
	if (sodium_is_zero(in, CDS_OPRF_SCALAR_BYTES))
		return cds_fail_at(err, CDS_ERR_INVALID, index, "%s is zero",
				   what);
	memcpy(out, in, CDS_OPRF_SCALAR_BYTES);
	return CDS_OK;
}

enum cds_err cds_oprf_check_elements(struct cds_ge *pts, const uint8_t *els,
				     size_t n, const char *what,
				     struct cds_error *err)
{
	struct cds_ge tmp;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *el = els + CDS_OPRF_ELEMENT_BYTES * i;

		if (sodium_is_zero(el, CDS_OPRF_ELEMENT_BYTES))
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "%s %zu is the identity element",
					   what, i);
		if (cds_ge_decode(pts ? &pts[i] : &tmp, el) != 0)
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "%s %zu is not a canonical "
					   "ristretto255 encoding", what, i);
	}
	return CDS_OK;
}

void cds_oprf_info_scalar(uint8_t m[static CDS_OPRF_SCALAR_BYTES],
			  const uint8_t *info, size_t info_len)
{
	uint8_t il[2];
	const struct cds_bytes t[3] = {
		{ (const uint8_t *)"Info", 4 }, { il, 2 }, { info, info_len },
	};

	cds_put_u16(il, info_len);
	cds_h2c_hash_to_scalar(m, CDS_OPRF_MODE_POPRF, t, 3);
}

void cds_oprf_finalize_hash(uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
			    enum cds_oprf_mode mode,
			    const uint8_t *input, size_t input_len,
			    const uint8_t *info, size_t info_len,
			    const uint8_t element[static CDS_OPRF_ELEMENT_BYTES])
{
	static const uint8_t len_ne[2] = { 0, CDS_OPRF_ELEMENT_BYTES };
	crypto_hash_sha512_state st;
	uint8_t l[2];

	crypto_hash_sha512_init(&st);
	cds_put_u16(l, input_len);
	crypto_hash_sha512_update(&st, l, 2);
	crypto_hash_sha512_update(&st, input, input_len);
	if (mode == CDS_OPRF_MODE_POPRF) {
		cds_put_u16(l, info_len);
		crypto_hash_sha512_update(&st, l, 2);
		crypto_hash_sha512_update(&st, info, info_len);
	}
	crypto_hash_sha512_update(&st, len_ne, 2);
	crypto_hash_sha512_update(&st, element, CDS_OPRF_ELEMENT_BYTES);
	crypto_hash_sha512_update(&st, (const uint8_t *)"Finalize", 8);
	crypto_hash_sha512_final(&st, out);
	/* The state holds the unblinded element, the PRF's secret value. */
	sodium_memzero(&st, sizeof(st));
}
