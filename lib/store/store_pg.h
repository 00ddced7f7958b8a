/*
 * store_pg.h: internals shared by the PostgreSQL backend's files.
 *
 *   store_pg.c         connection, statement cache, arguments, transactions
 *   store_pg_schema.c  schema versions and forward migrations
 *   store_pg_copy.c    binary COPY (bulk account creation)
 *   store_pg_create.c  account creation, single and bulk
 *   store_pg_write.c   changes to accounts and handles, rate state
 *   store_pg_read.c    lookups, scans, change polling, counts
 *   store_pg_keep.c    the change log's floor and pruning, the ledger mark
 *   store_pg_verify.c  verified handles (verify.h)
 *   store_pg_shared.c  what replicas share: sealed secrets, rate buckets
 *   tstore_pg.c        transparency's history (tstore.h), the sealer lock
 *
 * The backend keeps store.h's semantics exactly as the SQLite backend does;
 * where PostgreSQL differs, this is how the difference is closed:
 *  1. Writers are serialised, as SQLite serialises them: every write
 *     transaction first locks the one meta row (pg_begin_write), which holds
 *     the next account number and the last change sequence.  Change rows get
 *     their sequence numbers from that counter, not from a PostgreSQL
 *     sequence, so numbers are handed out in commit order and a rolled-back
 *     transaction leaves no gap: a poller that has seen sequence k has seen
 *     every change up to k, and never later finds an older one appear.
 *  2. A scan and the sequence it reports come from one REPEATABLE READ
 *     snapshot (the SQLite backend's one WAL snapshot).
 *  3. Every table lives in the schema "cds" (search_path is set at connect),
 *     so a database may hold other things, and a test can drop a store whole.
 *  4. A connection found broken while no transaction is open is reset once
 *     before the next statement (a restarted server), and its prepared
 *     statements are prepared again.
 */
#ifndef CDS_STORE_STORE_PG_H
#define CDS_STORE_STORE_PG_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "core/buf.h"
#include "store/idperm.h"
#include "store/store_impl.h"

#define CDS_PG_SCHEMA "cds"

/*
 * Advisory lock keys of transparency's history (tstore_pg.c), beside
 * store_pg_schema.c's create lock 7239410581.  The ledger and the query
 * log lock hashtext() values, 32-bit, so never one of these.
 */
#define CDS_PG_TSEAL_LOCK "7239410582"   /* session: the one sealer */
#define CDS_PG_TAPPEND_LOCK "7239410583" /* transaction: one append at once */

/* The cached (prepared) statements; the SQL text of each is in store_pg.c. */
enum pg_stmt_id {
	PG_META_GET,
	PG_META_LOCK,
	PG_META_SET,
	PG_ACCOUNT_GET,
	PG_ACCOUNT_DELETE,
	PG_ACCOUNT_SET_KEY,
	PG_HANDLE_ADD,
	PG_HANDLE_OWNER,
	PG_HANDLE_REMOVE,
	PG_HANDLE_GET,
	PG_ACCOUNT_HANDLES,
	PG_HANDLES_TAKEN,
	PG_CHANGE_ADD,
	PG_CHANGE_ALL_HANDLES,
	PG_CHANGES_SINCE,
	PG_RATE_LOAD,
	PG_RATE_SAVE_MANY,
	PG_COUNT,
	PG_CHANGES_FLOOR,
	PG_CHANGES_PRUNE,
	PG_LEDGER_MARK_GET,
	PG_LEDGER_MARK_SET,
	PG_VERIFY_PRUNE,
	PG_VERIFY_COUNT,
	PG_VERIFY_INSERT,
	PG_VERIFY_DROP,
	PG_VERIFY_GET,
	PG_VERIFY_SET,
	PG_SEALED_INSERT,
	PG_SEALED_UPSERT,
	PG_SEALED_LIST,
	PG_SEALED_DELETE,
	PG_RATE_CHARGE,
	PG_RATE_REFUND,
	PG_TVERSION_MAX,
	PG_TVERSION_INSERT,
	PG_TVERSION_LAST,
	PG_TVERSIONS_AFTER,
	PG_TEPOCH_FIRST,
	PG_TCHANGES,
	PG_THISTORY,
	PG_TEPOCH_CHANGES,
	PG_TSEAL_TRY,
	PG__COUNT
};

struct pg_store {
	struct cds_store base; /* first: a cds_store * is a pg_store * */
	PGconn *conn;
	bool prepared[PG__COUNT];
	uint8_t id_key[CDS_IDPERM_KEY_BYTES]; /* meta.id_key, read at open */
	/* Inside a write transaction: meta's counters, as this one moves them. */
	int64_t next_n, seq;
	int64_t next_n0, seq0; /* their values when the transaction began */
	bool in_txn;            /* between pg_begin_* and pg_end* */
	char where[256];        /* host:port/dbname, for messages */
};

static inline struct pg_store *pg_of(struct cds_store *s)
{
	return (struct pg_store *)s;
}

/* The schema version this program writes (store_pg_schema.c). */
#define CDS_PG_SCHEMA_VERSION 6

/* Statement arguments: text or binary values with their lengths. */
#define PG_ARGS_MAX 7
struct pg_args {
	const char *val[PG_ARGS_MAX];
	int len[PG_ARGS_MAX];
	int fmt[PG_ARGS_MAX];
	char num[PG_ARGS_MAX][32];
	int n;
};

void pg_arg_bytes(struct pg_args *a, const void *p, size_t len);
void pg_arg_text(struct pg_args *a, const char *s); /* NULL: SQL NULL */
void pg_arg_i64(struct pg_args *a, int64_t v);
void pg_arg_f64(struct pg_args *a, double v);

/*
 * Run cached statement id with args a; results come in binary format.
 * Returns the result (the caller PQclears it) or NULL with err filled.
 * `what` completes "store: cannot ...".
 */
PGresult *pg_run(struct pg_store *s, enum pg_stmt_id id,
		 const struct pg_args *a, const char *what,
		 struct cds_error *err);

/* Run SQL text with no arguments and no rows (BEGIN, SET...). */
enum cds_err pg_exec(struct pg_store *s, const char *sql, const char *what,
		     struct cds_error *err);

/*
 * Map a failed result (or, with res NULL, the connection's last error) to a
 * cds error saying what failed.  Serialisation failures and deadlocks are
 * CDS_ERR_BUSY, a full disk CDS_ERR_FULL.
 */
enum cds_err pg_fail(PGconn *conn, const PGresult *res, const char *what,
		     struct cds_error *err);

/* The SQLSTATE of a failed result ("" if none). */
const char *pg_sqlstate(const PGresult *res);

/* Binary-format column readers (int8, float8, and a field's bytes). */
int64_t pg_col_i64(const PGresult *r, int row, int col);
double pg_col_f64(const PGresult *r, int row, int col);
/* Copy an account (id, identity_key, token_hash at columns c..c+2). */
enum cds_err pg_read_account(const PGresult *r, int row, int c,
			     struct cds_account *out, struct cds_error *err);

/*
 * Write transactions lock the meta row (invariant 1) and load next_n and
 * seq; pg_end_write stores them back if they moved, then commits on CDS_OK
 * and rolls back otherwise.  Returns rc or the commit's error.
 */
enum cds_err pg_begin_write(struct pg_store *s,
			    struct cds_error *err) CDS_MUST_CHECK;
enum cds_err pg_end_write(struct pg_store *s, enum cds_err rc,
			  struct cds_error *err);
/* A REPEATABLE READ, READ ONLY transaction (invariant 2). */
enum cds_err pg_begin_read(struct pg_store *s,
			   struct cds_error *err) CDS_MUST_CHECK;
/* Commit if rc is CDS_OK, else roll back; returns rc or the commit error. */
enum cds_err pg_end(struct pg_store *s, enum cds_err rc,
		    struct cds_error *err);

/*
 * The row number of account id (idperm.h), or false if this store never
 * issued that id.  Does not say whether the account still exists.
 */
bool pg_account_number(struct pg_store *s, const uint8_t *id, int64_t *n);

/* Append one change row (handle NULL: account-level), numbered ++s->seq. */
enum cds_err pg_log_change(struct pg_store *s, const uint8_t *id,
			   const char *handle, struct cds_error *err);

/* store_pg_schema.c */
/* Create the schema of `version` with its meta row, in one transaction. */
enum cds_err pg_schema_create(PGconn *conn, int version, unsigned prefix_bits,
			      const uint8_t *admin_hash,
			      struct cds_error *err) CDS_MUST_CHECK;
/* Bring an existing store up to CDS_PG_SCHEMA_VERSION. */
enum cds_err pg_schema_migrate(struct pg_store *s,
			       struct cds_error *err) CDS_MUST_CHECK;

/* Like cds_pg_create, at an older schema version (tests). */
enum cds_err cds_pg_create_version(const char *url, unsigned prefix_bits,
				   int version,
				   struct cds_error *err) CDS_MUST_CHECK;

/*
 * Connect to url with the backend's session settings (search_path, quiet
 * notices).  *out is NULL on failure.
 */
enum cds_err pg_connect(PGconn **out, const char *url,
			struct cds_error *err) CDS_MUST_CHECK;

/* store_pg_copy.c: binary COPY ... FROM STDIN into one table. */
struct pg_copy {
	PGconn *conn;
	struct cds_buf buf;
	bool failed; /* a row could not be buffered or sent: cancel the COPY */
};
enum cds_err pg_copy_begin(struct pg_copy *c, PGconn *conn, const char *sql,
			   struct cds_error *err) CDS_MUST_CHECK;
void pg_copy_row(struct pg_copy *c, int fields);
/* Send the rows buffered so far (the server starts on them meanwhile). */
void pg_copy_flush(struct pg_copy *c);
void pg_copy_bytes(struct pg_copy *c, const void *p, size_t len);
void pg_copy_text(struct pg_copy *c, const char *s);
void pg_copy_i64(struct pg_copy *c, int64_t v);
void pg_copy_null(struct pg_copy *c);
/*
 * Finish the COPY (cancel it if a row could not be buffered or sent);
 * sqlstate (may be NULL) gets the failure's SQLSTATE or "".  Frees the
 * buffer.
 */
enum cds_err pg_copy_end(struct pg_copy *c, const char *what,
			 char sqlstate[6], struct cds_error *err);

/*
 * store_pg_create.c: inside the caller's write transaction, create accounts
 * (numbers, ids, tokens, handles, change rows) as pg_accounts_create does.
 * A handle already registered fails the transaction (CDS_ERR_STORE): the
 * caller must know its handles are free.
 */
enum cds_err pg_accounts_write(struct cds_store *s,
			       struct cds_new_account *accts, size_t n,
			       struct cds_error *err) CDS_MUST_CHECK;

/* store_pg_write.c: a write transaction on the store's base pointer (the
 * begin and end hooks of store_handles.c and store_verify.c). */
enum cds_err pg_write_begin(struct cds_store *s, struct cds_error *err);
enum cds_err pg_write_end(struct cds_store *s, enum cds_err rc,
			  struct cds_error *err);

/*
 * store_pg_write.c, inside the caller's write transaction, with the change
 * row: add handle h to existing account id (CDS_ERR_NOT_FOUND if it is
 * gone; CDS_ERR_EXISTS if another account has h), and remove h from
 * account id (a no-op if it does not have it).  Verified handles use them
 * (store_verify.c).
 */
enum cds_err pg_handle_add(struct cds_store *s, const uint8_t *id,
			   const char *h, struct cds_error *err) CDS_MUST_CHECK;
enum cds_err pg_handle_remove(struct cds_store *s, const uint8_t *id,
			      const char *h, struct cds_error *err) CDS_MUST_CHECK;

/* store_pg_{create,write,read,keep,verify}.c: the ops they implement. */
enum cds_err pg_accounts_create(struct cds_store *s,
				struct cds_new_account *accts, size_t n,
				cds_store_ready_fn ready, void *ctx,
				struct cds_error *err);
enum cds_err pg_account_delete(struct cds_store *s, const uint8_t *id,
			       struct cds_error *err);
enum cds_err pg_account_set_key(struct cds_store *s, const uint8_t *id,
				const uint8_t *key, struct cds_error *err);
enum cds_err pg_handles_update(struct cds_store *s, const uint8_t *id,
			       const char *const *add, size_t n_add,
			       const char *const *remove, size_t n_remove,
			       struct cds_error *err);
enum cds_err pg_rate_save(struct cds_store *s, const struct cds_rate_state *st,
			  size_t n, struct cds_error *err);
enum cds_err pg_prefix_bits(struct cds_store *s, unsigned *bits,
			    struct cds_error *err);
enum cds_err pg_admin_hash(struct cds_store *s, uint8_t *hash,
			   struct cds_error *err);
enum cds_err pg_account_get(struct cds_store *s, const uint8_t *id,
			    struct cds_account *out, struct cds_error *err);
enum cds_err pg_account_handles(struct cds_store *s, const uint8_t *id,
				cds_store_name_fn fn, void *ctx,
				struct cds_error *err);
enum cds_err pg_handle_get(struct cds_store *s, const char *handle,
			   struct cds_account *out, struct cds_error *err);
enum cds_err pg_handles_taken(struct cds_store *s, const char *const *handles,
			      size_t n, bool *taken, struct cds_error *err);
enum cds_err pg_scan(struct cds_store *s, cds_store_handle_fn fn, void *ctx,
		     uint64_t *seq, struct cds_error *err);
enum cds_err pg_scan_accounts(struct cds_store *s, cds_store_account_fn fn,
			      void *ctx, uint64_t *seq, struct cds_error *err);
enum cds_err pg_changes(struct cds_store *s, uint64_t since, size_t limit,
			cds_store_change_fn fn, void *ctx, uint64_t *last,
			struct cds_error *err);
enum cds_err pg_rate_load(struct cds_store *s, cds_store_rate_fn fn, void *ctx,
			  struct cds_error *err);
enum cds_err pg_count(struct cds_store *s, uint64_t *accounts,
		      uint64_t *handles, struct cds_error *err);
enum cds_err pg_changes_floor(struct cds_store *s, uint64_t *floor,
			      struct cds_error *err);
enum cds_err pg_changes_prune(struct cds_store *s, uint64_t below,
			      uint64_t *removed, struct cds_error *err);
enum cds_err pg_ledger_mark_get(struct cds_store *s, struct cds_ledger_head *out,
				struct cds_error *err);
enum cds_err pg_ledger_mark_set(struct cds_store *s,
				const struct cds_ledger_head *h,
				struct cds_error *err);
enum cds_err pg_verify_create(struct cds_store *s,
			      const struct cds_verification *v,
			      unsigned max_per_window, int64_t window_us,
			      uint32_t *retry_after_s, struct cds_error *err);
enum cds_err pg_verify_drop(struct cds_store *s, const uint8_t *id,
			    struct cds_error *err);
enum cds_err pg_verify_redeem(struct cds_store *s, struct cds_verify_redeem *r,
			      struct cds_error *err);
enum cds_err pg_sealed_put(struct cds_store *s, const char *kind, int64_t id,
			   int64_t created_us, const uint8_t *box, size_t len,
			   bool replace, struct cds_error *err);
enum cds_err pg_sealed_list(struct cds_store *s, const char *kind,
			    cds_store_sealed_fn fn, void *ctx,
			    struct cds_error *err);
enum cds_err pg_sealed_delete(struct cds_store *s, const char *kind, int64_t id,
			      struct cds_error *err);
enum cds_err pg_rate_charge(struct cds_store *s, const uint8_t *id,
			    const struct cds_rate_bucket *b, double n,
			    int64_t now_us, bool *charged, double *left,
			    struct cds_error *err);
enum cds_err pg_rate_refund(struct cds_store *s, const uint8_t *id,
			    const struct cds_rate_bucket *b, double n,
			    struct cds_error *err);
enum cds_err pg_changes_listen(struct cds_store *s, struct cds_error *err);
enum cds_err pg_wait_changes(struct cds_store *s, int timeout_ms,
			     bool *notified, struct cds_error *err);

/* tstore_pg.c: the tstore.h ops. */
enum cds_err pg_tversion_append(struct cds_store *s,
				const struct cds_tversion *v,
				const struct cds_tchange *ch, size_t n,
				struct cds_error *err);
enum cds_err pg_tversion_last(struct cds_store *s, struct cds_tversion *v,
			      bool *found, struct cds_error *err);
enum cds_err pg_tversions(struct cds_store *s, uint64_t from, size_t limit,
			  cds_tversion_fn fn, void *ctx, uint64_t *last,
			  struct cds_error *err);
enum cds_err pg_tepoch_first(struct cds_store *s, uint32_t epoch,
			     uint64_t *version, bool *found,
			     struct cds_error *err);
enum cds_err pg_tchanges(struct cds_store *s, uint64_t version,
			 uint32_t from_prefix, size_t limit, cds_tchange_fn fn,
			 void *ctx, struct cds_error *err);
enum cds_err pg_thistory(struct cds_store *s, uint32_t epoch, uint32_t prefix,
			 uint64_t since, cds_tchange_fn fn, void *ctx,
			 struct cds_error *err);
enum cds_err pg_tepoch_changes(struct cds_store *s, uint32_t epoch,
			       uint64_t after, uint64_t upto, cds_tchange_fn fn,
			       void *ctx, struct cds_error *err);
enum cds_err pg_tseal_try(struct cds_store *s, bool *held,
			  struct cds_error *err);

#endif
