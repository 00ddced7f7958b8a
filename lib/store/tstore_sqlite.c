/*
 * tstore_sqlite.c: transparency's history (tstore.h) in DIR/cds.sqlite3,
 * tables tversions and tchanges (store_sqlite_schema.c v5).
 *
 * Invariants:
 *  1. An append is one IMMEDIATE transaction that first reads the last
 *     version: the write lock makes the check and the inserts one step, so
 *     of two sealers appending the same version the second finds it
 *     written and gets CDS_ERR_EXISTS, with nothing of its own written.
 *  2. A walk is one statement, so one snapshot: it sees whole versions.
 *     The callback may use the store, but not start a walk of the same
 *     kind (it would reset the cached statement being stepped).
 *  3. A row whose blobs have the wrong size is CDS_ERR_INTERNAL, never
 *     handed on (the schema's CHECKs forbid it).
 *
 * There is one cdsd per SQLite data directory, so it is always the sealer.
 */
#include "store/store_sqlite.h"

#include <string.h>

/* A list's bytes; an empty list is an empty blob, not NULL. */
static void bind_list(sqlite3_stmt *st, int i, const uint8_t *p, size_t len)
{
	if (len)
		sqlite3_bind_blob(st, i, p, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_zeroblob(st, i, 0);
}

/* Invariant 1: inside the write transaction, v must be the last + 1. */
static enum cds_err check_next(struct sq_store *s, uint64_t version,
			       struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_TVERSION_MAX, err);
	uint64_t last = 0;
	int r;

	if (!st)
		return CDS_ERR_STORE;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		last = (uint64_t)sqlite3_column_int64(st, 0); /* NULL: 0 */
	sqlite3_reset(st);
	if (r != SQLITE_ROW)
		return sq_fail(s->db, r, "read the last version", err);
	return cds_tstore_check_next(version, last, err);
}

static enum cds_err insert_version(struct sq_store *s,
				   const struct cds_tversion *v,
				   struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_TVERSION_INSERT, err);
	const struct cds_thead *h = &v->head;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, (int64_t)h->version);
	sqlite3_bind_int64(st, 2, h->epoch);
	sqlite3_bind_int64(st, 3, (int64_t)h->time_ms);
	sqlite3_bind_blob(st, 4, h->root, CDS_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, h->log_root, CDS_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, h->signature, CDS_THEAD_SIG_BYTES,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (int64_t)v->seq);
	return sq_exec_stmt(s, st, "append a transparency version", err);
}

static enum cds_err insert_change(struct sq_store *s,
				  const struct cds_thead *h,
				  const struct cds_tchange *c,
				  struct cds_error *err)
{
	sqlite3_stmt *st = sq_stmt(s, SQ_TCHANGE_INSERT, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, (int64_t)h->version);
	sqlite3_bind_int64(st, 2, c->prefix);
	sqlite3_bind_int64(st, 3, h->epoch);
	bind_list(st, 4, c->removed, c->n_removed * CDS_FP_BYTES);
	bind_list(st, 5, c->added, c->n_added * CDS_ENTRY_BYTES);
	return sq_exec_stmt(s, st, "append a bucket change", err);
}

enum cds_err sq_tversion_append(struct cds_store *base,
				const struct cds_tversion *v,
				const struct cds_tchange *ch, size_t n,
				struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	enum cds_err rc = sq_begin_write(s, err);

	if (rc)
		return rc;
	rc = check_next(s, v->head.version, err);
	if (!rc)
		rc = insert_version(s, v, err);
	for (size_t i = 0; i < n && !rc; i++)
		rc = insert_change(s, &v->head, &ch[i], err);
	return sq_end(s, rc, err);
}

/* Columns version, epoch, time_ms, root, log_root, signature, seq. */
static enum cds_err read_version(sqlite3_stmt *st, struct cds_tversion *v,
				 struct cds_error *err)
{
	struct cds_thead *h = &v->head;

	if (sqlite3_column_bytes(st, 3) != CDS_HASH_BYTES ||
	    sqlite3_column_bytes(st, 4) != CDS_HASH_BYTES ||
	    sqlite3_column_bytes(st, 5) != CDS_THEAD_SIG_BYTES)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"store: version row with a field of the wrong "
				"size");
	h->version = (uint64_t)sqlite3_column_int64(st, 0);
	h->epoch = (uint32_t)sqlite3_column_int64(st, 1);
	h->time_ms = (uint64_t)sqlite3_column_int64(st, 2);
	memcpy(h->root, sqlite3_column_blob(st, 3), CDS_HASH_BYTES);
	memcpy(h->log_root, sqlite3_column_blob(st, 4), CDS_HASH_BYTES);
	memcpy(h->signature, sqlite3_column_blob(st, 5), CDS_THEAD_SIG_BYTES);
	v->seq = (uint64_t)sqlite3_column_int64(st, 6);
	return CDS_OK;
}

enum cds_err sq_tversion_last(struct cds_store *base, struct cds_tversion *v,
			      bool *found, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_TVERSION_LAST, err);
	enum cds_err rc = CDS_OK;
	struct cds_tversion got;
	int r;

	if (!st)
		return CDS_ERR_STORE;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		rc = read_version(st, &got, err);
	else if (r != SQLITE_DONE)
		rc = sq_fail(s->db, r, "read the last version", err);
	sqlite3_reset(st);
	if (!rc && r == SQLITE_ROW) {
		*v = got;
		*found = true;
	}
	return rc;
}

enum cds_err sq_tversions(struct cds_store *base, uint64_t from, size_t limit,
			  cds_tversion_fn fn, void *ctx, uint64_t *last,
			  struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_TVERSIONS_FROM, err);
	struct cds_tversion v;
	enum cds_err rc = CDS_OK;
	int r;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, (int64_t)from);
	sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		rc = read_version(st, &v, err);
		if (rc)
			break;
		*last = v.head.version;
		if (fn(ctx, &v))
			break;
	}
	sqlite3_reset(st);
	if (!rc && r != SQLITE_ROW && r != SQLITE_DONE)
		rc = sq_fail(s->db, r, "read the versions", err);
	return rc;
}

enum cds_err sq_tepoch_first(struct cds_store *base, uint32_t epoch,
			     uint64_t *version, bool *found,
			     struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_TEPOCH_FIRST, err);
	int r;

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, epoch);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*version = (uint64_t)sqlite3_column_int64(st, 0);
		*found = true;
	}
	sqlite3_reset(st);
	return r == SQLITE_ROW ? CDS_OK
			       : sq_fail(s->db, r, "read an epoch's first "
						   "version", err);
}

/* Columns version, prefix, removed, added; lists borrowed from st. */
static enum cds_err read_change(sqlite3_stmt *st, uint64_t *version,
				struct cds_tchange *c, struct cds_error *err)
{
	size_t removed = (size_t)sqlite3_column_bytes(st, 2);
	size_t added = (size_t)sqlite3_column_bytes(st, 3);

	if (removed % CDS_FP_BYTES || added % CDS_ENTRY_BYTES)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"store: bucket change row with a list of the "
				"wrong size");
	*version = (uint64_t)sqlite3_column_int64(st, 0);
	c->prefix = (uint32_t)sqlite3_column_int64(st, 1);
	c->removed = sqlite3_column_blob(st, 2);
	c->n_removed = removed / CDS_FP_BYTES;
	c->added = sqlite3_column_blob(st, 3);
	c->n_added = added / CDS_ENTRY_BYTES;
	return CDS_OK;
}

/* Step st's change rows through fn until the end or fn stops (invariant 2). */
static enum cds_err walk_changes(struct sq_store *s, sqlite3_stmt *st,
				 cds_tchange_fn fn, void *ctx,
				 struct cds_error *err)
{
	struct cds_tchange c;
	enum cds_err rc = CDS_OK;
	uint64_t version = 0;
	int r;

	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		rc = read_change(st, &version, &c, err);
		if (rc || fn(ctx, version, &c))
			break;
	}
	sqlite3_reset(st);
	if (!rc && r != SQLITE_ROW && r != SQLITE_DONE)
		rc = sq_fail(s->db, r, "read bucket changes", err);
	return rc;
}

enum cds_err sq_tchanges(struct cds_store *base, uint64_t version,
			 uint32_t from_prefix, size_t limit, cds_tchange_fn fn,
			 void *ctx, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_TCHANGES, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, (int64_t)version);
	sqlite3_bind_int64(st, 2, from_prefix);
	sqlite3_bind_int64(st, 3, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	return walk_changes(s, st, fn, ctx, err);
}

enum cds_err sq_thistory(struct cds_store *base, uint32_t epoch,
			 uint32_t prefix, uint64_t since, cds_tchange_fn fn,
			 void *ctx, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_THISTORY, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, epoch);
	sqlite3_bind_int64(st, 2, prefix);
	sqlite3_bind_int64(st, 3, (int64_t)since);
	return walk_changes(s, st, fn, ctx, err);
}

enum cds_err sq_tepoch_changes(struct cds_store *base, uint32_t epoch,
			       uint64_t after, uint64_t upto, cds_tchange_fn fn,
			       void *ctx, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_TEPOCH_CHANGES, err);

	if (!st)
		return CDS_ERR_STORE;
	sqlite3_bind_int64(st, 1, epoch);
	sqlite3_bind_int64(st, 2, (int64_t)after);
	sqlite3_bind_int64(st, 3, (int64_t)upto);
	return walk_changes(s, st, fn, ctx, err);
}

enum cds_err sq_tseal_try(struct cds_store *base, bool *held,
			  struct cds_error *err)
{
	(void)base;
	(void)err;
	*held = true;
	return CDS_OK;
}
