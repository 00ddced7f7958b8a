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

/* Encoding of the ristretto255 generator (RFC 9496 A.1, B = 1 * G). */
static const uint8_t generator[32] = {
	0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9,
	0x61, 0xc5, 0x00, 0x51, 0x5f, 0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82,
	0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76,
};
static const uint8_t len32[2] = { 0, 32 };
static const uint8_t len64[2] = { 0, 64 };

int cds_scalar_is_canonical(const uint8_t s[static 32])
{
	uint8_t wide[64] = { 0 }, red[32];
	int ok;

	/* s is canonical iff reducing it mod L changes nothing. */
	memcpy(wide, s, 32);
	crypto_core_ristretto255_scalar_reduce(red, wide);
	ok = sodium_memcmp(red, s, 32) == 0;
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(red, sizeof(red));
	return ok;
}

/* seed = Hash(I2OSP(len(Bm), 2) || Bm || I2OSP(len(seedDST), 2) || seedDST) */
static void composite_seed(uint8_t seed[64], enum cds_oprf_mode mode,
			   const uint8_t B[32])
{
	uint8_t dst[CDS_H2C_DST_MAX], dl[2];
	size_t dst_len = cds_oprf_dst(dst, "Seed-", mode);
	crypto_hash_sha512_state st;

	cds_put_u16(dl, dst_len);
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, len32, 2);
	crypto_hash_sha512_update(&st, B, 32);
	crypto_hash_sha512_update(&st, dl, 2);
	crypto_hash_sha512_update(&st, dst, dst_len);
	crypto_hash_sha512_final(&st, seed);
}

void cds_dleq_composite_scalars(uint8_t *d, enum cds_oprf_mode mode,
				const uint8_t B[static 32], const uint8_t *C,
				const uint8_t *D, size_t n)
{
	uint8_t seed[64], idx[2];
	struct cds_bytes t[8] = {
		{ len64, 2 }, { seed, 64 }, { idx, 2 }, { len32, 2 },
		{ NULL, 32 }, { len32, 2 }, { NULL, 32 },
		{ (const uint8_t *)"Composite", 9 },
	};

	composite_seed(seed, mode, B);
	for (size_t i = 0; i < n; i++) {
		cds_put_u16(idx, i);
		t[4].p = C + 32 * i;
		t[6].p = D + 32 * i;
		cds_h2c_hash_to_scalar(d + 32 * i, mode, t, 8);
	}
}

/*
 * c = HashToScalar(len||B || len||M || len||Z || len||t2 || len||t3
 *                  || "Challenge")
 */
static void challenge(uint8_t c[32], enum cds_oprf_mode mode,
		      const uint8_t B[32], const uint8_t M[32],
		      const uint8_t Z[32], const uint8_t t2[32],
		      const uint8_t t3[32])
{
	const struct cds_bytes t[11] = {
		{ len32, 2 }, { B, 32 }, { len32, 2 }, { M, 32 },
		{ len32, 2 }, { Z, 32 }, { len32, 2 }, { t2, 32 },
		{ len32, 2 }, { t3, 32 }, { (const uint8_t *)"Challenge", 9 },
	};

	cds_h2c_hash_to_scalar(c, mode, t, 11);
}

/* sum d_i P_i, encoded; d must hold the n composite scalars. */
static enum cds_err composite(uint8_t out[32], const uint8_t *d,
			      const struct cds_ge *pts, size_t n,
			      struct cds_error *err)
{
	struct cds_ge S;
	enum cds_err rc = cds_msm(&S, d, pts, n, err);

	if (rc == CDS_OK)
		cds_ge_encode(out, &S);
	return rc;
}

/* M and Z of ComputeCompositesFast, from the decoded side and k. */
static enum cds_err prover_composites(uint8_t M[32], uint8_t Z[32],
				      const uint8_t k[32], const uint8_t *d,
				      const struct cds_ge *known, size_t n,
				      enum cds_dleq_side side,
				      struct cds_error *err)
{
	uint8_t kinv[32];
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
			    const uint8_t k[static 32], const uint8_t B[static 32],
			    const uint8_t *C, const uint8_t *D, size_t n,
			    const struct cds_ge *known,
			    enum cds_dleq_side side, const uint8_t *r_in,
			    struct cds_error *err)
{
	uint8_t M[32], Z[32], r[32], t2[32], t3[32], ck[32];
	uint8_t *d = malloc(32 * n);
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
		memcpy(r, r_in, 32);
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
	crypto_core_ristretto255_scalar_sub(proof + 32, r, ck); /* s = r - ck */
out:
	sodium_memzero(r, sizeof(r));
	sodium_memzero(ck, sizeof(ck));
	free(d);
	return rc;
}

/* t2 = s G + c B and t3 = s M + c Z, encoded. */
static enum cds_err verifier_commitments(uint8_t t2[32], uint8_t t3[32],
					 const uint8_t proof[64],
					 const struct cds_ge *Bp,
					 const struct cds_ge *Mp,
					 const struct cds_ge *Zp,
					 struct cds_error *err)
{
	uint8_t sc[64];
	struct cds_ge pts[2];
	enum cds_err rc;

	memcpy(sc, proof + 32, 32); /* s */
	memcpy(sc + 32, proof, 32); /* c */
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
			     const uint8_t B[static 32],
			     const struct cds_ge *Bp,
			     const uint8_t *C, const uint8_t *D,
			     const struct cds_ge *Cp, const struct cds_ge *Dp,
			     size_t n,
			     const uint8_t proof[static CDS_OPRF_PROOF_BYTES],
			     struct cds_error *err)
{
	uint8_t M[32], Z[32], t2[32], t3[32], c[32];
	struct cds_ge Mp, Zp;
	uint8_t *d = NULL;
	enum cds_err rc = CDS_OK;

	if (!cds_scalar_is_canonical(proof) ||
	    !cds_scalar_is_canonical(proof + 32)) {
		rc = cds_fail(err, CDS_ERR_CRYPTO, "proof scalar is not "
			      "canonical");
		goto out;
	}
	d = malloc(32 * n);
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
	if (sodium_is_zero(M, 32) || sodium_is_zero(Z, 32) ||
	    sodium_is_zero(t2, 32) || sodium_is_zero(t3, 32)) {
		rc = cds_fail(err, CDS_ERR_CRYPTO, "proof does not verify: "
			      "identity element in the transcript");
		goto out;
	}
	challenge(c, mode, B, M, Z, t2, t3);
	if (sodium_memcmp(c, proof, 32) != 0)
		rc = cds_fail(err, CDS_ERR_CRYPTO, "proof does not verify");
out:
	free(d);
	return rc;
}
