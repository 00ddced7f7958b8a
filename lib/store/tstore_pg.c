/*
 * tstore_pg.c: transparency's history (tstore.h) in PostgreSQL, tables
 * tversions and tchanges (store_pg_schema.c v6), and the sealer lock.
 *
 * Invariants:
 *  1. An append is one transaction that first takes an advisory
 *     transaction lock (CDS_PG_TAPPEND_LOCK) and only then reads the last
 *     version: of two sealers appending the same version the second reads
 *     the first's committed row and gets CDS_ERR_EXISTS, having written
 *     nothing.  The primary key backs this up.  The lock is not the
 *     writers' meta row lock (store_pg.h invariant 1), so a long import
 *     does not hold up sealing.
 *  2. Walks read in pages (PAGE rows, each page from the last row seen),
 *     so a replica loading a large epoch never holds it all in one
 *     result.  Pages are separate statements, yet each sees whole
 *     versions only: versions commit whole and in order (invariant 1),
 *     and every walk is ordered by version first or reads one version.
 *  3. The sealer lock is a session advisory lock (CDS_PG_TSEAL_LOCK):
 *     the server frees it when the holder's connection ends, kill -9
 *     included.  A connection that store_pg.c resets (a restarted
 *     server) has lost it; the next try takes it again if it is free.
 */
#include "store/store_pg.h"

#include <string.h>

#define PAGE 512

/* Bucket changes go in with one binary COPY (an epoch's first: every bucket). */
static enum cds_err copy_changes(struct pg_store *s, const struct cds_thead *h,
				 const struct cds_tchange *ch, size_t n,
				 struct cds_error *err)
{
	struct pg_copy c;
	enum cds_err rc;

	rc = pg_copy_begin(&c, s->conn, "COPY tchanges (version, prefix, epoch, "
					"removed, added) FROM STDIN (FORMAT binary)",
			   err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		pg_copy_row(&c, 5);
		pg_copy_i64(&c, (int64_t)h->version);
		pg_copy_i64(&c, ch[i].prefix);
		pg_copy_i64(&c, h->epoch);
		pg_copy_bytes(&c, ch[i].n_removed ? ch[i].removed : (const uint8_t *)"",
			      ch[i].n_removed * CDS_FP_BYTES);
		pg_copy_bytes(&c, ch[i].n_added ? ch[i].added : (const uint8_t *)"",
			      ch[i].n_added * CDS_ENTRY_BYTES);
	}
	return pg_copy_end(&c, "append bucket changes", NULL, err);
}

/* Invariant 1: under the append lock, v must be the last + 1. */
static enum cds_err check_next(struct pg_store *s, uint64_t version,
			       struct cds_error *err)
{
	PGresult *r = pg_run(s, PG_TVERSION_MAX, NULL, "read the last version",
			     err);
	uint64_t last;

	if (!r)
		return CDS_ERR_STORE;
	last = (uint64_t)pg_col_i64(r, 0, 0);
	PQclear(r);
	return cds_tstore_check_next(version, last, err);
}

static enum cds_err insert_version(struct pg_store *s,
				   const struct cds_tversion *v,
				   struct cds_error *err)
{
	const struct cds_thead *h = &v->head;
	struct pg_args a = {.n = 0};
	PGresult *r;

	pg_arg_i64(&a, (int64_t)h->version);
	pg_arg_i64(&a, h->epoch);
	pg_arg_i64(&a, (int64_t)h->time_ms);
	pg_arg_bytes(&a, h->root, CDS_HASH_BYTES);
	pg_arg_bytes(&a, h->log_root, CDS_HASH_BYTES);
	pg_arg_bytes(&a, h->signature, CDS_THEAD_SIG_BYTES);
	pg_arg_i64(&a, (int64_t)v->seq);
	r = pg_run(s, PG_TVERSION_INSERT, &a, "append a transparency version",
		   err);
	PQclear(r);
	return r ? CDS_OK : CDS_ERR_STORE;
}

static enum cds_err begin_append(struct pg_store *s, struct cds_error *err)
{
	enum cds_err rc = pg_exec(s, "BEGIN", "begin an append", err);

	if (rc)
		return rc;
	s->in_txn = true;
	rc = pg_exec(s, "SELECT pg_advisory_xact_lock(" CDS_PG_TAPPEND_LOCK ")",
		     "wait for another sealer's append", err);
	return rc ? pg_end(s, rc, err) : CDS_OK;
}

enum cds_err pg_tversion_append(struct cds_store *base,
				const struct cds_tversion *v,
				const struct cds_tchange *ch, size_t n,
				struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	enum cds_err rc = begin_append(s, err);

	if (rc)
		return rc;
	rc = check_next(s, v->head.version, err);
	if (!rc)
		rc = insert_version(s, v, err);
	if (!rc && n)
		rc = copy_changes(s, &v->head, ch, n, err);
	return pg_end(s, rc, err);
}

/* Columns version, epoch, time_ms, root, log_root, signature, seq. */
static enum cds_err read_version(const PGresult *r, int i,
				 struct cds_tversion *v, struct cds_error *err)
{
	struct cds_thead *h = &v->head;

	if (PQgetlength(r, i, 3) != CDS_HASH_BYTES ||
	    PQgetlength(r, i, 4) != CDS_HASH_BYTES ||
	    PQgetlength(r, i, 5) != CDS_THEAD_SIG_BYTES)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"store: version row with a field of the wrong "
				"size");
	h->version = (uint64_t)pg_col_i64(r, i, 0);
	h->epoch = (uint32_t)pg_col_i64(r, i, 1);
	h->time_ms = (uint64_t)pg_col_i64(r, i, 2);
	memcpy(h->root, PQgetvalue(r, i, 3), CDS_HASH_BYTES);
	memcpy(h->log_root, PQgetvalue(r, i, 4), CDS_HASH_BYTES);
	memcpy(h->signature, PQgetvalue(r, i, 5), CDS_THEAD_SIG_BYTES);
	v->seq = (uint64_t)pg_col_i64(r, i, 6);
	return CDS_OK;
}

enum cds_err pg_tversion_last(struct cds_store *base, struct cds_tversion *v,
			      bool *found, struct cds_error *err)
{
	PGresult *r = pg_run(pg_of(base), PG_TVERSION_LAST, NULL,
			     "read the last version", err);
	struct cds_tversion got;
	enum cds_err rc = CDS_OK;

	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) == 1 && !(rc = read_version(r, 0, &got, err))) {
		*v = got;
		*found = true;
	}
	PQclear(r);
	return rc;
}

/*
 * A paged walk (invariant 2): statement id with args arg[0..n_args), then
 * the page size.  keyv and keyp name the args that take the last row's
 * version and prefix for the next page (-1: none); row reads row i and
 * hands it on, setting *stop if the caller's callback said so.
 */
struct walk {
	enum pg_stmt_id id;
	int64_t arg[PG_ARGS_MAX - 1];
	int n_args, keyv, keyp;
	size_t left;
	enum cds_err (*row)(struct walk *w, const PGresult *r, int i,
			    bool *stop, struct cds_error *err);
	cds_tversion_fn vfn;
	cds_tchange_fn cfn;
	void *ctx;
	uint64_t *last;
};

static void walk_key(struct walk *w, uint64_t version, uint32_t prefix)
{
	if (w->keyv >= 0)
		w->arg[w->keyv] = (int64_t)version;
	if (w->keyp >= 0)
		w->arg[w->keyp] = prefix;
}

/* One page; *more is false once the walk is over. */
static enum cds_err walk_page(struct pg_store *s, struct walk *w, bool *more,
			      struct cds_error *err)
{
	size_t size = w->left < PAGE ? w->left : PAGE;
	struct pg_args a = {.n = 0};
	enum cds_err rc = CDS_OK;
	bool stop = false;
	PGresult *r;
	int n;

	for (int i = 0; i < w->n_args; i++)
		pg_arg_i64(&a, w->arg[i]);
	pg_arg_i64(&a, (int64_t)size);
	r = pg_run(s, w->id, &a, "read transparency history", err);
	if (!r)
		return CDS_ERR_STORE;
	n = PQntuples(r);
	for (int i = 0; i < n && !rc && !stop; i++)
		rc = w->row(w, r, i, &stop, err);
	PQclear(r);
	w->left -= (size_t)n;
	*more = !rc && !stop && (size_t)n == size && w->left;
	return rc;
}

static enum cds_err walk(struct pg_store *s, struct walk *w,
			 struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	bool more = true;

	while (more && !rc)
		rc = walk_page(s, w, &more, err);
	return rc;
}

static enum cds_err version_row(struct walk *w, const PGresult *r, int i,
				bool *stop, struct cds_error *err)
{
	struct cds_tversion v;
	enum cds_err rc = read_version(r, i, &v, err);

	if (rc)
		return rc;
	walk_key(w, v.head.version, 0);
	*w->last = v.head.version;
	*stop = w->vfn(w->ctx, &v) != 0;
	return CDS_OK;
}

/* Columns version, prefix, removed, added; lists borrowed from r. */
static enum cds_err change_row(struct walk *w, const PGresult *r, int i,
			       bool *stop, struct cds_error *err)
{
	size_t removed = (size_t)PQgetlength(r, i, 2);
	size_t added = (size_t)PQgetlength(r, i, 3);
	uint64_t version = (uint64_t)pg_col_i64(r, i, 0);
	struct cds_tchange c;

	if (removed % CDS_FP_BYTES || added % CDS_ENTRY_BYTES)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"store: bucket change row with a list of the "
				"wrong size");
	c = (struct cds_tchange){
		.prefix = (uint32_t)pg_col_i64(r, i, 1),
		.removed = (const uint8_t *)PQgetvalue(r, i, 2),
		.n_removed = removed / CDS_FP_BYTES,
		.added = (const uint8_t *)PQgetvalue(r, i, 3),
		.n_added = added / CDS_ENTRY_BYTES,
	};
	walk_key(w, version, c.prefix);
	*stop = w->cfn(w->ctx, version, &c) != 0;
	return CDS_OK;
}

enum cds_err pg_tversions(struct cds_store *base, uint64_t from, size_t limit,
			  cds_tversion_fn fn, void *ctx, uint64_t *last,
			  struct cds_error *err)
{
	struct walk w = {.id = PG_TVERSIONS_AFTER, .arg = {(int64_t)from - 1},
			 .n_args = 1, .keyv = 0, .keyp = -1, .left = limit,
			 .row = version_row, .vfn = fn, .ctx = ctx,
			 .last = last};

	return walk(pg_of(base), &w, err);
}

enum cds_err pg_tepoch_first(struct cds_store *base, uint32_t epoch,
			     uint64_t *version, bool *found,
			     struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	PGresult *r;

	pg_arg_i64(&a, epoch);
	r = pg_run(pg_of(base), PG_TEPOCH_FIRST, &a,
		   "read an epoch's first version", err);
	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		*version = (uint64_t)pg_col_i64(r, 0, 0);
		*found = true;
	}
	PQclear(r);
	return CDS_OK;
}

enum cds_err pg_tchanges(struct cds_store *base, uint64_t version,
			 uint32_t from_prefix, size_t limit, cds_tchange_fn fn,
			 void *ctx, struct cds_error *err)
{
	struct walk w = {.id = PG_TCHANGES,
			 .arg = {(int64_t)version, (int64_t)from_prefix - 1},
			 .n_args = 2, .keyv = -1, .keyp = 1, .left = limit,
			 .row = change_row, .cfn = fn, .ctx = ctx};

	return walk(pg_of(base), &w, err);
}

enum cds_err pg_thistory(struct cds_store *base, uint32_t epoch,
			 uint32_t prefix, uint64_t since, cds_tchange_fn fn,
			 void *ctx, struct cds_error *err)
{
	struct walk w = {.id = PG_THISTORY,
			 .arg = {epoch, prefix, (int64_t)since},
			 .n_args = 3, .keyv = 2, .keyp = -1, .left = SIZE_MAX,
			 .row = change_row, .cfn = fn, .ctx = ctx};

	return walk(pg_of(base), &w, err);
}

/* The first page starts after (after, any prefix): INT64_MAX as prefix. */
enum cds_err pg_tepoch_changes(struct cds_store *base, uint32_t epoch,
			       uint64_t after, uint64_t upto, cds_tchange_fn fn,
			       void *ctx, struct cds_error *err)
{
	struct walk w = {.id = PG_TEPOCH_CHANGES,
			 .arg = {epoch, (int64_t)upto, (int64_t)after,
				 INT64_MAX},
			 .n_args = 4, .keyv = 2, .keyp = 3, .left = SIZE_MAX,
			 .row = change_row, .cfn = fn, .ctx = ctx};

	return walk(pg_of(base), &w, err);
}

enum cds_err pg_tseal_try(struct cds_store *base, bool *held,
			  struct cds_error *err)
{
	PGresult *r = pg_run(pg_of(base), PG_TSEAL_TRY, NULL,
			     "try the sealer lock", err);

	if (!r)
		return CDS_ERR_STORE;
	*held = PQntuples(r) == 1 && pg_col_i64(r, 0, 0) == 1;
	PQclear(r);
	return CDS_OK;
}
