/*
 * store_sqlite_schema.c: the schema of DIR/cds.sqlite3 and its forward
 * migrations.
 *
 * The schema version is PRAGMA user_version.  migrations[v - 1] turns
 * version v - 1 into version v; version 0 is the empty file.  To change the
 * schema, append a step and bump CDS_SQLITE_SCHEMA_VERSION; never edit a
 * step that has shipped, since databases out there were built by it.
 *
 * Invariants:
 *  1. Each run of steps happens in one IMMEDIATE transaction together with
 *     the user_version update, so a crash leaves the old or the new version,
 *     never a mix; two processes opening an old store at once migrate it
 *     once (the second re-reads the version under the write lock).
 *  2. A store newer than this program is refused, not written to.
 *  3. changes.seq is the rowid, so SQLite numbers a new row max(seq) + 1:
 *     strictly growing as long as the newest row is never deleted.  (Not
 *     AUTOINCREMENT: its bookkeeping row costs 15% of a bulk import.)  Code
 *     that prunes the change log must keep the newest row.
 */
#include "store/store_sqlite.h"

#include <stdio.h>

#include <sodium.h>

#include "core/timeutil.h"
#include "store/idperm.h"

/*
 * Accounts are numbered n = 1, 2, 3... (meta.next_n; never reused) and their
 * ids are a keyed permutation of n (idperm.h, key meta.id_key), so the id
 * needs no index: a lookup by id inverts the permutation and reads row n.
 * Handles and rate state point at n.  A bulk import thus appends to every
 * table but one (handles, keyed by the handle itself) instead of inserting
 * at random places in large B-trees, which made imports slow down as the
 * directory grew.
 */
static const char *const migrations[CDS_SQLITE_SCHEMA_VERSION] = {
	/* v1: the directory and its change log. */
	"CREATE TABLE meta ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  prefix_bits INTEGER NOT NULL CHECK (prefix_bits BETWEEN 0 AND 24),"
	"  admin_token_hash BLOB NOT NULL CHECK (length(admin_token_hash) = 32),"
	"  id_key BLOB NOT NULL CHECK (length(id_key) = 16),"
	"  next_n INTEGER NOT NULL CHECK (next_n >= 1),"
	"  created_us INTEGER NOT NULL);"
	"CREATE TABLE accounts ("
	"  n INTEGER PRIMARY KEY,"
	"  id BLOB NOT NULL CHECK (length(id) = 16),"
	"  identity_key BLOB NOT NULL CHECK (length(identity_key) = 32),"
	"  token_hash BLOB NOT NULL CHECK (length(token_hash) = 32),"
	"  created_us INTEGER NOT NULL);"
	"CREATE TABLE handles ("
	"  handle TEXT PRIMARY KEY,"
	"  account INTEGER NOT NULL REFERENCES accounts (n) ON DELETE CASCADE)"
	"  WITHOUT ROWID;"
	"CREATE INDEX handles_by_account ON handles (account);"
	"CREATE TABLE changes ("
	"  seq INTEGER PRIMARY KEY,"
	"  account BLOB NOT NULL,"
	"  handle TEXT);",

	/* v2: persistent rate-limit state. */
	"CREATE TABLE ratelimit ("
	"  account INTEGER PRIMARY KEY REFERENCES accounts (n) ON DELETE CASCADE,"
	"  tokens REAL NOT NULL,"
	"  updated_us INTEGER NOT NULL);",

	/* v3: the legal ledger's head after the last export (store.h), kept
	 * out of DIR/legal so that a deleted ledger is noticed. */
	"CREATE TABLE ledger_mark ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  entries INTEGER NOT NULL CHECK (entries >= 0),"
	"  entry_hash BLOB NOT NULL CHECK (length(entry_hash) = 32));",

	/*
	 * v4: one-time codes of verified handles (verify.h).  state: 0
	 * pending, 1 redeemed, 2 dead.  Rows live as long as the per-handle
	 * window that counts them, then go.
	 */
	"CREATE TABLE verifications ("
	"  id BLOB PRIMARY KEY CHECK (length(id) = 16),"
	"  handle TEXT NOT NULL,"
	"  code_hash BLOB NOT NULL CHECK (length(code_hash) = 32),"
	"  created_us INTEGER NOT NULL,"
	"  expires_us INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2))"
	"  WITHOUT ROWID;"
	"CREATE INDEX verifications_by_handle ON verifications (handle, created_us);"
	"CREATE INDEX verifications_by_age ON verifications (created_us);",

	/*
	 * v5: directory transparency's history (tstore.h): one row per sealed
	 * version, one per bucket a version changed.  Change rows carry
	 * whole bucket lists (kilobytes for an epoch's first version), so
	 * tchanges keeps its rowid and the (version, prefix) key is an index.
	 */
	"CREATE TABLE tversions ("
	"  version INTEGER PRIMARY KEY CHECK (version >= 1),"
	"  epoch INTEGER NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),"
	"  time_ms INTEGER NOT NULL CHECK (time_ms >= 0),"
	"  root BLOB NOT NULL CHECK (length(root) = 32),"
	"  log_root BLOB NOT NULL CHECK (length(log_root) = 32),"
	"  signature BLOB NOT NULL CHECK (length(signature) = 64),"
	"  seq INTEGER NOT NULL CHECK (seq >= 0));"
	"CREATE INDEX tversions_by_epoch ON tversions (epoch, version);"
	"CREATE TABLE tchanges ("
	"  version INTEGER NOT NULL REFERENCES tversions (version),"
	"  prefix INTEGER NOT NULL CHECK (prefix BETWEEN 0 AND 16777215),"
	"  epoch INTEGER NOT NULL,"
	"  removed BLOB NOT NULL CHECK (length(removed) % 16 = 0),"
	"  added BLOB NOT NULL CHECK (length(added) % 104 = 0),"
	"  UNIQUE (version, prefix));"
	"CREATE INDEX tchanges_by_bucket ON tchanges (epoch, prefix, version);",
};

static enum cds_err exec(sqlite3 *db, const char *sql, const char *what,
			 struct cds_error *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? CDS_OK : sq_fail(db, rc, what, err);
}

static enum cds_err user_version(sqlite3 *db, int *out, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? CDS_OK
				: sq_fail(db, rc, "read the schema version", err);
}

/* Apply steps from+1..to and record the version; inside a transaction. */
static enum cds_err apply(sqlite3 *db, int from, int to, struct cds_error *err)
{
	char sql[64];
	enum cds_err rc = CDS_OK;

	for (int v = from + 1; v <= to && !rc; v++) {
		char what[64];
		snprintf(what, sizeof(what), "migrate the schema to version %d", v);
		rc = exec(db, migrations[v - 1], what, err);
	}
	if (rc)
		return rc;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", to);
	return exec(db, sql, "record the schema version", err);
}

static enum cds_err insert_meta(sqlite3 *db, unsigned prefix_bits,
				const uint8_t *admin_hash,
				struct cds_error *err)
{
	uint8_t id_key[CDS_IDPERM_KEY_BYTES];
	sqlite3_stmt *st = NULL;
	int rc;

	randombytes_buf(id_key, sizeof(id_key));
	rc = sqlite3_prepare_v2(db,
				"INSERT INTO meta (id, prefix_bits, "
				"admin_token_hash, id_key, next_n, created_us) "
				"VALUES (1, ?1, ?2, ?3, 1, ?4)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, (int)prefix_bits);
		sqlite3_bind_blob(st, 2, admin_hash, CDS_TOKEN_HASH_BYTES,
				  SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, id_key, sizeof(id_key), SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, cds_now_us());
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	sodium_memzero(id_key, sizeof(id_key));
	return rc == SQLITE_DONE ? CDS_OK
				 : sq_fail(db, rc, "write the store settings", err);
}

enum cds_err sq_schema_create(sqlite3 *db, int version, unsigned prefix_bits,
			      const uint8_t *admin_hash, struct cds_error *err)
{
	enum cds_err rc;

	if (version < 1 || version > CDS_SQLITE_SCHEMA_VERSION)
		return cds_fail(err, CDS_ERR_INVALID,
				"no schema version %d (this program knows 1..%d)",
				version, CDS_SQLITE_SCHEMA_VERSION);
	rc = exec(db, "BEGIN IMMEDIATE", "begin creating the store", err);
	if (rc)
		return rc;
	rc = apply(db, 0, version, err);
	if (!rc)
		rc = insert_meta(db, prefix_bits, admin_hash, err);
	if (!rc)
		return exec(db, "COMMIT", "commit the new store", err);
	(void)exec(db, "ROLLBACK", "roll back", NULL);
	return rc;
}

static enum cds_err check_version(int v, const char *path,
				  struct cds_error *err)
{
	if (v == 0)
		return cds_fail(err, CDS_ERR_STORE,
				"'%s' is not a cds store (no schema version)", path);
	if (v < 0 || v > CDS_SQLITE_SCHEMA_VERSION)
		return cds_fail(err, CDS_ERR_STORE,
				"store '%s' has schema version %d, newer than this "
				"program's %d: upgrade cds",
				path, v, CDS_SQLITE_SCHEMA_VERSION);
	return CDS_OK;
}

enum cds_err sq_schema_migrate(sqlite3 *db, const char *path,
			       struct cds_error *err)
{
	enum cds_err rc;
	int v = 0;

	rc = user_version(db, &v, err);
	if (!rc)
		rc = check_version(v, path, err);
	if (rc || v == CDS_SQLITE_SCHEMA_VERSION)
		return rc;
	rc = exec(db, "BEGIN IMMEDIATE", "lock the store to migrate it", err);
	if (rc)
		return rc;
	/* Someone else may have migrated while we waited for the lock. */
	rc = user_version(db, &v, err);
	if (!rc)
		rc = check_version(v, path, err);
	if (!rc)
		rc = apply(db, v, CDS_SQLITE_SCHEMA_VERSION, err);
	if (!rc)
		return exec(db, "COMMIT", "commit the schema migration", err);
	(void)exec(db, "ROLLBACK", "roll back", NULL);
	return rc;
}
