/*
 * store_pg_write.c: the PostgreSQL backend's changes to existing accounts:
 * delete, re-key, handles added and removed (the steps in store_handles.c,
 * over this file's statements), rate-limit state.  (Creating accounts, in
 * bulk, is store_pg_create.c.)
 *
 * Invariants (store.h; the same as store_sqlite_write.c's):
 *  1. Each function is one transaction (pg_begin_write .. pg_end_write):
 *     all of it happens or none of it.
 *  2. The change log rows of store.h invariant 2 are inserted by the same
 *     function, in the same transaction, as the change they describe,
 *     numbered from the locked meta counter (store_pg.h invariant 1).
 *  3. Messages about a taken handle never say which account holds it: they
 *     may be shown to the client who asked.
 */
#include "store/store_pg.h"

#include <stdlib.h>
#include <string.h>

#include "core/codec.h"

static enum cds_err not_found(const uint8_t *id, struct cds_error *err)
{
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	cds_hex_encode(hex, id, CDS_ACCOUNT_ID_BYTES);
	return cds_fail(err, CDS_ERR_NOT_FOUND, "no account '%s'", hex);
}

/* Run a statement for its effect; *rows (may be NULL) gets rows touched. */
static enum cds_err run(struct pg_store *s, enum pg_stmt_id id,
			const struct pg_args *a, const char *what, long *rows,
			struct cds_error *err)
{
	PGresult *r = pg_run(s, id, a, what, err);

	if (!r)
		return CDS_ERR_STORE;
	if (rows)
		*rows = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return CDS_OK;
}

/* One change row for every handle account n (id) has now. */
static enum cds_err log_all_handles(struct pg_store *s, const uint8_t *id,
				    int64_t n, struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	long rows = 0;

	pg_arg_i64(&a, s->seq);
	pg_arg_bytes(&a, id, CDS_ACCOUNT_ID_BYTES);
	pg_arg_i64(&a, n);
	rc = run(s, PG_CHANGE_ALL_HANDLES, &a, "append to the change log", &rows,
		 err);
	if (!rc)
		s->seq += rows;
	return rc;
}

/* The row number of existing account id; CDS_ERR_NOT_FOUND naming it. */
static enum cds_err account_n(struct pg_store *s, const uint8_t *id, int64_t *n,
			      struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	PGresult *r;

	if (!pg_account_number(s, id, n))
		return not_found(id, err);
	pg_arg_i64(&a, *n);
	pg_arg_bytes(&a, id, CDS_ACCOUNT_ID_BYTES);
	r = pg_run(s, PG_ACCOUNT_GET, &a, "find an account", err);
	if (!r)
		return CDS_ERR_STORE;
	rc = PQntuples(r) ? CDS_OK : not_found(id, err);
	PQclear(r);
	return rc;
}

enum cds_err pg_account_delete(struct cds_store *base, const uint8_t *id,
			       struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	int64_t n = 0;

	rc = pg_begin_write(s, err);
	if (rc)
		return rc;
	rc = account_n(s, id, &n, err);
	/* Log first: the cascade removes the handles the rows must name. */
	if (!rc)
		rc = log_all_handles(s, id, n, err);
	if (!rc)
		rc = pg_log_change(s, id, NULL, err);
	pg_arg_i64(&a, n);
	if (!rc)
		rc = run(s, PG_ACCOUNT_DELETE, &a, "delete an account", NULL, err);
	return pg_end_write(s, rc, err);
}

enum cds_err pg_account_set_key(struct cds_store *base, const uint8_t *id,
				const uint8_t *key, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	int64_t n = 0;

	rc = pg_begin_write(s, err);
	if (rc)
		return rc;
	rc = account_n(s, id, &n, err);
	pg_arg_i64(&a, n);
	pg_arg_bytes(&a, key, CDS_IDENTITY_KEY_BYTES);
	if (!rc)
		rc = run(s, PG_ACCOUNT_SET_KEY, &a, "change an identity key", NULL,
			 err);
	if (!rc)
		rc = pg_log_change(s, id, NULL, err);
	if (!rc)
		rc = log_all_handles(s, id, n, err);
	return pg_end_write(s, rc, err);
}

/* The hooks of store_handles.c, which adds and removes handles. */

enum cds_err pg_write_begin(struct cds_store *base, struct cds_error *err)
{
	return pg_begin_write(pg_of(base), err);
}

enum cds_err pg_write_end(struct cds_store *base, enum cds_err rc,
			  struct cds_error *err)
{
	return pg_end_write(pg_of(base), rc, err);
}

static enum cds_err h_account_n(struct cds_store *base, const uint8_t *id,
				int64_t *n, struct cds_error *err)
{
	return account_n(pg_of(base), id, n, err);
}

static bool h_number(struct cds_store *base, const uint8_t *id, int64_t *n)
{
	return pg_account_number(pg_of(base), id, n);
}

/* Run the handle statement `which` on (h, n); *changed if it changed a row. */
static enum cds_err handle_row(struct pg_store *s, enum pg_stmt_id which,
			       int64_t n, const char *h, const char *what,
			       bool *changed, struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	long rows = 0;

	pg_arg_text(&a, h);
	pg_arg_i64(&a, n);
	rc = run(s, which, &a, what, &rows, err);
	*changed = !rc && rows > 0;
	return rc;
}

static enum cds_err h_row_add(struct cds_store *base, int64_t n, const char *h,
			      bool *added, struct cds_error *err)
{
	return handle_row(pg_of(base), PG_HANDLE_ADD, n, h, "add a handle", added,
			  err);
}

static enum cds_err h_row_remove(struct cds_store *base, int64_t n,
				 const char *h, bool *removed,
				 struct cds_error *err)
{
	return handle_row(pg_of(base), PG_HANDLE_REMOVE, n, h, "remove a handle",
			  removed, err);
}

static enum cds_err h_owned_by(struct cds_store *base, int64_t n, const char *h,
			       bool *mine, struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	PGresult *r;

	pg_arg_text(&a, h);
	r = pg_run(pg_of(base), PG_HANDLE_OWNER, &a, "find a handle's account",
		   err);
	if (!r)
		return CDS_ERR_STORE;
	*mine = PQntuples(r) == 1 && pg_col_i64(r, 0, 0) == n;
	PQclear(r);
	return CDS_OK;
}

static enum cds_err h_log_change(struct cds_store *base, const uint8_t *id,
				 const char *h, struct cds_error *err)
{
	return pg_log_change(pg_of(base), id, h, err);
}

static const struct cds_handles_backend handles_hooks = {
	.begin = pg_write_begin,
	.end = pg_write_end,
	.account_n = h_account_n,
	.number = h_number,
	.row_add = h_row_add,
	.row_remove = h_row_remove,
	.owned_by = h_owned_by,
	.log_change = h_log_change,
};

enum cds_err pg_handles_update(struct cds_store *base, const uint8_t *id,
			       const char *const *add, size_t n_add,
			       const char *const *remove, size_t n_remove,
			       struct cds_error *err)
{
	return cds_handles_update_with(base, &handles_hooks, id, add, n_add,
				       remove, n_remove, err);
}

/* Rate states per statement: bounds the size of its four arrays. */
#define RATE_CHUNK 2000

/* The arrays of PG_RATE_SAVE_MANY, as PostgreSQL array literals. */
struct rate_arrays {
	struct cds_buf col[4]; /* hex id, tokens, updated_us, number */
};

static enum cds_err rate_arrays_fill(struct pg_store *s, struct rate_arrays *ra,
				     const struct cds_rate_state *st, size_t n)
{
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];
	enum cds_err rc = CDS_OK;
	const char *sep = "{";
	int64_t num;

	for (int c = 0; c < 4; c++)
		cds_buf_reset(&ra->col[c]);
	for (size_t i = 0; i < n && !rc; i++) {
		if (!pg_account_number(s, st[i].account, &num))
			continue; /* not an account of this store: nothing to save */
		cds_hex_encode(hex, st[i].account, CDS_ACCOUNT_ID_BYTES);
		rc = cds_buf_appendf(&ra->col[0], "%s%s", sep, hex);
		if (!rc)
			rc = cds_buf_appendf(&ra->col[1], "%s%.17g", sep, st[i].tokens);
		if (!rc)
			rc = cds_buf_appendf(&ra->col[2], "%s%lld", sep,
					     (long long)st[i].updated_us);
		if (!rc)
			rc = cds_buf_appendf(&ra->col[3], "%s%lld", sep,
					     (long long)num);
		sep = ",";
	}
	for (int c = 0; c < 4 && !rc; c++)
		rc = cds_buf_append(&ra->col[c], sep[0] == '{' ? "{}" : "}",
				    sep[0] == '{' ? 2 : 1);
	return rc;
}

/*
 * Rate state is not part of the change log, so this transaction does not
 * take the writers' lock on meta: the server's periodic save never waits
 * behind a bulk import.
 */
enum cds_err pg_rate_save(struct cds_store *base,
			  const struct cds_rate_state *states, size_t count,
			  struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct rate_arrays ra;
	enum cds_err rc;

	for (int c = 0; c < 4; c++)
		cds_buf_init(&ra.col[c]);
	rc = pg_exec(s, "BEGIN", "begin a write transaction", err);
	s->in_txn = rc == CDS_OK;
	for (size_t i = 0; i < count && !rc; i += RATE_CHUNK) {
		struct pg_args a = {.n = 0};
		size_t n = count - i < RATE_CHUNK ? count - i : RATE_CHUNK;

		if (rate_arrays_fill(s, &ra, states + i, n) != CDS_OK) {
			rc = cds_fail(err, CDS_ERR_NOMEM,
				      "out of memory saving rate-limit state");
			break;
		}
		for (int c = 0; c < 4; c++)
			pg_arg_text(&a, (const char *)ra.col[c].data);
		rc = run(s, PG_RATE_SAVE_MANY, &a, "save rate-limit state", NULL,
			 err);
	}
	for (int c = 0; c < 4; c++)
		cds_buf_fini(&ra.col[c]);
	return s->in_txn ? pg_end(s, rc, err) : rc;
}

enum cds_err pg_handle_add(struct cds_store *base, const uint8_t *id,
			   const char *h, struct cds_error *err)
{
	return cds_handle_add_with(base, &handles_hooks, id, h, err);
}

enum cds_err pg_handle_remove(struct cds_store *base, const uint8_t *id,
			      const char *h, struct cds_error *err)
{
	return cds_handle_remove_with(base, &handles_hooks, id, h, err);
}
