/*
 * accounts.c: the account cache (accounts.h): a dense record array and a
 * linear-probing table of record numbers with backward-shift deletion.
 *
 * Invariants:
 *  1. rec[0..n) are the live records, with no hole: removing one moves the
 *     last record into its place and repoints that record's slot.
 *  2. A slot holds 1 + a record number, or 0 when empty; n <= cap * 7 / 10
 *     and cap is a power of two (or 0), so every probe chain ends at an
 *     empty slot.
 *  3. No tombstones: a deletion shifts later members of the chain back, so
 *     every record's slot sits between its home and the next empty slot.
 */
#include "index/accounts.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/secrets.h"

/* Records are locked in memory this far ahead of the last one in use. */
#define LOCK_AHEAD_BYTES ((size_t)1 << 20)

struct cds_accounts {
	uint32_t *slots;
	size_t cap;               /* slots */
	struct cds_account *rec;
	size_t n, rec_cap;        /* records */
	size_t locked;            /* bytes of rec locked from its start */
	uint8_t key[crypto_shorthash_KEYBYTES];
};

static size_t home(const struct cds_accounts *a, const uint8_t *id)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(h, id, CDS_ACCOUNT_ID_BYTES, a->key);
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)h[i] << (8 * i);
	return (size_t)v & (a->cap - 1);
}

/* The slot holding id, or the empty slot that ends its chain. */
static uint32_t *find(const struct cds_accounts *a, const uint8_t *id)
{
	size_t i = home(a, id);

	for (;; i = (i + 1) & (a->cap - 1)) {
		uint32_t *s = &a->slots[i];

		if (!*s || memcmp(a->rec[*s - 1].id, id, CDS_ACCOUNT_ID_BYTES) == 0)
			return s;
	}
}

enum cds_err cds_accounts_new(struct cds_accounts **out, struct cds_error *err)
{
	struct cds_accounts *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot allocate the account cache");
	crypto_shorthash_keygen(a->key);
	*out = a;
	return CDS_OK;
}

void cds_accounts_free(struct cds_accounts *a)
{
	if (!a)
		return;
	if (a->rec) {
		sodium_memzero(a->rec, a->n * sizeof(*a->rec));
		free(a->rec);
	}
	free(a->slots);
	sodium_memzero(a, sizeof(*a));
	free(a);
}

static enum cds_err grow_slots(struct cds_accounts *a, struct cds_error *err)
{
	size_t cap = a->cap ? a->cap * 2 : 1024;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots || cap > (size_t)UINT32_MAX) {
		free(slots);
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot grow the account cache to %zu", cap);
	}
	free(a->slots);
	a->slots = slots;
	a->cap = cap;
	for (size_t r = 0; r < a->n; r++)
		*find(a, a->rec[r].id) = (uint32_t)(r + 1);
	return CDS_OK;
}

/*
 * Room for one more record.  Doubling costs address space rather than
 * resident memory: realloc moves a large block by remapping its pages, and
 * pages past n are never touched.
 */
static enum cds_err grow_records(struct cds_accounts *a, struct cds_error *err)
{
	size_t cap = a->rec_cap ? a->rec_cap * 2 : 1024;
	struct cds_account *r;

	if (a->n < a->rec_cap)
		return CDS_OK;
	r = realloc(a->rec, cap * sizeof(*r));
	if (!r)
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot grow the account cache to %zu accounts",
				cap);
	if (r != a->rec)
		a->locked = 0;
	a->rec = r;
	a->rec_cap = cap;
	return CDS_OK;
}

/*
 * Keep the records in use in locked memory: they hold every token hash
 * (core/secrets.h).  Locking a chunk ahead, rather than the whole capacity,
 * keeps resident memory what the records need.
 */
static void lock_records(struct cds_accounts *a, size_t n)
{
	size_t used = n * sizeof(*a->rec);
	size_t end = used + LOCK_AHEAD_BYTES, cap = a->rec_cap * sizeof(*a->rec);

	if (used <= a->locked)
		return;
	if (end > cap)
		end = cap;
	if (cds_secret_lock((uint8_t *)a->rec + a->locked, end - a->locked))
		a->locked = end;
	else
		a->locked = cap; /* refused: do not ask again for this block */
}

enum cds_err cds_accounts_put(struct cds_accounts *a,
			      const struct cds_account *acct,
			      struct cds_error *err)
{
	uint32_t *s;
	enum cds_err rc;

	if ((a->n + 1) * 10 > a->cap * 7) {
		rc = grow_slots(a, err);
		if (rc)
			return rc;
	}
	s = find(a, acct->id);
	if (*s) {
		a->rec[*s - 1] = *acct;
		return CDS_OK;
	}
	rc = grow_records(a, err);
	if (rc)
		return rc;
	lock_records(a, a->n + 1);
	a->rec[a->n] = *acct;
	*s = (uint32_t)++a->n;
	return CDS_OK;
}

/* Empty slot i, shifting back the rest of its chain (invariant 3). */
static void slot_delete(struct cds_accounts *a, size_t i)
{
	size_t mask = a->cap - 1;

	for (size_t j = (i + 1) & mask; a->slots[j]; j = (j + 1) & mask) {
		size_t k = home(a, a->rec[a->slots[j] - 1].id);

		/* Move j back to i unless its home lies in (i, j]. */
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			a->slots[i] = a->slots[j];
			i = j;
		}
	}
	a->slots[i] = 0;
}

bool cds_accounts_remove(struct cds_accounts *a,
			 const uint8_t id[static CDS_ACCOUNT_ID_BYTES])
{
	uint32_t *s;
	size_t r;

	if (a->n == 0)
		return false;
	s = find(a, id);
	if (!*s)
		return false;
	r = *s - 1;
	slot_delete(a, (size_t)(s - a->slots));
	/* Fill the hole with the last record (invariant 1). */
	if (r != a->n - 1) {
		a->rec[r] = a->rec[a->n - 1];
		*find(a, a->rec[r].id) = (uint32_t)(r + 1);
	}
	a->n--;
	sodium_memzero(&a->rec[a->n], sizeof(a->rec[a->n]));
	return true;
}

bool cds_accounts_get(const struct cds_accounts *a,
		      const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
		      struct cds_account *out)
{
	const uint32_t *s;

	if (a->n == 0)
		return false;
	s = find(a, id);
	if (!*s)
		return false;
	*out = a->rec[*s - 1];
	return true;
}

size_t cds_accounts_count(const struct cds_accounts *a)
{
	return a->n;
}

size_t cds_accounts_memory(const struct cds_accounts *a)
{
	return sizeof(*a) + a->cap * sizeof(uint32_t) +
	       a->n * sizeof(struct cds_account);
}
