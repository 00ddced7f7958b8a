/*
 * op.c: the working set of one operation: the contacts' distinct handles
 * going in, per-contact results coming out.
 *
 * Invariants: op->recs is sorted by strcmp with no duplicates and borrows
 * its handle strings from the contact list, which must not change while the
 * op lives; published results own copies of their strings.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client/client_impl.h"
#include "core/codec.h"

static int cmp_rec(const void *a, const void *b)
{
	return strcmp(((const struct cds_hrec *)a)->handle,
		      ((const struct cds_hrec *)b)->handle);
}

enum cds_err cds_op_build(struct cds_op *op, const struct cds_contact_list *l,
			  struct cds_error *err)
{
	size_t total = 0, n = 0;

	op->recs = NULL;
	op->n = 0;
	for (size_t i = 0; i < l->n; i++)
		total += l->v[i].n_handles;
	op->recs = calloc(total ? total : 1, sizeof(*op->recs));
	if (!op->recs)
		return cds_fail(err, CDS_ERR_NOMEM,
				"out of memory for %zu handles", total);
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = 0; j < l->v[i].n_handles; j++) {
			op->recs[n].handle = l->v[i].handles[j];
			op->recs[n].len = strlen(l->v[i].handles[j]);
			n++;
		}
	qsort(op->recs, n, sizeof(*op->recs), cmp_rec);
	for (size_t i = 0; i < n; i++)
		if (op->n == 0 || strcmp(op->recs[op->n - 1].handle,
					 op->recs[i].handle))
			op->recs[op->n++] = op->recs[i];
	return CDS_OK;
}

void cds_op_fini(struct cds_op *op)
{
	if (!op || !op->recs)
		return;
	sodium_memzero(op->recs, op->n * sizeof(*op->recs));
	free(op->recs);
	op->recs = NULL;
	op->n = 0;
}

struct cds_hrec *cds_op_find(const struct cds_op *op, const char *h)
{
	struct cds_hrec key;

	if (!op->n)
		return NULL;
	key.handle = h;
	return bsearch(&key, op->recs, op->n, sizeof(*op->recs), cmp_rec);
}

void cds_client_results_clear(struct cds_client *c)
{
	for (size_t i = 0; i < c->n_results; i++) {
		free((char *)c->results[i].name);
		free((char *)c->results[i].handle);
	}
	free(c->results);
	c->results = NULL;
	c->n_results = 0;
}

static enum cds_err fill_result(struct cds_result *r,
				const struct cds_contact_rec *ct,
				const struct cds_hrec *h)
{
	memset(r, 0, sizeof(*r));
	r->contact_id = ct->id;
	r->name = strdup(ct->name ? ct->name : "");
	r->handle = strdup(h->handle);
	if (!r->name || !r->handle)
		return CDS_ERR_NOMEM;
	r->registered = h->registered;
	r->change = h->change;
	if (h->registered) {
		memcpy(r->account, h->account, sizeof(r->account));
		memcpy(r->identity_key, h->identity_key, sizeof(r->identity_key));
		cds_hex_encode(r->account_hex, h->account, sizeof(h->account));
	}
	if (h->change == CDS_CHANGE_KEY) {
		cds_hex_encode(r->previous_account_hex, h->prev_account,
			       sizeof(h->prev_account));
		memcpy(r->previous_identity_key, h->prev_identity_key,
		       sizeof(r->previous_identity_key));
	}
	return CDS_OK;
}

enum cds_err cds_op_publish(struct cds_client *c, const struct cds_op *op,
			    struct cds_error *err)
{
	size_t total = 0;

	cds_client_results_clear(c);
	for (size_t i = 0; i < c->contacts.n; i++)
		total += c->contacts.v[i].n_handles;
	c->results = calloc(total ? total : 1, sizeof(*c->results));
	if (!c->results)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for results");
	for (size_t i = 0; i < c->contacts.n; i++) {
		const struct cds_contact_rec *ct = &c->contacts.v[i];

		for (size_t j = 0; j < ct->n_handles; j++) {
			const struct cds_hrec *h = cds_op_find(op, ct->handles[j]);
			struct cds_result *r = &c->results[c->n_results++];

			if (!h)
				return cds_fail(err, CDS_ERR_INTERNAL,
						"no result for '%s'", ct->handles[j]);
			if (fill_result(r, ct, h))
				return cds_fail(err, CDS_ERR_NOMEM,
						"out of memory for results");
			if (r->change != CDS_CHANGE_UNCHANGED)
				c->stats.changes++;
		}
	}
	return CDS_OK;
}
