/*
 * store.h: the directory store (accounts, handles, tokens, rate-limit state)
 * behind one small interface, so that the server never knows which backend
 * it talks to.  SQLite (store_sqlite*.c) is the embedded default: one file
 * DIR/cds.sqlite3 in WAL mode, so readers never wait for the writer.  The
 * PostgreSQL backend (store_pg*.c) is chosen at create time and recorded in
 * DIR/store.conf; both plug in through struct cds_store_ops.
 *
 * Invariants every backend keeps:
 *  1. A handle belongs to at most one account (unique), and is canonical.
 *  2. Every change to which account a handle reaches, or to that account's
 *     identity key, appends rows to the change log with a strictly growing
 *     sequence number, in the same transaction as the change: one
 *     account-level row (handle NULL) when an account is re-keyed or
 *     deleted, or created without handles, and one row per handle whose
 *     entry changes (added, removed, or belonging to a re-keyed or deleted
 *     account).  An account created with handles has no row of its own:
 *     its handles' rows name it, and a consumer takes the account from
 *     them (a bulk import is bound by rows per account: a quarter fewer).
 *     A server polls cds_store_changes() to learn what other processes
 *     did.
 *  3. Only a hash of each token is stored.  A token is
 *     "<32 hex account id>.<secret>"; the admin token is "admin.<secret>".
 *     Verification looks the account up by id and compares hashes with
 *     sodium_memcmp (constant time).
 *
 * A struct cds_store is one connection: use one per thread.
 */
#ifndef CDS_STORE_STORE_H
#define CDS_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/entry.h"
#include "store/ledger_mark.h"

#define CDS_TOKEN_MAX_BYTES 128
#define CDS_TOKEN_HASH_BYTES 32

struct cds_store;

/* One account as the server caches it. */
struct cds_account {
	uint8_t id[CDS_ACCOUNT_ID_BYTES];
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
	uint8_t token_hash[CDS_TOKEN_HASH_BYTES];
};

/* A new account for bulk creation (import, synth). */
struct cds_new_account {
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
	const char *const *handles; /* canonical, NUL-terminated */
	size_t n_handles;
	/* out: */
	uint8_t id[CDS_ACCOUNT_ID_BYTES];
	char token[CDS_TOKEN_MAX_BYTES];
};

/* Persistent token-bucket state of one account (rate limits). */
struct cds_rate_state {
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	double tokens;
	int64_t updated_us;
};

/*
 * Create a new store in datadir (which must exist) with the given bucket
 * prefix bits, and write the admin token to DIR/admin.token (0600).
 * CDS_ERR_EXISTS if a store is already there.
 */
enum cds_err cds_store_create(const char *datadir, unsigned prefix_bits,
			      struct cds_error *err) CDS_MUST_CHECK;

/* The longest store URI accepted, with its NUL. */
#define CDS_STORE_URL_MAX 1024

/*
 * cds_store_create on a chosen backend.  url NULL or "sqlite": the store is
 * DIR/cds.sqlite3.  A libpq URI "postgresql://..." (or "postgres://"): the
 * store goes into that database (schema "cds"), and DIR/store.conf records
 * the URI, so that cds_store_open finds it.  CDS_ERR_INVALID for any other
 * url, or a URI holding a password (cds never writes one to disk: libpq
 * reads it from PGPASSFILE, a service file or PGPASSWORD); CDS_ERR_EXISTS
 * if DIR already has a store, or the database does.
 */
enum cds_err cds_store_create_at(const char *datadir, unsigned prefix_bits,
				 const char *url,
				 struct cds_error *err) CDS_MUST_CHECK;

/*
 * Make datadir (which must exist and have no store) one more data
 * directory of the existing PostgreSQL store at url, as a replica's: once
 * a store is found there, DIR/store.conf records url.  CDS_ERR_NOT_FOUND
 * if the database holds no store, CDS_ERR_INVALID for a bad URI; on any
 * failure DIR is left as it was.
 */
enum cds_err cds_store_join(const char *datadir, const char *url,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Check a PostgreSQL store URI as cds_store_create_at does: CDS_OK for a
 * libpq URI without a password, else CDS_ERR_INVALID (or TOO_LARGE) saying
 * why, never quoting the URI (it may hold the password).
 */
enum cds_err cds_store_url_check(const char *url,
				 struct cds_error *err) CDS_MUST_CHECK;

/*
 * Open the store of datadir (migrating its schema forward if it is older),
 * on the backend DIR records (DIR/store.conf: PostgreSQL; else SQLite).
 * CDS_ERR_NOT_FOUND if there is none ("run cdsctl init").  The caller closes
 * it with cds_store_close.
 */
enum cds_err cds_store_open(struct cds_store **out, const char *datadir,
			    struct cds_error *err) CDS_MUST_CHECK;
void cds_store_close(struct cds_store *s);

enum cds_err cds_store_prefix_bits(struct cds_store *s, unsigned *bits,
				   struct cds_error *err) CDS_MUST_CHECK;

/* Check the admin token (CDS_ERR_AUTH if wrong). */
enum cds_err cds_store_check_admin(struct cds_store *s, const char *token,
				   struct cds_error *err) CDS_MUST_CHECK;

/* Hash a token as the store does (for the server's in-memory cache). */
void cds_token_hash(uint8_t out[static CDS_TOKEN_HASH_BYTES], const char *token);

/*
 * Parse "<hex id>.<secret>" into the account id; CDS_ERR_AUTH if the shape
 * is wrong.  Does not touch the store.
 */
enum cds_err cds_token_account(uint8_t id[static CDS_ACCOUNT_ID_BYTES],
			       const char *token,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Check an account token against the store: CDS_OK and *out filled (out may
 * be NULL), or CDS_ERR_AUTH for a malformed token, an unknown account or a
 * wrong secret (one message for all three).  For callers without a mirror.
 */
enum cds_err cds_store_check_token(struct cds_store *s, const char *token,
				   struct cds_account *out,
				   struct cds_error *err) CDS_MUST_CHECK;

/*
 * Create accounts with their handles in one transaction; fills each item's
 * id and token.  All or nothing: CDS_ERR_EXISTS with err->index = the
 * account's position if one of its handles is taken (or repeated),
 * CDS_ERR_INVALID if a handle is not canonical.
 */
enum cds_err cds_store_accounts_create(struct cds_store *s,
				       struct cds_new_account *accts, size_t n,
				       struct cds_error *err) CDS_MUST_CHECK;

/*
 * As cds_store_accounts_create, but the transaction commits only if
 * ready(ctx, err) returns CDS_OK once every account is written; any other
 * value rolls it back and is returned (with ready's message).  ready may
 * block: a bulk import writes its first batch while another thread still
 * checks the file, and commits it only once the check has passed.  The
 * ids and tokens it would see are not yet committed, so ready must not
 * hand them out.
 */
typedef enum cds_err (*cds_store_ready_fn)(void *ctx, struct cds_error *err);
enum cds_err cds_store_accounts_create_if(struct cds_store *s,
					  struct cds_new_account *accts,
					  size_t n, cds_store_ready_fn ready,
					  void *ctx,
					  struct cds_error *err) CDS_MUST_CHECK;

enum cds_err cds_store_account_get(struct cds_store *s,
				   const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				   struct cds_account *out,
				   struct cds_error *err) CDS_MUST_CHECK;

/* Removes the account and its handles. CDS_ERR_NOT_FOUND if unknown. */
enum cds_err cds_store_account_delete(struct cds_store *s,
				      const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				      struct cds_error *err) CDS_MUST_CHECK;

enum cds_err cds_store_account_set_key(struct cds_store *s,
				       const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				       const uint8_t key[static CDS_IDENTITY_KEY_BYTES],
				       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Add and remove handles of one account atomically.  Adding a handle the
 * account already has, or removing one it does not have, is a no-op.
 * CDS_ERR_EXISTS (err->index = position in add) if another account has it.
 */
enum cds_err cds_store_handles_update(struct cds_store *s,
				      const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				      const char *const *add, size_t n_add,
				      const char *const *remove, size_t n_remove,
				      struct cds_error *err) CDS_MUST_CHECK;

/*
 * The handles of one account, in handle order, through fn (non-zero stops:
 * not an error).  CDS_ERR_NOT_FOUND if there is no such account.  What
 * GET /v1/accounts/me answers the account itself.
 */
typedef int (*cds_store_name_fn)(void *ctx, const char *handle);
enum cds_err cds_store_account_handles(struct cds_store *s,
				       const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				       cds_store_name_fn fn, void *ctx,
				       struct cds_error *err) CDS_MUST_CHECK;

/* Which account a handle reaches. CDS_ERR_NOT_FOUND if none. */
enum cds_err cds_store_handle_get(struct cds_store *s, const char *handle,
				  struct cds_account *out,
				  struct cds_error *err) CDS_MUST_CHECK;

/*
 * Which of handles[0..n) are registered: taken[i] = true or false.  For
 * checking many handles at once (import's check pass): PostgreSQL answers
 * in one query instead of a round trip per handle.  CDS_ERR_INVALID (with
 * err->index) for a handle that is not canonical.
 */
enum cds_err cds_store_handles_taken(struct cds_store *s,
				     const char *const *handles, size_t n,
				     bool *taken,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Visit every registered handle with its account, in one read transaction,
 * and report the change sequence that snapshot corresponds to.  The callback
 * returns 0 to continue, non-zero to stop (then CDS_ERR_INTERNAL).
 */
typedef int (*cds_store_handle_fn)(void *ctx, const char *handle, size_t len,
				   const struct cds_account *acct);
enum cds_err cds_store_scan(struct cds_store *s, cds_store_handle_fn fn,
			    void *ctx, uint64_t *seq,
			    struct cds_error *err) CDS_MUST_CHECK;

/* Visit every account (the server's auth cache). */
typedef int (*cds_store_account_fn)(void *ctx, const struct cds_account *acct);
enum cds_err cds_store_scan_accounts(struct cds_store *s,
				     cds_store_account_fn fn, void *ctx,
				     uint64_t *seq,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Changes after sequence `since`, oldest first, at most `limit`.  Each change
 * names an account (always) and a handle (NULL for account-level changes:
 * created, key changed, deleted).  The consumer re-reads the current state
 * of what a change names; it does not replay operations.  *last gets the
 * sequence of the last change visited (== since if none).
 */
typedef int (*cds_store_change_fn)(void *ctx,
				   const uint8_t account[CDS_ACCOUNT_ID_BYTES],
				   const char *handle);
enum cds_err cds_store_changes(struct cds_store *s, uint64_t since,
			       size_t limit, cds_store_change_fn fn, void *ctx,
			       uint64_t *last,
			       struct cds_error *err) CDS_MUST_CHECK;

/* Rate-limit state: load all, and save a batch (upsert, one transaction). */
typedef int (*cds_store_rate_fn)(void *ctx, const struct cds_rate_state *st);
enum cds_err cds_store_rate_load(struct cds_store *s, cds_store_rate_fn fn,
				 void *ctx,
				 struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_store_rate_save(struct cds_store *s,
				 const struct cds_rate_state *st, size_t n,
				 struct cds_error *err) CDS_MUST_CHECK;

/*
 * The change log's oldest retained sequence (0 if it is empty).  Rows are
 * contiguous from there to the newest, so a consumer at position p misses
 * nothing iff p + 1 >= floor (or the log is empty).
 */
enum cds_err cds_store_changes_floor(struct cds_store *s, uint64_t *floor,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Delete change-log rows with seq < below, always keeping the newest row
 * (so sequences keep growing), then give the freed pages back to the file
 * system where the backend can.  The caller decides `below`: the oldest
 * position any consumer (running server, the next sealer) still needs.
 */
enum cds_err cds_store_changes_prune(struct cds_store *s, uint64_t below,
				     uint64_t *removed,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * The legal ledger's head after the last export (ledger_head.h), or 0
 * entries if no export was ever made: kept in the store, apart from
 * DIR/legal, so that deleting or emptying the ledger cannot pass for "no
 * disclosure was ever made".  _set only moves the mark forward.
 */
enum cds_err cds_store_ledger_mark_get(struct cds_store *s,
				       struct cds_ledger_head *out,
				       struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_store_ledger_mark_set(struct cds_store *s,
				       const struct cds_ledger_head *h,
				       struct cds_error *err) CDS_MUST_CHECK;

/* Counts for reports and tests. */
enum cds_err cds_store_count(struct cds_store *s, uint64_t *accounts,
			     uint64_t *handles,
			     struct cds_error *err) CDS_MUST_CHECK;

#endif
