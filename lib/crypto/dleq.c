/*
 * dleq.c: RFC 9497 section 2.2 batched DLEQ proofs (GenerateProof with
 * ComputeCompositesFast, VerifyProof with ComputeComposites).
 *
 * Invariants:
 *  1. k (the key or POPRF tweak), its inverse and the nonce r are used only
 *     through libsodium's constant-time calls and are wiped on every path.
 *  2. Only public data reaches msm.c: the decoded elements, the transcript
 *     scalars d_i and the proof (c, s) being checked.
 *  3. A proof that does not parse or does not hold is CDS_ERR_CRYPTO.
 */
#include "crypto/dleq.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/h2c.h"
#include "crypto/msm.h"

/* The OPRF's sizes are those of the group code it runs on. */
_Static_assert(CDS_OPRF_SCALAR_BYTES == crypto_core_ristretto255_SCALARBYTES &&
	       CDS_OPRF_SCALAR_BYTES == CDS_MSM_SCALAR_BYTES,
	       "OPRF scalar size");
_Static_assert(CDS_OPRF_ELEMENT_BYTES == crypto_core_ristretto255_BYTES &&
	       CDS_OPRF_ELEMENT_BYTES == CDS_GE_BYTES, "OPRF element size");
_Static_assert(CDS_OPRF_PROOF_BYTES == 2 * CDS_OPRF_SCALAR_BYTES &&
	       CDS_OPRF_OUTPUT_BYTES == crypto_hash_sha512_BYTES,
	       "OPRF proof and output sizes");

/* Encoding of the ristretto255 generator (RFC 9496 A.1, B = 1 * G). */
static const uint8_t generator[CDS_OPRF_ELEMENT_BYTES] = {
	0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9,
	0x61, 0xc5, 0x00, 0x51, 0x5f, 0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82,
	0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76,
};
/* I2OSP(Ne, 2) and I2OSP(Nh, 2): the length prefixes of the transcripts. */
static const uint8_t len_ne[2] = { 0, CDS_OPRF_ELEMENT_BYTES };
static const uint8_t len_nh[2] = { 0, crypto_hash_sha512_BYTES };

int cds_scalar_is_canonical(const uint8_t s[static CDS_OPRF_SCALAR_BYTES])
{
	uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES] = { 0 },
		red[CDS_OPRF_SCALAR_BYTES];
	int ok;

	/* s is canonical iff reducing it mod L changes nothing. */
	memcpy(wide, s, CDS_OPRF_SCALAR_BYTES);
	crypto_core_ristretto255_scalar_reduce(red, wide);
	ok = sodium_memcmp(red, s, CDS_OPRF_SCALAR_BYTES) == 0;
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(red, sizeof(red));
	return ok;
}

/* seed = Hash(I2OSP(len(Bm), 2) || Bm || I2OSP(len(seedDST), 2) || seedDST) */
static void composite_seed(uint8_t seed[crypto_hash_sha512_BYTES],
			   enum cds_oprf_mode mode,
			   const uint8_t B[CDS_OPRF_ELEMENT_BYTES])
{
	uint8_t dst[CDS_H2C_DST_MAX], dl[2];
	size_t dst_len = cds_oprf_dst(dst, "Seed-", mode);
	crypto_hash_sha512_state st;

	cds_put_u16(dl, dst_len);
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, len_ne, 2);
	crypto_hash_sha512_update(&st, B, CDS_OPRF_ELEMENT_BYTES);
	crypto_hash_sha512_update(&st, dl, 2);
	crypto_hash_sha512_update(&st, dst, dst_len);
	crypto_hash_sha512_final(&st, seed);
}

void cds_dleq_composite_scalars(uint8_t *d, enum cds_oprf_mode mode,
				const uint8_t B[static CDS_OPRF_ELEMENT_BYTES],
				const uint8_t *C, const uint8_t *D, size_t n)
{
	uint8_t seed[crypto_hash_sha512_BYTES], idx[2];
	struct cds_bytes t[8] = {
		{ len_nh, 2 }, { seed, crypto_hash_sha512_BYTES }, { idx, 2 },
		{ len_ne, 2 }, { NULL, CDS_OPRF_ELEMENT_BYTES },
		{ len_ne, 2 }, { NULL, CDS_OPRF_ELEMENT_BYTES },
		{ (const uint8_t *)"Composite", 9 },
	};

	composite_seed(seed, mode, B);
	for (size_t i = 0; i < n; i++) {
		cds_put_u16(idx, i);
		t[4].p = C + CDS_OPRF_ELEMENT_BYTES * i;
		t[6].p = D + CDS_OPRF_ELEMENT_BYTES * i;
		cds_h2c_hash_to_scalar(d + CDS_OPRF_SCALAR_BYTES * i, mode, t,
				       8);
	}
}

/*
 * c = HashToScalar(len||B || len||M || len||Z || len||t2 || len||t3
 *                  || "Challenge")
 */
static void challenge(uint8_t c[CDS_OPRF_SCALAR_BYTES], enum cds_oprf_mode mode,
		      const uint8_t B[CDS_OPRF_ELEMENT_BYTES],
		      const uint8_t M[CDS_OPRF_ELEMENT_BYTES],
		      const uint8_t Z[CDS_OPRF_ELEMENT_BYTES],
		      const uint8_t t2[CDS_OPRF_ELEMENT_BYTES],
		      const uint8_t t3[CDS_OPRF_ELEMENT_BYTES])
{
	const struct cds_bytes t[11] = {
		{ len_ne, 2 }, { B, CDS_OPRF_ELEMENT_BYTES },
		{ len_ne, 2 }, { M, CDS_OPRF_ELEMENT_BYTES },
		{ len_ne, 2 }, { Z, CDS_OPRF_ELEMENT_BYTES },
		{ len_ne, 2 }, { t2, CDS_OPRF_ELEMENT_BYTES },
		{ len_ne, 2 }, { t3, CDS_OPRF_ELEMENT_BYTES },
		{ (const uint8_t *)"Challenge", 9 },
	};

	cds_h2c_hash_to_scalar(c, mode, t, 11);
}

/* sum d_i P_i, encoded; d must hold the n composite scalars. */
static enum cds_err composite(uint8_t out[CDS_OPRF_ELEMENT_BYTES],
			      const uint8_t *d, const struct cds_ge *pts,
			      size_t n, struct cds_error *err)
{
	struct cds_ge S;
	enum cds_err rc = cds_msm(&S, d, pts, n, err);

	if (rc == CDS_OK)
		cds_ge_encode(out, &S);
	return rc;
}

/* M and Z of ComputeCompositesFast, from the decoded side and k. */
static enum cds_err prover_composites(uint8_t M[CDS_OPRF_ELEMENT_BYTES],
				      uint8_t Z[CDS_OPRF_ELEMENT_BYTES],
				      const uint8_t k[CDS_OPRF_SCALAR_BYTES],
				      const uint8_t *d,
				      const struct cds_ge *known, size_t n,
				      enum cds_dleq_side side,
				      struct cds_error *err)
{
	uint8_t kinv[CDS_OPRF_SCALAR_BYTES];
	enum cds_err rc;
	int bad;

	if (side == CDS_DLEQ_KNOWN_C) {
		rc = composite(M, d, known, n, err);
		if (rc)
			return rc;
		bad = crypto_scalarmult_ristretto255(Z, k, M);
	} else {
		rc = composite(Z, d, known, n, err);
		if (rc)
			return rc;
		bad = crypto_core_ristretto255_scalar_invert(kinv, k) ||
		      crypto_scalarmult_ristretto255(M, kinv, Z);
		sodium_memzero(kinv, sizeof(kinv));
	}
	/* scalarmult fails on an identity result: a zero composite. */
	if (bad)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"proof composite is the identity element");
	return CDS_OK;
}

enum cds_err cds_dleq_prove(uint8_t proof[static CDS_OPRF_PROOF_BYTES],
			    enum cds_oprf_mode mode,
			    const uint8_t k[static CDS_OPRF_SCALAR_BYTES],
			    const uint8_t B[static CDS_OPRF_ELEMENT_BYTES],
			    const uint8_t *C, const uint8_t *D, size_t n,
			    const struct cds_ge *known,
			    enum cds_dleq_side side, const uint8_t *r_in,
			    struct cds_error *err)
{
	uint8_t M[CDS_OPRF_ELEMENT_BYTES], Z[CDS_OPRF_ELEMENT_BYTES],
		r[CDS_OPRF_SCALAR_BYTES], t2[CDS_OPRF_ELEMENT_BYTES],
		t3[CDS_OPRF_ELEMENT_BYTES], ck[CDS_OPRF_SCALAR_BYTES];
	uint8_t *d = malloc(CDS_OPRF_SCALAR_BYTES * n);
	enum cds_err rc = CDS_OK;

	if (!d) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory for %zu proof "
			      "scalars", n);
		goto out;
	}
	cds_dleq_composite_scalars(d, mode, B, C, D, n);
	rc = prover_composites(M, Z, k, d, known, n, side, err);
	if (rc)
		goto out;
	if (r_in)
		memcpy(r, r_in, CDS_OPRF_SCALAR_BYTES);
	else
		crypto_core_ristretto255_scalar_random(r);
	/* r is non-zero and M is not the identity, so neither call fails. */
	if (crypto_scalarmult_ristretto255_base(t2, r) != 0 ||
	    crypto_scalarmult_ristretto255(t3, r, M) != 0) {
		rc = cds_fail(err, CDS_ERR_INTERNAL, "proof nonce is zero");
		goto out;
	}
	challenge(proof, mode, B, M, Z, t2, t3);            /* c */
	crypto_core_ristretto255_scalar_mul(ck, proof, k);
	/* s = r - ck */
	crypto_core_ristretto255_scalar_sub(proof + CDS_OPRF_SCALAR_BYTES, r,
					    ck);
out:
	sodium_memzero(r, sizeof(r));
	sodium_memzero(ck, sizeof(ck));
	free(d);
	return rc;
}

/* t2 = s G + c B and t3 = s M + c Z, encoded. */
static enum cds_err verifier_commitments(uint8_t t2[CDS_OPRF_ELEMENT_BYTES],
					 uint8_t t3[CDS_OPRF_ELEMENT_BYTES],
					 const uint8_t proof[CDS_OPRF_PROOF_BYTES],
					 const struct cds_ge *Bp,
					 const struct cds_ge *Mp,
					 const struct cds_ge *Zp,
					 struct cds_error *err)
{
	uint8_t sc[crypto_core_ristretto255_NONREDUCEDSCALARBYTES];
	struct cds_ge pts[2];
	enum cds_err rc;

	/* s, then c: the scalars of s G + c B */
	memcpy(sc, proof + CDS_OPRF_SCALAR_BYTES, CDS_OPRF_SCALAR_BYTES);
	memcpy(sc + CDS_OPRF_SCALAR_BYTES, proof, CDS_OPRF_SCALAR_BYTES);
	if (cds_ge_decode(&pts[0], generator) != 0)
		return cds_fail(err, CDS_ERR_INTERNAL, "generator rejected");
	pts[1] = *Bp;
	rc = composite(t2, sc, pts, 2, err);
	if (rc)
		return rc;
	pts[0] = *Mp;
	pts[1] = *Zp;
	return composite(t3, sc, pts, 2, err);
}

enum cds_err cds_dleq_verify(enum cds_oprf_mode mode,
			     const uint8_t B[static CDS_OPRF_ELEMENT_BYTES],
			     const struct cds_ge *Bp,
			     const uint8_t *C, const uint8_t *D,
			     const struct cds_ge *Cp, const struct cds_ge *Dp,
			     size_t n,
			     const uint8_t proof[static CDS_OPRF_PROOF_BYTES],
			     struct cds_error *err)
{
	uint8_t M[CDS_OPRF_ELEMENT_BYTES], Z[CDS_OPRF_ELEMENT_BYTES],
		t2[CDS_OPRF_ELEMENT_BYTES], t3[CDS_OPRF_ELEMENT_BYTES],
		c[CDS_OPRF_SCALAR_BYTES];
	struct cds_ge Mp, Zp;
	uint8_t *d = NULL;
	enum cds_err rc = CDS_OK;

	if (!cds_scalar_is_canonical(proof) ||
	    !cds_scalar_is_canonical(proof + CDS_OPRF_SCALAR_BYTES)) {
		rc = cds_fail(err, CDS_ERR_CRYPTO, "proof scalar is not "
			      "canonical");
		goto out;
	}
	d = malloc(CDS_OPRF_SCALAR_BYTES * n);
	if (!d) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory for %zu proof "
			      "scalars", n);
		goto out;
	}
	cds_dleq_composite_scalars(d, mode, B, C, D, n);
	rc = cds_msm(&Mp, d, Cp, n, err);
	if (rc == CDS_OK)
		rc = cds_msm(&Zp, d, Dp, n, err);
	if (rc == CDS_OK)
		rc = verifier_commitments(t2, t3, proof, Bp, &Mp, &Zp, err);
	if (rc)
		goto out;
	cds_ge_encode(M, &Mp);
	cds_ge_encode(Z, &Zp);
	/* SerializeElement refuses the identity (RFC 9497 section 2.1). */
	if (sodium_is_zero(M, CDS_OPRF_ELEMENT_BYTES) ||
	    sodium_is_zero(Z, CDS_OPRF_ELEMENT_BYTES) ||
	    sodium_is_zero(t2, CDS_OPRF_ELEMENT_BYTES) ||
	    sodium_is_zero(t3, CDS_OPRF_ELEMENT_BYTES)) {
		rc = cds_fail(err, CDS_ERR_CRYPTO, "proof does not verify: "
			      "identity element in the transcript");
		goto out;
	}
	challenge(c, mode, B, M, Z, t2, t3);
	if (sodium_memcmp(c, proof, CDS_OPRF_SCALAR_BYTES) != 0)
		rc = cds_fail(err, CDS_ERR_CRYPTO, "proof does not verify");
out:
	free(d);
	return rc;
}
