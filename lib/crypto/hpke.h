/*
 * hpke.h: HPKE (RFC 9180), base mode, DHKEM(X25519, HKDF-SHA256) with
 * HKDF-SHA256 and the AEADs of aead.h.  The single-shot use of Oblivious
 * HTTP needs one seal (sender) or one open (recipient) per context, plus the
 * secret export; the sequence number is kept so the RFC's vectors (and any
 * later use) can run several.
 *
 * Invariants:
 *  1. Every secret (DH output, shared secret, key schedule output) is wiped
 *     on every return path; a context is wiped by cds_hpke_ctx_wipe.
 *  2. A failed setup leaves the context zeroed (unusable: aead_id 0).
 *  3. The DH of an all-zero result (a small-order public key) is refused,
 *     as RFC 9180 §7.1.4 requires.
 */
#ifndef CDS_CRYPTO_HPKE_H
#define CDS_CRYPTO_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/aead.h"

#define CDS_HPKE_KEM_X25519_SHA256 0x0020
#define CDS_HPKE_KDF_HKDF_SHA256 0x0001
#define CDS_HPKE_MODE_BASE 0x00
#define CDS_HPKE_PK_BYTES 32      /* Npk, also Nenc */
#define CDS_HPKE_SK_BYTES 32      /* Nsk */
#define CDS_HPKE_SECRET_BYTES 32  /* Nsecret, Nh */
/* mode || psk_id_hash || info_hash */
#define CDS_HPKE_KS_CONTEXT_BYTES (1 + 2 * CDS_HPKE_SECRET_BYTES)

/* The key schedule's intermediate values, for known-answer tests only. */
struct cds_hpke_ks_trace {
	uint8_t context[CDS_HPKE_KS_CONTEXT_BYTES];  /* key_schedule_context */
	uint8_t secret[CDS_HPKE_SECRET_BYTES];
};

struct cds_hpke_ctx {
	uint16_t aead_id;                          /* 0: not set up */
	size_t key_len;                            /* Nk */
	uint8_t key[CDS_AEAD_KEY_MAX_BYTES];
	uint8_t base_nonce[CDS_AEAD_NONCE_BYTES];
	uint8_t exporter_secret[CDS_HPKE_SECRET_BYTES];
	uint64_t seq;
};

/* DeriveKeyPair (RFC 9180 §7.1.3): the X25519 key pair of ikm. */
void cds_hpke_derive_keypair(uint8_t sk[static CDS_HPKE_SK_BYTES],
			     uint8_t pk[static CDS_HPKE_PK_BYTES],
			     const uint8_t *ikm, size_t ikm_len);

/* A fresh random key pair (crypto_box_keypair's X25519 clamped scalar). */
void cds_hpke_generate_keypair(uint8_t sk[static CDS_HPKE_SK_BYTES],
			       uint8_t pk[static CDS_HPKE_PK_BYTES]);

/*
 * Encap(pkR) with the ephemeral secret skE (NULL: a fresh random one):
 * shared_secret and enc (= pkE).  CDS_ERR_CRYPTO for a small-order pkR.
 */
enum cds_err cds_hpke_encap(uint8_t shared_secret[static CDS_HPKE_SECRET_BYTES],
			    uint8_t enc[static CDS_HPKE_PK_BYTES],
			    const uint8_t pkR[static CDS_HPKE_PK_BYTES],
			    const uint8_t *skE,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Decap(enc, skR).  pkR is skR's public key if the caller keeps it (NULL:
 * derived, one more scalar multiplication).  CDS_ERR_CRYPTO for a
 * small-order enc.
 */
enum cds_err cds_hpke_decap(uint8_t shared_secret[static CDS_HPKE_SECRET_BYTES],
			    const uint8_t enc[static CDS_HPKE_PK_BYTES],
			    const uint8_t skR[static CDS_HPKE_SK_BYTES],
			    const uint8_t *pkR,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * KeySchedule in base mode (§5.1): fill ctx for aead_id; trace (NULL but in
 * known-answer tests) receives the intermediate values.
 * CDS_ERR_INVALID for an unsupported AEAD.
 */
enum cds_err cds_hpke_key_schedule(struct cds_hpke_ctx *ctx, uint16_t aead_id,
				   const uint8_t shared_secret[static CDS_HPKE_SECRET_BYTES],
				   const uint8_t *info, size_t info_len,
				   struct cds_hpke_ks_trace *trace,
				   struct cds_error *err) CDS_MUST_CHECK;

/* SetupBaseS / SetupBaseR: encap or decap, then the key schedule. */
enum cds_err cds_hpke_setup_sender(struct cds_hpke_ctx *ctx,
				   uint8_t enc[static CDS_HPKE_PK_BYTES],
				   uint16_t aead_id,
				   const uint8_t pkR[static CDS_HPKE_PK_BYTES],
				   const uint8_t *info, size_t info_len,
				   const uint8_t *skE,
				   struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_hpke_setup_recipient(struct cds_hpke_ctx *ctx,
				      uint16_t aead_id,
				      const uint8_t enc[static CDS_HPKE_PK_BYTES],
				      const uint8_t skR[static CDS_HPKE_SK_BYTES],
				      const uint8_t *pkR,
				      const uint8_t *info, size_t info_len,
				      struct cds_error *err) CDS_MUST_CHECK;

/* The nonce of sequence number seq: base_nonce XOR I2OSP(seq, Nn). */
void cds_hpke_nonce(const struct cds_hpke_ctx *ctx, uint64_t seq,
		    uint8_t nonce[static CDS_AEAD_NONCE_BYTES]);

/*
 * ContextS.Seal / ContextR.Open at the current sequence number, which then
 * grows by one (on success only for open).  ct is pt_len + 16 bytes.
 */
enum cds_err cds_hpke_seal(struct cds_hpke_ctx *ctx, uint8_t *ct,
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *pt, size_t pt_len,
			   struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_hpke_open(struct cds_hpke_ctx *ctx, uint8_t *pt,
			   const uint8_t *aad, size_t aad_len,
			   const uint8_t *ct, size_t ct_len,
			   struct cds_error *err) CDS_MUST_CHECK;

/* Context.Export(exporter_context, L) (§5.3). */
enum cds_err cds_hpke_export(const struct cds_hpke_ctx *ctx, uint8_t *out,
			     size_t len, const uint8_t *exporter_context,
			     size_t ctx_len,
			     struct cds_error *err) CDS_MUST_CHECK;

void cds_hpke_ctx_wipe(struct cds_hpke_ctx *ctx);

#endif
