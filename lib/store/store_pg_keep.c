/*
 * store_pg_keep.c: what the PostgreSQL store keeps and for how long: the
 * change log's floor and its pruning, and the legal ledger mark (store.h;
 * the same semantics as store_sqlite_keep.c).
 *
 * Invariants:
 *  1. Pruning removes a prefix of the change log and never its newest row,
 *     so the retained rows stay contiguous up to meta.last_seq.  SQLite
 *     keeps the newest row because it numbers a new row max(seq) + 1; here
 *     numbers come from meta.last_seq (store_pg.h invariant 1), so deleting
 *     every row would not reuse a number, but it would lie about the floor:
 *     an empty log reads as floor 0, "nothing was pruned", and a consumer
 *     from before the pruned rows (an index snapshot a server restarts
 *     from: mirror_epochs.c, changes_kept_since) would be trusted, and
 *     miss the pruned changes.  With the newest row kept, the floor of a
 *     log that ever had a row is that of its oldest kept row, as on SQLite.
 *  2. Pruning takes the writers' lock (pg_begin_write), so it runs between
 *     write transactions, never beside one whose rows are not committed
 *     yet.  It deletes only rows below `below`, which the caller bounds by
 *     the slowest consumer's position + 1 (mirror_prune.c); a poller at p
 *     reads seq > p (pg_changes), so it never finds a hole, and a restarted
 *     server takes its position from meta.last_seq (a scan), not from the
 *     log.  Pruning changes neither meta.last_seq nor the next number.
 *  3. The ledger mark moves forward only, in one statement (an upsert that
 *     locks the row), without the writers' lock: it is not part of the
 *     change log, so an export never waits behind a bulk import.
 */
#include "store/store_pg.h"

#include <stdlib.h>
#include <string.h>

enum cds_err pg_changes_floor(struct cds_store *base, uint64_t *floor,
			      struct cds_error *err)
{
	PGresult *r = pg_run(pg_of(base), PG_CHANGES_FLOOR, NULL,
			     "read the change log", err);

	*floor = 0;
	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) == 1)
		*floor = (uint64_t)pg_col_i64(r, 0, 0);
	PQclear(r);
	return CDS_OK;
}

/*
 * After a prune, VACUUM makes the deleted rows' space reusable (and gives
 * trailing empty pages back to the file system).  Best effort, as SQLite's
 * checkpoint: it runs after the commit (not inside a transaction), skips
 * the table rather than wait while another vacuum (autovacuum) holds it,
 * and a role that does not own the table only gets a warning; autovacuum
 * does it later anyway.
 */
enum cds_err pg_changes_prune(struct cds_store *base, uint64_t below,
			      uint64_t *removed, struct cds_error *err)
{
	struct pg_store *s = pg_of(base);
	struct pg_args a = {.n = 0};
	enum cds_err rc;
	PGresult *r;

	*removed = 0;
	if (below > INT64_MAX)
		below = INT64_MAX;
	rc = pg_begin_write(s, err);
	if (rc)
		return rc;
	pg_arg_i64(&a, (int64_t)below);
	r = pg_run(s, PG_CHANGES_PRUNE, &a, "prune the change log", err);
	if (r)
		*removed = strtoull(PQcmdTuples(r), NULL, 10);
	else
		rc = CDS_ERR_STORE;
	PQclear(r);
	rc = pg_end_write(s, rc, err);
	if (rc)
		*removed = 0;
	else if (*removed)
		(void)pg_exec(s, "VACUUM (SKIP_LOCKED) changes",
			      "vacuum the change log", NULL);
	return rc;
}

enum cds_err pg_ledger_mark_get(struct cds_store *base,
				struct cds_ledger_head *out,
				struct cds_error *err)
{
	PGresult *r = pg_run(pg_of(base), PG_LEDGER_MARK_GET, NULL,
			     "read the ledger mark", err);

	memset(out, 0, sizeof(*out));
	if (!r)
		return CDS_ERR_STORE;
	if (PQntuples(r) == 1 && PQgetlength(r, 0, 1) == (int)sizeof(out->hash)) {
		out->entries = (uint64_t)pg_col_i64(r, 0, 0);
		memcpy(out->hash, PQgetvalue(r, 0, 1), sizeof(out->hash));
	}
	PQclear(r);
	return CDS_OK;
}

enum cds_err pg_ledger_mark_set(struct cds_store *base,
				const struct cds_ledger_head *h,
				struct cds_error *err)
{
	struct pg_args a = {.n = 0};
	PGresult *r;

	if (h->entries > INT64_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"ledger mark of %llu entries out of range",
				(unsigned long long)h->entries);
	pg_arg_i64(&a, (int64_t)h->entries);
	pg_arg_bytes(&a, h->hash, sizeof(h->hash));
	r = pg_run(pg_of(base), PG_LEDGER_MARK_SET, &a, "record the ledger mark",
		   err);
	PQclear(r);
	return r ? CDS_OK : CDS_ERR_STORE;
}
