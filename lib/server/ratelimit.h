/*
 * ratelimit.h: per-account token buckets for OPRF evaluations and
 * plain-lookup handles (DESIGN.md "Rate limits").
 *
 * A new account starts with `allowance` tokens (the onboarding allowance);
 * tokens then refill continuously at `refill` per day up to a capacity of
 * max(allowance, refill).  One element or one handle costs one token.  A
 * request is charged in full before any work is done, or not at all.
 *
 * State is kept in memory (sharded, one mutex per shard) and persisted
 * through cds_store_rate_save: the server saves the changed entries every
 * few seconds and at shutdown, and loads them all at start, so limits
 * survive a restart.
 *
 * Replicas of one shared store (PostgreSQL: store/shared.h) keep the
 * buckets in the store instead (cds_ratelimit_share): each charge is one
 * atomic statement there, so N replicas do not multiply an account's
 * allowance; memory then holds nothing and load/save/forget do nothing.
 */
#ifndef CDS_SERVER_RATELIMIT_H
#define CDS_SERVER_RATELIMIT_H

#include <stdint.h>

#include "core/err.h"
#include "server/storepool.h"
#include "store/store.h"

struct cds_ratelimit;

enum cds_err cds_ratelimit_new(struct cds_ratelimit **out, double allowance,
			       double refill_per_day,
			       struct cds_error *err) CDS_MUST_CHECK;
void cds_ratelimit_free(struct cds_ratelimit *rl);

/*
 * Take n tokens from the account's bucket at time now_us.
 * CDS_OK: charged.  CDS_ERR_RATE: nothing charged; *retry_after_s is how
 * long until n tokens are there.  CDS_ERR_TOO_LARGE: n exceeds the capacity
 * and can never be charged at once.  CDS_ERR_NOMEM.
 */
enum cds_err cds_ratelimit_charge(struct cds_ratelimit *rl,
				  const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				  double n, int64_t now_us,
				  uint32_t *retry_after_s,
				  struct cds_error *err) CDS_MUST_CHECK;

/* Give back tokens charged for work that then failed (never above capacity). */
void cds_ratelimit_refund(struct cds_ratelimit *rl,
			  const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
			  double n);

/*
 * Drop an account's state from memory (the account was deleted; its ids are
 * never reused, so a row the store may keep is harmless).
 */
void cds_ratelimit_forget(struct cds_ratelimit *rl,
			  const uint8_t id[static CDS_ACCOUNT_ID_BYTES]);

/* Load every persisted state (at start). */
enum cds_err cds_ratelimit_load(struct cds_ratelimit *rl, struct cds_store *s,
				struct cds_error *err) CDS_MUST_CHECK;

/* Save the states changed since the last successful save. */
enum cds_err cds_ratelimit_save(struct cds_ratelimit *rl, struct cds_store *s,
				struct cds_error *err) CDS_MUST_CHECK;

/*
 * Charge and refund in the shared store behind pool from now on (before
 * any charge; pool outlives rl).  A charge that cannot reach the store
 * fails (CDS_ERR_STORE...): the limit is never skipped.
 */
void cds_ratelimit_share(struct cds_ratelimit *rl, struct cds_storepool *pool);

/* Accounts currently tracked (for /metrics). */
uint64_t cds_ratelimit_accounts(struct cds_ratelimit *rl);

#endif
