/*
 * synth.c: synthetic numbers, handles and identity keys (synth.h).
 *
 * The handle permutation is a 4-round Feistel network on Z_m x Z_m with
 * m = 22628 (m^2 >= CDS_SYNTH_MAX), made a permutation of
 * [0, CDS_SYNTH_MAX) by cycle walking: re-apply it until the value falls in
 * range.  Each round adds a keyed hash of one half to the other modulo m,
 * which is invertible whatever the hash, so the whole is a bijection and two
 * indices never share a number.  The hash is not cryptographic and need not
 * be: the point is spread, not secrecy.
 */
#include "store/synth.h"

#include <string.h>

#include <sodium.h>

#define SIDE UINT64_C(22628)
#define EXCHANGES 800            /* 200..999 */
#define SUBSCRIBERS 10000        /* 0000..9999 */
#define PER_AREA ((uint64_t)EXCHANGES * SUBSCRIBERS)

/* Geographic US area codes that libphonenumber 8.12 validates. */
static const uint16_t area_codes[64] = {
	201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215,
	216, 217, 218, 219, 224, 225, 228, 229, 231, 234, 239, 240, 248,
	251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 276, 281, 301,
	302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314, 315, 316,
	317, 318, 319, 320, 321, 323, 330, 334, 336, 337, 339, 347,
};

_Static_assert(64 * PER_AREA == CDS_SYNTH_MAX, "table and range disagree");
_Static_assert(SIDE * SIDE >= CDS_SYNTH_MAX, "Feistel domain too small");

static uint64_t mix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static uint64_t feistel(uint64_t x, uint64_t seed)
{
	uint64_t l = x / SIDE, r = x % SIDE;

	for (uint64_t round = 0; round < 4; round++) {
		uint64_t f = mix64(seed ^ mix64((round << 32) | r)) % SIDE;
		uint64_t t = (l + f) % SIDE;

		l = r;
		r = t;
	}
	return l * SIDE + r;
}

static uint64_t permute(uint64_t index, uint64_t seed)
{
	uint64_t y = feistel(index, seed);

	while (y >= CDS_SYNTH_MAX)
		y = feistel(y, seed);
	return y;
}

uint32_t cds_synth_number(uint64_t seed, uint64_t index)
{
	return (uint32_t)permute(index % CDS_SYNTH_MAX, seed);
}

void cds_synth_handle_of(char out[static CDS_SYNTH_HANDLE_BYTES], uint32_t y)
{
	/* AAA EEE SSSS as one 10-digit number, written right to left. */
	uint64_t d = area_codes[y / PER_AREA] * UINT64_C(10000000) +
		     (200 + y % PER_AREA / SUBSCRIBERS) * SUBSCRIBERS +
		     y % SUBSCRIBERS;

	memcpy(out, "tel:+1", 6);
	for (int i = 15; i >= 6; i--, d /= 10)
		out[i] = (char)('0' + d % 10);
	out[16] = '\0';
}

void cds_synth_handle(char out[static CDS_SYNTH_HANDLE_BYTES], uint64_t seed,
		      uint64_t index)
{
	cds_synth_handle_of(out, cds_synth_number(seed, index));
}

void cds_synth_identity_key(uint8_t key[static CDS_IDENTITY_KEY_BYTES],
			    uint64_t seed, uint32_t y)
{
	uint8_t msg[12 + 8 + 4] = "cds/synth/v1";

	for (int i = 0; i < 8; i++)
		msg[12 + i] = (uint8_t)(seed >> (8 * i));
	for (int i = 0; i < 4; i++)
		msg[20 + i] = (uint8_t)(y >> (8 * i));
	crypto_generichash(key, CDS_IDENTITY_KEY_BYTES, msg, sizeof(msg), NULL, 0);
}
