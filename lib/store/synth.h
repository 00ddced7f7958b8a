/*
 * synth.h: synthetic directories for tests, demos and benchmarks
 * (cdsctl synth).
 *
 * Synthetic account number i (0 <= i < count) of seed S gets the number
 * y = P_S(i), a keyed permutation of [0, CDS_SYNTH_MAX), so distinct i never
 * share a y and the ys look random.  From y alone come
 *   - the handle, a US number "tel:+1AAAEEESSSS" with AAA from a table of 64
 *     geographic area codes, EEE in 200..999 and SSSS any: numbers that
 *     libphonenumber accepts as valid, so client-side normalisation keeps
 *     them.  Handles sort as their ys do;
 *   - the identity key, BLAKE2b("cds/synth/v1" || S || y).
 * Account ids and tokens are assigned by the store as always.
 *
 * A run registers the accounts in handle order, not in i order: the handle
 * B-tree is then filled from left to right (appended to, on a fresh store)
 * instead of at random places, which is what lets 10 million accounts go in
 * at a steady rate.
 */
#ifndef CDS_STORE_SYNTH_H
#define CDS_STORE_SYNTH_H

#include <stdint.h>

#include "core/err.h"
#include "crypto/entry.h"
#include "store/store.h"

/* How many distinct synthetic handles one seed has: 64 * 800 * 10^4. */
#define CDS_SYNTH_MAX UINT64_C(512000000)
/* "tel:+1" + 10 digits + NUL */
#define CDS_SYNTH_HANDLE_BYTES 17
#define CDS_SYNTH_BATCH 50000

/* The number of account `index` (< CDS_SYNTH_MAX) under `seed`. */
uint32_t cds_synth_number(uint64_t seed, uint64_t index);

/* The handle of number y (< CDS_SYNTH_MAX). */
void cds_synth_handle_of(char out[static CDS_SYNTH_HANDLE_BYTES], uint32_t y);

/* Handle of account `index` under `seed`: handle_of(number(seed, index)). */
void cds_synth_handle(char out[static CDS_SYNTH_HANDLE_BYTES], uint64_t seed,
		      uint64_t index);

/* The identity key of number y under `seed`. */
void cds_synth_identity_key(uint8_t key[static CDS_IDENTITY_KEY_BYTES],
			    uint64_t seed, uint32_t y);

struct cds_synth_opts {
	uint64_t count;
	uint64_t seed;
	size_t batch; /* accounts per transaction; 0 = CDS_SYNTH_BATCH */
	/* Progress (accounts written), at least once per batch; may be NULL. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	/*
	 * Called for each account after its transaction committed, in
	 * registration (handle) order, with its handle; non-zero stops with
	 * CDS_ERR_IO.  May be NULL.
	 */
	int (*created)(void *ctx, const char *handle,
		       const struct cds_new_account *a);
	void *ctx;
};

/*
 * Register opts->count synthetic accounts (accounts 0..count-1 of the seed),
 * in transactions of opts->batch.  If the store already has handles, every
 * synthetic handle is looked up first, and one that is taken fails the run
 * with CDS_ERR_EXISTS before anything is written.  *done gets the number of
 * accounts created (also on failure).  Needs 8 bytes of memory per account.
 */
enum cds_err cds_synth_run(struct cds_store *s,
			   const struct cds_synth_opts *opts, uint64_t *done,
			   struct cds_error *err) CDS_MUST_CHECK;

#endif
