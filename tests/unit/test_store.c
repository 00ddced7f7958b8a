/*
 * test_store.c: the directory store (lib/store/store.h): create/open, the
 * store URL and DIR/store.conf, schema migration, accounts and tokens,
 * handles, identity keys, deletion, the change log (store.h invariant 2),
 * scans, rate-limit state, counts, and a reader and a writer on two
 * connections.  Every test runs on SQLite, and again on PostgreSQL in the
 * store_pg run (storetest.h); migration has one test per backend, since it
 * reaches into each database's own schema.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "core/codec.h"
#include "core/timeutil.h"
#include "store/idperm.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_sqlite.h"
#include "store/verify.h"
#include "store/shared.h"
#include "storetest.h"

struct fx {
	char *dir;
	struct cds_store *s;
	struct cds_error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = tmpdir_new();
	cds_error_clear(&f->err);
	if (storetest_create(f->dir, 10, &f->err) ||
	    cds_store_open(&f->s, f->dir, &f->err)) {
		fprintf(stderr, "setup: %s\n", f->err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	cds_store_close(f->s);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* Create one account with the given handles (NULL-terminated list). */
static struct cds_new_account mk(struct fx *f, const char *h1, const char *h2)
{
	const char *hs[2] = {h1, h2};
	struct cds_new_account a = {0};

	randombytes_buf(a.identity_key, sizeof(a.identity_key));
	a.handles = hs;
	a.n_handles = h2 ? 2 : h1 ? 1 : 0;
	assert_int_equal(cds_store_accounts_create(f->s, &a, 1, &f->err), CDS_OK);
	a.handles = NULL;
	return a;
}

static int no_account(void *ctx, const struct cds_account *acct)
{
	(void)ctx;
	(void)acct;
	return 0;
}

/* The last change sequence, as a scan reports it. */
static uint64_t last_seq(struct fx *f)
{
	uint64_t seq = 0;

	assert_int_equal(cds_store_scan_accounts(f->s, no_account, NULL, &seq,
						 &f->err), CDS_OK);
	return seq;
}

static void counts(struct fx *f, uint64_t accounts, uint64_t handles)
{
	uint64_t a = 99, h = 99;

	assert_int_equal(cds_store_count(f->s, &a, &h, &f->err), CDS_OK);
	assert_int_equal(a, accounts);
	assert_int_equal(h, handles);
}

static void test_create_open(void **state)
{
	struct fx *f = *state;
	struct cds_store *s2 = NULL;
	char token[CDS_TOKEN_MAX_BYTES] = {0};
	unsigned bits = 0;
	struct stat st;
	FILE *tf;
	char *empty = tmpdir_new();

	assert_int_equal(cds_store_prefix_bits(f->s, &bits, &f->err), CDS_OK);
	assert_int_equal(bits, 10);
	counts(f, 0, 0);
	assert_int_equal(cds_store_create(f->dir, 10, &f->err), CDS_ERR_EXISTS);
	assert_int_equal(cds_store_create(empty, 25, &f->err), CDS_ERR_INVALID);
	assert_int_equal(cds_store_open(&s2, empty, &f->err), CDS_ERR_NOT_FOUND);
	assert_non_null(strstr(f->err.msg, "cdsctl"));
	assert_null(s2);
	assert_int_equal(cds_store_open(&s2, "/nonexistent/cds", &f->err),
			 CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_store_create("/nonexistent/cds", 3, &f->err),
			 CDS_ERR_NOT_FOUND);

	/* The database (or the file naming it) and the admin token are
	 * private to the owner. */
	assert_int_equal(stat(tmpdir_path(f->dir, "admin.token"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(tmpdir_path(f->dir, storetest_pg() ? "store.conf"
							      : "cds.sqlite3"),
			      &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(tmpdir_path(f->dir, storetest_pg() ? "cds.sqlite3"
							      : "store.conf"),
			      &st), -1);

	/* The admin token checks; a changed one does not. */
	tf = fopen(tmpdir_path(f->dir, "admin.token"), "r");
	assert_non_null(tf);
	assert_non_null(fgets(token, sizeof(token), tf));
	fclose(tf);
	token[strcspn(token, "\n")] = '\0';
	assert_int_equal(strncmp(token, "admin.", 6), 0);
	assert_int_equal(strlen(token), 6 + 43);
	assert_int_equal(cds_store_check_admin(f->s, token, &f->err), CDS_OK);
	token[10] = token[10] == 'A' ? 'B' : 'A';
	assert_int_equal(cds_store_check_admin(f->s, token, &f->err), CDS_ERR_AUTH);
	assert_int_equal(cds_store_check_admin(f->s, "admin.", &f->err),
			 CDS_ERR_AUTH);
	assert_int_equal(cds_store_check_admin(f->s, "", &f->err), CDS_ERR_AUTH);

	/* A second connection sees the same store; a reopen too. */
	assert_int_equal(cds_store_open(&s2, f->dir, &f->err), CDS_OK);
	assert_int_equal(cds_store_prefix_bits(s2, &bits, &f->err), CDS_OK);
	assert_int_equal(bits, 10);
	cds_store_close(s2);
	cds_store_close(NULL);
	tmpdir_free(empty);
}

struct rate_ctx {
	struct cds_rate_state got[4];
	int n;
};

static int collect_rate(void *ctx, const struct cds_rate_state *st)
{
	struct rate_ctx *r = ctx;

	assert_true(r->n < 4);
	r->got[r->n++] = *st;
	return 0;
}

static int user_version(const char *dir)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;

	assert_int_equal(sqlite3_open(tmpdir_path(dir, "cds.sqlite3"), &db),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
					    NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void raw_exec(const char *dir, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(tmpdir_path(dir, "cds.sqlite3"), &db),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_migration_sqlite(void **state)
{
	struct fx *f = *state;
	char *dir = tmpdir_new();
	struct cds_store *s = NULL;
	struct cds_account acct;
	struct cds_rate_state rs = {.tokens = 5, .updated_us = 7};
	uint8_t id[16];
	unsigned bits = 0;

	/* A version-1 store with one account in it, as an old cds left it. */
	assert_int_equal(cds_sqlite_create_version(dir, 12, 1, &f->err), CDS_OK);
	assert_int_equal(user_version(dir), 1);
	raw_exec(dir, "INSERT INTO accounts VALUES (1, x'000102030405060708090a0b0c0d0e0f',"
		      " zeroblob(32), zeroblob(32), 1);"
		      "INSERT INTO handles VALUES ('tel:+15550001111', 1);");

	/* Opening migrates it to the current version, keeping the data. */
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_OK);
	assert_int_equal(user_version(dir), CDS_SQLITE_SCHEMA_VERSION);
	assert_int_equal(cds_store_prefix_bits(s, &bits, &f->err), CDS_OK);
	assert_int_equal(bits, 12);
	assert_int_equal(cds_store_handle_get(s, "tel:+15550001111", &acct, &f->err),
			 CDS_OK);
	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)i;
	assert_memory_equal(acct.id, id, 16);
	/* The v2 table works, for an account made after the migration (the
	 * hand-made one above has no id of this store's permutation). */
	const char *hs[] = {"tel:+15550002222"};
	struct cds_new_account a = {.handles = hs, .n_handles = 1};
	struct rate_ctx r = {0};

	assert_int_equal(cds_store_accounts_create(s, &a, 1, &f->err),
			 CDS_ERR_STORE); /* number 1 is taken by the raw row */
	raw_exec(dir, "UPDATE meta SET next_n = 2");
	assert_int_equal(cds_store_accounts_create(s, &a, 1, &f->err), CDS_OK);
	memcpy(rs.account, a.id, 16);
	assert_int_equal(cds_store_rate_save(s, &rs, 1, &f->err), CDS_OK);
	assert_int_equal(cds_store_rate_load(s, collect_rate, &r, &f->err), CDS_OK);
	assert_int_equal(r.n, 1);
	cds_store_close(s);
	/* Opening again is a no-op. */
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_OK);
	cds_store_close(s);

	/* A store from a newer program is refused. */
	raw_exec(dir, "PRAGMA user_version = 99");
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_ERR_STORE);
	assert_non_null(strstr(f->err.msg, "newer"));
	/* So is an SQLite file that is not a cds store. */
	raw_exec(dir, "PRAGMA user_version = 0");
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_ERR_STORE);
	assert_non_null(strstr(f->err.msg, "not a cds store"));
	assert_int_equal(cds_sqlite_create_version(f->dir, 1, 3, &f->err),
			 CDS_ERR_EXISTS);
	tmpdir_free(dir);
}

/* Run SQL on the test database (PostgreSQL runs only). */
static void pg_raw(const char *sql)
{
	PGconn *c = PQconnectdb(storetest_pg());
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("pg_raw: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* The integer a one-value query returns on the test database (-1: none). */
static int pg_int(const char *sql)
{
	PGconn *c = PQconnectdb(storetest_pg());
	PGresult *r = PQexec(c, sql);
	int v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

static int pg_version(void)
{
	return pg_int("SELECT version FROM cds.schema_version");
}

/* test_migration_sqlite's story, on PostgreSQL's schema_version. */
static void test_migration_pg(void **state)
{
	struct fx *f = *state;
	const char *url = storetest_pg();
	char *dir = tmpdir_new();
	struct cds_store *s = NULL;
	struct cds_account acct;
	struct cds_rate_state rs = {.tokens = 5, .updated_us = 7};
	const char *hs[] = {"tel:+15550002222"};
	struct cds_new_account a = {.handles = hs, .n_handles = 1};
	struct rate_ctx r = {0};
	struct cds_ledger_head mark = {.entries = 3}, got;
	struct cds_verification v = {.handle = "tel:+15550003333",
				     .created_us = 1, .expires_us = 2};
	uint32_t retry = 0;
	uint8_t id[16];
	unsigned bits = 0;

	/* A version-1 store with one account in it, as an old cds left it. */
	cds_store_close(f->s);
	f->s = NULL;
	cds_pg_remove(url);
	assert_int_equal(cds_pg_create_version(url, 12, 1, &f->err), CDS_OK);
	assert_int_equal(cds_store_conf_write(dir, url, &f->err), CDS_OK);
	assert_int_equal(pg_version(), 1);
	pg_raw("INSERT INTO cds.accounts VALUES (1, "
	       "'\\x000102030405060708090a0b0c0d0e0f', "
	       "decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'), 1);"
	       "INSERT INTO cds.handles VALUES ('tel:+15550001111', 1)");

	/* Opening migrates it to the current version, keeping the data. */
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_OK);
	assert_int_equal(pg_version(), CDS_PG_SCHEMA_VERSION);
	assert_int_equal(cds_store_prefix_bits(s, &bits, &f->err), CDS_OK);
	assert_int_equal(bits, 12);
	assert_int_equal(cds_store_handle_get(s, "tel:+15550001111", &acct, &f->err),
			 CDS_OK);
	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)i;
	assert_memory_equal(acct.id, id, 16);
	assert_int_equal(cds_store_accounts_create(s, &a, 1, &f->err),
			 CDS_ERR_STORE); /* number 1 is taken by the raw row */
	pg_raw("UPDATE cds.meta SET next_n = 2");
	assert_int_equal(cds_store_accounts_create(s, &a, 1, &f->err), CDS_OK);
	memcpy(rs.account, a.id, 16);
	assert_int_equal(cds_store_rate_save(s, &rs, 1, &f->err), CDS_OK);
	assert_int_equal(cds_store_rate_load(s, collect_rate, &r, &f->err), CDS_OK);
	assert_int_equal(r.n, 1);
	/* The tables of later versions: the ledger mark, verifications. */
	assert_int_equal(cds_store_ledger_mark_set(s, &mark, &f->err), CDS_OK);
	assert_int_equal(cds_store_ledger_mark_get(s, &got, &f->err), CDS_OK);
	assert_int_equal(got.entries, 3);
	assert_int_equal(cds_store_verify_create(s, &v, 1, 10, &retry, &f->err),
			 CDS_OK);
	assert_int_equal(cds_store_verify_create(s, &v, 1, 10, &retry, &f->err),
			 CDS_ERR_RATE);
	cds_store_close(s);
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_OK);
	cds_store_close(s);

	/* A store from a newer program is refused; so is a broken version. */
	pg_raw("UPDATE cds.schema_version SET version = 99");
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_ERR_STORE);
	assert_non_null(strstr(f->err.msg, "newer"));
	pg_raw("UPDATE cds.schema_version SET version = 0");
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_ERR_STORE);
	assert_non_null(strstr(f->err.msg, "not a cds store"));
	/* A database that holds a store is not created over. */
	assert_int_equal(cds_pg_create_version(url, 1, 2, &f->err),
			 CDS_ERR_EXISTS);
	/* A database without one: open says to run init. */
	cds_pg_remove(url);
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_ERR_NOT_FOUND);
	assert_non_null(strstr(f->err.msg, "cdsctl init"));
	tmpdir_free(dir);
}

static void test_migration(void **state)
{
	if (storetest_pg())
		test_migration_pg(state);
	else
		test_migration_sqlite(state);
}

/*
 * PostgreSQL only: a connection the server drops (a restart, an operator's
 * pg_terminate_backend) costs at most one failed call; the next one
 * reconnects, and a write after that works.
 */
static void test_pg_reconnect(void **state)
{
	struct fx *f = *state;
	uint64_t a = 0, h = 0;
	int failed = 0;

	if (!storetest_pg())
		skip();
	mk(f, "tel:+15551110001", NULL);
	pg_raw("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
	       "datname = current_database() AND pid <> pg_backend_pid()");
	/* Termination is asynchronous: wait until the backend is gone. */
	while (pg_int("SELECT count(*) FROM pg_stat_activity WHERE datname = "
		      "current_database() AND pid <> pg_backend_pid()") != 0)
		;
	for (int i = 0; i < 2; i++)
		failed += cds_store_count(f->s, &a, &h, &f->err) != CDS_OK;
	assert_int_equal(failed, 1); /* the first call finds the connection gone */
	assert_int_equal(cds_store_count(f->s, &a, &h, &f->err), CDS_OK);
	assert_int_equal(h, 1);
	mk(f, "tel:+15551110002", NULL);
	counts(f, 2, 2);
}

/*
 * The store URL: anything but sqlite or a libpq URI is refused, and so is a
 * URI with a password, at create and in an edited store.conf, without the
 * password in the message; nothing is left behind in DIR.
 */
static void test_store_url(void **state)
{
	static const char *const bad[] = {
		"mysql://db", "postgresql:/x", "", "sqlite3",
		"postgresql://cds:hunter2@127.0.0.1/db",
		"postgres://cds@127.0.0.1/db?password=hunter2",
		"postgresql://cds@127.0.0.1/db?sslmode=nonsense&password=hunter2",
	};
	struct fx *f = *state;
	char *dir = tmpdir_new();
	struct cds_store *s = NULL;
	struct stat st;
	FILE *conf;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cds_store_create_at(dir, 4, bad[i], &f->err),
				 CDS_ERR_INVALID);
		assert_null(strstr(f->err.msg, "hunter2"));
		if (strstr(bad[i], "hunter2") && !strstr(bad[i], "nonsense"))
			assert_non_null(strstr(f->err.msg, "PGPASSFILE"));
	}
	assert_int_equal(cds_store_url_check("postgresql://cds@127.0.0.1:5/db",
					     &f->err), CDS_OK);
	assert_int_equal(stat(tmpdir_path(dir, "admin.token"), &st), -1);
	assert_int_equal(stat(tmpdir_path(dir, "store.conf"), &st), -1);

	/* DIR already has a store (of either kind): refused. */
	assert_int_equal(cds_store_create_at(f->dir, 4, "sqlite", &f->err),
			 CDS_ERR_EXISTS);
	assert_int_equal(cds_store_create_at(f->dir, 4,
					     "postgresql://cds@127.0.0.1/db",
					     &f->err), CDS_ERR_EXISTS);

	/* A store.conf edited to hold a password is refused at open. */
	conf = fopen(tmpdir_path(dir, "store.conf"), "w");
	assert_non_null(conf);
	fputs("# edited\nstore=postgresql://cds:hunter2@127.0.0.1/db\n", conf);
	fclose(conf);
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_ERR_STORE);
	assert_non_null(strstr(f->err.msg, "password"));
	assert_null(strstr(f->err.msg, "hunter2"));
	conf = fopen(tmpdir_path(dir, "store.conf"), "w");
	fputs("url=postgresql://cds@127.0.0.1/db\n", conf);
	fclose(conf);
	assert_int_equal(cds_store_open(&s, dir, &f->err), CDS_ERR_STORE);
	assert_non_null(strstr(f->err.msg, "line 1"));
	assert_null(s);
	tmpdir_free(dir);
}

/* store.conf's text: comments, CRLF, exactly one store= line. */
static void test_store_conf_parse(void **state)
{
	static const struct {
		const char *text;
		const char *want; /* NULL: refused, the message naming... */
		const char *says;
	} cases[] = {
		{"store=postgresql://a@h/d\n", "postgresql://a@h/d", NULL},
		{"# c\r\n\r\nstore=postgres://h/d\r\n", "postgres://h/d", NULL},
		{"store=postgresql://h/d", "postgresql://h/d", NULL},
		{"", NULL, "no 'store=' line"},
		{"# only\n", NULL, "no 'store=' line"},
		{"store=postgresql://h/a\nstore=postgresql://h/b\n", NULL, "line 2"},
		{" store=postgresql://h/d\n", NULL, "line 1"},
		{"store=sqlite\n", NULL, "unknown store"},
		{"store=postgresql://u:pw@h/d\n", NULL, "password"},
	};
	char url[CDS_STORE_URL_MAX];
	struct cds_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum cds_err rc = cds_store_conf_parse(
			cases[i].text, strlen(cases[i].text), url, &err);

		if (cases[i].want) {
			assert_int_equal(rc, CDS_OK);
			assert_string_equal(url, cases[i].want);
		} else {
			assert_int_equal(rc, CDS_ERR_STORE);
			assert_non_null(strstr(err.msg, cases[i].says));
		}
	}
	/* A NUL byte inside the line is refused, not cut short. */
	assert_int_equal(cds_store_conf_parse("store=postgresql://h/d\0x\n", 25,
					      url, &err), CDS_ERR_STORE);
}

static void test_accounts_tokens(void **state)
{
	struct fx *f = *state;
	struct cds_new_account a = mk(f, "tel:+15551230001", "mailto:a@example.org");
	struct cds_new_account b = mk(f, "tel:+15551230002", NULL);
	struct cds_new_account c = mk(f, NULL, NULL);
	struct cds_account got;
	uint8_t id[16], h[32];
	char hex[33];

	assert_memory_not_equal(a.id, b.id, 16);
	cds_hex_encode(hex, a.id, 16);
	assert_int_equal(strlen(a.token), 32 + 1 + 43);
	assert_memory_equal(a.token, hex, 32);
	assert_int_equal(cds_token_account(id, a.token, &f->err), CDS_OK);
	assert_memory_equal(id, a.id, 16);

	assert_int_equal(cds_store_account_get(f->s, a.id, &got, &f->err), CDS_OK);
	assert_memory_equal(got.identity_key, a.identity_key, 32);
	cds_token_hash(h, a.token);
	assert_memory_equal(got.token_hash, h, 32);
	assert_int_equal(cds_store_check_token(f->s, a.token, &got, &f->err), CDS_OK);
	assert_memory_equal(got.id, a.id, 16);
	assert_int_equal(cds_store_check_token(f->s, c.token, NULL, &f->err), CDS_OK);

	/* Wrong secret, other account's secret, malformed: all AUTH. */
	b.token[40] = b.token[40] == 'x' ? 'y' : 'x';
	assert_int_equal(cds_store_check_token(f->s, b.token, NULL, &f->err),
			 CDS_ERR_AUTH);
	memcpy(b.token, hex, 32);
	b.token[40] = a.token[40];
	assert_int_equal(cds_store_check_token(f->s, b.token, NULL, &f->err),
			 CDS_ERR_AUTH);
	static const char *const bad[] = {
		"", ".", "admin.xxx", "0123", "zz0102030405060708090a0b0c0d0e0f.AAAA",
		"000102030405060708090a0b0c0d0e0f", "000102030405060708090a0b0c0d0e0f.",
		"000102030405060708090a0b0c0d0e0f.abc!defghijklmnopqrstuvwxyz0123456789ABCDEF",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cds_token_account(id, bad[i], &f->err), CDS_ERR_AUTH);
		assert_int_equal(cds_store_check_token(f->s, bad[i], NULL, &f->err),
				 CDS_ERR_AUTH);
	}
	/* Unknown account id: same answer. */
	randombytes_buf(id, sizeof(id));
	cds_hex_encode(hex, id, 16);
	memcpy(a.token, hex, 32);
	assert_int_equal(cds_store_check_token(f->s, a.token, NULL, &f->err),
			 CDS_ERR_AUTH);
	assert_int_equal(cds_store_account_get(f->s, id, &got, &f->err),
			 CDS_ERR_NOT_FOUND);
	assert_non_null(strstr(f->err.msg, hex));
	counts(f, 3, 3);
}

static void test_create_all_or_nothing(void **state)
{
	struct fx *f = *state;
	const char *h0[] = {"tel:+15552220000"};
	const char *h1[] = {"tel:+15552220001", "mailto:x@example.org"};
	const char *taken[] = {"tel:+15552229999"};
	const char *twice[] = {"tel:+15552220005", "tel:+15552220005"};
	const char *bad[] = {"tel:+15552220006", "tel:5552220007"};
	struct cds_new_account v[3] = {0};
	struct cds_account got;
	uint64_t seq;

	mk(f, "tel:+15552229999", NULL);
	seq = last_seq(f);
	v[0].handles = h0, v[0].n_handles = 1;
	v[1].handles = h1, v[1].n_handles = 2;
	v[2].handles = taken, v[2].n_handles = 1;
	assert_int_equal(cds_store_accounts_create(f->s, v, 3, &f->err),
			 CDS_ERR_EXISTS);
	assert_int_equal(f->err.index, 2);
	assert_non_null(strstr(f->err.msg, "tel:+15552229999"));
	assert_int_equal(v[0].token[0], '\0'); /* tokens wiped on failure */
	counts(f, 1, 1);
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15552220000", &got,
					      &f->err), CDS_ERR_NOT_FOUND);
	assert_int_equal(last_seq(f), seq);

	/* The same handle twice: in one account, and in two accounts. */
	v[2].handles = twice, v[2].n_handles = 2;
	assert_int_equal(cds_store_accounts_create(f->s, v, 3, &f->err),
			 CDS_ERR_EXISTS);
	assert_int_equal(f->err.index, 2);
	v[2].handles = h0, v[2].n_handles = 1;
	assert_int_equal(cds_store_accounts_create(f->s, v, 3, &f->err),
			 CDS_ERR_EXISTS);
	assert_int_equal(f->err.index, 2);

	/* A non-canonical handle is caught before the transaction. */
	v[1].handles = bad, v[1].n_handles = 2;
	assert_int_equal(cds_store_accounts_create(f->s, v, 3, &f->err),
			 CDS_ERR_INVALID);
	assert_int_equal(f->err.index, 1);
	assert_non_null(strstr(f->err.msg, "tel:5552220007"));
	counts(f, 1, 1);
	assert_int_equal(last_seq(f), seq);

	/* And a good batch goes in whole. */
	v[1].handles = h1, v[1].n_handles = 2;
	v[2].handles = NULL, v[2].n_handles = 0;
	assert_int_equal(cds_store_accounts_create(f->s, v, 3, &f->err), CDS_OK);
	counts(f, 4, 4);
	assert_int_equal(cds_store_accounts_create(f->s, v, 0, &f->err), CDS_OK);
}

static void test_handles_update(void **state)
{
	struct fx *f = *state;
	struct cds_new_account a = mk(f, "tel:+15553330001", "tel:+15553330002");
	struct cds_new_account b = mk(f, "tel:+15553339999", NULL);
	const char *add[] = {"tel:+15553330003", "tel:+15553330001"};
	const char *rm[] = {"tel:+15553330002", "tel:+15553338888"};
	const char *steal[] = {"tel:+15553330004", "tel:+15553339999"};
	const char *bad[] = {"tel:+1555"};
	struct cds_account got;
	uint64_t seq;
	char hex[33];

	assert_int_equal(cds_store_handles_update(f->s, a.id, add, 2, rm, 2,
						  &f->err), CDS_OK);
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15553330003", &got,
					      &f->err), CDS_OK);
	assert_memory_equal(got.id, a.id, 16);
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15553330002", &got,
					      &f->err), CDS_ERR_NOT_FOUND);
	assert_non_null(strstr(f->err.msg, "tel:+15553330002"));
	counts(f, 2, 3);

	/* Taking b's handle fails as a whole, naming the position. */
	seq = last_seq(f);
	assert_int_equal(cds_store_handles_update(f->s, a.id, steal, 2, NULL, 0,
						  &f->err), CDS_ERR_EXISTS);
	assert_int_equal(f->err.index, 1);
	cds_hex_encode(hex, b.id, 16);
	assert_null(strstr(f->err.msg, hex)); /* does not name b */
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15553330004", &got,
					      &f->err), CDS_ERR_NOT_FOUND);
	assert_int_equal(last_seq(f), seq);

	/* b cannot remove a's handle: a no-op, not an error. */
	assert_int_equal(cds_store_handles_update(f->s, b.id, NULL, 0, add, 1,
						  &f->err), CDS_OK);
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15553330003", &got,
					      &f->err), CDS_OK);
	assert_memory_equal(got.id, a.id, 16);
	assert_int_equal(last_seq(f), seq);

	assert_int_equal(cds_store_handles_update(f->s, a.id, bad, 1, NULL, 0,
						  &f->err), CDS_ERR_INVALID);
	assert_int_equal(f->err.index, 0);
	uint8_t nobody[16] = {0};
	assert_int_equal(cds_store_handles_update(f->s, nobody, add, 1, NULL, 0,
						  &f->err), CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_store_handle_get(f->s, "nonsense", &got, &f->err),
			 CDS_ERR_INVALID);
	counts(f, 2, 3);
}

static void test_set_key_delete(void **state)
{
	struct fx *f = *state;
	struct cds_new_account a = mk(f, "tel:+15554440001", "tel:+15554440002");
	struct cds_new_account b = mk(f, "tel:+15554449999", NULL);
	struct cds_rate_state rs = {.tokens = 3};
	struct cds_account got;
	uint8_t key[32], nobody[16] = {0};

	randombytes_buf(key, sizeof(key));
	assert_int_equal(cds_store_account_set_key(f->s, a.id, key, &f->err), CDS_OK);
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15554440002", &got,
					      &f->err), CDS_OK);
	assert_memory_equal(got.identity_key, key, 32);
	assert_int_equal(cds_store_account_set_key(f->s, nobody, key, &f->err),
			 CDS_ERR_NOT_FOUND);

	memcpy(rs.account, a.id, 16);
	assert_int_equal(cds_store_rate_save(f->s, &rs, 1, &f->err), CDS_OK);
	assert_int_equal(cds_store_account_delete(f->s, a.id, &f->err), CDS_OK);
	counts(f, 1, 1);
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15554440001", &got,
					      &f->err), CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_store_account_get(f->s, a.id, &got, &f->err),
			 CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_store_account_delete(f->s, a.id, &f->err),
			 CDS_ERR_NOT_FOUND);
	assert_int_equal(cds_store_check_token(f->s, a.token, NULL, &f->err),
			 CDS_ERR_AUTH);
	assert_int_equal(cds_store_check_token(f->s, b.token, NULL, &f->err),
			 CDS_OK);
	/* The handles are free again. */
	mk(f, "tel:+15554440001", NULL);
}

/* The change log as "hexid:handle" lines (handle "-" for account rows). */
struct log {
	char rows[32][64];
	int n;
	uint8_t (*ids)[16];
	int stop_at;
};

static int collect_change(void *ctx, const uint8_t account[16],
			  const char *handle)
{
	struct log *l = ctx;
	char hex[33];

	if (l->n == l->stop_at)
		return 1;
	cds_hex_encode(hex, account, 16);
	snprintf(l->rows[l->n++], 64, "%.4s:%s", hex, handle ? handle : "-");
	return 0;
}

static int count_change(void *ctx, const uint8_t account[16],
			const char *handle)
{
	struct log *l = ctx;

	(void)account;
	(void)handle;
	l->n++;
	return 0;
}

static void expect_changes(struct fx *f, uint64_t *since, const char *const *want,
			   int n)
{
	struct log l = {.stop_at = -1};
	uint64_t last = 0;

	assert_int_equal(cds_store_changes(f->s, *since, 100, collect_change, &l,
					   &last, &f->err), CDS_OK);
	assert_int_equal(l.n, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(l.rows[i] + 5, want[i]);
	assert_true(n == 0 ? last == *since : last >= *since + (uint64_t)n);
	*since = last;
}

static void test_change_log(void **state)
{
	struct fx *f = *state;
	uint64_t since = 0, last = 0;
	struct log l = {.stop_at = 2};
	const char *add[] = {"tel:+15556660003"}, *rm[] = {"tel:+15556660001"};
	uint8_t key[32] = {1};

	expect_changes(f, &since, NULL, 0);
	struct cds_new_account a = mk(f, "tel:+15556660001", "tel:+15556660002");
	/* A new account's handle rows bring it; no row of its own. */
	expect_changes(f, &since, (const char *[]){"tel:+15556660001",
						   "tel:+15556660002"}, 2);
	assert_int_equal(since, last_seq(f));
	assert_int_equal(cds_store_handles_update(f->s, a.id, add, 1, rm, 1,
						  &f->err), CDS_OK);
	expect_changes(f, &since, (const char *[]){"tel:+15556660001",
						   "tel:+15556660003"}, 2);
	/* No-ops and failures log nothing. */
	assert_int_equal(cds_store_handles_update(f->s, a.id, add, 1, rm, 1,
						  &f->err), CDS_OK);
	expect_changes(f, &since, NULL, 0);
	assert_int_equal(cds_store_account_set_key(f->s, a.id, key, &f->err), CDS_OK);
	expect_changes(f, &since, (const char *[]){"-", "tel:+15556660002",
						   "tel:+15556660003"}, 3);
	assert_int_equal(cds_store_account_delete(f->s, a.id, &f->err), CDS_OK);
	expect_changes(f, &since, (const char *[]){"tel:+15556660002",
						   "tel:+15556660003", "-"}, 3);
	/* An account created without handles has only its own row. */
	(void)mk(f, NULL, NULL);
	expect_changes(f, &since, (const char *[]){"-"}, 1);

	/* limit, and a consumer that stops: *last is the last row it took. */
	assert_int_equal(cds_store_changes(f->s, 0, 4, collect_change, &l, &last,
					   &f->err), CDS_ERR_INTERNAL);
	assert_int_equal(l.n, 2);
	assert_int_equal(last, 2);
	l.n = 0, l.stop_at = -1;
	assert_int_equal(cds_store_changes(f->s, 0, 4, collect_change, &l, &last,
					   &f->err), CDS_OK);
	assert_int_equal(l.n, 4);
	assert_int_equal(last, 4);
}

static void test_change_log_prune(void **state)
{
	struct fx *f = *state;
	uint64_t floor = 99, removed = 99, since, last;

	assert_int_equal(cds_store_changes_floor(f->s, &floor, &f->err), CDS_OK);
	assert_int_equal(floor, 0); /* empty */
	assert_int_equal(cds_store_changes_prune(f->s, 100, &removed, &f->err),
			 CDS_OK);
	assert_int_equal(removed, 0);
	struct cds_new_account a = mk(f, "tel:+15556660001", "tel:+15556660002");
	(void)mk(f, "tel:+15556660003", "tel:+15556660004");
	(void)mk(f, "tel:+15556660005", NULL); /* rows 1..5 */
	assert_int_equal(last_seq(f), 5);
	assert_int_equal(cds_store_changes_prune(f->s, 3, &removed, &f->err),
			 CDS_OK);
	assert_int_equal(removed, 2); /* rows 1 and 2: seq < 3 */
	assert_int_equal(cds_store_changes_floor(f->s, &floor, &f->err), CDS_OK);
	assert_int_equal(floor, 3);
	since = 2; /* a consumer at 2 misses nothing: 3, 4, 5 remain */
	expect_changes(f, &since, (const char *[]){"tel:+15556660003",
						   "tel:+15556660004",
						   "tel:+15556660005"}, 3);
	/* However far asked, the newest row stays: sequences keep growing. */
	assert_int_equal(cds_store_changes_prune(f->s, 1000, &removed, &f->err),
			 CDS_OK);
	assert_int_equal(removed, 2);
	assert_int_equal(cds_store_changes_floor(f->s, &floor, &f->err), CDS_OK);
	assert_int_equal(floor, 5);
	assert_int_equal(last_seq(f), 5); /* pruning moves no counter */
	assert_int_equal(cds_store_account_delete(f->s, a.id, &f->err), CDS_OK);
	assert_true(last_seq(f) > 5);
	last = last_seq(f);
	assert_int_equal(cds_store_changes_prune(f->s, last, &removed, &f->err),
			 CDS_OK);
	assert_int_equal(cds_store_changes_floor(f->s, &floor, &f->err), CDS_OK);
	assert_int_equal(floor, last);
}

static void test_ledger_mark(void **state)
{
	struct fx *f = *state;
	struct cds_ledger_head h = {0}, got;

	assert_int_equal(cds_store_ledger_mark_get(f->s, &got, &f->err), CDS_OK);
	assert_int_equal(got.entries, 0); /* no export ever */
	h.entries = 2;
	memset(h.hash, 7, sizeof(h.hash));
	assert_int_equal(cds_store_ledger_mark_set(f->s, &h, &f->err), CDS_OK);
	h.entries = 1; /* never moves back */
	memset(h.hash, 8, sizeof(h.hash));
	assert_int_equal(cds_store_ledger_mark_set(f->s, &h, &f->err), CDS_OK);
	assert_int_equal(cds_store_ledger_mark_get(f->s, &got, &f->err), CDS_OK);
	assert_int_equal(got.entries, 2);
	assert_int_equal(got.hash[0], 7);
}

struct scan_ctx {
	int n, accounts;
	struct cds_store *writer; /* write through it during the scan */
	struct cds_error *err;
	uint8_t want_key[32];
	int stop;
};

static int scan_handle(void *ctx, const char *h, size_t len,
		       const struct cds_account *acct)
{
	struct scan_ctx *c = ctx;

	assert_int_equal(strlen(h), len);
	assert_int_equal(strncmp(h, "tel:+1555777", 12), 0);
	assert_memory_equal(acct->identity_key, c->want_key, 32);
	if (c->writer && c->n == 0) {
		const char *hs[] = {"tel:+15557779999"};
		struct cds_new_account a = {.handles = hs, .n_handles = 1};
		memcpy(a.identity_key, c->want_key, 32);
		assert_int_equal(cds_store_accounts_create(c->writer, &a, 1, c->err),
				 CDS_OK);
	}
	return ++c->n == c->stop;
}

static int scan_account(void *ctx, const struct cds_account *acct)
{
	struct scan_ctx *c = ctx;

	(void)acct;
	c->accounts++;
	return 0;
}

static void test_scan_two_connections(void **state)
{
	struct fx *f = *state;
	struct cds_store *w = NULL;
	struct scan_ctx c = {.err = &f->err, .stop = -1};
	const char *hs[][2] = {{"tel:+15557770001", "tel:+15557770002"},
			       {"tel:+15557770003", NULL}};
	struct cds_new_account v[2] = {{.handles = hs[0], .n_handles = 2},
				       {.handles = hs[1], .n_handles = 1}};
	uint64_t seq = 0, seq2 = 0;

	memset(c.want_key, 7, 32);
	memcpy(v[0].identity_key, c.want_key, 32);
	memcpy(v[1].identity_key, c.want_key, 32);
	assert_int_equal(cds_store_accounts_create(f->s, v, 2, &f->err), CDS_OK);

	/* A writer on a second connection commits during the scan... */
	assert_int_equal(cds_store_open(&w, f->dir, &f->err), CDS_OK);
	c.writer = w;
	assert_int_equal(cds_store_scan(f->s, scan_handle, &c, &seq, &f->err), CDS_OK);
	/* ...and the scan saw its snapshot: 3 handles, and their sequence. */
	assert_int_equal(c.n, 3);
	assert_int_equal(seq, 3);
	assert_true(last_seq(f) > seq);

	c = (struct scan_ctx){.err = &f->err, .stop = -1};
	memset(c.want_key, 7, 32);
	assert_int_equal(cds_store_scan(f->s, scan_handle, &c, &seq, &f->err), CDS_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(cds_store_scan_accounts(w, scan_account, &c, &seq2, &f->err),
			 CDS_OK);
	assert_int_equal(c.accounts, 3);
	assert_int_equal(seq2, seq);

	/* A consumer that stops the scan makes it fail, and it can run again. */
	c.n = 0, c.stop = 2;
	assert_int_equal(cds_store_scan(f->s, scan_handle, &c, &seq, &f->err),
			 CDS_ERR_INTERNAL);
	assert_int_equal(c.n, 2);
	cds_store_close(w);
	counts(f, 3, 4);
}

static void test_rate_state(void **state)
{
	struct fx *f = *state;
	struct cds_new_account a = mk(f, "tel:+15558880001", NULL);
	struct cds_new_account b = mk(f, "tel:+15558880002", NULL);
	struct cds_rate_state st[3] = {{.tokens = 1.5, .updated_us = 100},
				       {.tokens = 20, .updated_us = 200},
				       {.tokens = 9, .updated_us = 300}};
	struct rate_ctx r = {0};

	memcpy(st[0].account, a.id, 16);
	memcpy(st[1].account, b.id, 16);
	memset(st[2].account, 0xee, 16); /* no such account: dropped */
	assert_int_equal(cds_store_rate_save(f->s, st, 3, &f->err), CDS_OK);
	st[0].tokens = 0.25;
	st[0].updated_us = 400;
	assert_int_equal(cds_store_rate_save(f->s, st, 1, &f->err), CDS_OK);
	assert_int_equal(cds_store_rate_save(f->s, st, 0, &f->err), CDS_OK);
	assert_int_equal(cds_store_rate_load(f->s, collect_rate, &r, &f->err), CDS_OK);
	assert_int_equal(r.n, 2);
	for (int i = 0; i < 2; i++) {
		int k = memcmp(r.got[i].account, a.id, 16) == 0 ? 0 : 1;
		assert_memory_equal(r.got[i].account, st[k].account, 16);
		assert_true(r.got[i].tokens == st[k].tokens);
		assert_int_equal(r.got[i].updated_us, st[k].updated_us);
	}

	/* One account twice in a batch: the later state wins. */
	memcpy(st[1].account, a.id, 16);
	st[0].tokens = 7.125, st[1].tokens = 1e-3, st[1].updated_us = 500;
	assert_int_equal(cds_store_rate_save(f->s, st, 2, &f->err), CDS_OK);
	r.n = 0;
	assert_int_equal(cds_store_rate_load(f->s, collect_rate, &r, &f->err), CDS_OK);
	assert_int_equal(r.n, 2);
	for (int i = 0; i < 2; i++)
		if (memcmp(r.got[i].account, a.id, 16) == 0) {
			assert_true(r.got[i].tokens == 1e-3);
			assert_int_equal(r.got[i].updated_us, 500);
		}
}

static int count_rate(void *ctx, const struct cds_rate_state *st)
{
	int *n = ctx;

	*n += st->tokens == (double)(st->updated_us % 1000) / 8;
	return 0;
}

/* More states than one statement of the PostgreSQL backend carries. */
/*
 * shared.h: the atomic bucket of replicas (PostgreSQL).  A new bucket
 * holds the allowance; a charge takes n or nothing; refill is per
 * microsecond up to capacity; a refund never goes above it.  SQLite: not
 * shared, every call says so.
 */
static void test_rate_charge(void **state)
{
	struct fx *f = *state;
	struct cds_new_account a = mk(f, "tel:+15558880011", NULL);
	const struct cds_rate_bucket b = {.allowance = 10, .capacity = 12,
					  .per_us = 0.001};
	uint8_t nobody[CDS_ACCOUNT_ID_BYTES];
	bool ok = true;
	double left = -1;

	if (!storetest_pg()) {
		assert_false(cds_store_is_shared(f->s));
		assert_int_equal(cds_store_rate_charge(f->s, a.id, &b, 1, 0, &ok,
						       &left, &f->err),
				 CDS_ERR_DISABLED);
		assert_false(ok);
		return;
	}
	assert_true(cds_store_is_shared(f->s));
	assert_int_equal(cds_store_rate_charge(f->s, a.id, &b, 4, 1000, &ok,
					       &left, &f->err), CDS_OK);
	assert_true(ok && left == 6);
	assert_int_equal(cds_store_rate_charge(f->s, a.id, &b, 7, 1000, &ok,
					       &left, &f->err), CDS_OK);
	assert_true(!ok && left == 6); /* refused: nothing taken */
	/* 1000 us later: +1 token; 7 fits now. */
	assert_int_equal(cds_store_rate_charge(f->s, a.id, &b, 7, 2000, &ok,
					       &left, &f->err), CDS_OK);
	assert_true(ok && left == 0);
	/* A clock behind the bucket's refills nothing and takes nothing back. */
	assert_int_equal(cds_store_rate_charge(f->s, a.id, &b, 1, 1500, &ok,
					       &left, &f->err), CDS_OK);
	assert_true(!ok && left == 0);
	/* Long after: capped at capacity; a refund caps there too. */
	assert_int_equal(cds_store_rate_charge(f->s, a.id, &b, 2, 1000000000, &ok,
					       &left, &f->err), CDS_OK);
	assert_true(ok && left == 10);
	assert_int_equal(cds_store_rate_refund(f->s, a.id, &b, 5, &f->err), CDS_OK);
	assert_int_equal(cds_store_rate_charge(f->s, a.id, &b, 0, 1000000000, &ok,
					       &left, &f->err), CDS_OK);
	assert_true(ok && left == 12);
	memset(nobody, 0xee, sizeof(nobody));
	assert_int_equal(cds_store_rate_charge(f->s, nobody, &b, 1, 0, &ok, &left,
					       &f->err), CDS_ERR_NOT_FOUND);
}

/* A charger on its own connection: n charges of one token to one account. */
struct charger {
	const char *dir;
	const uint8_t *id;
	int n, charged;
	enum cds_err rc;
};

static void *charger_main(void *p)
{
	struct charger *c = p;
	const struct cds_rate_bucket b = {.allowance = 100, .capacity = 100,
					  .per_us = 0};
	struct cds_store *s = NULL;
	struct cds_error err;
	bool ok = false;
	double left;

	c->rc = cds_store_open(&s, c->dir, &err);
	for (int i = 0; i < c->n && !c->rc; i++) {
		c->rc = cds_store_rate_charge(s, c->id, &b, 1, 1000 + i, &ok,
					      &left, &err);
		c->charged += ok;
	}
	cds_store_close(s);
	return NULL;
}

/*
 * Four connections charge one account at once, from before its bucket
 * exists until long after it is empty: exactly the allowance is granted,
 * never more (the guarantee replicas rely on), and nothing is left.
 */
static void test_rate_charge_concurrent(void **state)
{
	enum { THREADS = 4, PER = 40 };
	struct fx *f = *state;
	struct cds_new_account a = mk(f, "tel:+15558880012", NULL);
	const struct cds_rate_bucket b = {.allowance = 100, .capacity = 100,
					  .per_us = 0};
	struct charger c[THREADS];
	pthread_t t[THREADS];
	int charged = 0;
	bool ok = true;
	double left = -1;

	if (!storetest_pg())
		return; /* SQLite's store does not share buckets */
	for (int i = 0; i < THREADS; i++) {
		c[i] = (struct charger){f->dir, a.id, PER, 0, CDS_OK};
		assert_int_equal(pthread_create(&t[i], NULL, charger_main, &c[i]),
				 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].rc, CDS_OK);
		charged += c[i].charged;
	}
	assert_int_equal(charged, 100);
	assert_int_equal(cds_store_rate_charge(f->s, a.id, &b, 1, 1000000, &ok,
					       &left, &f->err), CDS_OK);
	assert_true(!ok && left == 0);
}

static void test_rate_state_many(void **state)
{
	enum { N = 4100 };
	struct fx *f = *state;
	struct cds_new_account *v = calloc(N, sizeof(*v));
	struct cds_rate_state *st = calloc(N, sizeof(*st));
	int n = 0;

	assert_int_equal(cds_store_accounts_create(f->s, v, N, &f->err), CDS_OK);
	for (int i = 0; i < N; i++) {
		memcpy(st[i].account, v[i].id, 16);
		st[i].updated_us = 1000000 + i;
		st[i].tokens = (double)(st[i].updated_us % 1000) / 8;
	}
	assert_int_equal(cds_store_rate_save(f->s, st, N, &f->err), CDS_OK);
	assert_int_equal(cds_store_rate_load(f->s, count_rate, &n, &f->err),
			 CDS_OK);
	assert_int_equal(n, N);
	free(st);
	free(v);
}

/* Enough accounts for SQLite's multi-row statements (SQ_MANY) and a tail. */
static void test_big_batch(void **state)
{
	enum { N = 70 };
	_Static_assert(N > 2 * SQ_MANY, "two full multi-row statements");
	struct fx *f = *state;
	struct cds_new_account v[N];
	char hs[N][2][24];
	const char *hp[N][2];
	struct cds_account got;
	struct log l = {.stop_at = -1};
	uint64_t last = 0;

	memset(v, 0, sizeof(v));
	for (int i = 0; i < N; i++) {
		snprintf(hs[i][0], sizeof(hs[i][0]), "tel:+1555999%04d", i);
		snprintf(hs[i][1], sizeof(hs[i][1]), "mailto:u%d@example.org", i);
		hp[i][0] = hs[i][0];
		hp[i][1] = hs[i][1];
		v[i].handles = hp[i];
		v[i].n_handles = i % 3 ? 1 : 2;
		v[i].identity_key[0] = (uint8_t)i;
	}
	/* A repeat at account 49 (of account 7's handle): nothing goes in. */
	hp[49][0] = hs[7][0];
	assert_int_equal(cds_store_accounts_create(f->s, v, N, &f->err),
			 CDS_ERR_EXISTS);
	assert_int_equal(f->err.index, 49);
	counts(f, 0, 0);
	assert_int_equal(last_seq(f), 0);

	hp[49][0] = hs[49][0];
	assert_int_equal(cds_store_accounts_create(f->s, v, N, &f->err), CDS_OK);
	counts(f, N, N + (N + 2) / 3);
	for (int i = 0; i < N; i++) {
		assert_int_equal(cds_store_handle_get(f->s, hs[i][0], &got, &f->err),
				 CDS_OK);
		assert_memory_equal(got.id, v[i].id, 16);
		assert_int_equal(got.identity_key[0], i);
		assert_int_equal(cds_store_check_token(f->s, v[i].token, NULL,
						       &f->err), CDS_OK);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(v[i].id, v[j].id, 16);
	}
	/* One change row per handle; the accounts come with them. */
	assert_int_equal(cds_store_changes(f->s, 0, 1000, count_change, &l, &last,
					   &f->err), CDS_OK);
	assert_int_equal(l.n, N + (N + 2) / 3);
	assert_int_equal(last, (uint64_t)l.n);
}

/*
 * Many handles checked at once (import's check pass): more than one query
 * of the PostgreSQL backend carries, with characters an array literal must
 * quote, and a non-canonical handle refused by position.
 */
static void test_handles_taken(void **state)
{
	enum { N = 5003 };
	struct fx *f = *state;
	static char buf[N][32];
	const char **hs = calloc(N, sizeof(*hs));
	bool *taken = calloc(N, sizeof(*taken));

	mk(f, "mailto:x{y}|z'w@example.org", "tel:+15552220002");
	mk(f, "tel:+15552225002", NULL);
	for (int i = 0; i < N; i++) {
		snprintf(buf[i], sizeof(buf[i]), "tel:+1555222%04d", i);
		hs[i] = buf[i];
	}
	hs[7] = "mailto:x{y}|z'w@example.org";
	hs[8] = "mailto:x{y}|z'w@example.net";
	assert_int_equal(cds_store_handles_taken(f->s, hs, N, taken, &f->err),
			 CDS_OK);
	for (int i = 0; i < N; i++)
		assert_int_equal(taken[i], i == 2 || i == 7 || i == 5002);
	hs[9] = "tel:555";
	assert_int_equal(cds_store_handles_taken(f->s, hs, N, taken, &f->err),
			 CDS_ERR_INVALID);
	assert_int_equal(f->err.index, 9);
	assert_int_equal(cds_store_handles_taken(f->s, hs, 0, taken, &f->err),
			 CDS_OK);
	free(taken);
	free(hs);
}

/* A writer on its own connection: n accounts, one transaction each. */
struct writer {
	const char *dir;
	int base, n;
	enum cds_err rc;
	atomic_int *running;
};

static void *writer_main(void *p)
{
	struct writer *w = p;
	struct cds_store *s = NULL;
	struct cds_error err;

	w->rc = cds_store_open(&s, w->dir, &err);
	for (int i = 0; i < w->n && !w->rc; i++) {
		char h[24];
		const char *hs[] = {h};
		struct cds_new_account a = {.handles = hs, .n_handles = 1};

		snprintf(h, sizeof(h), "tel:+1555%07d", w->base + i);
		w->rc = cds_store_accounts_create(s, &a, 1, &err);
	}
	cds_store_close(s);
	atomic_fetch_sub(w->running, 1);
	return NULL;
}

/* Poll once; fail if the sequence skipped a number (a gap a poller passes). */
static uint64_t poll_once(struct fx *f, uint64_t since, uint64_t *rows)
{
	struct log l = {.stop_at = -1};
	uint64_t last = 0;

	assert_int_equal(cds_store_changes(f->s, since, 1000, count_change, &l,
					   &last, &f->err), CDS_OK);
	assert_int_equal(last - since, (uint64_t)l.n);
	*rows += (uint64_t)l.n;
	return last;
}

/*
 * Two writers commit concurrently while a poller follows the change log:
 * the sequence the poller sees has no gap and it misses no row (store.h
 * invariant 2; on PostgreSQL, store_pg.h invariant 1).
 */
static void test_concurrent_writers(void **state)
{
	enum { PER = 120 };
	struct fx *f = *state;
	atomic_int running = 2;
	struct writer w[2] = {{f->dir, 0, PER, CDS_OK, &running},
			      {f->dir, PER, PER, CDS_OK, &running}};
	pthread_t t[2];
	uint64_t since = 0, rows = 0;

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
	while (atomic_load(&running) > 0)
		since = poll_once(f, since, &rows);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].rc, CDS_OK);
	}
	since = poll_once(f, since, &rows);
	assert_int_equal(rows, 2 * PER); /* a handle row each (it brings the account) */
	assert_int_equal(since, rows);
	counts(f, 2 * PER, 2 * PER);
}

/* Account ids are a keyed permutation of account numbers (idperm.h). */
static void test_idperm(void **state)
{
	uint8_t k1[CDS_IDPERM_KEY_BYTES], k2[CDS_IDPERM_KEY_BYTES], id[16], id2[16];
	uint64_t n;

	(void)state;
	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t v = i < 5000 ? i : randombytes_random() * (i + 1);

		cds_idperm_id(id, k1, v);
		assert_true(cds_idperm_number(&n, k1, id));
		assert_int_equal(n, v);
		/* Another key does not recognise it; a flipped bit is rejected. */
		assert_false(cds_idperm_number(&n, k2, id));
		id[i % 16] ^= (uint8_t)(1u << (i % 8));
		assert_false(cds_idperm_number(&n, k1, id));
	}
	cds_idperm_id(id, k1, 1);
	cds_idperm_id(id2, k1, 2);
	assert_memory_not_equal(id, id2, 16);
	memset(id, 0, sizeof(id));
	assert_false(cds_idperm_number(&n, k1, id));
}

/* A verification of handle h made at t (seconds), code hash all `c`. */
static enum cds_err verify_at(struct fx *f, const char *h, int64_t t,
			      uint8_t c, uint8_t id0, uint32_t *retry)
{
	struct cds_verification v = {.handle = h};

	memset(v.id, 0, sizeof(v.id));
	v.id[0] = id0;
	memset(v.code_hash, c, sizeof(v.code_hash));
	v.created_us = t * CDS_USEC_PER_SEC;
	v.expires_us = v.created_us + 600 * CDS_USEC_PER_SEC;
	return cds_store_verify_create(f->s, &v, 3, 3600 * CDS_USEC_PER_SEC,
				       retry, &f->err);
}

static void test_verify_limit(void **state)
{
	struct fx *f = *state;
	const int64_t t = 1700000000;
	uint32_t retry = 0;

	for (int i = 0; i < 3; i++)
		assert_int_equal(verify_at(f, "tel:+15554440001", t + i, 1,
					   (uint8_t)(i + 1), &retry), CDS_OK);
	/* The fourth within the hour is refused until the first is an hour old. */
	assert_int_equal(verify_at(f, "tel:+15554440001", t + 10, 1, 4, &retry),
			 CDS_ERR_RATE);
	assert_int_equal(retry, 3600 - 10 + 1);
	assert_int_equal(verify_at(f, "tel:+15554440002", t + 10, 1, 5, &retry),
			 CDS_OK);
	assert_int_equal(verify_at(f, "tel:+15554440001", t + 3600, 1, 6,
				   &retry), CDS_ERR_RATE);
	assert_int_equal(verify_at(f, "tel:+15554440001", t + 3601, 1, 6,
				   &retry), CDS_OK);
	assert_int_equal(verify_at(f, "tel:+1555", t, 1, 7, &retry),
			 CDS_ERR_INVALID);
}

/* Redeem verification id0 with code hash c at time t (seconds). */
static enum cds_err redeem(struct fx *f, struct cds_verify_redeem *r,
			   uint8_t id0, uint8_t c, int64_t t,
			   const uint8_t *account)
{
	static uint8_t id[CDS_VERIFY_ID_BYTES], hash[CDS_VERIFY_HASH_BYTES];

	memset(r, 0, sizeof(*r));
	memset(id, 0, sizeof(id));
	id[0] = id0;
	memset(hash, c, sizeof(hash));
	r->id = id;
	r->code_hash = hash;
	r->now_us = t * CDS_USEC_PER_SEC;
	r->max_attempts = 5;
	r->account = account;
	return cds_store_verify_redeem(f->s, r, &f->err);
}

static void test_verify_redeem(void **state)
{
	struct fx *f = *state;
	const int64_t t = 1700000000;
	struct cds_verify_redeem r;
	struct cds_account got;
	uint32_t retry;

	assert_int_equal(verify_at(f, "tel:+15554440011", t, 7, 1, &retry), CDS_OK);
	for (unsigned left = 4; left + 1 > 0; left--) {
		assert_int_equal(redeem(f, &r, 1, 8, t + 1, NULL), CDS_ERR_AUTH);
		assert_int_equal(r.refusal, CDS_VERIFY_WRONG);
		assert_int_equal(r.attempts_left, left);
		if (left == 0)
			break;
	}
	assert_int_equal(redeem(f, &r, 1, 7, t + 1, NULL), CDS_ERR_AUTH);
	assert_int_equal(r.refusal, CDS_VERIFY_EXHAUSTED);
	counts(f, 0, 0);

	/* The right code registers a new account owning the handle, once. */
	assert_int_equal(verify_at(f, "tel:+15554440012", t, 7, 2, &retry), CDS_OK);
	assert_int_equal(redeem(f, &r, 2, 8, t + 1, NULL), CDS_ERR_AUTH);
	assert_int_equal(redeem(f, &r, 2, 7, t + 1, NULL), CDS_OK);
	assert_string_equal(r.handle, "tel:+15554440012");
	assert_non_null(strchr(r.created.token, '.'));
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15554440012", &got,
					      &f->err), CDS_OK);
	assert_memory_equal(got.id, r.created.id, CDS_ACCOUNT_ID_BYTES);
	counts(f, 1, 1);
	assert_int_equal(redeem(f, &r, 2, 7, t + 2, NULL), CDS_ERR_AUTH);
	assert_int_equal(r.refusal, CDS_VERIFY_USED);

	assert_int_equal(verify_at(f, "tel:+15554440013", t, 7, 3, &retry), CDS_OK);
	assert_int_equal(redeem(f, &r, 3, 7, t + 600, NULL), CDS_ERR_AUTH);
	assert_int_equal(r.refusal, CDS_VERIFY_EXPIRED);
	assert_int_equal(redeem(f, &r, 9, 7, t, NULL), CDS_ERR_AUTH);
	assert_int_equal(r.refusal, CDS_VERIFY_UNKNOWN);
	counts(f, 1, 1);
}

static void test_verify_moves_handle(void **state)
{
	struct fx *f = *state;
	const int64_t t = 1700000000;
	struct cds_new_account a = mk(f, "tel:+15554440021", "tel:+15554440022");
	struct cds_new_account b = mk(f, "tel:+15554440023", NULL);
	struct cds_verify_redeem r;
	struct cds_account got;
	uint64_t seq = last_seq(f);
	uint32_t retry;

	assert_int_equal(verify_at(f, "tel:+15554440021", t, 7, 1, &retry), CDS_OK);
	assert_int_equal(redeem(f, &r, 1, 7, t + 1, b.id), CDS_OK);
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15554440021", &got,
					      &f->err), CDS_OK);
	assert_memory_equal(got.id, b.id, CDS_ACCOUNT_ID_BYTES);
	/* One change row for the old binding, one for the new. */
	assert_int_equal(last_seq(f), seq + 2);
	counts(f, 2, 3);
	/* Binding a handle the account holds is a no-op. */
	assert_int_equal(verify_at(f, "tel:+15554440021", t, 7, 2, &retry), CDS_OK);
	assert_int_equal(redeem(f, &r, 2, 7, t + 1, b.id), CDS_OK);
	assert_int_equal(last_seq(f), seq + 2);
	/* A deleted account cannot bind, and the code is not spent. */
	assert_int_equal(verify_at(f, "tel:+15554440022", t, 7, 3, &retry), CDS_OK);
	assert_int_equal(cds_store_account_delete(f->s, b.id, &f->err), CDS_OK);
	assert_int_equal(redeem(f, &r, 3, 7, t + 1, b.id), CDS_ERR_NOT_FOUND);
	assert_int_equal(redeem(f, &r, 3, 7, t + 1, a.id), CDS_OK);
	/*
	 * Registering with a handle another account holds moves it to the
	 * new account: a row for the old holder, the new account's handle
	 * row (which brings the account).
	 */
	seq = last_seq(f);
	assert_int_equal(verify_at(f, "tel:+15554440022", t, 7, 4, &retry), CDS_OK);
	assert_int_equal(redeem(f, &r, 4, 7, t + 1, NULL), CDS_OK);
	assert_int_equal(cds_store_handle_get(f->s, "tel:+15554440022", &got,
					      &f->err), CDS_OK);
	assert_memory_equal(got.id, r.created.id, CDS_ACCOUNT_ID_BYTES);
	assert_int_equal(last_seq(f), seq + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_reconnect, setup, teardown),
		cmocka_unit_test(test_store_conf_parse),
		cmocka_unit_test_setup_teardown(test_accounts_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_all_or_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_handles_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_key_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_log_prune, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ledger_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_two_connections, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rate_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_state_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_redeem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_moves_handle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_handles_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_charge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_charge_concurrent, setup,
						teardown),
		cmocka_unit_test(test_idperm),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
