/*
 * synth.h: synthetic directories for tests, demos and benchmarks
 * (cdsctl synth).
 *
 * Account number i (0 <= i < count) of seed S gets one phone handle and an
 * identity key, both a pure function of (S, i):
 *   - the handle is a US number "tel:+1AAAEEESSSS" with AAA from a table of
 *     64 geographic area codes, EEE in 200..999 and SSSS any: numbers that
 *     libphonenumber accepts as valid, so client-side normalisation keeps
 *     them.  i goes through a keyed permutation of all such numbers first,
 *     so distinct i give distinct handles and the handles look random;
 *   - the identity key is BLAKE2b("cds/synth/v1" || S || i).
 * Account ids and tokens are random as always (the store draws them).
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
#define CDS_SYNTH_BATCH 10000

/* Handle of account `index` (< CDS_SYNTH_MAX) under `seed`. */
void cds_synth_handle(char out[static CDS_SYNTH_HANDLE_BYTES], uint64_t seed,
		      uint64_t index);

void cds_synth_identity_key(uint8_t key[static CDS_IDENTITY_KEY_BYTES],
			    uint64_t seed, uint64_t index);

struct cds_synth_opts {
	uint64_t count;
	uint64_t seed;
	size_t batch; /* accounts per transaction; 0 = CDS_SYNTH_BATCH */
	/* Progress (accounts written), at least once per batch; may be NULL. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	/*
	 * Called for each account after its transaction committed, with its
	 * handle; non-zero stops with CDS_ERR_IO.  May be NULL.
	 */
	int (*created)(void *ctx, uint64_t index, const char *handle,
		       const struct cds_new_account *a);
	void *ctx;
};

/*
 * Register opts->count synthetic accounts.  If the store already has
 * handles, every synthetic handle is looked up first, and one that is taken
 * fails the run with CDS_ERR_EXISTS before anything is written.  *done gets
 * the number of accounts created (also on failure).
 */
enum cds_err cds_synth_run(struct cds_store *s,
			   const struct cds_synth_opts *opts, uint64_t *done,
			   struct cds_error *err) CDS_MUST_CHECK;

#endif
