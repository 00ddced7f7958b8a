/*
 * store_sqlite.h: internals shared by the SQLite backend's files.
 *
 *   store_sqlite.c         connection, pragmas, statement cache, transactions
 *   store_sqlite_schema.c  schema versions and forward migrations
 *   store_sqlite_create.c  account creation, single and bulk
 *   store_sqlite_write.c   changes to accounts and handles, rate state
 *   store_sqlite_read.c    lookups, scans, change polling, counts
 *   store_sqlite_keep.c    what is kept and for how long: change-log
 *                          pruning, the legal ledger mark
 *   store_sqlite_verify.c  one-time codes that bind verified handles
 *   tstore_sqlite.c        transparency's history (tstore.h)
 *
 * Invariants:
 *  1. Every statement in the cache is reset when handed out by sq_stmt and
 *     reset again by its user before the function returns, so that no
 *     statement keeps a read transaction open behind the caller's back.
 *  2. Write functions run inside sq_begin_write/sq_end, which commits on
 *     CDS_OK and rolls back otherwise: a failed call changes nothing.
 */
#ifndef CDS_STORE_STORE_SQLITE_H
#define CDS_STORE_STORE_SQLITE_H

#include <stdbool.h>

#include <sqlite3.h>

#include "store/idperm.h"
#include "store/store_impl.h"

#define CDS_SQLITE_FILE "cds.sqlite3"

/* Rows per multi-row INSERT (bulk account creation). */
#define SQ_MANY 32

/* The cached statements; the SQL text of each is in store_sqlite.c. */
enum sq_stmt_id {
	SQ_BEGIN_WRITE,
	SQ_BEGIN_READ,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_META_GET,
	SQ_NEXT_N_GET,
	SQ_NEXT_N_SET,
	SQ_LAST_SEQ,
	SQ_ACCOUNT_INSERT,
	SQ_ACCOUNT_INSERT_MANY,
	SQ_ACCOUNT_GET,
	SQ_ACCOUNT_DELETE,
	SQ_ACCOUNT_SET_KEY,
	SQ_HANDLE_INSERT,
	SQ_HANDLE_ADD,
	SQ_HANDLE_OWNER,
	SQ_HANDLE_REMOVE,
	SQ_HANDLE_GET,
	SQ_ACCOUNT_HANDLES,
	SQ_CHANGE_ACCOUNT,
	SQ_CHANGE_HANDLE,
	SQ_CHANGE_HANDLE_MANY,
	SQ_CHANGE_ALL_HANDLES,
	SQ_SCAN_HANDLES,
	SQ_SCAN_ACCOUNTS,
	SQ_CHANGES_SINCE,
	SQ_RATE_LOAD,
	SQ_RATE_SAVE,
	SQ_COUNT_ACCOUNTS,
	SQ_COUNT_HANDLES,
	SQ_LEDGER_MARK_GET,
	SQ_LEDGER_MARK_SET,
	SQ_CHANGES_FLOOR,
	SQ_CHANGES_PRUNE,
	SQ_VERIFY_PRUNE,
	SQ_VERIFY_COUNT,
	SQ_VERIFY_INSERT,
	SQ_VERIFY_DROP,
	SQ_VERIFY_GET,
	SQ_VERIFY_SET,
	SQ_TVERSION_MAX,
	SQ_TVERSION_INSERT,
	SQ_TCHANGE_INSERT,
	SQ_TVERSION_LAST,
	SQ_TVERSIONS_FROM,
	SQ_TEPOCH_FIRST,
	SQ_TCHANGES,
	SQ_THISTORY,
	SQ_TEPOCH_CHANGES,
	SQ__COUNT
};

struct sq_store {
	struct cds_store base; /* first: a cds_store * is a sq_store * */
	sqlite3 *db;
	sqlite3_stmt *stmt[SQ__COUNT];
	uint8_t id_key[CDS_IDPERM_KEY_BYTES]; /* meta.id_key, read at open */
	char path[4096];
};

static inline struct sq_store *sq_of(struct cds_store *s)
{
	return (struct sq_store *)s;
}

/* The schema version this program writes (store_sqlite_schema.c). */
#define CDS_SQLITE_SCHEMA_VERSION 5

/*
 * Create the schema of `version` (1..CDS_SQLITE_SCHEMA_VERSION) in an empty
 * database, with its meta row, in one transaction.  Tests pass an old
 * version to check that opening migrates it forward.
 */
enum cds_err sq_schema_create(sqlite3 *db, int version, unsigned prefix_bits,
			      const uint8_t *admin_hash,
			      struct cds_error *err) CDS_MUST_CHECK;

/*
 * Bring an existing database up to CDS_SQLITE_SCHEMA_VERSION.
 * CDS_ERR_STORE if it is not a cds store or is newer than this program.
 */
enum cds_err sq_schema_migrate(sqlite3 *db, const char *path,
			       struct cds_error *err) CDS_MUST_CHECK;

/* Like cds_sqlite_create, at an older schema version (tests). */
enum cds_err cds_sqlite_create_version(const char *datadir,
				       unsigned prefix_bits, int version,
				       struct cds_error *err) CDS_MUST_CHECK;

/* The statement `id`, prepared on first use and reset. NULL on failure. */
sqlite3_stmt *sq_stmt(struct sq_store *s, enum sq_stmt_id id,
		      struct cds_error *err);

/* Map the connection's last error to a cds error that says what failed. */
enum cds_err sq_fail(sqlite3 *db, int rc, const char *what,
		     struct cds_error *err);

/* Run a cached statement that returns no rows (then reset it). */
enum cds_err sq_exec_stmt(struct sq_store *s, sqlite3_stmt *st,
			  const char *what, struct cds_error *err);

enum cds_err sq_begin_write(struct sq_store *s,
			    struct cds_error *err) CDS_MUST_CHECK;
enum cds_err sq_begin_read(struct sq_store *s,
			   struct cds_error *err) CDS_MUST_CHECK;
/* Commit if rc is CDS_OK, else roll back; returns rc or the commit error. */
enum cds_err sq_end(struct sq_store *s, enum cds_err rc,
		    struct cds_error *err);

/* Switch foreign-key enforcement (outside a transaction only). */
enum cds_err sq_foreign_keys(struct sq_store *s, bool on,
			     struct cds_error *err);

/*
 * The row number of account id (idperm.h), or false if this store never
 * issued that id.  Does not say whether the account still exists.
 */
bool sq_account_number(struct sq_store *s, const uint8_t *id, int64_t *n);

/* Current last change sequence (inside a transaction). */
enum cds_err sq_last_seq(struct sq_store *s, uint64_t *seq,
			 struct cds_error *err);

/* Append one change row: handle NULL for an account-level change. */
enum cds_err sq_log_change(struct sq_store *s, const uint8_t *id,
			   const char *handle, struct cds_error *err);

/* Copy an account row (id, identity_key, token_hash at columns c..c+2). */
enum cds_err sq_read_account(sqlite3_stmt *st, int c, struct cds_account *out,
			     struct cds_error *err);

/* store_sqlite_{create,write,read}.c: the ops they implement. */
enum cds_err sq_accounts_create(struct cds_store *s,
				struct cds_new_account *accts, size_t n,
				cds_store_ready_fn ready, void *ctx,
				struct cds_error *err);
enum cds_err sq_account_delete(struct cds_store *s, const uint8_t *id,
			       struct cds_error *err);
enum cds_err sq_account_set_key(struct cds_store *s, const uint8_t *id,
				const uint8_t *key, struct cds_error *err);
enum cds_err sq_handles_update(struct cds_store *s, const uint8_t *id,
			       const char *const *add, size_t n_add,
			       const char *const *remove, size_t n_remove,
			       struct cds_error *err);
enum cds_err sq_rate_save(struct cds_store *s, const struct cds_rate_state *st,
			  size_t n, struct cds_error *err);
enum cds_err sq_prefix_bits(struct cds_store *s, unsigned *bits,
			    struct cds_error *err);
enum cds_err sq_admin_hash(struct cds_store *s, uint8_t *hash,
			   struct cds_error *err);
enum cds_err sq_account_get(struct cds_store *s, const uint8_t *id,
			    struct cds_account *out, struct cds_error *err);
enum cds_err sq_account_handles(struct cds_store *s, const uint8_t *id,
				cds_store_name_fn fn, void *ctx,
				struct cds_error *err);
enum cds_err sq_handle_get(struct cds_store *s, const char *handle,
			   struct cds_account *out, struct cds_error *err);
enum cds_err sq_handles_taken(struct cds_store *s, const char *const *handles,
			      size_t n, bool *taken, struct cds_error *err);
enum cds_err sq_scan(struct cds_store *s, cds_store_handle_fn fn, void *ctx,
		     uint64_t *seq, struct cds_error *err);
enum cds_err sq_scan_accounts(struct cds_store *s, cds_store_account_fn fn,
			      void *ctx, uint64_t *seq, struct cds_error *err);
enum cds_err sq_changes(struct cds_store *s, uint64_t since, size_t limit,
			cds_store_change_fn fn, void *ctx, uint64_t *last,
			struct cds_error *err);
enum cds_err sq_rate_load(struct cds_store *s, cds_store_rate_fn fn, void *ctx,
			  struct cds_error *err);
enum cds_err sq_count(struct cds_store *s, uint64_t *accounts,
		      uint64_t *handles, struct cds_error *err);
enum cds_err sq_ledger_mark_get(struct cds_store *s,
				struct cds_ledger_head *out,
				struct cds_error *err);
enum cds_err sq_ledger_mark_set(struct cds_store *s,
				const struct cds_ledger_head *h,
				struct cds_error *err);
enum cds_err sq_changes_floor(struct cds_store *s, uint64_t *floor,
			      struct cds_error *err);
enum cds_err sq_changes_prune(struct cds_store *s, uint64_t below,
			      uint64_t *removed, struct cds_error *err);

/*
 * Inside the caller's write transaction: create accounts (numbers, ids,
 * tokens, handles, change rows) as sq_accounts_create does.
 */
enum cds_err sq_accounts_write(struct cds_store *s,
			       struct cds_new_account *accts, size_t n,
			       struct cds_error *err);

/* store_sqlite_write.c: a write transaction on the store's base pointer (the
 * begin and end hooks of store_handles.c and store_verify.c). */
enum cds_err sq_write_begin(struct cds_store *s, struct cds_error *err);
enum cds_err sq_write_end(struct cds_store *s, enum cds_err rc,
			  struct cds_error *err);

/*
 * Inside the caller's write transaction, with the change row: add handle h
 * to existing account id (CDS_ERR_NOT_FOUND if it is gone; CDS_ERR_EXISTS
 * if another account has h), and remove h from account id (a no-op if it
 * does not have it).  Verified handles use them (store_verify.c).
 */
enum cds_err sq_handle_add(struct cds_store *s, const uint8_t *id,
			   const char *h, struct cds_error *err);
enum cds_err sq_handle_remove(struct cds_store *s, const uint8_t *id,
			      const char *h, struct cds_error *err);

/* store_sqlite_verify.c: the verify.h ops. */
enum cds_err sq_verify_create(struct cds_store *s,
			      const struct cds_verification *v,
			      unsigned max_per_window, int64_t window_us,
			      uint32_t *retry_after_s, struct cds_error *err);
enum cds_err sq_verify_drop(struct cds_store *s, const uint8_t *id,
			    struct cds_error *err);
enum cds_err sq_verify_redeem(struct cds_store *s, struct cds_verify_redeem *r,
			      struct cds_error *err);

/* tstore_sqlite.c: the tstore.h ops. */
enum cds_err sq_tversion_append(struct cds_store *s,
				const struct cds_tversion *v,
				const struct cds_tchange *ch, size_t n,
				struct cds_error *err);
enum cds_err sq_tversion_last(struct cds_store *s, struct cds_tversion *v,
			      bool *found, struct cds_error *err);
enum cds_err sq_tversions(struct cds_store *s, uint64_t from, size_t limit,
			  cds_tversion_fn fn, void *ctx, uint64_t *last,
			  struct cds_error *err);
enum cds_err sq_tepoch_first(struct cds_store *s, uint32_t epoch,
			     uint64_t *version, bool *found,
			     struct cds_error *err);
enum cds_err sq_tchanges(struct cds_store *s, uint64_t version,
			 uint32_t from_prefix, size_t limit, cds_tchange_fn fn,
			 void *ctx, struct cds_error *err);
enum cds_err sq_thistory(struct cds_store *s, uint32_t epoch, uint32_t prefix,
			 uint64_t since, cds_tchange_fn fn, void *ctx,
			 struct cds_error *err);
enum cds_err sq_tepoch_changes(struct cds_store *s, uint32_t epoch,
			       uint64_t after, uint64_t upto, cds_tchange_fn fn,
			       void *ctx, struct cds_error *err);
enum cds_err sq_tseal_try(struct cds_store *s, bool *held,
			  struct cds_error *err);

#endif
