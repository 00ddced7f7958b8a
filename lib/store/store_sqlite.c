/*
 * store_sqlite.c: the SQLite backend's connection: opening and creating
 * DIR/cds.sqlite3, connection settings, the statement cache and transaction
 * helpers.  The operations themselves are in store_sqlite_read.c and
 * store_sqlite_write.c; the schema in store_sqlite_schema.c.
 *
 * Settings, and why:
 *  - WAL journal: readers (the server's scans and lookups) never wait for a
 *    writer (cdsctl import) and vice versa.
 *  - synchronous=FULL: a commit that handed out a token is on disk before
 *    the token is shown; bulk imports commit in large groups, so the cost is
 *    one fsync per group.
 *  - busy_timeout: two writers (server and cdsctl) queue instead of failing.
 *  - foreign_keys: deleting an account removes its handles and rate state.
 *  - a 64 MiB page cache: bulk imports insert random keys (account ids).
 *  - secure_delete: deleted rows (a removed account's handles, pruned
 *    change-log rows) are overwritten with zeros, not left in free pages
 *    where anyone with the file could read them back.
 *  - SQLITE_OPEN_NOMUTEX: a connection serves one thread (store.h), so
 *    SQLite's per-call connection mutex would be pure cost.
 *
 * Invariant: the database file is created with mode 0600 (SQLite gives its
 * -wal and -shm files the same mode): it holds the social graph.
 */
#include "store/store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

/* x repeated SQ_MANY (32) times, comma-separated: rows of a bulk INSERT. */
#define X4(x) x "," x "," x "," x
#define X32(x) X4(X4(x)) "," X4(X4(x))
_Static_assert(SQ_MANY == 32, "X32 writes SQ_MANY rows");

static const char *const sql_text[SQ__COUNT] = {
	[SQ_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[SQ_BEGIN_READ] = "BEGIN",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_META_GET] = "SELECT prefix_bits, admin_token_hash, id_key FROM meta "
			"WHERE id = 1",
	[SQ_NEXT_N_GET] = "SELECT next_n FROM meta WHERE id = 1",
	[SQ_NEXT_N_SET] = "UPDATE meta SET next_n = ?1 WHERE id = 1",
	[SQ_LAST_SEQ] = "SELECT max(seq) FROM changes",
	[SQ_ACCOUNT_INSERT] = "INSERT INTO accounts (n, id, identity_key, "
			      "token_hash, created_us) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQ_ACCOUNT_INSERT_MANY] = "INSERT INTO accounts (n, id, identity_key, "
				   "token_hash, created_us) VALUES "
				   X32("(?,?,?,?,?)"),
	/* The id check is redundant with the permutation, and cheap. */
	[SQ_ACCOUNT_GET] = "SELECT id, identity_key, token_hash FROM accounts "
			   "WHERE n = ?1 AND id = ?2",
	[SQ_ACCOUNT_DELETE] = "DELETE FROM accounts WHERE n = ?1",
	[SQ_ACCOUNT_SET_KEY] = "UPDATE accounts SET identity_key = ?2 WHERE n = ?1",
	[SQ_HANDLE_INSERT] = "INSERT INTO handles (handle, account) VALUES (?1, ?2)",
	[SQ_HANDLE_ADD] = "INSERT INTO handles (handle, account) VALUES (?1, ?2) "
			  "ON CONFLICT (handle) DO NOTHING",
	[SQ_HANDLE_OWNER] = "SELECT account FROM handles WHERE handle = ?1",
	[SQ_HANDLE_REMOVE] = "DELETE FROM handles WHERE handle = ?1 AND account = ?2",
	[SQ_HANDLE_GET] = "SELECT a.id, a.identity_key, a.token_hash FROM handles h "
			  "JOIN accounts a ON a.n = h.account WHERE h.handle = ?1",
	[SQ_ACCOUNT_HANDLES] = "SELECT handle FROM handles WHERE account = ?1 "
			       "ORDER BY handle",
	[SQ_CHANGE_ACCOUNT] = "INSERT INTO changes (account, handle) VALUES (?1, NULL)",
	[SQ_CHANGE_HANDLE] = "INSERT INTO changes (account, handle) VALUES (?1, ?2)",
	[SQ_CHANGE_HANDLE_MANY] = "INSERT INTO changes (account, handle) VALUES "
				  X32("(?,?)"),
	[SQ_CHANGE_ALL_HANDLES] = "INSERT INTO changes (account, handle) "
				  "SELECT ?1, handle FROM handles "
				  "WHERE account = ?2 ORDER BY handle",
	[SQ_SCAN_HANDLES] = "SELECT h.handle, a.id, a.identity_key, a.token_hash "
			    "FROM handles h JOIN accounts a ON a.n = h.account",
	[SQ_SCAN_ACCOUNTS] = "SELECT id, identity_key, token_hash FROM accounts",
	[SQ_CHANGES_SINCE] = "SELECT seq, account, handle FROM changes "
			     "WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[SQ_RATE_LOAD] = "SELECT a.id, r.tokens, r.updated_us FROM ratelimit r "
			 "JOIN accounts a ON a.n = r.account",
	/* A saved state for an account deleted meanwhile is dropped. */
	[SQ_RATE_SAVE] = "INSERT INTO ratelimit (account, tokens, updated_us) "
			 "SELECT n, ?2, ?3 FROM accounts WHERE n = ?4 AND id = ?1 "
			 "ON CONFLICT (account) DO UPDATE SET "
			 "tokens = excluded.tokens, updated_us = excluded.updated_us",
	[SQ_COUNT_ACCOUNTS] = "SELECT count(*) FROM accounts",
	[SQ_COUNT_HANDLES] = "SELECT count(*) FROM handles",
	[SQ_LEDGER_MARK_GET] = "SELECT entries, entry_hash FROM ledger_mark "
			       "WHERE id = 1",
	/* The mark only moves forward: an older head never overwrites it. */
	[SQ_LEDGER_MARK_SET] = "INSERT INTO ledger_mark (id, entries, entry_hash) "
			       "VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET "
			       "entries = excluded.entries, "
			       "entry_hash = excluded.entry_hash "
			       "WHERE excluded.entries > ledger_mark.entries",
	[SQ_CHANGES_FLOOR] = "SELECT min(seq) FROM changes",
	/* Schema invariant 3: the newest row always stays. */
	[SQ_CHANGES_PRUNE] = "DELETE FROM changes WHERE seq < ?1 AND "
			     "seq < (SELECT max(seq) FROM changes)",
	[SQ_VERIFY_PRUNE] = "DELETE FROM verifications WHERE created_us < ?1",
	[SQ_VERIFY_COUNT] = "SELECT count(*), min(created_us) FROM verifications "
			    "WHERE handle = ?1 AND created_us >= ?2",
	[SQ_VERIFY_INSERT] = "INSERT INTO verifications (id, handle, code_hash, "
			     "created_us, expires_us) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQ_VERIFY_DROP] = "DELETE FROM verifications WHERE id = ?1",
	[SQ_VERIFY_GET] = "SELECT handle, code_hash, expires_us, attempts, state "
			  "FROM verifications WHERE id = ?1",
	[SQ_VERIFY_SET] = "UPDATE verifications SET attempts = ?2, state = ?3 "
			  "WHERE id = ?1",
	[SQ_TVERSION_MAX] = "SELECT max(version) FROM tversions",
	[SQ_TVERSION_INSERT] = "INSERT INTO tversions (version, epoch, time_ms, "
			       "root, log_root, signature, seq) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SQ_TCHANGE_INSERT] = "INSERT INTO tchanges (version, prefix, epoch, "
			      "removed, added) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQ_TVERSION_LAST] = "SELECT version, epoch, time_ms, root, log_root, "
			     "signature, seq FROM tversions "
			     "ORDER BY version DESC LIMIT 1",
	[SQ_TVERSIONS_FROM] = "SELECT version, epoch, time_ms, root, log_root, "
			      "signature, seq FROM tversions WHERE version >= ?1 "
			      "ORDER BY version LIMIT ?2",
	[SQ_TEPOCH_FIRST] = "SELECT min(version) FROM tversions WHERE epoch = ?1",
	[SQ_TCHANGES] = "SELECT version, prefix, removed, added FROM tchanges "
			"WHERE version = ?1 AND prefix >= ?2 "
			"ORDER BY prefix LIMIT ?3",
	[SQ_THISTORY] = "SELECT version, prefix, removed, added FROM tchanges "
			"WHERE epoch = ?1 AND prefix = ?2 AND version > ?3 "
			"ORDER BY version",
	/*
	 * A range of versions through the (version, prefix) index, which
	 * gives the order too; "+epoch" keeps the planner off the bucket
	 * index, which would read every row of the epoch and sort them.
	 */
	[SQ_TEPOCH_CHANGES] = "SELECT version, prefix, removed, added FROM tchanges "
			      "WHERE +epoch = ?1 AND version > ?2 AND version <= ?3 "
			      "ORDER BY version, prefix",
};

static const char pragmas[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = FULL;"
	"PRAGMA foreign_keys = ON;"
	"PRAGMA cache_size = -65536;"
	"PRAGMA temp_store = MEMORY;"
	"PRAGMA secure_delete = ON;";

#define BUSY_TIMEOUT_MS 10000

enum cds_err sq_fail(sqlite3 *db, int rc, const char *what,
		     struct cds_error *err)
{
	enum cds_err code = CDS_ERR_STORE;
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = CDS_ERR_BUSY;
		break;
	case SQLITE_FULL:
		code = CDS_ERR_FULL;
		break;
	case SQLITE_NOMEM:
		code = CDS_ERR_NOMEM;
		break;
	default:
		break;
	}
	return cds_fail(err, code, "store: cannot %s: %s", what, msg);
}

sqlite3_stmt *sq_stmt(struct sq_store *s, enum sq_stmt_id id,
		      struct cds_error *err)
{
	sqlite3_stmt *st = s->stmt[id];
	int rc;

	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	rc = sqlite3_prepare_v3(s->db, sql_text[id], -1,
				SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		sq_fail(s->db, rc, "prepare a statement", err);
		return NULL;
	}
	s->stmt[id] = st;
	return st;
}

enum cds_err sq_exec_stmt(struct sq_store *s, sqlite3_stmt *st,
			  const char *what, struct cds_error *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(s->db, rc, what, err);
	return CDS_OK;
}

static enum cds_err exec_id(struct sq_store *s, enum sq_stmt_id id,
			    const char *what, struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, id, err);

	return st ? sq_exec_stmt(s, st, what, err) : CDS_ERR_STORE;
}

enum cds_err sq_begin_write(struct sq_store *s, struct cds_error *err)
{
	return exec_id(s, SQ_BEGIN_WRITE, "begin a write transaction", err);
}

enum cds_err sq_begin_read(struct sq_store *s, struct cds_error *err)
{
	return exec_id(s, SQ_BEGIN_READ, "begin a read transaction", err);
}

enum cds_err sq_end(struct sq_store *s, enum cds_err rc, struct cds_error *err)
{
	if (rc == CDS_OK)
		rc = exec_id(s, SQ_COMMIT, "commit", err);
	if (rc != CDS_OK && !sqlite3_get_autocommit(s->db))
		(void)exec_id(s, SQ_ROLLBACK, "roll back", NULL);
	return rc;
}

enum cds_err sq_foreign_keys(struct sq_store *s, bool on, struct cds_error *err)
{
	int rc = sqlite3_exec(s->db, on ? "PRAGMA foreign_keys = ON"
					: "PRAGMA foreign_keys = OFF",
			      NULL, NULL, NULL);

	return rc == SQLITE_OK ? CDS_OK
			       : sq_fail(s->db, rc, "switch foreign keys", err);
}

bool sq_account_number(struct sq_store *s, const uint8_t *id, int64_t *n)
{
	uint64_t v;

	if (!cds_idperm_number(&v, s->id_key, id) || v == 0 || v > INT64_MAX)
		return false;
	*n = (int64_t)v;
	return true;
}

enum cds_err sq_last_seq(struct sq_store *s, uint64_t *seq,
			 struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_LAST_SEQ, err);
	int rc;

	if (!st)
		return CDS_ERR_STORE;
	rc = sqlite3_step(st);
	*seq = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s->db, rc, "read the change sequence", err);
	return CDS_OK;
}

enum cds_err sq_read_account(sqlite3_stmt *st, int c, struct cds_account *out,
			     struct cds_error *err)
{
	if (sqlite3_column_bytes(st, c) != CDS_ACCOUNT_ID_BYTES ||
	    sqlite3_column_bytes(st, c + 1) != CDS_IDENTITY_KEY_BYTES ||
	    sqlite3_column_bytes(st, c + 2) != CDS_TOKEN_HASH_BYTES)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"store: account row with a field of the wrong size");
	memcpy(out->id, sqlite3_column_blob(st, c), CDS_ACCOUNT_ID_BYTES);
	memcpy(out->identity_key, sqlite3_column_blob(st, c + 1),
	       CDS_IDENTITY_KEY_BYTES);
	memcpy(out->token_hash, sqlite3_column_blob(st, c + 2),
	       CDS_TOKEN_HASH_BYTES);
	return CDS_OK;
}

static enum cds_err db_path(char *out, size_t cap, const char *datadir,
			    struct cds_error *err)
{
	if (snprintf(out, cap, "%s/%s", datadir, CDS_SQLITE_FILE) >= (int)cap)
		return cds_fail(err, CDS_ERR_INVALID,
				"data directory path too long: '%s'", datadir);
	return CDS_OK;
}

/* Open an existing database file and apply the connection settings. */
static enum cds_err db_open(sqlite3 **out, const char *path,
			    struct cds_error *err)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(db, 1);
		sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
		rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		enum cds_err e = sq_fail(db, rc, "open the store", err);
		cds_fail(err, e, "store '%s': %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return e;
	}
	*out = db;
	return CDS_OK;
}

void cds_sqlite_remove(const char *datadir)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char path[4096];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++)
		if (snprintf(path, sizeof(path), "%s/%s%s", datadir,
			     CDS_SQLITE_FILE, suffix[i]) < (int)sizeof(path))
			unlink(path);
}

static enum cds_err create_at(const char *datadir, unsigned prefix_bits,
			      const uint8_t *admin_hash, int version,
			      struct cds_error *err)
{
	char path[4096];
	sqlite3 *db = NULL;
	enum cds_err rc;
	int fd;

	rc = db_path(path, sizeof(path), datadir, err);
	if (rc)
		return rc;
	/* O_EXCL claims the name: two concurrent inits cannot both win. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return cds_fail(err, errno == EEXIST ? CDS_ERR_EXISTS : CDS_ERR_IO,
				errno == EEXIST ? "a store already exists: '%s'"
						: "cannot create '%s': %s",
				path, strerror(errno));
	close(fd);
	rc = db_open(&db, path, err);
	if (!rc)
		rc = sq_schema_create(db, version, prefix_bits, admin_hash, err);
	if (db && sqlite3_close(db) != SQLITE_OK && !rc)
		rc = cds_fail(err, CDS_ERR_STORE, "store: cannot close '%s'", path);
	if (rc)
		cds_sqlite_remove(datadir);
	return rc;
}

enum cds_err cds_sqlite_create(const char *datadir, unsigned prefix_bits,
			       const uint8_t admin_hash[static CDS_TOKEN_HASH_BYTES],
			       struct cds_error *err)
{
	return create_at(datadir, prefix_bits, admin_hash,
			 CDS_SQLITE_SCHEMA_VERSION, err);
}

enum cds_err cds_sqlite_create_version(const char *datadir,
				       unsigned prefix_bits, int version,
				       struct cds_error *err)
{
	uint8_t hash[CDS_TOKEN_HASH_BYTES];

	randombytes_buf(hash, sizeof(hash));
	return create_at(datadir, prefix_bits, hash, version, err);
}

/* Read the id key once: it never changes after the store is created. */
static enum cds_err load_id_key(struct sq_store *s, struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_META_GET, err);
	enum cds_err rc = CDS_OK;
	int r;

	if (!st)
		return CDS_ERR_STORE;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && sqlite3_column_bytes(st, 2) == CDS_IDPERM_KEY_BYTES)
		memcpy(s->id_key, sqlite3_column_blob(st, 2), CDS_IDPERM_KEY_BYTES);
	else if (r == SQLITE_ROW || r == SQLITE_DONE)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "store '%s' has no valid settings row (damaged store?)",
			      s->path);
	else
		rc = sq_fail(s->db, r, "read the store settings", err);
	sqlite3_reset(st);
	return rc;
}

static void sq_close(struct cds_store *base)
{
	struct sq_store *s = sq_of(base);

	for (int i = 0; i < SQ__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	sodium_memzero(s->id_key, sizeof(s->id_key));
	free(s);
}

static const struct cds_store_ops sq_ops = {
	.name = "sqlite",
	.close = sq_close,
	.prefix_bits = sq_prefix_bits,
	.admin_hash = sq_admin_hash,
	.accounts_create = sq_accounts_create,
	.account_get = sq_account_get,
	.account_delete = sq_account_delete,
	.account_set_key = sq_account_set_key,
	.handles_update = sq_handles_update,
	.account_handles = sq_account_handles,
	.handle_get = sq_handle_get,
	.handles_taken = sq_handles_taken,
	.scan = sq_scan,
	.scan_accounts = sq_scan_accounts,
	.changes = sq_changes,
	.rate_load = sq_rate_load,
	.rate_save = sq_rate_save,
	.count = sq_count,
	.ledger_mark_get = sq_ledger_mark_get,
	.ledger_mark_set = sq_ledger_mark_set,
	.changes_floor = sq_changes_floor,
	.changes_prune = sq_changes_prune,
	.verify_create = sq_verify_create,
	.verify_drop = sq_verify_drop,
	.verify_redeem = sq_verify_redeem,
	.tversion_append = sq_tversion_append,
	.tversion_last = sq_tversion_last,
	.tversions = sq_tversions,
	.tepoch_first = sq_tepoch_first,
	.tchanges = sq_tchanges,
	.thistory = sq_thistory,
	.tepoch_changes = sq_tepoch_changes,
	.tseal_try = sq_tseal_try,
};

enum cds_err cds_sqlite_open(struct cds_store **out, const char *datadir,
			     struct cds_error *err)
{
	struct sq_store *s;
	enum cds_err rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory opening the store");
	s->base.ops = &sq_ops;
	rc = db_path(s->path, sizeof(s->path), datadir, err);
	if (rc)
		goto out;
	if (access(s->path, F_OK) != 0) {
		rc = cds_fail(err, CDS_ERR_NOT_FOUND,
			      "no store in '%s' (run 'cdsctl --data %s init')",
			      datadir, datadir);
		goto out;
	}
	rc = db_open(&s->db, s->path, err);
	if (!rc)
		rc = sq_schema_migrate(s->db, s->path, err);
	if (!rc)
		rc = load_id_key(s, err);
out:
	if (rc) {
		sq_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return CDS_OK;
}
