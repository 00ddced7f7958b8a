/*
 * oprf_client.c: the client side of RFC 9497 over ristretto255-SHA512:
 * Blind, Unblind and Finalize (= cds_oprf_verify, in oprf_verify.c, then
 * Unblind).
 *
 * Invariants:
 *  1. Blinds, their inverses and unblinded elements are secret: they go
 *     only to libsodium's constant-time calls and are wiped on every path.
 *  2. Evaluated elements come from the server.  Finalize has them decoded
 *     and the proof checked (oprf_verify.c) before anything is unblinded;
 *     Unblind itself still refuses the identity and non-canonical
 *     encodings (CDS_ERR_INVALID, err->index = item).
 *  3. On failure every output is zeroed, so no unverified result escapes.
 */
#include "crypto/oprf.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/h2c.h"
#include "crypto/oprf_int.h"

enum cds_err cds_oprf_blind(uint8_t blind[static CDS_OPRF_SCALAR_BYTES],
			    uint8_t blinded[static CDS_OPRF_ELEMENT_BYTES],
			    enum cds_oprf_mode mode,
			    const uint8_t *input, size_t input_len,
			    const uint8_t *blind_in,
			    struct cds_error *err)
{
	uint8_t P[CDS_OPRF_ELEMENT_BYTES] = { 0 };
	enum cds_err rc = cds_oprf_check_mode(mode, err);

	if (rc == CDS_OK)
		rc = cds_oprf_check_bytes(input, input_len, "OPRF input", -1,
					  err);
	if (rc == CDS_OK && blind_in)
		rc = cds_oprf_load_scalar(blind, blind_in, "blind", -1, err);
	else if (rc == CDS_OK)
		crypto_core_ristretto255_scalar_random(blind);
	if (rc)
		goto out;
	cds_h2c_hash_to_group(P, mode, input, input_len);
	if (sodium_is_zero(P, CDS_OPRF_ELEMENT_BYTES)) {
		rc = cds_fail(err, CDS_ERR_INVALID, "OPRF input hashes to the "
			      "identity element");
		goto out;
	}
	if (crypto_scalarmult_ristretto255(blinded, blind, P) != 0)
		rc = cds_fail(err, CDS_ERR_INTERNAL, "blinding failed");
out:
	sodium_memzero(P, sizeof(P)); /* names the input to a dictionary */
	if (rc) {
		sodium_memzero(blind, CDS_OPRF_SCALAR_BYTES);
		sodium_memzero(blinded, CDS_OPRF_ELEMENT_BYTES);
	}
	return rc;
}

/*
 * inv[i] = 1 / blinds[i] for the whole batch with one scalar inversion
 * (Montgomery's trick): inversion costs as much as a scalar
 * multiplication, a product about 1/200 of one.  The sequence of libsodium
 * calls is fixed, so it stays constant time.  Blinds must be canonical and
 * non-zero (CDS_ERR_INVALID naming the item).  inv is secret: the caller
 * wipes it.
 */
/* Scalar i of an array of them. */
#define SCALAR_AT(a, i) ((a) + CDS_OPRF_SCALAR_BYTES * (i))

static enum cds_err invert_blinds(uint8_t *inv, const uint8_t *blinds,
				  size_t n, struct cds_error *err)
{
	uint8_t acc[CDS_OPRF_SCALAR_BYTES], b[CDS_OPRF_SCALAR_BYTES];
	enum cds_err rc = CDS_OK;

	if (n == 0)
		return CDS_OK;
	for (size_t i = 0; i < n && rc == CDS_OK; i++) {
		rc = cds_oprf_load_scalar(b, SCALAR_AT(blinds, i), "blind",
					  (long)i, err);
		if (rc == CDS_OK && i == 0)
			memcpy(inv, b, sizeof(b)); /* inv[i] = b_0 ... b_i */
		else if (rc == CDS_OK)
			crypto_core_ristretto255_scalar_mul(
				SCALAR_AT(inv, i), SCALAR_AT(inv, i - 1), b);
	}
	if (rc == CDS_OK &&
	    crypto_core_ristretto255_scalar_invert(acc, SCALAR_AT(inv, n - 1)))
		rc = cds_fail(err, CDS_ERR_INTERNAL, "blind inversion");
	for (size_t i = n - 1; rc == CDS_OK && i > 0; i--) {
		/* acc = 1 / (b_0 ... b_i) */
		crypto_core_ristretto255_scalar_mul(SCALAR_AT(inv, i), acc,
						    SCALAR_AT(inv, i - 1));
		crypto_core_ristretto255_scalar_mul(acc, acc,
						    SCALAR_AT(blinds, i));
	}
	if (rc == CDS_OK)
		memcpy(inv, acc, CDS_OPRF_SCALAR_BYTES);
	sodium_memzero(acc, sizeof(acc));
	sodium_memzero(b, sizeof(b));
	return rc;
}

/*
 * out = Finalize(input, 1/blind, evaluated) for item i.  libsodium's scalar
 * multiplication rejects non-canonical encodings and an identity result;
 * the identity and bit 255 (which libsodium 1.0.18 ignores) are checked
 * here first, so no separate decode is needed.
 */
static enum cds_err unblind(uint8_t out[CDS_OPRF_OUTPUT_BYTES],
			    enum cds_oprf_mode mode, const uint8_t *input,
			    size_t input_len,
			    const uint8_t inv[CDS_OPRF_SCALAR_BYTES],
			    const uint8_t evaluated[CDS_OPRF_ELEMENT_BYTES],
			    const uint8_t *info, size_t info_len, size_t i,
			    struct cds_error *err)
{
	uint8_t N[CDS_OPRF_ELEMENT_BYTES];
	enum cds_err rc = CDS_OK;

	if (sodium_is_zero(evaluated, CDS_OPRF_ELEMENT_BYTES))
		rc = cds_fail_at(err, CDS_ERR_INVALID, (long)i, "evaluated "
				 "element %zu is the identity element", i);
	else if ((evaluated[CDS_OPRF_ELEMENT_BYTES - 1] & 0x80) ||
		 crypto_scalarmult_ristretto255(N, inv, evaluated) != 0)
		rc = cds_fail_at(err, CDS_ERR_INVALID, (long)i, "evaluated "
				 "element %zu is not a canonical ristretto255 "
				 "encoding", i);
	else
		cds_oprf_finalize_hash(out, mode, input, input_len, info,
				       info_len, N);
	sodium_memzero(N, sizeof(N));
	return rc;
}

/* Unblind and hash every item, after the proof (if any) held. */
static enum cds_err unblind_all(uint8_t *outputs, enum cds_oprf_mode mode,
				const uint8_t *const *inputs,
				const size_t *input_lens, const uint8_t *blinds,
				const uint8_t *evaluated, size_t n,
				const uint8_t *info, size_t info_len,
				struct cds_error *err)
{
	uint8_t *inv = malloc(CDS_OPRF_SCALAR_BYTES * n);
	enum cds_err rc;

	if (!inv)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for %zu "
				"blinds", n);
	rc = invert_blinds(inv, blinds, n, err);
	for (size_t i = 0; rc == CDS_OK && i < n; i++)
		rc = unblind(outputs + CDS_OPRF_OUTPUT_BYTES * i, mode,
			     inputs[i], input_lens[i], SCALAR_AT(inv, i),
			     evaluated + CDS_OPRF_ELEMENT_BYTES * i, info,
			     info_len, i, err);
	sodium_memzero(inv, CDS_OPRF_SCALAR_BYTES * n);
	free(inv);
	return rc;
}

/* Arguments shared by Unblind and Finalize. */
static enum cds_err check_unblind_args(uint8_t *outputs, enum cds_oprf_mode mode,
				       const uint8_t *const *inputs,
				       const size_t *input_lens,
				       const uint8_t *blinds,
				       const uint8_t *evaluated, size_t n,
				       const uint8_t *info, size_t info_len,
				       struct cds_error *err)
{
	enum cds_err rc = cds_oprf_check_mode(mode, err);

	if (rc == CDS_OK)
		rc = cds_oprf_check_batch(n, err);
	if (rc)
		return rc;
	if (!outputs || !inputs || !input_lens || !blinds || !evaluated)
		return cds_fail(err, CDS_ERR_INVALID, "Finalize: NULL output, "
				"input, blind or element");
	if (mode == CDS_OPRF_MODE_POPRF) {
		rc = cds_oprf_check_bytes(info, info_len, "POPRF info", -1,
					  err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n; i++) {
		rc = cds_oprf_check_bytes(inputs[i], input_lens[i],
					  "OPRF input", (long)i, err);
		if (rc)
			return rc;
	}
	return CDS_OK;
}

enum cds_err cds_oprf_unblind(uint8_t *outputs, enum cds_oprf_mode mode,
			      const uint8_t *const *inputs,
			      const size_t *input_lens, const uint8_t *blinds,
			      const uint8_t *evaluated, size_t n,
			      const uint8_t *info, size_t info_len,
			      struct cds_error *err)
{
	enum cds_err rc = check_unblind_args(outputs, mode, inputs,
					     input_lens, blinds, evaluated, n,
					     info, info_len, err);

	if (rc)
		return rc;
	rc = unblind_all(outputs, mode, inputs, input_lens, blinds, evaluated,
			 n, info, info_len, err);
	if (rc)
		sodium_memzero(outputs, CDS_OPRF_OUTPUT_BYTES * n);
	return rc;
}

enum cds_err cds_oprf_finalize(uint8_t *outputs, enum cds_oprf_mode mode,
			       const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
			       const uint8_t *const *inputs,
			       const size_t *input_lens,
			       const uint8_t *blinds, const uint8_t *blinded,
			       const uint8_t *evaluated, size_t n,
			       const uint8_t *proof,
			       const uint8_t *info, size_t info_len,
			       struct cds_error *err)
{
	enum cds_err rc = check_unblind_args(outputs, mode, inputs,
					     input_lens, blinds, evaluated, n,
					     info, info_len, err);

	if (rc == CDS_OK && mode != CDS_OPRF_MODE_OPRF)
		rc = cds_oprf_verify(mode, pk, blinded, evaluated, n, proof,
				     info, info_len, err);
	if (rc == CDS_OK)
		rc = unblind_all(outputs, mode, inputs, input_lens, blinds,
				 evaluated, n, info, info_len, err);
	if (rc && outputs && n <= CDS_OPRF_BATCH_MAX)
		sodium_memzero(outputs, CDS_OPRF_OUTPUT_BYTES * n);
	return rc;
}
