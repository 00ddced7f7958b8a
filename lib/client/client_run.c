/*
 * client_run.c: the public API's address-book import, operations (discover,
 * sync), results and statistics.
 *
 * Invariants: an operation resets the stats first and fills wall time and
 * transfer counters on every path; results are replaced only by a
 * successful operation and cleared by a failed one (client.c invariant 3).
 */
#include <stdlib.h>
#include <string.h>

#include "addressbook/addressbook.h"
#include "client/client_impl.h"
#include "core/timeutil.h"

/* Copy parsed address-book contacts into the client's list. */
static enum cds_err adopt_book(struct cds_client *c,
			       const struct cds_addressbook *ab, size_t *added,
			       struct cds_error *err)
{
	struct cds_contact_rec r;
	enum cds_err rc = CDS_OK;
	size_t n = 0;

	for (size_t i = 0; i < ab->n && !rc; i++) {
		const struct cds_contact *ct = &ab->contacts[i];

		memset(&r, 0, sizeof(r));
		r.name = strdup(ct->name ? ct->name : "");
		if (!r.name)
			rc = CDS_ERR_NOMEM;
		for (size_t j = 0; !rc && j < ct->n_handles; j++)
			rc = cds_strv_add(&r.handles, &r.n_handles, ct->handles[j]);
		for (size_t j = 0; !rc && j < ct->n_problems; j++)
			rc = cds_strv_add(&r.problems, &r.n_problems, ct->problems[j]);
		if (rc)
			rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory loading contacts");
		else
			rc = cds_contacts_append(&c->contacts, &r, err);
		if (!rc)
			n++;
		cds_contact_rec_fini(&r);
	}
	if (added)
		*added = n;
	return rc;
}

enum cds_err cds_client_load_addressbook(struct cds_client *c,
					 const char *path, const char *region,
					 size_t *added, struct cds_error *err)
{
	struct cds_addressbook *ab = NULL;
	char cc[3];
	enum cds_err rc;

	if (added)
		*added = 0;
	if (!path)
		return cds_fail(err, CDS_ERR_INVALID, "no address book file given");
	rc = cds_client_region(cc, region, c->region, err);
	if (!rc)
		rc = cds_addressbook_load(&ab, path, cc, err);
	if (!rc)
		rc = adopt_book(c, ab, added, err);
	cds_addressbook_free(ab);
	return rc;
}

enum cds_err cds_client_load_addressbook_mem(struct cds_client *c,
					     const char *data, size_t len,
					     const char *region, size_t *added,
					     struct cds_error *err)
{
	struct cds_addressbook *ab = NULL;
	char cc[3];
	enum cds_err rc;

	if (added)
		*added = 0;
	if (!data && len)
		return cds_fail(err, CDS_ERR_INVALID, "no address book data given");
	rc = cds_client_region(cc, region, c->region, err);
	if (!rc)
		rc = cds_addressbook_parse(&ab, data ? data : "", len, CDS_AB_AUTO,
					   cc, err);
	if (!rc)
		rc = adopt_book(c, ab, added, err);
	cds_addressbook_free(ab);
	return rc;
}

static void begin_stats(struct cds_client *c)
{
	memset(&c->stats, 0, sizeof(c->stats));
	atomic_store(&c->waited_ms, 0);
	atomic_store(&c->waits, 0);
	atomic_store(&c->retry_after_s, 0);
	for (int i = 0; i < CDS_PHASE__COUNT; i++) {
		atomic_store(&c->done[i], 0);
		atomic_store(&c->total[i], 0);
	}
	c->stats.contacts = c->contacts.n;
	for (size_t i = 0; i < c->contacts.n; i++)
		c->stats.problems += c->contacts.v[i].n_problems;
}

static void end_stats(struct cds_client *c, const struct cds_op *op,
		      int64_t t0)
{
	struct cds_http_counters sum = {0, 0, 0};

	for (unsigned i = 0; i < CDS_CLIENT_THREADS_MAX; i++)
		if (c->http[i])
			cds_http_take_counters(c->http[i], &sum);
	if (c->prefetch)
		cds_http_take_counters(c->prefetch, &sum);
	c->stats.requests = sum.requests;
	c->stats.bytes_down = sum.bytes_down;
	c->stats.bytes_up = sum.bytes_up;
	c->stats.handles = op->n;
	c->stats.waits = atomic_load(&c->waits);
	c->stats.waited_ms = atomic_load(&c->waited_ms);
	c->stats.retry_after_s = atomic_load(&c->retry_after_s);
	c->stats.wall_us = cds_monotonic_us() - t0;
}

/* Plain lookup, after checking that the server offers it. */
static enum cds_err run_plain(struct cds_client *c, struct cds_op *op,
			      struct cds_error *err)
{
	struct cds_params p;
	enum cds_err rc = cds_disc_params(c, &p, err);

	if (rc)
		return rc;
	if (!p.plain_lookup)
		return cds_fail(err, CDS_ERR_DISABLED,
				"the server at %s does not offer plain lookup",
				c->url);
	return cds_disc_plain(c, &p, op, err);
}

/*
 * The end every operation shares: count what it found, publish the results
 * (or none, if it failed), close the statistics and free the operation.
 */
static enum cds_err finish_op(struct cds_client *c, struct cds_op *op,
			      enum cds_err rc, int64_t t0,
			      struct cds_error *err)
{
	for (size_t i = 0; !rc && i < op->n; i++)
		c->stats.registered += op->recs[i].registered;
	if (!rc)
		rc = cds_op_publish(c, op, err);
	if (rc)
		cds_client_results_clear(c);
	end_stats(c, op, t0);
	cds_op_fini(op);
	return rc;
}

enum cds_err cds_client_discover(struct cds_client *c, unsigned flags,
				 struct cds_error *err)
{
	int64_t t0 = cds_monotonic_us();
	struct cds_op op = {NULL, 0};
	enum cds_err rc;

	cds_error_clear(err);
	begin_stats(c);
	cds_client_results_clear(c);
	if (flags & ~CDS_DISCOVER_PLAIN)
		return cds_fail(err, CDS_ERR_INVALID, "unknown flags 0x%x", flags);
	rc = cds_op_build(&op, &c->contacts, err);
	if (!rc && op.n)
		rc = (flags & CDS_DISCOVER_PLAIN) ? run_plain(c, &op, err)
						  : cds_disc_private(c, &op, err);
	return finish_op(c, &op, rc, t0, err);
}

enum cds_err cds_client_sync(struct cds_client *c, struct cds_error *err)
{
	int64_t t0 = cds_monotonic_us();
	struct cds_op op = {NULL, 0};
	enum cds_err rc;

	cds_error_clear(err);
	begin_stats(c);
	cds_client_results_clear(c);
	rc = cds_op_build(&op, &c->contacts, err);
	/* Even an empty contact list syncs: it saves the list and prunes. */
	if (!rc)
		rc = cds_sync_run(c, &op, err);
	return finish_op(c, &op, rc, t0, err);
}

enum cds_err cds_client_monitor(struct cds_client *c, struct cds_error *err)
{
	int64_t t0 = cds_monotonic_us();
	struct cds_op op = {NULL, 0};
	enum cds_err rc;

	cds_error_clear(err);
	begin_stats(c);
	rc = cds_monitor_run(c, &op.n, err);
	end_stats(c, &op, t0);
	return rc;
}

size_t cds_client_result_count(const struct cds_client *c)
{
	return c->n_results;
}

const struct cds_result *cds_client_result_at(const struct cds_client *c,
					      size_t i)
{
	return i < c->n_results ? &c->results[i] : NULL;
}

void cds_client_get_stats(const struct cds_client *c,
			  struct cds_client_stats *out)
{
	*out = c->stats;
}

const char *cds_change_name(enum cds_change change)
{
	switch (change) {
	case CDS_CHANGE_UNCHANGED: return "unchanged";
	case CDS_CHANGE_NEW: return "new";
	case CDS_CHANGE_GONE: return "gone";
	case CDS_CHANGE_KEY: return "key_changed";
	}
	return "unknown";
}

enum cds_err cds_client_server_params(struct cds_client *c,
				      struct cds_server_params *out,
				      struct cds_error *err)
{
	struct cds_params p;
	enum cds_err rc;

	cds_error_clear(err);
	rc = cds_disc_params(c, &p, err);
	if (rc)
		return rc;
	out->epoch = p.epoch;
	memcpy(out->public_key, p.public_key, sizeof(out->public_key));
	out->prefix_bits = p.prefix_bits;
	out->max_batch = p.max_batch;
	out->plain_lookup = p.plain_lookup;
	return CDS_OK;
}
