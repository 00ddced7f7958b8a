/*
 * store_impl.h: what a store backend implements (internal to lib/store).
 *
 * store.c owns everything that does not depend on the database: argument
 * checks (canonical handles, sizes), account ids and tokens, the admin token
 * file.  A backend gets only checked input and does the storage, keeping the
 * invariants of store.h (unique handles, change log in the same
 * transaction, token hashes only).  There are two: SQLite (store_sqlite*.c)
 * and PostgreSQL (store_pg*.c); DIR/store.conf (store_conf.c) says which
 * one a data directory uses, and cds_store_open picks it; no caller knows.
 *
 * Every backend object starts with a struct cds_store, so that a pointer to
 * it is a pointer to the backend's own struct.
 */
#ifndef CDS_STORE_STORE_IMPL_H
#define CDS_STORE_STORE_IMPL_H

#include "store/shared.h"
#include "store/store.h"
#include "store/tstore.h"
#include "store/verify.h"

struct cds_store_ops {
	const char *name;
	void (*close)(struct cds_store *s);
	enum cds_err (*prefix_bits)(struct cds_store *s, unsigned *bits,
				    struct cds_error *err);
	enum cds_err (*admin_hash)(struct cds_store *s,
				   uint8_t hash[static CDS_TOKEN_HASH_BYTES],
				   struct cds_error *err);
	/*
	 * The backend gives each account its id (unique, never reused) and
	 * fills its token with cds_token_fill; it stores only token hashes.
	 * ready (may be NULL) is called inside the transaction after the
	 * writes; the backend commits only if it returns CDS_OK.
	 */
	enum cds_err (*accounts_create)(struct cds_store *s,
					struct cds_new_account *accts,
					size_t n, cds_store_ready_fn ready,
					void *ctx, struct cds_error *err);
	enum cds_err (*account_get)(struct cds_store *s, const uint8_t *id,
				    struct cds_account *out,
				    struct cds_error *err);
	enum cds_err (*account_delete)(struct cds_store *s, const uint8_t *id,
				       struct cds_error *err);
	enum cds_err (*account_set_key)(struct cds_store *s, const uint8_t *id,
					const uint8_t *key,
					struct cds_error *err);
	enum cds_err (*handles_update)(struct cds_store *s, const uint8_t *id,
				       const char *const *add, size_t n_add,
				       const char *const *remove,
				       size_t n_remove, struct cds_error *err);
	/* Only called for an account that exists (store.c checks). */
	enum cds_err (*account_handles)(struct cds_store *s, const uint8_t *id,
					cds_store_name_fn fn, void *ctx,
					struct cds_error *err);
	enum cds_err (*handle_get)(struct cds_store *s, const char *handle,
				   struct cds_account *out,
				   struct cds_error *err);
	enum cds_err (*handles_taken)(struct cds_store *s,
				      const char *const *handles, size_t n,
				      bool *taken, struct cds_error *err);
	enum cds_err (*scan)(struct cds_store *s, cds_store_handle_fn fn,
			     void *ctx, uint64_t *seq, struct cds_error *err);
	enum cds_err (*scan_accounts)(struct cds_store *s,
				      cds_store_account_fn fn, void *ctx,
				      uint64_t *seq, struct cds_error *err);
	enum cds_err (*changes)(struct cds_store *s, uint64_t since,
				size_t limit, cds_store_change_fn fn, void *ctx,
				uint64_t *last, struct cds_error *err);
	enum cds_err (*rate_load)(struct cds_store *s, cds_store_rate_fn fn,
				  void *ctx, struct cds_error *err);
	enum cds_err (*rate_save)(struct cds_store *s,
				  const struct cds_rate_state *st, size_t n,
				  struct cds_error *err);
	enum cds_err (*count)(struct cds_store *s, uint64_t *accounts,
			      uint64_t *handles, struct cds_error *err);
	enum cds_err (*ledger_mark_get)(struct cds_store *s,
					struct cds_ledger_head *out,
					struct cds_error *err);
	enum cds_err (*ledger_mark_set)(struct cds_store *s,
					const struct cds_ledger_head *h,
					struct cds_error *err);
	enum cds_err (*changes_floor)(struct cds_store *s, uint64_t *floor,
				      struct cds_error *err);
	enum cds_err (*changes_prune)(struct cds_store *s, uint64_t below,
				      uint64_t *removed, struct cds_error *err);
	/* verify.h: verified handles. */
	enum cds_err (*verify_create)(struct cds_store *s,
				      const struct cds_verification *v,
				      unsigned max_per_window,
				      int64_t window_us,
				      uint32_t *retry_after_s,
				      struct cds_error *err);
	enum cds_err (*verify_drop)(struct cds_store *s, const uint8_t *id,
				    struct cds_error *err);
	enum cds_err (*verify_redeem)(struct cds_store *s,
				      struct cds_verify_redeem *r,
				      struct cds_error *err);
	/* shared.h: state replicas share (NULL where the store is not shared). */
	enum cds_err (*sealed_put)(struct cds_store *s, const char *kind,
				   int64_t id, int64_t created_us,
				   const uint8_t *box, size_t len, bool replace,
				   struct cds_error *err);
	enum cds_err (*sealed_list)(struct cds_store *s, const char *kind,
				    cds_store_sealed_fn fn, void *ctx,
				    struct cds_error *err);
	enum cds_err (*sealed_delete)(struct cds_store *s, const char *kind,
				      int64_t id, struct cds_error *err);
	enum cds_err (*rate_charge)(struct cds_store *s, const uint8_t *id,
				    const struct cds_rate_bucket *b, double n,
				    int64_t now_us, bool *charged, double *left,
				    struct cds_error *err);
	enum cds_err (*rate_refund)(struct cds_store *s, const uint8_t *id,
				    const struct cds_rate_bucket *b, double n,
				    struct cds_error *err);
	enum cds_err (*changes_listen)(struct cds_store *s,
				       struct cds_error *err);
	enum cds_err (*wait_changes)(struct cds_store *s, int timeout_ms,
				     bool *notified, struct cds_error *err);
	/*
	 * tstore.h: transparency's history.  tstore.c checks the arguments
	 * (sizes, prefixes, versions within int64) and clamps read bounds.
	 */
	enum cds_err (*tversion_append)(struct cds_store *s,
					const struct cds_tversion *v,
					const struct cds_tchange *ch, size_t n,
					struct cds_error *err);
	enum cds_err (*tversion_last)(struct cds_store *s,
				      struct cds_tversion *v, bool *found,
				      struct cds_error *err);
	enum cds_err (*tversions)(struct cds_store *s, uint64_t from,
				  size_t limit, cds_tversion_fn fn, void *ctx,
				  uint64_t *last, struct cds_error *err);
	enum cds_err (*tepoch_first)(struct cds_store *s, uint32_t epoch,
				     uint64_t *version, bool *found,
				     struct cds_error *err);
	enum cds_err (*tchanges)(struct cds_store *s, uint64_t version,
				 uint32_t from_prefix, size_t limit,
				 cds_tchange_fn fn, void *ctx,
				 struct cds_error *err);
	enum cds_err (*thistory)(struct cds_store *s, uint32_t epoch,
				 uint32_t prefix, uint64_t since,
				 cds_tchange_fn fn, void *ctx,
				 struct cds_error *err);
	enum cds_err (*tepoch_changes)(struct cds_store *s, uint32_t epoch,
				       uint64_t after, uint64_t upto,
				       cds_tchange_fn fn, void *ctx,
				       struct cds_error *err);
	enum cds_err (*tseal_try)(struct cds_store *s, bool *held,
				  struct cds_error *err);
};

struct cds_store {
	const struct cds_store_ops *ops;
};

/*
 * store_token.c: a token "<hex id>.<fresh secret>" for each account of a
 * batch, whose ids are set.
 */
void cds_token_fill(struct cds_new_account *accts, size_t n);

/* store_token.c: a fresh admin token "admin.<secret>". */
void cds_token_new_admin(char token[static CDS_TOKEN_MAX_BYTES]);

/* store_token.c: a fresh metrics token "metrics.<secret>". */
void cds_token_new_metrics(char token[static CDS_TOKEN_MAX_BYTES]);

/* store.c: write token + "\n" to path (mode 0600), replacing any old file. */
enum cds_err cds_token_write_file(const char *path, const char *token,
				  struct cds_error *err) CDS_MUST_CHECK;

/* One handle of a batch of new accounts, and the account (index) it is for. */
struct cds_batch_handle {
	const char *h;
	size_t acct;
};

/*
 * store_batch.c: every handle of accts[0..n), sorted by handle and then by
 * account, in a new array (*out, *n_out) the caller frees.
 */
enum cds_err cds_batch_handles(const struct cds_new_account *accts, size_t n,
			       struct cds_batch_handle **out, size_t *n_out,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * store_conf.c: DIR/store.conf.  conf_read: CDS_ERR_NOT_FOUND if DIR has no
 * store.conf, CDS_ERR_STORE if it is malformed or holds a password.
 */
bool cds_store_conf_exists(const char *datadir);
enum cds_err cds_store_conf_write(const char *datadir, const char *url,
				  struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_store_conf_read(const char *datadir,
				 char url[static CDS_STORE_URL_MAX],
				 struct cds_error *err) CDS_MUST_CHECK;
/*
 * The URI of store.conf's text[0..len) (need not be NUL-terminated), held to
 * the same rules: one "store=" line, comments, LF or CRLF, no password.
 * CDS_ERR_STORE naming the bad line.
 */
enum cds_err cds_store_conf_parse(const char *text, size_t len,
				  char url[static CDS_STORE_URL_MAX],
				  struct cds_error *err) CDS_MUST_CHECK;

/*
 * store_verify.c: redeeming a code (verify.h), the part both backends
 * share: inside the backend's write transaction, read the verification,
 * judge the code, store the verification's new attempts and state, and on
 * the right code bind its handle through the backend's own handle and
 * account writes (with their change rows).  A wrong code's attempt is
 * committed although the answer is a refusal (verify.h invariant 1); a
 * right code's state change commits with the binding or not at all.
 */
struct cds_verify_row {
	char handle[CDS_HANDLE_MAX_BYTES + 1];
	uint8_t code_hash[CDS_VERIFY_HASH_BYTES];
	int64_t expires_us;
	unsigned attempts;
	int state; /* 0 pending, 1 redeemed, 2 dead (too many wrong codes) */
};

struct cds_verify_backend {
	/* A write transaction; end commits on CDS_OK, else rolls back. */
	enum cds_err (*begin)(struct cds_store *s, struct cds_error *err);
	enum cds_err (*end)(struct cds_store *s, enum cds_err rc,
			    struct cds_error *err);
	/* Verification id's row (*found false if none), and its update. */
	enum cds_err (*row_get)(struct cds_store *s, const uint8_t *id,
				struct cds_verify_row *w, bool *found,
				struct cds_error *err);
	enum cds_err (*row_set)(struct cds_store *s, const uint8_t *id,
				unsigned attempts, int state,
				struct cds_error *err);
	/*
	 * Give handle h (free) to existing account id (CDS_ERR_NOT_FOUND if
	 * it is gone), and take h from account id; each with its change row.
	 */
	enum cds_err (*handle_add)(struct cds_store *s, const uint8_t *id,
				   const char *h, struct cds_error *err);
	enum cds_err (*handle_remove)(struct cds_store *s, const uint8_t *id,
				      const char *h, struct cds_error *err);
	/* Create accounts as accounts_create does, in the transaction. */
	enum cds_err (*accounts_write)(struct cds_store *s,
				       struct cds_new_account *accts, size_t n,
				       struct cds_error *err);
};

/*
 * store_handles.c: handles added to and removed from an existing account
 * (the handles_update op, and the verify hooks handle_add, handle_remove),
 * the part both backends share, over these hooks.  Every hook but begin
 * runs inside the backend's write transaction.
 */
struct cds_handles_backend {
	/* A write transaction; end commits on CDS_OK, else rolls back. */
	enum cds_err (*begin)(struct cds_store *s, struct cds_error *err);
	enum cds_err (*end)(struct cds_store *s, enum cds_err rc,
			    struct cds_error *err);
	/* Existing account id's number; CDS_ERR_NOT_FOUND naming it. */
	enum cds_err (*account_n)(struct cds_store *s, const uint8_t *id,
				  int64_t *n, struct cds_error *err);
	/* Account id's number from the id alone (no query); false if none. */
	bool (*number)(struct cds_store *s, const uint8_t *id, int64_t *n);
	/* Insert handle h of account n unless h is registered (*added). */
	enum cds_err (*row_add)(struct cds_store *s, int64_t n, const char *h,
				bool *added, struct cds_error *err);
	/* Delete handle h of account n if it is there (*removed). */
	enum cds_err (*row_remove)(struct cds_store *s, int64_t n,
				   const char *h, bool *removed,
				   struct cds_error *err);
	/* Whether registered handle h is account n's. */
	enum cds_err (*owned_by)(struct cds_store *s, int64_t n, const char *h,
				 bool *mine, struct cds_error *err);
	/* A change row: account id's handle h (NULL: the account itself). */
	enum cds_err (*log_change)(struct cds_store *s, const uint8_t *id,
				   const char *h, struct cds_error *err);
};

/* The handles_update op, in one write transaction of its own. */
enum cds_err cds_handles_update_with(struct cds_store *s,
				     const struct cds_handles_backend *b,
				     const uint8_t *id, const char *const *add,
				     size_t n_add, const char *const *remove,
				     size_t n_remove,
				     struct cds_error *err) CDS_MUST_CHECK;

/* One handle added to or removed from account id, inside a transaction
 * the caller holds (the verify hooks). */
enum cds_err cds_handle_add_with(struct cds_store *s,
				 const struct cds_handles_backend *b,
				 const uint8_t *id, const char *h,
				 struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_handle_remove_with(struct cds_store *s,
				    const struct cds_handles_backend *b,
				    const uint8_t *id, const char *h,
				    struct cds_error *err) CDS_MUST_CHECK;

/* The verify_redeem op of a backend, given its hooks. */
enum cds_err cds_verify_redeem_with(struct cds_store *s,
				    const struct cds_verify_backend *b,
				    struct cds_verify_redeem *r,
				    struct cds_error *err) CDS_MUST_CHECK;

/*
 * store_verify.c: the per-handle limit, once a backend has counted the
 * handle's verifications in the window (`count`, the oldest created at
 * `oldest_us`): CDS_OK if under max, else CDS_ERR_RATE with *retry_after_s.
 */
enum cds_err cds_verify_limit(int64_t count, int64_t oldest_us, int64_t now_us,
			      int64_t window_us, unsigned max,
			      uint32_t *retry_after_s,
			      struct cds_error *err) CDS_MUST_CHECK;

/*
 * tstore.c: what a backend's append checks under its lock (tstore.h
 * invariant 1), given the last version stored (0: none): CDS_ERR_EXISTS
 * if version is already there (another sealer won), CDS_ERR_INVALID if it
 * would leave a gap.
 */
enum cds_err cds_tstore_check_next(uint64_t version, uint64_t last,
				   struct cds_error *err) CDS_MUST_CHECK;

/* store_sqlite.c: the SQLite backend's entry points. */
enum cds_err cds_sqlite_create(const char *datadir, unsigned prefix_bits,
			       const uint8_t admin_hash[static CDS_TOKEN_HASH_BYTES],
			       struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_sqlite_open(struct cds_store **out, const char *datadir,
			     struct cds_error *err) CDS_MUST_CHECK;
/* Remove the database files of datadir (undo of a failed create). */
void cds_sqlite_remove(const char *datadir);

/*
 * store_pg.c: the PostgreSQL backend's entry points, on a libpq URI that
 * holds no password (store_conf.c checks).  cds_pg_create fails with
 * CDS_ERR_EXISTS if the database already holds a store.
 */
enum cds_err cds_pg_create(const char *url, unsigned prefix_bits,
			   const uint8_t admin_hash[static CDS_TOKEN_HASH_BYTES],
			   struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_pg_open(struct cds_store **out, const char *url,
			 struct cds_error *err) CDS_MUST_CHECK;
/* Drop the store's tables (undo of a create DIR could not record). */
void cds_pg_remove(const char *url);

#endif
