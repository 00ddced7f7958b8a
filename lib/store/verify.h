/*
 * verify.h: the store's side of verified handles (DESIGN.md "Verified
 * handles"): pending one-time codes, the per-handle limit on how many are
 * sent, and redeeming a code, which binds its handle in the same
 * transaction.
 *
 * The store never sees a code, only its keyed hash (the server holds the
 * key, outside the database), so a dump of the store alone does not give a
 * code away; it compares hashes with sodium_memcmp (constant time).
 *
 * Invariants every backend keeps:
 *  1. A verification is redeemed at most once, and dies after
 *     `max_attempts` wrong codes; every wrong attempt is committed before
 *     the answer is given, so that no crash or race gives an attempt back.
 *  2. Redeeming and the binding it causes are one transaction: either the
 *     code is spent and the handle bound, or neither.
 *  3. A handle bound by redeeming moves from whichever account held it,
 *     with change rows for both (store.h invariant 2), so that clients see
 *     the identity change.
 *  4. At most `max_per_window` verifications of one handle are created in
 *     any window, whoever asks: the count is kept in the store, so it holds
 *     across restarts and servers.
 */
#ifndef CDS_STORE_VERIFY_H
#define CDS_STORE_VERIFY_H

#include <stdint.h>

#include "core/handle.h"
#include "store/store.h"

#define CDS_VERIFY_ID_BYTES 16
#define CDS_VERIFY_HASH_BYTES 32

/* A new verification (the code itself is sent, never stored). */
struct cds_verification {
	uint8_t id[CDS_VERIFY_ID_BYTES];        /* random */
	const char *handle;                     /* canonical */
	uint8_t code_hash[CDS_VERIFY_HASH_BYTES];
	int64_t created_us;                     /* UTC */
	int64_t expires_us;
};

/* Why a code was not accepted (with CDS_ERR_AUTH). */
enum cds_verify_refusal {
	CDS_VERIFY_OK = 0,
	CDS_VERIFY_UNKNOWN,     /* no such verification (or pruned) */
	CDS_VERIFY_WRONG,       /* wrong code; attempts_left says how many */
	CDS_VERIFY_EXHAUSTED,   /* dead after too many wrong codes */
	CDS_VERIFY_EXPIRED,
	CDS_VERIFY_USED,        /* already redeemed */
};

/* Redeem a code; `account` NULL means register a new account. */
struct cds_verify_redeem {
	const uint8_t *id;                      /* CDS_VERIFY_ID_BYTES */
	const uint8_t *code_hash;               /* of the code typed back */
	int64_t now_us;
	unsigned max_attempts;
	const uint8_t *account;                 /* bind to it, or NULL */
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES]; /* new account's */
	/* out: */
	enum cds_verify_refusal refusal;
	unsigned attempts_left;
	char handle[CDS_HANDLE_MAX_BYTES + 1];  /* the handle bound */
	struct cds_new_account created;         /* id and token, if registered */
};

/*
 * Record a verification, unless its handle already had max_per_window
 * created in the window_us before v->created_us: then CDS_ERR_RATE, nothing
 * recorded, and *retry_after_s = seconds until the oldest of them leaves
 * the window.  Also forgets verifications older than the window (their
 * handles need not linger).  CDS_ERR_INVALID for a non-canonical handle.
 */
enum cds_err cds_store_verify_create(struct cds_store *s,
				     const struct cds_verification *v,
				     unsigned max_per_window, int64_t window_us,
				     uint32_t *retry_after_s,
				     struct cds_error *err) CDS_MUST_CHECK;

/* Forget a verification whose code could not be delivered (no-op if gone). */
enum cds_err cds_store_verify_drop(struct cds_store *s,
				   const uint8_t id[static CDS_VERIFY_ID_BYTES],
				   struct cds_error *err) CDS_MUST_CHECK;

/*
 * Check r->code_hash against verification r->id and, if it matches, spend
 * the code and bind its handle: to r->account (moving it from any other
 * account; a no-op if it already has it), or to a new account with
 * r->identity_key (r->created gets its id and token; the caller wipes the
 * token).  CDS_OK with r->handle set; CDS_ERR_AUTH with r->refusal set
 * (and r->attempts_left for a wrong code); CDS_ERR_NOT_FOUND if r->account
 * no longer exists; store errors otherwise.
 */
enum cds_err cds_store_verify_redeem(struct cds_store *s,
				     struct cds_verify_redeem *r,
				     struct cds_error *err) CDS_MUST_CHECK;

#endif
