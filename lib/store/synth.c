/*
 * synth.c: deterministic synthetic accounts (synth.h).
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

#include <stdio.h>
#include <stdlib.h>
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

void cds_synth_handle(char out[static CDS_SYNTH_HANDLE_BYTES], uint64_t seed,
		      uint64_t index)
{
	uint64_t y = permute(index % CDS_SYNTH_MAX, seed);
	/* AAA EEE SSSS as one 10-digit number, written right to left. */
	uint64_t d = area_codes[y / PER_AREA] * UINT64_C(10000000) +
		     (200 + y % PER_AREA / SUBSCRIBERS) * SUBSCRIBERS +
		     y % SUBSCRIBERS;

	memcpy(out, "tel:+1", 6);
	for (int i = 15; i >= 6; i--, d /= 10)
		out[i] = (char)('0' + d % 10);
	out[16] = '\0';
}

void cds_synth_identity_key(uint8_t key[static CDS_IDENTITY_KEY_BYTES],
			    uint64_t seed, uint64_t index)
{
	uint8_t msg[12 + 16] = "cds/synth/v1";

	for (int i = 0; i < 8; i++) {
		msg[12 + i] = (uint8_t)(seed >> (8 * i));
		msg[20 + i] = (uint8_t)(index >> (8 * i));
	}
	crypto_generichash(key, CDS_IDENTITY_KEY_BYTES, msg, sizeof(msg), NULL, 0);
}

/* Fail before writing anything if a synthetic handle is taken. */
static enum cds_err precheck(struct cds_store *s, const struct cds_synth_opts *o,
			     struct cds_error *err)
{
	char h[CDS_SYNTH_HANDLE_BYTES];
	struct cds_account acct;
	uint64_t handles = 0;
	enum cds_err rc;

	rc = cds_store_count(s, NULL, &handles, err);
	for (uint64_t i = 0; !rc && handles && i < o->count; i++) {
		struct cds_error e;

		cds_synth_handle(h, o->seed, i);
		rc = cds_store_handle_get(s, h, &acct, &e);
		if (rc == CDS_ERR_NOT_FOUND)
			rc = CDS_OK;
		else if (rc == CDS_OK)
			rc = cds_fail(err, CDS_ERR_EXISTS,
				      "synthetic handle '%s' (account %llu of seed %llu) "
				      "is already registered; nothing was written "
				      "(choose another --seed)",
				      h, (unsigned long long)i,
				      (unsigned long long)o->seed);
		else
			rc = cds_fail(err, rc, "%s", e.msg);
	}
	return rc;
}

struct synth_batch {
	struct cds_new_account *accts;
	char (*handles)[CDS_SYNTH_HANDLE_BYTES];
	const char **hp;
};

/* Create accounts [first, first + n) in one transaction. */
static enum cds_err write_batch(struct cds_store *s,
				const struct cds_synth_opts *o,
				struct synth_batch *b, uint64_t first, size_t n,
				struct cds_error *err)
{
	enum cds_err rc;

	for (size_t i = 0; i < n; i++) {
		cds_synth_handle(b->handles[i], o->seed, first + i);
		cds_synth_identity_key(b->accts[i].identity_key, o->seed, first + i);
		b->hp[i] = b->handles[i];
		b->accts[i].handles = &b->hp[i];
		b->accts[i].n_handles = 1;
	}
	rc = cds_store_accounts_create(s, b->accts, n, err);
	for (size_t i = 0; i < n && !rc; i++)
		if (o->created &&
		    o->created(o->ctx, first + i, b->handles[i], &b->accts[i]) != 0)
			rc = cds_fail(err, CDS_ERR_IO,
				      "could not record synthetic account %llu",
				      (unsigned long long)(first + i));
	sodium_memzero(b->accts, n * sizeof(*b->accts));
	return rc;
}

enum cds_err cds_synth_run(struct cds_store *s,
			   const struct cds_synth_opts *o, uint64_t *done,
			   struct cds_error *err)
{
	size_t batch = o->batch ? o->batch : CDS_SYNTH_BATCH;
	struct synth_batch b;
	enum cds_err rc;

	*done = 0;
	if (o->count > CDS_SYNTH_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"count %llu is more than the %llu synthetic handles "
				"there are",
				(unsigned long long)o->count,
				(unsigned long long)CDS_SYNTH_MAX);
	b.accts = calloc(batch, sizeof(*b.accts));
	b.handles = calloc(batch, sizeof(*b.handles));
	b.hp = calloc(batch, sizeof(*b.hp));
	rc = b.accts && b.handles && b.hp
		     ? CDS_OK
		     : cds_fail(err, CDS_ERR_NOMEM, "out of memory for a batch of %zu",
				batch);
	if (!rc)
		rc = precheck(s, o, err);
	while (!rc && *done < o->count) {
		size_t n = o->count - *done < batch ? (size_t)(o->count - *done)
						    : batch;

		rc = write_batch(s, o, &b, *done, n, err);
		if (rc != CDS_ERR_IO && rc != CDS_OK)
			break;
		*done += n;
		if (o->progress)
			o->progress(o->ctx, *done, o->count);
	}
	free(b.accts);
	free(b.handles);
	free(b.hp);
	return rc;
}
