/*
 * ledger_pg.c: the ledger's PostgreSQL backend (ledger_impl.h), in the
 * database DIR/store.conf names, schema "cds" beside the store and the
 * query log:
 *
 *   legal_version(version)            1
 *   ledger(seq, time_us, order_id, scope_type, scope_value,
 *                time_window, record_count, export_sha256, prev_hash,
 *                entry_hash)          the entries, as in SQLite
 *   ledger_head(id = 1, seq, entry_hash)
 *
 * Invariants:
 *  1. An append is one transaction under an advisory lock: the last entry
 *     is read after the lock is taken, so appends from two hosts never
 *     take the same seq; PostgreSQL's commit makes it durable before the
 *     export is released.
 *  2. A trigger refuses UPDATE and DELETE on ledger (accidents; the
 *     chain guards against intent).
 *  3. Opened without create, nothing is made: no tables is a missing
 *     ledger (CDS_ERR_NOT_FOUND).
 */
#include "legal/ledger_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h" /* pg_connect, pg_fail */

#define LEDGER_LOCK "hashtext('cds.ledger')"
#define LEDGER_PG_VERSION 1

static const char schema_sql[] =
	"CREATE SCHEMA IF NOT EXISTS " CDS_PG_SCHEMA ";"
	"CREATE TABLE IF NOT EXISTS legal_version (version integer NOT NULL);"
	"INSERT INTO legal_version SELECT 1"
	" WHERE NOT EXISTS (SELECT 1 FROM legal_version);"
	"CREATE TABLE IF NOT EXISTS ledger ("
	" seq bigint PRIMARY KEY, time_us bigint NOT NULL,"
	" order_id text NOT NULL, scope_type text NOT NULL,"
	" scope_value text NOT NULL, time_window text NOT NULL,"
	" record_count bigint NOT NULL, export_sha256 text NOT NULL,"
	" prev_hash text NOT NULL, entry_hash text NOT NULL);"
	"CREATE TABLE IF NOT EXISTS ledger_head ("
	" id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL,"
	" entry_hash text NOT NULL);"
	"CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger"
	" LANGUAGE plpgsql AS $$ BEGIN"
	" RAISE EXCEPTION 'the ledger is append-only'; END $$;"
	"DROP TRIGGER IF EXISTS ledger_no_change ON ledger;"
	"CREATE TRIGGER ledger_no_change BEFORE UPDATE OR DELETE"
	" ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only()";

struct pg_ledger {
	struct cds_ledger base; /* first */
	PGconn *conn;
};

static inline struct pg_ledger *pgl_of(struct cds_ledger *l)
{
	return (struct pg_ledger *)l;
}

static enum cds_err fail(struct pg_ledger *l, const PGresult *r,
			 const char *what, struct cds_error *err)
{
	struct cds_error e;
	enum cds_err rc = pg_fail(l->conn, r, what, &e);

	return cds_fail(err, rc, "ledger %s: %s", l->base.where,
			strncmp(e.msg, "store: ", 7) ? e.msg : e.msg + 7);
}

/* Run sql with text parameters; the result, or NULL with err filled. */
static PGresult *run(struct pg_ledger *l, const char *sql, int n,
		     const char *const *v, const char *what,
		     struct cds_error *err)
{
	PGresult *r = PQexecParams(l->conn, sql, n, NULL, v, NULL, NULL, 0);

	if (PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	fail(l, r, what, err);
	PQclear(r);
	return NULL;
}

/* Run SQL text (several statements allowed) with no parameters. */
static enum cds_err exec(struct pg_ledger *l, const char *sql,
			 const char *what, struct cds_error *err)
{
	PGresult *r = PQexec(l->conn, sql);
	enum cds_err rc = CDS_OK;

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = fail(l, r, what, err);
	PQclear(r);
	return rc;
}

/* The schema's version, 0 if the ledger's tables are not there. */
static enum cds_err version(struct pg_ledger *l, int *v, struct cds_error *err)
{
	PGresult *r = run(l, "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
			     " ON n.oid = c.relnamespace WHERE n.nspname = '"
			     CDS_PG_SCHEMA "' AND c.relname = 'legal_version'",
			  0, NULL, "open", err);

	*v = 0;
	if (!r)
		return CDS_ERR_STORE;
	*v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*v)
		return CDS_OK;
	r = run(l, "SELECT coalesce(max(version), 0) FROM legal_version", 0,
		NULL, "open", err);
	if (!r)
		return CDS_ERR_STORE;
	*v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return CDS_OK;
}

static enum cds_err create_schema(struct pg_ledger *l, struct cds_error *err)
{
	enum cds_err rc = exec(l, "BEGIN; SELECT pg_advisory_xact_lock("
				  LEDGER_LOCK ")", "lock", err);

	rc = rc ? rc : exec(l, schema_sql, "create schema", err);
	rc = rc ? rc : exec(l, "COMMIT", "create schema", err);
	if (rc)
		PQclear(PQexec(l->conn, "ROLLBACK"));
	return rc;
}

static enum cds_err setup(struct pg_ledger *l, bool create,
			  struct cds_error *err)
{
	enum cds_err rc;
	int v = 0;

	rc = version(l, &v, err);
	if (!rc && v == 0 && create && !(rc = create_schema(l, err)))
		rc = version(l, &v, err);
	if (rc)
		return rc;
	if (v == 0)
		return cds_fail(err, CDS_ERR_NOT_FOUND, "ledger %s: no ledger",
				l->base.where);
	if (v > LEDGER_PG_VERSION)
		return cds_fail(err, CDS_ERR_STORE,
				"ledger %s: schema version %d is newer than this "
				"program", l->base.where, v);
	return CDS_OK;
}

static const struct ledger_ops pg_ops;

enum cds_err ledger_pg_open(struct cds_ledger **out, const char *url,
			    bool create, struct cds_error *err)
{
	struct pg_ledger *l = calloc(1, sizeof(*l));
	struct cds_error e;
	enum cds_err rc;

	*out = NULL;
	if (!l)
		return cds_fail(err, CDS_ERR_NOMEM, "ledger: out of memory");
	l->base.ops = &pg_ops;
	rc = pg_connect(&l->conn, url, &e);
	if (rc) {
		free(l);
		return cds_fail(err, rc, "ledger: %s",
				strncmp(e.msg, "store: ", 7) ? e.msg : e.msg + 7);
	}
	snprintf(l->base.where, sizeof(l->base.where),
		 "postgresql://%s:%s/%s (ledger)", PQhost(l->conn),
		 PQport(l->conn), PQdb(l->conn));
	rc = setup(l, create, err);
	if (rc) {
		cds_ledger_close(&l->base);
		return rc;
	}
	*out = &l->base;
	return CDS_OK;
}

static void pgl_close(struct cds_ledger *base)
{
	struct pg_ledger *l = pgl_of(base);

	PQfinish(l->conn);
	free(l);
}

/* The (seq, hash) row sql selects; 0 and zeros if it has none. */
static enum cds_err seq_hash(struct pg_ledger *l, const char *sql,
			     uint64_t *seq, char hash[CDS_LEDGER_HASH_HEX_BYTES],
			     struct cds_error *err)
{
	PGresult *r = run(l, sql, 0, NULL, "read", err);

	*seq = 0;
	memcpy(hash, cds_ledger_zero_hash, CDS_LEDGER_HASH_HEX_BYTES);
	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) == 1) {
		*seq = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		snprintf(hash, CDS_LEDGER_HASH_HEX_BYTES, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return CDS_OK;
}

/* The last entry's seq and hash (0 and zeros for an empty ledger). */
static enum cds_err last_entry(struct pg_ledger *l, uint64_t *seq,
			       char hash[CDS_LEDGER_HASH_HEX_BYTES],
			       struct cds_error *err)
{
	return seq_hash(l, "SELECT seq, entry_hash FROM ledger ORDER BY seq DESC"
			   " LIMIT 1", seq, hash, err);
}

static enum cds_err insert_entry(struct pg_ledger *l,
				 const struct cds_ledger_entry *e,
				 struct cds_error *err)
{
	char a[3][24];
	const char *v[10];
	PGresult *r;

	snprintf(a[0], sizeof(a[0]), "%llu", (unsigned long long)e->seq);
	snprintf(a[1], sizeof(a[1]), "%lld", (long long)e->time_us);
	snprintf(a[2], sizeof(a[2]), "%llu", (unsigned long long)e->record_count);
	v[0] = a[0];
	v[1] = a[1];
	v[2] = e->order_id;
	v[3] = e->scope_type;
	v[4] = e->scope_value;
	v[5] = e->window;
	v[6] = a[2];
	v[7] = e->export_sha256;
	v[8] = e->prev_hash;
	v[9] = e->entry_hash;
	r = run(l, "INSERT INTO ledger (seq, time_us, order_id, scope_type,"
		   " scope_value, time_window, record_count, export_sha256,"
		   " prev_hash, entry_hash) VALUES ($1::bigint, $2::bigint, $3,"
		   " $4, $5, $6, $7::bigint, $8, $9, $10)", 10, v, "append", err);
	if (!r)
		return CDS_ERR_STORE;
	PQclear(r);
	v[1] = e->entry_hash;
	r = run(l, "INSERT INTO ledger_head (id, seq, entry_hash)"
		   " VALUES (1, $1::bigint, $2) ON CONFLICT (id) DO UPDATE"
		   " SET seq = excluded.seq, entry_hash = excluded.entry_hash",
		2, v, "append", err);
	PQclear(r);
	return r ? CDS_OK : CDS_ERR_STORE;
}

static enum cds_err pgl_append(struct cds_ledger *base,
			       struct cds_ledger_entry *e, struct cds_error *err)
{
	struct pg_ledger *l = pgl_of(base);
	char last[CDS_LEDGER_HASH_HEX_BYTES];
	uint64_t seq;
	enum cds_err rc;

	rc = exec(l, "BEGIN; SELECT pg_advisory_xact_lock(" LEDGER_LOCK ")",
		  "begin", err);
	rc = rc ? rc : last_entry(l, &seq, last, err);
	if (!rc)
		ledger_chain(e, seq, last);
	rc = rc ? rc : insert_entry(l, e, err);
	rc = rc ? rc : exec(l, "COMMIT", "append", err);
	if (rc)
		PQclear(PQexec(l->conn, "ROLLBACK"));
	return rc;
}

static enum cds_err pgl_scan(struct cds_ledger *base, cds_ledger_entry_fn fn,
			     void *ctx, struct cds_error *err)
{
	struct pg_ledger *l = pgl_of(base);
	struct cds_ledger_entry e;
	PGresult *r;

	r = run(l, "SELECT seq, time_us, order_id, scope_type, scope_value,"
		   " time_window, record_count, export_sha256, prev_hash,"
		   " entry_hash FROM ledger ORDER BY seq", 0, NULL, "read",
		err);
	if (!r)
		return CDS_ERR_STORE;
	for (int i = 0; i < PQntuples(r); i++) {
		memset(&e, 0, sizeof(e));
		e.seq = strtoull(PQgetvalue(r, i, 0), NULL, 10);
		e.time_us = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		e.order_id = PQgetvalue(r, i, 2);
		e.scope_type = PQgetvalue(r, i, 3);
		e.scope_value = PQgetvalue(r, i, 4);
		e.window = PQgetvalue(r, i, 5);
		e.record_count = strtoull(PQgetvalue(r, i, 6), NULL, 10);
		snprintf(e.export_sha256, sizeof(e.export_sha256), "%s",
			 PQgetvalue(r, i, 7));
		snprintf(e.prev_hash, sizeof(e.prev_hash), "%s",
			 PQgetvalue(r, i, 8));
		snprintf(e.entry_hash, sizeof(e.entry_hash), "%s",
			 PQgetvalue(r, i, 9));
		if (fn(ctx, &e))
			break;
	}
	PQclear(r);
	return CDS_OK;
}

static enum cds_err pgl_head(struct cds_ledger *base, uint64_t *seq,
			     char hash[CDS_LEDGER_HASH_HEX_BYTES],
			     struct cds_error *err)
{
	return seq_hash(pgl_of(base), "SELECT seq, entry_hash FROM ledger_head"
				      " WHERE id = 1", seq, hash, err);
}

static enum cds_err pgl_hash_at(struct cds_ledger *base, uint64_t seq,
				char hash[CDS_LEDGER_HASH_HEX_BYTES],
				struct cds_error *err)
{
	struct pg_ledger *l = pgl_of(base);
	char a[24];
	const char *v[1] = {a};
	PGresult *r;
	enum cds_err rc = CDS_OK;

	snprintf(a, sizeof(a), "%llu", (unsigned long long)seq);
	r = run(l, "SELECT entry_hash FROM ledger WHERE seq = $1::bigint",
		1, v, "read", err);
	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) == 1)
		snprintf(hash, CDS_LEDGER_HASH_HEX_BYTES, "%s", PQgetvalue(r, 0, 0));
	else
		rc = CDS_ERR_NOT_FOUND;
	PQclear(r);
	return rc;
}

static const struct ledger_ops pg_ops = {
	.close = pgl_close,
	.append = pgl_append,
	.scan = pgl_scan,
	.head = pgl_head,
	.hash_at = pgl_hash_at,
};
