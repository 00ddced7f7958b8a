/*
 * tstore.h: directory transparency's history in the store (DESIGN.md
 * "Directory transparency"), on both backends, so that a restart, every
 * replica and an auditor see the same versions.
 *
 * Tables (SQLite schema v5 and PostgreSQL migration v6):
 *   tversions  one row per sealed version: version (1, 2, ... across
 *              epochs, no gap), epoch, time_ms, root, log_root, signature,
 *              and seq, the change-log sequence the version reflects (so a
 *              new sealer knows where to resume);
 *   tchanges   one row per (version, bucket) that the version changed:
 *              epoch, prefix, removed (16-byte fingerprints, ascending),
 *              added (104-byte entries, fingerprint order); indexed by
 *              (version, prefix) and by (epoch, prefix, version).
 * The first version of an epoch adds every entry of the epoch.  Rows are
 * never updated or deleted (on PostgreSQL a trigger refuses both, as for
 * the ledger): the history is what auditors replay.
 *
 * Invariants:
 *  1. cds_store_tversion_append writes a version's row and all its change
 *     rows in one transaction, and only if h->version is exactly the last
 *     version + 1 (1 for an empty history): two sealers racing cannot
 *     both append a version (the loser gets CDS_ERR_EXISTS, nothing
 *     written).
 *  2. Readers see whole versions only.
 *  3. Removed and added lists are stored exactly as given: the caller
 *     (index/tview.h) makes them canonical (sorted, no fingerprint both
 *     removed and re-added unless its entry changed).
 */
#ifndef CDS_STORE_TSTORE_H
#define CDS_STORE_TSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/entry.h"
#include "crypto/thead.h"
#include "store/store.h"

/* One bucket's change in one version.  Pointers borrowed. */
struct cds_tchange {
	uint32_t prefix;
	const uint8_t *removed;   /* n_removed * CDS_FP_BYTES, ascending */
	size_t n_removed;
	const uint8_t *added;     /* n_added * CDS_ENTRY_BYTES, fp order */
	size_t n_added;
};

/* A sealed version: its signed head and the change sequence it reflects. */
struct cds_tversion {
	struct cds_thead head;
	uint64_t seq;
};

/*
 * Append one version with its n changes (invariant 1), in strictly
 * ascending prefix order, each prefix below 2^prefix_bits.  CDS_ERR_EXISTS
 * if the version is stored already (another sealer won); CDS_ERR_INVALID
 * for a version that would leave a gap, and for bad arguments (the message
 * names the change).
 */
enum cds_err cds_store_tversion_append(struct cds_store *s,
				       const struct cds_tversion *v,
				       const struct cds_tchange *ch, size_t n,
				       struct cds_error *err) CDS_MUST_CHECK;

/* The newest version (*found false, v untouched, if the history is empty). */
enum cds_err cds_store_tversion_last(struct cds_store *s,
				     struct cds_tversion *v, bool *found,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Versions from `from` on, ascending, at most limit; fn's non-zero return
 * stops the walk (not an error).  *last gets the last version visited (from
 * - 1 if none).  From 0 reads as from 1.
 */
typedef int (*cds_tversion_fn)(void *ctx, const struct cds_tversion *v);
enum cds_err cds_store_tversions(struct cds_store *s, uint64_t from,
				 size_t limit, cds_tversion_fn fn, void *ctx,
				 uint64_t *last,
				 struct cds_error *err) CDS_MUST_CHECK;

/* The first version of epoch (*found false if it has none). */
enum cds_err cds_store_tepoch_first(struct cds_store *s, uint32_t epoch,
				    uint64_t *version, bool *found,
				    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Change rows, each with its version, through fn (non-zero stops).
 *   _tchanges:  version `version`'s rows with prefix >= from_prefix, in
 *               prefix order, at most limit (the versions route pages
 *               with it);
 *   _thistory:  bucket `prefix` of epoch `epoch`, versions > since, in
 *               version order (the bucket history route, cds monitor);
 *   _tepoch_changes: every row of epoch `epoch` with after < version <=
 *               upto, in (version, prefix) order (loading a replica's
 *               published view: the epoch's first version, then the rest).
 * Callbacks (these and cds_tversion_fn) may use the store, but not start
 * another walk of the same kind on it from inside the walk.
 */
typedef int (*cds_tchange_fn)(void *ctx, uint64_t version,
			      const struct cds_tchange *ch);
enum cds_err cds_store_tchanges(struct cds_store *s, uint64_t version,
				uint32_t from_prefix, size_t limit,
				cds_tchange_fn fn, void *ctx,
				struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_store_thistory(struct cds_store *s, uint32_t epoch,
				uint32_t prefix, uint64_t since,
				cds_tchange_fn fn, void *ctx,
				struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_store_tepoch_changes(struct cds_store *s, uint32_t epoch,
				      uint64_t after, uint64_t upto,
				      cds_tchange_fn fn, void *ctx,
				      struct cds_error *err) CDS_MUST_CHECK;

/*
 * Try to become the one sealer of this store, without waiting.  On
 * PostgreSQL a session advisory lock on this connection: held until the
 * connection closes, so a sealer that dies (kill -9 included) frees it and
 * another replica's next try wins.  On SQLite (one cdsd per data
 * directory) always granted.  Calling it again while held keeps it.
 */
enum cds_err cds_store_tseal_try(struct cds_store *s, bool *held,
				 struct cds_error *err) CDS_MUST_CHECK;

#endif
