/*
 * legal_verify.c: the trust check of the disclosure ledger (legal.h
 * cds_legal_verify), shared by `cdsctl legal verify` and the transparency
 * report.
 *
 * Three independent anchors, each catching what the others cannot:
 *  1. the hash chain and ledger_head (ledger.c): an edit by anyone who does
 *     not recompute later hashes;
 *  2. the store's mark (store.h), written after every export into the
 *     directory store: a deleted, emptied or truncated ledger, by someone
 *     who can write the ledger but not the store (on SQLite, DIR/legal
 *     but not DIR/cds.sqlite3; on PostgreSQL the two share a database, so
 *     this anchor then guards against accidents and the third against
 *     intent);
 *  3. a head published in an earlier transparency report: a ledger rewritten
 *     whole, re-hashed and with a new ledger_head, by anyone at all, since
 *     the published copy is out of their reach.
 */
#include "legal/legal.h"

#include <string.h>

#include "store/store.h"

#define MARK_WHAT "the store's record of the last export"
#define PUBLISHED_WHAT "the published head"

static enum cds_err store_mark(const char *datadir, struct cds_ledger_head *m,
			       struct cds_error *err)
{
	struct cds_store *st = NULL;
	enum cds_err rc = cds_store_open(&st, datadir, err);

	if (!rc)
		rc = cds_store_ledger_mark_get(st, m, err);
	cds_store_close(st);
	return rc;
}

/* No ledger: fine only if nothing says there ever was an export. */
static enum cds_err missing(const char *datadir,
			    const struct cds_ledger_head *mark,
			    const struct cds_ledger_head *published,
			    struct cds_error *err)
{
	if (mark->entries)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"the ledger of %s is missing, but %s names %llu "
				"entries (the ledger was deleted)", datadir, MARK_WHAT,
				(unsigned long long)mark->entries);
	if (published && published->entries)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"the ledger of %s is missing, but %s names %llu "
				"entries (the ledger was deleted)", datadir,
				PUBLISHED_WHAT,
				(unsigned long long)published->entries);
	cds_error_clear(err);
	return CDS_OK;
}

enum cds_err cds_legal_verify(const char *datadir,
			      const struct cds_ledger_head *published,
			      const uint8_t *sig, struct cds_ledger_head *cur,
			      struct cds_error *err)
{
	struct cds_ledger_head mark;
	struct cds_ledger *l = NULL;
	enum cds_err rc;

	memset(cur, 0, sizeof(*cur));
	if (published && sig &&
	    (rc = cds_ledger_head_check(datadir, published, sig, err)))
		return rc;
	if ((rc = store_mark(datadir, &mark, err)))
		return rc;
	rc = cds_ledger_open(&l, datadir, false, err);
	if (rc == CDS_ERR_NOT_FOUND)
		return missing(datadir, &mark, published, err);
	if (!rc)
		rc = cds_ledger_verify_head(l, cur, err);
	if (!rc)
		rc = cds_ledger_extends(l, cur, &mark, MARK_WHAT, err);
	if (!rc && published)
		rc = cds_ledger_extends(l, cur, published, PUBLISHED_WHAT, err);
	cds_ledger_close(l);
	if (rc)
		memset(cur, 0, sizeof(*cur));
	return rc;
}
