/*
 * fuzz_oprf.c: libFuzzer harness for the OPRF inputs that come from the
 * other side of the wire (lib/crypto/oprf*.c, dleq.c, ge_vt.c, msm.c).
 *
 * Byte 0 picks the mode and the side:
 *   server  the rest is a batch of 32-byte blinded elements for
 *           cds_oprf_blind_evaluate;
 *   client  a fixed, honestly blinded batch is finalised with the rest as
 *           evaluated elements || proof || public key.
 * Nothing may crash, and the client must never accept anything but the
 * honest answer: an accepted forgery aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/oprf.h"

#define MAX_BATCH 64
#define CLIENT_BATCH 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t sk[32], pk[32];

/* A fixed key and deterministic blinds keep runs reproducible. */
static void setup(void)
{
	static const uint8_t seed[32] = { 0x42 };
	static int done;
	struct cds_error err;

	if (done)
		return;
	if (sodium_init() < 0 ||
	    cds_oprf_derive_keypair(sk, pk, CDS_OPRF_MODE_VOPRF, seed,
				    (const uint8_t *)"fuzz", 4, &err) != CDS_OK)
		abort();
	done = 1;
}

static void server_side(enum cds_oprf_mode mode, const uint8_t *p, size_t n)
{
	uint8_t ev[MAX_BATCH * 32], proof[64];
	size_t count = n / 32;
	struct cds_error err;
	enum cds_err rc;

	if (count == 0 || count > MAX_BATCH)
		return;
	cds_error_clear(&err);
	rc = cds_oprf_blind_evaluate(ev, proof, mode, sk, p, count,
				     (const uint8_t *)"info", 4, NULL, &err);
	if (rc != CDS_OK && rc != CDS_ERR_INVALID)
		abort();
	/* a rejected batch names one of its elements */
	if (rc == CDS_ERR_INVALID &&
	    (err.index < 0 || (size_t)err.index >= count))
		abort();
}

static void client_side(enum cds_oprf_mode mode, const uint8_t *p, size_t n)
{
	static const uint8_t *inputs[CLIENT_BATCH] = {
		(const uint8_t *)"tel:+15551234567",
		(const uint8_t *)"mailto:alice@example.org",
		(const uint8_t *)"",
	};
	size_t lens[CLIENT_BATCH] = { 16, 24, 0 };
	uint8_t blinds[CLIENT_BATCH * 32], bl[CLIENT_BATCH * 32];
	uint8_t honest[CLIENT_BATCH * 32], hproof[64], wide[64] = { 0 };
	uint8_t out[CLIENT_BATCH * 64], key[32];
	const uint8_t *ev = p, *proof = p + sizeof(honest);
	struct cds_error err;
	enum cds_err rc;

	if (n < sizeof(honest) + 64)
		return;
	memcpy(key, n >= sizeof(honest) + 96 ? p + sizeof(honest) + 64 : pk,
	       32);
	for (int i = 0; i < CLIENT_BATCH; i++) {
		wide[0] = (uint8_t)(i + 1);
		crypto_core_ristretto255_scalar_reduce(blinds + 32 * i, wide);
		if (cds_oprf_blind(blinds + 32 * i, bl + 32 * i, mode,
				   inputs[i], lens[i], blinds + 32 * i,
				   &err) != CDS_OK)
			abort();
	}
	if (cds_oprf_blind_evaluate(honest, hproof, mode, sk, bl, CLIENT_BATCH,
				    NULL, 0, NULL, &err) != CDS_OK)
		abort();
	rc = cds_oprf_finalize(out, mode, key, inputs, lens, blinds, bl, ev,
			       CLIENT_BATCH, proof, NULL, 0, &err);
	/* With a proof, only the honest elements under the real key pass. */
	if (rc == CDS_OK && mode != CDS_OPRF_MODE_OPRF &&
	    (memcmp(ev, honest, sizeof(honest)) != 0 ||
	     memcmp(key, pk, 32) != 0))
		abort();
	if (rc != CDS_OK && rc != CDS_ERR_INVALID && rc != CDS_ERR_CRYPTO)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cds_oprf_mode mode;

	if (size < 1)
		return 0;
	setup();
	mode = (enum cds_oprf_mode)(data[0] % 3);
	if (data[0] & 0x80)
		client_side(mode, data + 1, size - 1);
	else
		server_side(mode, data + 1, size - 1);
	return 0;
}
