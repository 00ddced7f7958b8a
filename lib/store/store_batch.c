/*
 * store_batch.c: the handles of a batch of new accounts in handle order,
 * shared by the backends' bulk creation.  Both insert handles sorted: a
 * B-tree keyed by the handle then fills neighbouring pages, and a handle
 * repeated within the batch sits next to its twin.
 *
 * Invariant: equal handles are ordered by account position, so the later
 * account of a repeat is the one reported (store.h: err->index).
 */
#include "store/store_impl.h"

#include <stdlib.h>
#include <string.h>

static int batch_handle_cmp(const void *a, const void *b)
{
	const struct cds_batch_handle *x = a, *y = b;
	int c = strcmp(x->h, y->h);

	return c ? c : x->acct < y->acct ? -1 : x->acct > y->acct;
}

enum cds_err cds_batch_handles(const struct cds_new_account *accts, size_t n,
			       struct cds_batch_handle **out, size_t *n_out,
			       struct cds_error *err)
{
	size_t total = 0, k = 0;
	struct cds_batch_handle *hs;

	for (size_t i = 0; i < n; i++)
		total += accts[i].n_handles;
	hs = malloc((total ? total : 1) * sizeof(*hs));
	if (!hs)
		return cds_fail(err, CDS_ERR_NOMEM,
				"out of memory creating %zu accounts", n);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < accts[i].n_handles; j++)
			hs[k++] = (struct cds_batch_handle){accts[i].handles[j], i};
	qsort(hs, total, sizeof(*hs), batch_handle_cmp);
	*out = hs;
	*n_out = total;
	return CDS_OK;
}
