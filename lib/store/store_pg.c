/*
 * store_pg.c: the PostgreSQL backend's connection: connecting with the
 * session settings, the prepared-statement cache, statement arguments,
 * binary results, transactions, and opening, creating and removing a store.
 * The operations are in store_pg_read.c, store_pg_write.c and
 * store_pg_create.c; the schema in store_pg_schema.c.
 *
 * Settings, and why:
 *  - search_path = cds: every table is in the schema "cds" (store_pg.h
 *    invariant 3), so the SQL below names tables unqualified.
 *  - client_min_messages = warning and a silent notice processor: libpq
 *    would otherwise print NOTICEs on the caller's stderr.
 *  - results in binary format: ids, keys and hashes arrive as raw bytes,
 *    with no hex decoding per row of a scan.
 *
 * Invariant: a password never passes through here from DIR: the URL comes
 * from DIR/store.conf, which store_conf.c refuses to write or read with a
 * password in it; libpq finds the password itself (PGPASSFILE, a service
 * file, PGPASSWORD).
 */
#include "store/store_pg.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static const char *const sql_text[PG__COUNT] = {
	[PG_META_GET] = "SELECT prefix_bits::int8, admin_token_hash, id_key, "
			"last_seq FROM meta WHERE id = 1",
	[PG_META_LOCK] = "SELECT next_n, last_seq FROM meta WHERE id = 1 "
			 "FOR UPDATE",
	[PG_META_SET] = "UPDATE meta SET next_n = $1::int8, last_seq = $2::int8 "
			"WHERE id = 1",
	/* The id check is redundant with the permutation, and cheap. */
	[PG_ACCOUNT_GET] = "SELECT id, identity_key, token_hash FROM accounts "
			   "WHERE n = $1::int8 AND id = $2::bytea",
	/* What SQLite's ON DELETE CASCADE does (store_pg_schema.c: no FKs). */
	[PG_ACCOUNT_DELETE] = "WITH h AS (DELETE FROM handles WHERE account = "
			      "$1::int8), r AS (DELETE FROM ratelimit WHERE "
			      "account = $1::int8) DELETE FROM accounts "
			      "WHERE n = $1::int8",
	[PG_ACCOUNT_SET_KEY] = "UPDATE accounts SET identity_key = $2::bytea "
			       "WHERE n = $1::int8",
	[PG_HANDLE_ADD] = "INSERT INTO handles (handle, account) "
			  "VALUES ($1::text, $2::int8) "
			  "ON CONFLICT (handle) DO NOTHING",
	[PG_HANDLE_OWNER] = "SELECT account FROM handles WHERE handle = $1::text",
	[PG_HANDLE_REMOVE] = "DELETE FROM handles WHERE handle = $1::text "
			     "AND account = $2::int8",
	[PG_HANDLE_GET] = "SELECT a.id, a.identity_key, a.token_hash "
			  "FROM handles h JOIN accounts a ON a.n = h.account "
			  "WHERE h.handle = $1::text",
	[PG_ACCOUNT_HANDLES] = "SELECT handle FROM handles WHERE account = "
			       "$1::int8 ORDER BY handle",
	/* The positions (from 1) of the array's handles that are taken. */
	[PG_HANDLES_TAKEN] = "SELECT v.i FROM unnest($1::text[]) WITH ORDINALITY "
			     "AS v(h, i) JOIN handles ON handles.handle = v.h",
	[PG_CHANGE_ADD] = "INSERT INTO changes (seq, account, handle) "
			  "VALUES ($1::int8, $2::bytea, $3::text)",
	/* Numbered after $1 in handle order, as the SQLite backend logs them. */
	[PG_CHANGE_ALL_HANDLES] = "INSERT INTO changes (seq, account, handle) "
				  "SELECT $1::int8 + row_number() OVER "
				  "(ORDER BY handle), $2::bytea, handle "
				  "FROM handles WHERE account = $3::int8",
	[PG_CHANGES_SINCE] = "SELECT seq, account, handle FROM changes "
			     "WHERE seq > $1::int8 ORDER BY seq LIMIT $2::int8",
	[PG_RATE_LOAD] = "SELECT a.id, r.tokens, r.updated_us FROM ratelimit r "
			 "JOIN accounts a ON a.n = r.account",
	/*
	 * Many states at once, as arrays (hex ids, tokens, times, numbers):
	 * one round trip.  A state for an account deleted meanwhile is
	 * dropped; of one account given twice, the later state wins (one
	 * INSERT may not update a row twice).
	 */
	[PG_RATE_SAVE_MANY] = "INSERT INTO ratelimit (account, tokens, updated_us) "
			      "SELECT DISTINCT ON (a.n) a.n, v.tokens, v.updated_us "
			      "FROM unnest($1::text[], $2::float8[], $3::int8[], "
			      "$4::int8[]) WITH ORDINALITY "
			      "AS v(id, tokens, updated_us, n, i) "
			      "JOIN accounts a ON a.n = v.n AND a.id = "
			      "decode(v.id, 'hex') ORDER BY a.n, v.i DESC "
			      "ON CONFLICT (account) DO UPDATE SET "
			      "tokens = excluded.tokens, "
			      "updated_us = excluded.updated_us",
	/* One statement, one snapshot: the two counts agree. */
	[PG_COUNT] = "SELECT (SELECT count(*) FROM accounts), "
		     "(SELECT count(*) FROM handles)",
	[PG_CHANGES_FLOOR] = "SELECT coalesce(min(seq), 0) FROM changes",
	/* store_pg_keep.c: the newest row always stays. */
	[PG_CHANGES_PRUNE] = "DELETE FROM changes WHERE seq < $1::int8 AND "
			     "seq < (SELECT max(seq) FROM changes)",
	[PG_LEDGER_MARK_GET] = "SELECT entries, entry_hash FROM ledger_mark "
			       "WHERE id = 1",
	/* The mark only moves forward: an older head never overwrites it. */
	[PG_LEDGER_MARK_SET] = "INSERT INTO ledger_mark (id, entries, entry_hash) "
			       "VALUES (1, $1::int8, $2::bytea) ON CONFLICT (id) "
			       "DO UPDATE SET entries = excluded.entries, "
			       "entry_hash = excluded.entry_hash "
			       "WHERE excluded.entries > ledger_mark.entries",
	[PG_VERIFY_PRUNE] = "DELETE FROM verifications WHERE created_us < $1::int8",
	[PG_VERIFY_COUNT] = "SELECT count(*), min(created_us) FROM verifications "
			    "WHERE handle = $1::text AND created_us >= $2::int8",
	[PG_VERIFY_INSERT] = "INSERT INTO verifications (id, handle, code_hash, "
			     "created_us, expires_us) VALUES ($1::bytea, $2::text, "
			     "$3::bytea, $4::int8, $5::int8)",
	[PG_VERIFY_DROP] = "DELETE FROM verifications WHERE id = $1::bytea",
	/* Locked: a concurrent drop waits for the redeem to end. */
	[PG_VERIFY_GET] = "SELECT handle, code_hash, expires_us, "
			  "attempts::int8, state::int8 FROM verifications "
			  "WHERE id = $1::bytea FOR UPDATE",
	[PG_VERIFY_SET] = "UPDATE verifications SET attempts = $2::int4, "
			  "state = $3::int4 WHERE id = $1::bytea",
	[PG_SEALED_INSERT] = "INSERT INTO sealed (kind, id, created_us, box) "
			     "VALUES ($1::text, $2::int8, $3::int8, $4::bytea) "
			     "ON CONFLICT (kind, id) DO NOTHING",
	[PG_SEALED_UPSERT] = "INSERT INTO sealed (kind, id, created_us, box) "
			     "VALUES ($1::text, $2::int8, $3::int8, $4::bytea) "
			     "ON CONFLICT (kind, id) DO UPDATE SET "
			     "created_us = excluded.created_us, box = excluded.box",
	[PG_SEALED_LIST] = "SELECT id, created_us, box FROM sealed "
			   "WHERE kind = $1::text ORDER BY id DESC",
	[PG_SEALED_DELETE] = "DELETE FROM sealed WHERE kind = $1::text "
			     "AND id = $2::int8",
	[PG_RATE_CHARGE] = "SELECT charged::int4::int8, left_tokens FROM rate_charge("
			   "$1::int8, $2::float8, $3::float8, $4::float8, "
			   "$5::float8, $6::int8)",
	[PG_RATE_REFUND] = "UPDATE ratelimit SET tokens = least($3::float8, "
			   "tokens + $2::float8) WHERE account = $1::int8",
	[PG_TVERSION_MAX] = "SELECT coalesce(max(version), 0) FROM tversions",
	[PG_TVERSION_INSERT] = "INSERT INTO tversions (version, epoch, time_ms, "
			       "root, log_root, signature, seq) VALUES ($1::int8, "
			       "$2::int8, $3::int8, $4::bytea, $5::bytea, "
			       "$6::bytea, $7::int8)",
	[PG_TVERSION_LAST] = "SELECT version, epoch, time_ms, root, log_root, "
			     "signature, seq FROM tversions "
			     "ORDER BY version DESC LIMIT 1",
	/*
	 * The walks of tstore_pg.c read in pages: each statement takes the
	 * last row seen (the keyset) and the page's size last.
	 */
	[PG_TVERSIONS_AFTER] = "SELECT version, epoch, time_ms, root, log_root, "
			       "signature, seq FROM tversions WHERE version > "
			       "$1::int8 ORDER BY version LIMIT $2::int8",
	[PG_TEPOCH_FIRST] = "SELECT min(version) FROM tversions "
			    "WHERE epoch = $1::int8",
	[PG_TCHANGES] = "SELECT version, prefix, removed, added FROM tchanges "
			"WHERE version = $1::int8 AND prefix > $2::int8 "
			"ORDER BY prefix LIMIT $3::int8",
	[PG_THISTORY] = "SELECT version, prefix, removed, added FROM tchanges "
			"WHERE epoch = $1::int8 AND prefix = $2::int8 AND "
			"version > $3::int8 ORDER BY version LIMIT $4::int8",
	[PG_TEPOCH_CHANGES] = "SELECT version, prefix, removed, added FROM tchanges "
			      "WHERE epoch = $1::int8 AND version <= $2::int8 AND "
			      "(version, prefix) > ($3::int8, $4::int8) "
			      "ORDER BY version, prefix LIMIT $5::int8",
	[PG_TSEAL_TRY] = "SELECT pg_try_advisory_lock(" CDS_PG_TSEAL_LOCK
			 ")::int4::int8",
};

static const char session_sql[] =
	"SET search_path = " CDS_PG_SCHEMA "; SET client_min_messages = warning";

void pg_arg_bytes(struct pg_args *a, const void *p, size_t len)
{
	a->val[a->n] = p;
	a->len[a->n] = (int)len;
	a->fmt[a->n++] = 1;
}

void pg_arg_text(struct pg_args *a, const char *s)
{
	a->val[a->n] = s;
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

void pg_arg_i64(struct pg_args *a, int64_t v)
{
	snprintf(a->num[a->n], sizeof(a->num[a->n]), "%lld", (long long)v);
	pg_arg_text(a, a->num[a->n]);
}

/* %.17g: the text reads back as the same double. */
void pg_arg_f64(struct pg_args *a, double v)
{
	snprintf(a->num[a->n], sizeof(a->num[a->n]), "%.17g", v);
	pg_arg_text(a, a->num[a->n]);
}

const char *pg_sqlstate(const PGresult *res)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return st ? st : "";
}

/* The first line of a libpq message, without its newline. */
static const char *first_line(const char *msg, int *len)
{
	*len = (int)strcspn(msg, "\n");
	return msg;
}

enum cds_err pg_fail(PGconn *conn, const PGresult *res, const char *what,
		     struct cds_error *err)
{
	const char *state = pg_sqlstate(res), *msg = NULL;
	enum cds_err code = CDS_ERR_STORE;
	int len;

	if (res)
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!msg)
		msg = conn ? PQerrorMessage(conn) : "no connection";
	if (!strcmp(state, "40001") || !strcmp(state, "40P01") ||
	    !strcmp(state, "55P03") || !strcmp(state, "53300"))
		code = CDS_ERR_BUSY;
	else if (!strcmp(state, "53100"))
		code = CDS_ERR_FULL;
	else if (!strcmp(state, "53200"))
		code = CDS_ERR_NOMEM;
	first_line(msg, &len);
	return cds_fail(err, code, "store: cannot %s: %.*s", what, len, msg);
}

int64_t pg_col_i64(const PGresult *r, int row, int col)
{
	uint64_t v = 0;

	if (PQgetlength(r, row, col) == 8)
		memcpy(&v, PQgetvalue(r, row, col), 8);
	return (int64_t)be64toh(v);
}

double pg_col_f64(const PGresult *r, int row, int col)
{
	uint64_t v = (uint64_t)pg_col_i64(r, row, col);
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

enum cds_err pg_read_account(const PGresult *r, int row, int c,
			     struct cds_account *out, struct cds_error *err)
{
	if (PQgetlength(r, row, c) != CDS_ACCOUNT_ID_BYTES ||
	    PQgetlength(r, row, c + 1) != CDS_IDENTITY_KEY_BYTES ||
	    PQgetlength(r, row, c + 2) != CDS_TOKEN_HASH_BYTES)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"store: account row with a field of the wrong size");
	memcpy(out->id, PQgetvalue(r, row, c), CDS_ACCOUNT_ID_BYTES);
	memcpy(out->identity_key, PQgetvalue(r, row, c + 1),
	       CDS_IDENTITY_KEY_BYTES);
	memcpy(out->token_hash, PQgetvalue(r, row, c + 2), CDS_TOKEN_HASH_BYTES);
	return CDS_OK;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static enum cds_err session_setup(PGconn *conn, struct cds_error *err)
{
	PGresult *r;
	enum cds_err rc = CDS_OK;

	PQsetNoticeProcessor(conn, quiet, NULL);
	r = PQexec(conn, session_sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_fail(conn, r, "set up the session", err);
	PQclear(r);
	return rc;
}

enum cds_err pg_connect(PGconn **out, const char *url, struct cds_error *err)
{
	PGconn *conn = PQconnectdb(url);
	enum cds_err rc;
	int len;

	*out = NULL;
	if (!conn)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory connecting");
	if (PQstatus(conn) != CONNECTION_OK) {
		const char *msg = first_line(PQerrorMessage(conn), &len);

		rc = cds_fail(err, CDS_ERR_STORE,
			      "store: cannot connect to '%.120s': %.*s", url, len,
			      msg);
		PQfinish(conn);
		return rc;
	}
	rc = session_setup(conn, err);
	if (rc) {
		PQfinish(conn);
		return rc;
	}
	*out = conn;
	return CDS_OK;
}

/*
 * store_pg.h invariant 4: outside a transaction, a broken connection is
 * reset, so that a server restart costs one failed call at most.
 */
static void revive(struct pg_store *s)
{
	if (s->in_txn || PQstatus(s->conn) == CONNECTION_OK)
		return;
	PQreset(s->conn);
	memset(s->prepared, 0, sizeof(s->prepared));
	if (PQstatus(s->conn) == CONNECTION_OK)
		(void)session_setup(s->conn, NULL);
}

static enum cds_err prepare(struct pg_store *s, enum pg_stmt_id id,
			    struct cds_error *err)
{
	char name[16];
	PGresult *r;
	enum cds_err rc = CDS_OK;

	if (s->prepared[id])
		return CDS_OK;
	snprintf(name, sizeof(name), "cds%d", (int)id);
	r = PQprepare(s->conn, name, sql_text[id], 0, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_fail(s->conn, r, "prepare a statement", err);
	else
		s->prepared[id] = true;
	PQclear(r);
	return rc;
}

PGresult *pg_run(struct pg_store *s, enum pg_stmt_id id,
		 const struct pg_args *a, const char *what,
		 struct cds_error *err)
{
	static const struct pg_args none = {.n = 0};
	char name[16];
	PGresult *r;

	revive(s);
	if (prepare(s, id, err))
		return NULL;
	if (!a)
		a = &none;
	snprintf(name, sizeof(name), "cds%d", (int)id);
	r = PQexecPrepared(s->conn, name, a->n, a->val, a->len, a->fmt, 1);
	if (PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	pg_fail(s->conn, r, what, err);
	PQclear(r);
	return NULL;
}

enum cds_err pg_exec(struct pg_store *s, const char *sql, const char *what,
		     struct cds_error *err)
{
	PGresult *r;
	enum cds_err rc = CDS_OK;

	revive(s);
	r = PQexec(s->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(s->conn, r, what, err);
	PQclear(r);
	return rc;
}

enum cds_err pg_begin_read(struct pg_store *s, struct cds_error *err)
{
	enum cds_err rc = pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ "
				     "READ ONLY", "begin a read transaction", err);

	s->in_txn = rc == CDS_OK;
	return rc;
}

enum cds_err pg_begin_write(struct pg_store *s, struct cds_error *err)
{
	PGresult *r;
	enum cds_err rc;

	rc = pg_exec(s, "BEGIN", "begin a write transaction", err);
	if (rc)
		return rc;
	s->in_txn = true;
	r = pg_run(s, PG_META_LOCK, NULL, "lock the store for writing", err);
	if (r && PQntuples(r) != 1)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "store %s has no settings row (damaged store?)",
			      s->where);
	else if (!r)
		rc = CDS_ERR_STORE;
	if (!rc) {
		s->next_n = s->next_n0 = pg_col_i64(r, 0, 0);
		s->seq = s->seq0 = pg_col_i64(r, 0, 1);
	}
	PQclear(r);
	return rc ? pg_end(s, rc, err) : CDS_OK;
}

enum cds_err pg_end(struct pg_store *s, enum cds_err rc, struct cds_error *err)
{
	/* A COMMIT of a failed transaction "succeeds" as a ROLLBACK. */
	if (rc == CDS_OK && PQtransactionStatus(s->conn) != PQTRANS_INTRANS)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "store: transaction failed: %s", s->where);
	if (rc == CDS_OK)
		rc = pg_exec(s, "COMMIT", "commit", err);
	else
		(void)pg_exec(s, "ROLLBACK", "roll back", NULL);
	s->in_txn = false;
	return rc;
}

enum cds_err pg_end_write(struct pg_store *s, enum cds_err rc,
			  struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	PGresult *r;

	if (!rc && (s->next_n != s->next_n0 || s->seq != s->seq0)) {
		pg_arg_i64(&a, s->next_n);
		pg_arg_i64(&a, s->seq);
		r = pg_run(s, PG_META_SET, &a, "record the store's counters", err);
		rc = r ? CDS_OK : CDS_ERR_STORE;
		PQclear(r);
	}
	return pg_end(s, rc, err);
}

bool pg_account_number(struct pg_store *s, const uint8_t *id, int64_t *n)
{
	uint64_t v;

	if (!cds_idperm_number(&v, s->id_key, id) || v == 0 || v > INT64_MAX)
		return false;
	*n = (int64_t)v;
	return true;
}

enum cds_err pg_log_change(struct pg_store *s, const uint8_t *id,
			   const char *handle, struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	PGresult *r;

	pg_arg_i64(&a, ++s->seq);
	pg_arg_bytes(&a, id, CDS_ACCOUNT_ID_BYTES);
	pg_arg_text(&a, handle);
	r = pg_run(s, PG_CHANGE_ADD, &a, "append to the change log", err);
	PQclear(r);
	return r ? CDS_OK : CDS_ERR_STORE;
}

/* Read the id key once: it never changes after the store is created. */
static enum cds_err load_id_key(struct pg_store *s, struct cds_error *err)
{
	PGresult *r = pg_run(s, PG_META_GET, NULL, "read the store settings", err);
	enum cds_err rc = CDS_OK;

	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) == 1 && PQgetlength(r, 0, 2) == CDS_IDPERM_KEY_BYTES)
		memcpy(s->id_key, PQgetvalue(r, 0, 2), CDS_IDPERM_KEY_BYTES);
	else
		rc = cds_fail(err, CDS_ERR_STORE,
			      "store %s has no valid settings row (damaged store?)",
			      s->where);
	PQclear(r);
	return rc;
}

static void pg_close(struct cds_store *base)
{
	struct pg_store *s = pg_of(base);

	PQfinish(s->conn);
	sodium_memzero(s->id_key, sizeof(s->id_key));
	free(s);
}

static const struct cds_store_ops pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.prefix_bits = pg_prefix_bits,
	.admin_hash = pg_admin_hash,
	.accounts_create = pg_accounts_create,
	.account_get = pg_account_get,
	.account_delete = pg_account_delete,
	.account_set_key = pg_account_set_key,
	.handles_update = pg_handles_update,
	.account_handles = pg_account_handles,
	.handle_get = pg_handle_get,
	.handles_taken = pg_handles_taken,
	.scan = pg_scan,
	.scan_accounts = pg_scan_accounts,
	.changes = pg_changes,
	.rate_load = pg_rate_load,
	.rate_save = pg_rate_save,
	.count = pg_count,
	.ledger_mark_get = pg_ledger_mark_get,
	.ledger_mark_set = pg_ledger_mark_set,
	.changes_floor = pg_changes_floor,
	.changes_prune = pg_changes_prune,
	.verify_create = pg_verify_create,
	.verify_drop = pg_verify_drop,
	.verify_redeem = pg_verify_redeem,
	.sealed_put = pg_sealed_put,
	.sealed_list = pg_sealed_list,
	.sealed_delete = pg_sealed_delete,
	.rate_charge = pg_rate_charge,
	.rate_refund = pg_rate_refund,
	.changes_listen = pg_changes_listen,
	.wait_changes = pg_wait_changes,
	.tversion_append = pg_tversion_append,
	.tversion_last = pg_tversion_last,
	.tversions = pg_tversions,
	.tepoch_first = pg_tepoch_first,
	.tchanges = pg_tchanges,
	.thistory = pg_thistory,
	.tepoch_changes = pg_tepoch_changes,
	.tseal_try = pg_tseal_try,
};

enum cds_err cds_pg_open(struct cds_store **out, const char *url,
			 struct cds_error *err)
{
	struct pg_store *s;
	enum cds_err rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory opening the store");
	s->base.ops = &pg_ops;
	rc = pg_connect(&s->conn, url, err);
	if (!rc) {
		snprintf(s->where, sizeof(s->where), "postgresql://%s:%s/%s",
			 PQhost(s->conn), PQport(s->conn), PQdb(s->conn));
		rc = pg_schema_migrate(s, err);
	}
	if (!rc)
		rc = load_id_key(s, err);
	if (rc) {
		pg_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return CDS_OK;
}

static enum cds_err create_at(const char *url, unsigned prefix_bits,
			      const uint8_t *admin_hash, int version,
			      struct cds_error *err)
{
	PGconn *conn = NULL;
	enum cds_err rc;

	rc = pg_connect(&conn, url, err);
	if (!rc)
		rc = pg_schema_create(conn, version, prefix_bits, admin_hash, err);
	PQfinish(conn);
	return rc;
}

enum cds_err cds_pg_create(const char *url, unsigned prefix_bits,
			   const uint8_t admin_hash[static CDS_TOKEN_HASH_BYTES],
			   struct cds_error *err)
{
	return create_at(url, prefix_bits, admin_hash, CDS_PG_SCHEMA_VERSION, err);
}

enum cds_err cds_pg_create_version(const char *url, unsigned prefix_bits,
				   int version, struct cds_error *err)
{
	uint8_t hash[CDS_TOKEN_HASH_BYTES];

	randombytes_buf(hash, sizeof(hash));
	return create_at(url, prefix_bits, hash, version, err);
}
