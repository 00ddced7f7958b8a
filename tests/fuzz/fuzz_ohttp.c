/*
 * fuzz_ohttp.c: libFuzzer harness for what a gateway and a client parse of
 * Oblivious HTTP (lib/crypto/ohttp*.c): encapsulated requests with a fixed
 * gateway key, application/ohttp-keys lists, and encapsulated responses.
 * The first byte picks the parser; mode 3 seals the rest as a valid request
 * first, so that the gateway's whole path (decapsulation, then the Binary
 * HTTP parse, then a sealed reply opened by the client) runs on arbitrary
 * inner bytes.  Checks, beyond "no crash": a refused request leaves no
 * plaintext; a sealed request always opens to exactly what was sealed.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "core/bhttp.h"
#include "crypto/ohttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cds_ohttp_key gw;

static void init_key(void)
{
	uint8_t ikm[32] = "cds fuzz gateway key, fixed....";

	if (gw.id)
		return;
	assert(sodium_init() >= 0);
	gw.id = 7;
	cds_hpke_derive_keypair(gw.sk, gw.pk, ikm, sizeof(ikm));
}

static void open_request(const uint8_t *d, size_t n)
{
	struct cds_ohttp_exchange x;
	struct cds_buf pt;
	struct cds_error err = {0};

	cds_buf_init(&pt);
	if (cds_ohttp_request_open(&x, &pt, d, n, &gw, 1, &err))
		assert(pt.len == 0 && err.msg[0]);
	cds_buf_fini(&pt);
}

static void pick_keys(const uint8_t *d, size_t n)
{
	struct cds_ohttp_config cfg;
	struct cds_error err = {0};

	if (cds_ohttp_keys_pick(&cfg, d, n, &err) == CDS_OK)
		assert(cds_aead_supported(cfg.aead_id));
	else
		assert(err.msg[0]);
}

/* A response of a real exchange, replaced by the fuzzer's bytes. */
static void open_response(const uint8_t *d, size_t n, uint16_t aead)
{
	struct cds_ohttp_config cfg = {.id = gw.id, .aead_id = aead};
	struct cds_ohttp_exchange x;
	struct cds_buf req, pt;
	struct cds_error err = {0};

	memcpy(cfg.pk, gw.pk, sizeof(cfg.pk));
	cds_buf_init(&req);
	cds_buf_init(&pt);
	assert(cds_ohttp_request_seal(&x, &req, &cfg, d, 0, NULL, &err) == 0);
	if (cds_ohttp_response_open(&x, &pt, d, n, &err))
		assert(pt.len == 0);
	cds_buf_fini(&req);
	cds_buf_fini(&pt);
}

static void whole_path(const uint8_t *d, size_t n, uint16_t aead)
{
	struct cds_ohttp_config cfg = {.id = gw.id, .aead_id = aead};
	struct cds_ohttp_exchange c, g;
	struct cds_buf req, pt, res, back;
	struct cds_bhttp_msg m;
	struct cds_error err = {0};

	memcpy(cfg.pk, gw.pk, sizeof(cfg.pk));
	cds_buf_init(&req);
	cds_buf_init(&pt);
	cds_buf_init(&res);
	cds_buf_init(&back);
	assert(cds_ohttp_request_seal(&c, &req, &cfg, d, n, NULL, &err) == 0);
	assert(cds_ohttp_request_open(&g, &pt, req.data, req.len, &gw, 1,
				      &err) == 0);
	assert(pt.len == n && (n == 0 || !memcmp(pt.data, d, n)));
	if (cds_bhttp_parse_request(&m, pt.data, pt.len, &err) == CDS_OK)
		cds_bhttp_fini(&m);
	assert(cds_ohttp_response_seal(&g, &res, d, n, NULL, &err) == 0);
	assert(cds_ohttp_response_open(&c, &back, res.data, res.len, &err) == 0);
	assert(back.len == n && (n == 0 || !memcmp(back.data, d, n)));
	cds_buf_fini(&req);
	cds_buf_fini(&pt);
	cds_buf_fini(&res);
	cds_buf_fini(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t aead;

	if (size < 1)
		return 0;
	init_key();
	aead = data[0] & 4 ? CDS_AEAD_CHACHA20POLY1305 : CDS_AEAD_AES128GCM;
	switch (data[0] & 3) {
	case 0: open_request(data + 1, size - 1); break;
	case 1: pick_keys(data + 1, size - 1); break;
	case 2: open_response(data + 1, size - 1, aead); break;
	default: whole_path(data + 1, size - 1, aead); break;
	}
	return 0;
}
