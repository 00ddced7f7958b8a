/*
 * shared.h: what replicas of one store share through it, beyond the
 * directory (DESIGN.md "Deployment beyond one machine").
 *
 * Only a store that several cdsd can serve from at once has these: the
 * PostgreSQL backend.  On SQLite (one machine, one cdsd) every function
 * fails with CDS_ERR_DISABLED and callers keep what they did before:
 * secrets in files under DIR/keys, rate limits in each server's memory.
 *
 *  - Sealed secrets: rows (kind, id) -> created_us, box, where the box is
 *    sealed under the replicas' key-encryption key (crypto/seal.h) by
 *    keysrc.c; the store never sees a plaintext or the KEK.
 *  - A token bucket per account, charged atomically in the database, so
 *    that N replicas do not multiply an account's allowance.
 *
 * Invariants:
 *  1. (kind, id) is unique; sealed_put without replace fails with
 *     CDS_ERR_EXISTS if the row exists, so two rotations racing on two
 *     machines cannot both claim one epoch.
 *  2. A charge reads and writes the account's bucket under its row lock in
 *     one statement: concurrent charges from any number of replicas are
 *     serialised, and their total never exceeds what the bucket held plus
 *     its refill.
 */
#ifndef CDS_STORE_SHARED_H
#define CDS_STORE_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* True if the store keeps sealed secrets and shared rate limits. */
bool cds_store_is_shared(struct cds_store *s);

/* One sealed row, for cds_store_sealed_list. */
typedef enum cds_err (*cds_store_sealed_fn)(void *ctx, int64_t id,
					    int64_t created_us,
					    const uint8_t *box, size_t len,
					    struct cds_error *err);

/* Store a box as (kind, id); replace: overwrite an existing row. */
enum cds_err cds_store_sealed_put(struct cds_store *s, const char *kind,
				  int64_t id, int64_t created_us,
				  const uint8_t *box, size_t len, bool replace,
				  struct cds_error *err) CDS_MUST_CHECK;

/* Call fn on each row of kind, highest id first; stops at fn's error. */
enum cds_err cds_store_sealed_list(struct cds_store *s, const char *kind,
				   cds_store_sealed_fn fn, void *ctx,
				   struct cds_error *err) CDS_MUST_CHECK;

/* Delete row (kind, id).  CDS_ERR_NOT_FOUND if there is none. */
enum cds_err cds_store_sealed_delete(struct cds_store *s, const char *kind,
				     int64_t id,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Change notifications: after cds_store_changes_listen, wait_changes
 * blocks up to timeout_ms for a notice that some writer committed a
 * change (*notified), on this connection, which then serves nothing else.
 * Notices only hurry a poll along: one may be lost (a broken connection:
 * CDS_ERR_STORE), so the change log stays the truth.
 */
enum cds_err cds_store_changes_listen(struct cds_store *s,
				      struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_store_wait_changes(struct cds_store *s, int timeout_ms,
				    bool *notified,
				    struct cds_error *err) CDS_MUST_CHECK;

/* An account's bucket: a new one holds `allowance`; refill per_us up to cap. */
struct cds_rate_bucket {
	double allowance;
	double capacity;
	double per_us;
};

/*
 * Take n tokens from account id's bucket at now_us, if it holds them.
 * *charged says whether it did; *left gets the tokens left (after the
 * charge, or what there was when refused).
 */
enum cds_err cds_store_rate_charge(struct cds_store *s, const uint8_t *id,
				   const struct cds_rate_bucket *b, double n,
				   int64_t now_us, bool *charged, double *left,
				   struct cds_error *err) CDS_MUST_CHECK;

/* Give n tokens back (never above capacity). */
enum cds_err cds_store_rate_refund(struct cds_store *s, const uint8_t *id,
				   const struct cds_rate_bucket *b, double n,
				   struct cds_error *err) CDS_MUST_CHECK;

#endif
