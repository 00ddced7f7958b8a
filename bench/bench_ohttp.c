/*
 * bench_ohttp.c: Oblivious HTTP crypto figures, single-threaded, and a
 * helper for bench/bench_ohttp.sh.
 *
 *   bare      crypto_scalarmult (X25519), the floor: HPKE's decap is one
 *   gateway   per request: open (decap + key schedule + AEAD) of a bucket
 *             fetch and seal of a bucket-sized (BODY bytes) response
 *   client    per request: seal of the request and open of the response
 *
 * each for both AEADs, with the ratio to bare.
 *
 * Usage: bench_ohttp [ROUNDS]            (1000 requests per round, default 5)
 *        bench_ohttp --seal KEYS PATH    write to stdout an encapsulated
 *            GET PATH to the first usable config of KEYS (an
 *            application/ohttp-keys file), for wrk to replay
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/bhttp.h"
#include "crypto/ohttp.h"

#define PER_ROUND 1000
#define BODY 2600   /* about one bucket response of the 1M-handle bench */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int die(const char *what, const struct cds_error *err)
{
	fprintf(stderr, "bench_ohttp: %s: %s\n", what, err ? err->msg : "");
	return 1;
}

/* The Binary HTTP of GET path, as the client sends it (into out). */
static int bhttp_get(struct cds_buf *out, const char *path)
{
	struct cds_bhttp_msg m;
	struct cds_error err = {0};

	cds_bhttp_init(&m);
	m.method = "GET";
	m.scheme = "http";
	m.authority = "127.0.0.1";
	m.path = path;
	m.fields[0] = (struct cds_bhttp_field){"accept", "application/json"};
	m.n_fields = 1;
	return cds_bhttp_encode(out, &m, &err) ? die("encode", &err) : 0;
}

static int seal_to_stdout(const char *keys_file, const char *path)
{
	uint8_t keys[4096];
	struct cds_ohttp_config cfg;
	struct cds_ohttp_exchange x;
	struct cds_buf req, out;
	struct cds_error err = {0};
	FILE *f = fopen(keys_file, "rb");
	size_t n;

	if (!f)
		return die(keys_file, NULL);
	n = fread(keys, 1, sizeof(keys), f);
	fclose(f);
	cds_buf_init(&req);
	cds_buf_init(&out);
	if (cds_ohttp_keys_pick(&cfg, keys, n, &err))
		return die("key config", &err);
	if (bhttp_get(&req, path) ||
	    cds_ohttp_request_seal(&x, &out, &cfg, req.data, req.len, NULL, &err))
		return die("seal", &err);
	fwrite(out.data, 1, out.len, stdout);
	cds_buf_fini(&req);
	cds_buf_fini(&out);
	return 0;
}

/* Seconds for PER_ROUND bare X25519 multiplications. */
static double bench_bare(void)
{
	uint8_t sk[32], pk[32], q[32];
	double t0;

	crypto_box_keypair(pk, sk);
	t0 = now();
	for (int i = 0; i < PER_ROUND; i++) {
		if (crypto_scalarmult(q, sk, pk))
			abort();
		pk[0] ^= q[0] & 1; /* keep the compiler from hoisting */
	}
	return now() - t0;
}

struct times {
	double gateway, client;
};

/* One round of PER_ROUND full exchanges, timing each side apart. */
static int bench_round(uint16_t aead, const struct cds_ohttp_key *gw,
		       const struct cds_buf *get, const uint8_t *body,
		       struct times *t)
{
	struct cds_ohttp_config cfg = {.id = gw->id, .aead_id = aead};
	struct cds_buf req, pt, res, back;
	struct cds_ohttp_exchange c, g;
	struct cds_error err = {0};
	double t0;

	memcpy(cfg.pk, gw->pk, sizeof(cfg.pk));
	cds_buf_init(&req);
	cds_buf_init(&pt);
	cds_buf_init(&res);
	cds_buf_init(&back);
	for (int i = 0; i < PER_ROUND; i++) {
		cds_buf_reset(&req);
		cds_buf_reset(&pt);
		cds_buf_reset(&res);
		cds_buf_reset(&back);
		t0 = now();
		if (cds_ohttp_request_seal(&c, &req, &cfg, get->data, get->len,
					   NULL, &err))
			return die("seal request", &err);
		t->client += now() - t0;
		t0 = now();
		if (cds_ohttp_request_open(&g, &pt, req.data, req.len, gw, 1, &err) ||
		    cds_ohttp_response_seal(&g, &res, body, BODY, NULL, &err))
			return die("gateway", &err);
		t->gateway += now() - t0;
		t0 = now();
		if (cds_ohttp_response_open(&c, &back, res.data, res.len, &err))
			return die("open response", &err);
		t->client += now() - t0;
	}
	cds_buf_fini(&req);
	cds_buf_fini(&pt);
	cds_buf_fini(&res);
	cds_buf_fini(&back);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct { uint16_t id; const char *name; } aeads[] = {
		{CDS_AEAD_AES128GCM, "AES-128-GCM"},
		{CDS_AEAD_CHACHA20POLY1305, "ChaCha20-Poly1305"},
	};
	struct cds_ohttp_key gw = {.id = 1};
	uint8_t body[BODY];
	struct cds_buf get;
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	double bare = 0;

	if (sodium_init() < 0)
		return 1;
	if (argc == 4 && !strcmp(argv[1], "--seal"))
		return seal_to_stdout(argv[2], argv[3]);
	if (rounds < 1) {
		fprintf(stderr, "usage: bench_ohttp [ROUNDS] | --seal KEYS PATH\n");
		return 2;
	}
	cds_hpke_generate_keypair(gw.sk, gw.pk);
	randombytes_buf(body, sizeof(body));
	cds_buf_init(&get);
	if (bhttp_get(&get, "/v1/buckets/12345?epoch=1"))
		return 1;
	for (int r = 0; r < rounds; r++)
		bare += bench_bare();
	bare = bare / rounds / PER_ROUND * 1e6;
	printf("bench_ohttp: %d rounds x %d requests, response body %d B\n",
	       rounds, PER_ROUND, BODY);
	printf("%-22s %10.1f us\n", "bare X25519", bare);
	for (size_t a = 0; a < 2; a++) {
		struct times t = {0, 0};

		for (int r = 0; r < rounds; r++)
			if (bench_round(aeads[a].id, &gw, &get, body, &t))
				return 1;
		t.gateway = t.gateway / rounds / PER_ROUND * 1e6;
		t.client = t.client / rounds / PER_ROUND * 1e6;
		printf("%-22s gateway open+seal %6.1f us (%.2fx bare), "
		       "client seal+open %6.1f us (%.2fx bare)\n", aeads[a].name,
		       t.gateway, t.gateway / bare, t.client, t.client / bare);
	}
	cds_buf_fini(&get);
	return 0;
}
