/*
 * idperm.c: the account id permutation (idperm.h).
 *
 * Invariant: cds_idperm_number(cds_idperm_id(n)) == n for every n and key;
 * the test suite checks it, and that different keys give different ids.
 */
#include "store/idperm.h"

#include <string.h>

#include <sodium.h>

#define ROUNDS 6

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void store64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Round function: SipHash-2-4 of (round, half). */
static uint64_t f(const uint8_t key[static CDS_IDPERM_KEY_BYTES], int round,
		  uint64_t half)
{
	uint8_t in[9], out[crypto_shorthash_BYTES];

	in[0] = (uint8_t)round;
	store64(in + 1, half);
	crypto_shorthash(out, in, sizeof(in), key);
	return load64(out);
}

void cds_idperm_id(uint8_t id[static CDS_ACCOUNT_ID_BYTES],
		   const uint8_t key[static CDS_IDPERM_KEY_BYTES], uint64_t n)
{
	uint64_t l = 0, r = n;

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t = l ^ f(key, i, r);

		l = r;
		r = t;
	}
	store64(id, l);
	store64(id + 8, r);
}

bool cds_idperm_number(uint64_t *n,
		       const uint8_t key[static CDS_IDPERM_KEY_BYTES],
		       const uint8_t id[static CDS_ACCOUNT_ID_BYTES])
{
	uint64_t l = load64(id), r = load64(id + 8);

	for (int i = ROUNDS - 1; i >= 0; i--) {
		uint64_t t = r ^ f(key, i, l);

		r = l;
		l = t;
	}
	if (l != 0)
		return false;
	*n = r;
	return true;
}
