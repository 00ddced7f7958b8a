/*
 * build.h: build one epoch's discovery index from the store.
 *
 * The builder reads every registered handle in one store read transaction,
 * evaluates the OPRF for each (about 50-60 us a handle, the whole cost of a
 * build) on several threads, seals the entries straight into their final
 * place in one flat region, and sorts each bucket by fingerprint.  Progress
 * goes to stderr every few seconds unless quiet.
 */
#ifndef CDS_INDEX_BUILD_H
#define CDS_INDEX_BUILD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/keys.h"
#include "index/index.h"
#include "store/store.h"

struct cds_index_build_opts {
	unsigned threads;          /* 0 = number of online CPUs */
	bool quiet;                /* no progress on stderr */
	const atomic_bool *cancel; /* set by another thread to stop; or NULL */
};

/*
 * Build the index of key->epoch over the store s (used only by this call).
 * The index's seq is the change sequence the store's snapshot corresponds
 * to.  *evaluations (may be NULL) gets the number of OPRF evaluations made.
 * CDS_ERR_BUSY if cancelled; store errors as the store reports them.
 */
enum cds_err cds_index_build(struct cds_index **out, struct cds_store *s,
			     const struct cds_epoch_key *key,
			     unsigned prefix_bits,
			     const struct cds_index_build_opts *opts,
			     uint64_t *evaluations,
			     struct cds_error *err) CDS_MUST_CHECK;

#endif
