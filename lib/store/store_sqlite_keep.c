/*
 * store_sqlite_keep.c: what the SQLite store keeps and for how long: the
 * change log's floor and its pruning, and the legal ledger mark (store.h).
 *
 * Invariants:
 *  1. Pruning removes a prefix of the change log and never its newest row
 *     (schema invariant 3), so the retained rows stay contiguous.
 *  2. With secure_delete on (store_sqlite.c), pruned rows are zeroed in
 *     the database pages; a TRUNCATE checkpoint afterwards also empties the
 *     WAL, where the rows' old pages would otherwise linger until
 *     overwritten.  The checkpoint is best effort: a reader holding an old
 *     snapshot makes it incomplete, and the next prune finishes the job.
 */
#include "store/store_sqlite.h"

#include <string.h>

enum cds_err sq_changes_floor(struct cds_store *base, uint64_t *floor,
			      struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_CHANGES_FLOOR, err);
	int r;

	if (!st)
		return CDS_ERR_STORE;
	*floor = 0;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*floor = (uint64_t)sqlite3_column_int64(st, 0); /* NULL: 0 */
	sqlite3_reset(st);
	return r == SQLITE_ROW ? CDS_OK
			       : sq_fail(s->db, r, "read the change log", err);
}

enum cds_err sq_changes_prune(struct cds_store *base, uint64_t below,
			      uint64_t *removed, struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st;
	enum cds_err rc;

	*removed = 0;
	if ((rc = sq_begin_write(s, err)))
		return rc;
	st = sq_stmt(s, SQ_CHANGES_PRUNE, err);
	if (!st)
		rc = CDS_ERR_STORE;
	if (!rc) {
		sqlite3_bind_int64(st, 1, (int64_t)below);
		rc = sq_exec_stmt(s, st, "prune the change log", err);
		*removed = rc ? 0 : (uint64_t)sqlite3_changes(s->db);
	}
	rc = sq_end(s, rc, err);
	if (!rc && *removed)
		(void)sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)",
				   NULL, NULL, NULL);
	return rc;
}

enum cds_err sq_ledger_mark_get(struct cds_store *base,
				struct cds_ledger_head *out,
				struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st = sq_stmt(s, SQ_LEDGER_MARK_GET, err);
	int r;

	if (!st)
		return CDS_ERR_STORE;
	memset(out, 0, sizeof(*out));
	r = sqlite3_step(st);
	if (r == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 1) == (int)sizeof(out->hash)) {
		out->entries = (uint64_t)sqlite3_column_int64(st, 0);
		memcpy(out->hash, sqlite3_column_blob(st, 1), sizeof(out->hash));
	}
	sqlite3_reset(st);
	return r == SQLITE_ROW || r == SQLITE_DONE
		       ? CDS_OK
		       : sq_fail(s->db, r, "read the ledger mark", err);
}

enum cds_err sq_ledger_mark_set(struct cds_store *base,
				const struct cds_ledger_head *h,
				struct cds_error *err)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *st;
	enum cds_err rc;

	if ((rc = sq_begin_write(s, err)))
		return rc;
	st = sq_stmt(s, SQ_LEDGER_MARK_SET, err);
	if (!st)
		rc = CDS_ERR_STORE;
	if (!rc) {
		sqlite3_bind_int64(st, 1, (int64_t)h->entries);
		sqlite3_bind_blob(st, 2, h->hash, sizeof(h->hash), SQLITE_STATIC);
		rc = sq_exec_stmt(s, st, "record the ledger mark", err);
	}
	return sq_end(s, rc, err);
}
