/*
 * store_pg_schema.c: the PostgreSQL store's schema (in the schema "cds"),
 * its forward migrations, and the undo of a create.
 *
 * The version is the one row of cds.schema_version.  migrations[v - 1]
 * turns version v - 1 into version v; version 0 is the empty schema.  To
 * change the schema, append a step and bump CDS_PG_SCHEMA_VERSION; never
 * edit a step that has shipped.  The tables mirror the SQLite backend's
 * (store_sqlite_schema.c: accounts numbered n with permuted ids, handles
 * keyed by the handle, the change log, rate state, the ledger mark,
 * verifications, transparency's history); meta also holds
 * last_seq, the change counter of store_pg.h invariant 1.
 *
 * Invariants:
 *  1. A create, and each run of migration steps, is one transaction with
 *     its version update (DDL is transactional in PostgreSQL): a crash
 *     leaves the old or the new version, never a mix.  Concurrent creates
 *     queue on an advisory lock; concurrent migrations on the version row.
 *  2. A store newer than this program is refused, not written to.
 *  3. Handles compare byte-wise (COLLATE "C"), as in SQLite, whatever the
 *     database's locale: canonical handles are bytes, not words.
 *  4. No foreign keys: handles and rate state name accounts by number
 *     without REFERENCES.  The check would run a query per row of a bulk
 *     COPY (it made imports a third slower), and it guards nothing that the
 *     writers' lock does not: handles are only inserted, and accounts only
 *     deleted, under that lock, after the account was looked up; a delete
 *     removes the account's handles and rate state in the same statement.
 *     A rate state saved (without the lock) for an account deleted meanwhile
 *     is a harmless orphan: reads join it to accounts, and numbers are
 *     never reused.
 */
#include "store/store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/timeutil.h"

/* Any fixed number: the advisory lock under which stores are created. */
#define CREATE_LOCK "7239410581"

/*
 * The pieces of cds.rate_charge that v4 and v5 share, so that v5 restates
 * v4's body without copying it (v4's SQL stays, byte for byte, what
 * shipped): the signature and the setting, and v4's way of charging
 * (create the bucket full if absent, lock it, refill, decide, write back).
 */
#define RATE_CHARGE_HEAD \
	"CREATE OR REPLACE FUNCTION rate_charge(p_account int8, p_n float8," \
	"  p_allowance float8, p_capacity float8, p_per_us float8, p_now int8," \
	"  OUT charged boolean, OUT left_tokens float8)" \
	" LANGUAGE plpgsql AS $$" \
	" DECLARE t float8; u int8;" \
	" BEGIN" \
	"  PERFORM set_config('synchronous_commit', 'off', true);"

#define RATE_CHARGE_DECIDE \
	"  INSERT INTO ratelimit (account, tokens, updated_us)" \
	"   VALUES (p_account, p_allowance, p_now) ON CONFLICT (account) DO NOTHING;" \
	"  SELECT r.tokens, r.updated_us INTO t, u FROM ratelimit r" \
	"   WHERE r.account = p_account FOR UPDATE;" \
	"  t := least(p_capacity, t + greatest(0, p_now - u) * p_per_us);" \
	"  charged := t >= p_n;" \
	"  IF charged THEN t := t - p_n; END IF;" \
	"  UPDATE ratelimit SET tokens = t, updated_us = greatest(u, p_now)" \
	"   WHERE account = p_account;" \
	"  left_tokens := t;"

static const char *const migrations[CDS_PG_SCHEMA_VERSION] = {
	/* v1: the directory and its change log. */
	"CREATE TABLE meta ("
	"  id integer PRIMARY KEY CHECK (id = 1),"
	"  prefix_bits integer NOT NULL CHECK (prefix_bits BETWEEN 0 AND 24),"
	"  admin_token_hash bytea NOT NULL"
	"    CHECK (length(admin_token_hash) = 32),"
	"  id_key bytea NOT NULL CHECK (length(id_key) = 16),"
	"  next_n bigint NOT NULL CHECK (next_n >= 1),"
	"  last_seq bigint NOT NULL CHECK (last_seq >= 0),"
	"  created_us bigint NOT NULL);"
	"CREATE TABLE accounts ("
	"  n bigint PRIMARY KEY,"
	"  id bytea NOT NULL CHECK (length(id) = 16),"
	"  identity_key bytea NOT NULL CHECK (length(identity_key) = 32),"
	"  token_hash bytea NOT NULL CHECK (length(token_hash) = 32),"
	"  created_us bigint NOT NULL);"
	"CREATE TABLE handles ("
	"  handle text COLLATE \"C\" PRIMARY KEY,"
	"  account bigint NOT NULL);"
	"CREATE INDEX handles_by_account ON handles (account);"
	"CREATE TABLE changes ("
	"  seq bigint PRIMARY KEY,"
	"  account bytea NOT NULL,"
	"  handle text COLLATE \"C\");",

	/* v2: persistent rate-limit state. */
	"CREATE TABLE ratelimit ("
	"  account bigint PRIMARY KEY,"
	"  tokens double precision NOT NULL,"
	"  updated_us bigint NOT NULL);",

	/*
	 * v3: the legal ledger's head after the last export (store.h), and the
	 * one-time codes of verified handles (verify.h; state: 0 pending,
	 * 1 redeemed, 2 dead), as SQLite's v3 and v4.  Verifications live as
	 * long as the per-handle window that counts them, then go.
	 */
	"CREATE TABLE ledger_mark ("
	"  id integer PRIMARY KEY CHECK (id = 1),"
	"  entries bigint NOT NULL CHECK (entries >= 0),"
	"  entry_hash bytea NOT NULL CHECK (length(entry_hash) = 32));"
	"CREATE TABLE verifications ("
	"  id bytea PRIMARY KEY CHECK (length(id) = 16),"
	"  handle text COLLATE \"C\" NOT NULL,"
	"  code_hash bytea NOT NULL CHECK (length(code_hash) = 32),"
	"  created_us bigint NOT NULL,"
	"  expires_us bigint NOT NULL,"
	"  attempts integer NOT NULL DEFAULT 0,"
	"  state integer NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2));"
	"CREATE INDEX verifications_by_handle ON verifications (handle, created_us);"
	"CREATE INDEX verifications_by_age ON verifications (created_us);",

	/*
	 * v4: what replicas share (shared.h): secrets sealed under their
	 * key-encryption key, and the atomic charge of a rate-limit bucket.
	 * The charge is a function so that it is one round trip: it creates
	 * the bucket full if the account has none, then reads and writes it
	 * under its row lock (concurrent charges queue on that lock).  Its
	 * commit does not wait for the WAL flush (synchronous_commit off for
	 * that transaction only): a crash of the database may forget the last
	 * few charges, which costs a client a few tokens' worth of requests;
	 * waiting for an fsync on every request would cost every client.
	 */
	"CREATE TABLE sealed ("
	"  kind text COLLATE \"C\" NOT NULL,"
	"  id bigint NOT NULL,"
	"  created_us bigint NOT NULL,"
	"  box bytea NOT NULL,"
	"  PRIMARY KEY (kind, id));"
	RATE_CHARGE_HEAD
	RATE_CHARGE_DECIDE
	" END $$;"
	/*
	 * Every write transaction that logs a change moves meta's counters
	 * (store_pg.h invariant 1): a NOTIFY then tells listening replicas to
	 * poll now rather than at their next tick (delivered at commit only).
	 */
	"CREATE OR REPLACE FUNCTION notify_changes() RETURNS trigger"
	" LANGUAGE plpgsql AS $$"
	" BEGIN PERFORM pg_notify('cds_changes', ''); RETURN NULL; END $$;"
	"CREATE TRIGGER meta_notify AFTER UPDATE OF last_seq ON meta"
	" FOR EACH STATEMENT EXECUTE FUNCTION notify_changes();",

	/*
	 * v5: the common charge is one statement.  An UPDATE that takes the
	 * tokens only if the refilled bucket holds them is atomic on its own
	 * (READ COMMITTED re-checks its WHERE on the row version it locks, so
	 * concurrent charges queue on the row and each sees the one before).
	 * Only when it changes nothing (no bucket yet, or not enough in it)
	 * does the charge take v4's path: create the bucket full if absent,
	 * lock it, refill, decide.
	 */
	RATE_CHARGE_HEAD
	"  UPDATE ratelimit r SET tokens = least(p_capacity, r.tokens"
	"    + greatest(0, p_now - r.updated_us) * p_per_us) - p_n,"
	"    updated_us = greatest(r.updated_us, p_now)"
	"   WHERE r.account = p_account AND least(p_capacity, r.tokens"
	"    + greatest(0, p_now - r.updated_us) * p_per_us) >= p_n"
	"   RETURNING r.tokens INTO left_tokens;"
	"  IF FOUND THEN charged := true; RETURN; END IF;"
	RATE_CHARGE_DECIDE
	" END $$;",

	/*
	 * v6: directory transparency's history (tstore.h), as SQLite's v5.
	 * prefix is bigint so that binary COPY writes it as every other
	 * integer.  Auditors replay these rows, so a trigger refuses any
	 * UPDATE, DELETE or TRUNCATE (accidents; the signatures and the log
	 * guard against intent), as the ledger's does.
	 */
	"CREATE TABLE tversions ("
	"  version bigint PRIMARY KEY CHECK (version >= 1),"
	"  epoch bigint NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),"
	"  time_ms bigint NOT NULL CHECK (time_ms >= 0),"
	"  root bytea NOT NULL CHECK (length(root) = 32),"
	"  log_root bytea NOT NULL CHECK (length(log_root) = 32),"
	"  signature bytea NOT NULL CHECK (length(signature) = 64),"
	"  seq bigint NOT NULL CHECK (seq >= 0));"
	"CREATE INDEX tversions_by_epoch ON tversions (epoch, version);"
	"CREATE TABLE tchanges ("
	"  version bigint NOT NULL,"
	"  prefix bigint NOT NULL CHECK (prefix BETWEEN 0 AND 16777215),"
	"  epoch bigint NOT NULL,"
	"  removed bytea NOT NULL CHECK (length(removed) % 16 = 0),"
	"  added bytea NOT NULL CHECK (length(added) % 104 = 0),"
	"  PRIMARY KEY (version, prefix));"
	"CREATE INDEX tchanges_by_bucket ON tchanges (epoch, prefix, version);"
	"CREATE OR REPLACE FUNCTION tstore_append_only() RETURNS trigger"
	" LANGUAGE plpgsql AS $$ BEGIN"
	" RAISE EXCEPTION 'the transparency history is append-only'; END $$;"
	"CREATE TRIGGER tversions_no_change BEFORE UPDATE OR DELETE"
	" ON tversions FOR EACH ROW EXECUTE FUNCTION tstore_append_only();"
	"CREATE TRIGGER tversions_no_truncate BEFORE TRUNCATE"
	" ON tversions FOR EACH STATEMENT EXECUTE FUNCTION tstore_append_only();"
	"CREATE TRIGGER tchanges_no_change BEFORE UPDATE OR DELETE"
	" ON tchanges FOR EACH ROW EXECUTE FUNCTION tstore_append_only();"
	"CREATE TRIGGER tchanges_no_truncate BEFORE TRUNCATE"
	" ON tchanges FOR EACH STATEMENT EXECUTE FUNCTION tstore_append_only();"
	/* A sealed version wakes listening replicas as a change does. */
	"CREATE TRIGGER tversions_notify AFTER INSERT ON tversions"
	" FOR EACH STATEMENT EXECUTE FUNCTION notify_changes();",
};

static enum cds_err exec(PGconn *conn, const char *sql, const char *what,
			 struct cds_error *err)
{
	PGresult *r = PQexec(conn, sql);
	enum cds_err rc = CDS_OK;

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(conn, r, what, err);
	PQclear(r);
	return rc;
}

/* A one-row, one-column query's integer (text result); -1 if no row. */
static enum cds_err query_int(PGconn *conn, const char *sql, long *out,
			      const char *what, struct cds_error *err)
{
	PGresult *r = PQexec(conn, sql);
	enum cds_err rc = CDS_OK;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(conn, r, what, err);
	else
		*out = PQntuples(r) ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
	PQclear(r);
	return rc;
}

/* Apply steps from+1..to and record the version; inside a transaction. */
static enum cds_err apply(PGconn *conn, int from, int to, struct cds_error *err)
{
	char sql[80], what[64];
	enum cds_err rc = CDS_OK;

	for (int v = from + 1; v <= to && !rc; v++) {
		snprintf(what, sizeof(what), "migrate the schema to version %d", v);
		rc = exec(conn, migrations[v - 1], what, err);
	}
	if (rc)
		return rc;
	snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", to);
	return exec(conn, sql, "record the schema version", err);
}

static enum cds_err insert_meta(PGconn *conn, unsigned prefix_bits,
				const uint8_t *admin_hash, struct cds_error *err)
{
	uint8_t id_key[CDS_IDPERM_KEY_BYTES];
	char bits[16], now[32];
	const char *val[4] = {bits, (const char *)admin_hash,
			      (const char *)id_key, now};
	const int len[4] = {0, CDS_TOKEN_HASH_BYTES, CDS_IDPERM_KEY_BYTES, 0};
	const int fmt[4] = {0, 1, 1, 0};
	enum cds_err rc = CDS_OK;
	PGresult *r;

	randombytes_buf(id_key, sizeof(id_key));
	snprintf(bits, sizeof(bits), "%u", prefix_bits);
	snprintf(now, sizeof(now), "%lld", (long long)cds_now_us());
	r = PQexecParams(conn,
			 "INSERT INTO meta (id, prefix_bits, admin_token_hash, "
			 "id_key, next_n, last_seq, created_us) VALUES "
			 "(1, $1::int4, $2::bytea, $3::bytea, 1, 0, $4::int8)",
			 4, NULL, val, len, fmt, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_fail(conn, r, "write the store settings", err);
	PQclear(r);
	sodium_memzero(id_key, sizeof(id_key));
	return rc;
}

/* Refuse a database whose schema "cds" already has tables. */
static enum cds_err check_empty(PGconn *conn, struct cds_error *err)
{
	long n = 0;
	enum cds_err rc;

	rc = query_int(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = '"
			     CDS_PG_SCHEMA "'", &n, "inspect the database", err);
	if (!rc && n > 0)
		rc = cds_fail(err, CDS_ERR_EXISTS,
			      "database %s already holds a cds store (schema "
			      "'" CDS_PG_SCHEMA "' has tables)", PQdb(conn));
	return rc;
}

static enum cds_err create_tx(PGconn *conn, int version, unsigned prefix_bits,
			      const uint8_t *admin_hash, struct cds_error *err)
{
	enum cds_err rc;

	rc = exec(conn, "SELECT pg_advisory_xact_lock(" CREATE_LOCK ")",
		  "lock the database to create a store", err);
	if (!rc)
		rc = check_empty(conn, err);
	if (!rc)
		rc = exec(conn, "CREATE SCHEMA IF NOT EXISTS " CDS_PG_SCHEMA ";"
				"CREATE TABLE schema_version (version integer NOT NULL);"
				"INSERT INTO schema_version VALUES (0)",
			  "create the schema", err);
	if (!rc)
		rc = apply(conn, 0, version, err);
	if (!rc)
		rc = insert_meta(conn, prefix_bits, admin_hash, err);
	return rc;
}

enum cds_err pg_schema_create(PGconn *conn, int version, unsigned prefix_bits,
			      const uint8_t *admin_hash, struct cds_error *err)
{
	enum cds_err rc;

	if (version < 1 || version > CDS_PG_SCHEMA_VERSION)
		return cds_fail(err, CDS_ERR_INVALID,
				"no schema version %d (this program knows 1..%d)",
				version, CDS_PG_SCHEMA_VERSION);
	rc = exec(conn, "BEGIN", "begin creating the store", err);
	if (rc)
		return rc;
	rc = create_tx(conn, version, prefix_bits, admin_hash, err);
	if (!rc)
		return exec(conn, "COMMIT", "commit the new store", err);
	(void)exec(conn, "ROLLBACK", "roll back", NULL);
	return rc;
}

static enum cds_err read_version(PGconn *conn, const char *where, bool lock,
				 long *v, struct cds_error *err)
{
	enum cds_err rc;
	long exists = 0;

	rc = query_int(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = '"
			     CDS_PG_SCHEMA "' AND tablename = 'schema_version'",
		       &exists, "inspect the database", err);
	if (!rc && !exists)
		return cds_fail(err, CDS_ERR_NOT_FOUND,
				"no cds store in %s (run 'cdsctl init --store')",
				where);
	if (!rc)
		rc = query_int(conn, lock ? "SELECT version FROM schema_version "
					    "FOR UPDATE"
					  : "SELECT version FROM schema_version",
			       v, "read the schema version", err);
	if (!rc && *v < 1)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "%s is not a cds store (schema version %ld)", where,
			      *v);
	if (!rc && *v > CDS_PG_SCHEMA_VERSION)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "store %s has schema version %ld, newer than this "
			      "program's %d: upgrade cds",
			      where, *v, CDS_PG_SCHEMA_VERSION);
	return rc;
}

enum cds_err pg_schema_migrate(struct pg_store *s, struct cds_error *err)
{
	enum cds_err rc;
	long v = 0;

	rc = read_version(s->conn, s->where, false, &v, err);
	if (rc || v == CDS_PG_SCHEMA_VERSION)
		return rc;
	rc = exec(s->conn, "BEGIN", "lock the store to migrate it", err);
	if (rc)
		return rc;
	/* Someone else may have migrated while we waited for the lock. */
	rc = read_version(s->conn, s->where, true, &v, err);
	if (!rc && v < CDS_PG_SCHEMA_VERSION)
		rc = apply(s->conn, (int)v, CDS_PG_SCHEMA_VERSION, err);
	if (!rc)
		return exec(s->conn, "COMMIT", "commit the schema migration", err);
	(void)exec(s->conn, "ROLLBACK", "roll back", NULL);
	return rc;
}

/*
 * Drop every table and function of the schema "cds" (the undo of a create
 * that could not be recorded in DIR, and a fresh start for tests).  The schema itself
 * stays: an operator may have created it for us with the rights we need.
 */
void cds_pg_remove(const char *url)
{
	PGconn *conn = NULL;

	if (pg_connect(&conn, url, NULL) != CDS_OK)
		return;
	(void)exec(conn,
		   "DO $$DECLARE t text; BEGIN FOR t IN SELECT tablename FROM "
		   "pg_tables WHERE schemaname = '" CDS_PG_SCHEMA "' LOOP "
		   "EXECUTE format('DROP TABLE IF EXISTS " CDS_PG_SCHEMA
		   ".%I CASCADE', t); END LOOP; "
		   "DROP FUNCTION IF EXISTS " CDS_PG_SCHEMA ".rate_charge; "
		   "DROP FUNCTION IF EXISTS " CDS_PG_SCHEMA ".notify_changes; "
		   "DROP FUNCTION IF EXISTS " CDS_PG_SCHEMA ".tstore_append_only; "
		   "END$$",
		   "remove the store", NULL);
	PQfinish(conn);
}
