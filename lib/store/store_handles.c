/*
 * store_handles.c: handles added to and removed from an existing account,
 * the part both backends share (store_impl.h, struct cds_handles_backend):
 * the order of the steps, when a change row is written, and what a taken
 * handle is; each backend only runs its own statements.
 *
 * Invariants (store.h):
 *  1. cds_handles_update_with is one write transaction: every removal and
 *     addition happens or none does.
 *  2. A change row is written for each handle that really came or went, in
 *     the same transaction; removing a handle the account does not have,
 *     or adding one it has, writes none and is no error.
 *  3. A handle registered to another account fails with CDS_ERR_EXISTS
 *     and err->index = its position in `add`; the message never says which
 *     account holds it (it may be shown to the client who asked).
 */
#include "store/store_impl.h"

/* Take h from account n (id), with its change row if it was there. */
static enum cds_err remove_one(struct cds_store *s,
			       const struct cds_handles_backend *b,
			       const uint8_t *id, int64_t n, const char *h,
			       struct cds_error *err)
{
	bool removed = false;
	enum cds_err rc = b->row_remove(s, n, h, &removed, err);

	if (!rc && removed)
		rc = b->log_change(s, id, h, err);
	return rc;
}

/* Give h to account n (id); CDS_ERR_EXISTS if another account has it. */
static enum cds_err add_one(struct cds_store *s,
			    const struct cds_handles_backend *b,
			    const uint8_t *id, int64_t n, const char *h,
			    size_t index, struct cds_error *err)
{
	bool added = false, mine = false;
	enum cds_err rc = b->row_add(s, n, h, &added, err);

	if (rc)
		return rc;
	if (added)
		return b->log_change(s, id, h, err);
	rc = b->owned_by(s, n, h, &mine, err);
	if (!rc && !mine)
		rc = cds_fail_at(err, CDS_ERR_EXISTS, (long)index,
				 "handle '%.200s' is registered to another account",
				 h);
	return rc;
}

enum cds_err cds_handles_update_with(struct cds_store *s,
				     const struct cds_handles_backend *b,
				     const uint8_t *id, const char *const *add,
				     size_t n_add, const char *const *remove,
				     size_t n_remove, struct cds_error *err)
{
	enum cds_err rc;
	int64_t n = 0;

	rc = b->begin(s, err);
	if (rc)
		return rc;
	rc = b->account_n(s, id, &n, err);
	/* Removals first, so that "remove X, add X" leaves X registered. */
	for (size_t i = 0; i < n_remove && !rc; i++)
		rc = remove_one(s, b, id, n, remove[i], err);
	for (size_t i = 0; i < n_add && !rc; i++)
		rc = add_one(s, b, id, n, add[i], i, err);
	return b->end(s, rc, err);
}

enum cds_err cds_handle_add_with(struct cds_store *s,
				 const struct cds_handles_backend *b,
				 const uint8_t *id, const char *h,
				 struct cds_error *err)
{
	int64_t n = 0;
	enum cds_err rc = b->account_n(s, id, &n, err);

	return rc ? rc : add_one(s, b, id, n, h, 0, err);
}

enum cds_err cds_handle_remove_with(struct cds_store *s,
				    const struct cds_handles_backend *b,
				    const uint8_t *id, const char *h,
				    struct cds_error *err)
{
	int64_t n = 0;

	if (!b->number(s, id, &n))
		return cds_fail(err, CDS_ERR_INTERNAL,
				"store: a handle's account has no number");
	return remove_one(s, b, id, n, h, err);
}
