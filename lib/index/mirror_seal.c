/*
 * mirror_seal.c: the sealer (mirror_int.h; DESIGN.md "Directory
 * transparency").  One mirror per store seals versions: on SQLite the one
 * cdsd, on PostgreSQL the replica holding the store's sealer lock
 * (cds_store_tseal_try, tried on every poll: a sealer that dies frees it
 * with its connection and the next replica to poll takes over).
 *
 * A seal, per served epoch: the working index's dirty buckets are diffed
 * against the published view, the would-be root and log root computed, the
 * head signed and appended to the store with its changes; then the same
 * changes are applied to the view.  An epoch whose view has no version yet
 * gets its first version, every entry added, as soon as it is served.
 *
 * Invariants:
 *  1. A failed append leaves the view as it was and gives the dirty marks
 *     back, so the next poll retries; CDS_ERR_EXISTS (another sealer won)
 *     drops the attempt, and its versions come from the store.
 *  2. A new sealer first applies every version in the store, then makes
 *     each served epoch's working index from its view, replaying the
 *     changes after its last version's `seq` (mirror_work.c): what the
 *     previous sealer had not sealed yet is marked dirty and sealed now,
 *     and nothing else.
 *  3. A follower keeps no working index; a sealer that loses the role (its
 *     store connection dropped) frees its working indexes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "index/mirror_int.h"

/* ---- taking over (invariant 2) ---- */

/* Become (or stay, or stop being) the sealer. */
static enum cds_err take_role(struct cds_mirror *m, struct cds_error *err)
{
	bool held = false;
	enum cds_err rc;

	rc = cds_store_tseal_try(m->store, &held, err);
	if (rc || held == m->t.sealer)
		return rc;
	m->t.sealer = held;
	if (!held) {
		cds_log_warn("transparency: no longer the sealer");
		cds_mirror_work_drop(m);
		return CDS_OK;
	}
	rc = cds_mirror_t_follow(m, err);
	for (size_t i = 0; i < m->n_ep && !rc; i++)
		rc = cds_mirror_work_make(m, &m->ep[i], err);
	if (rc) {
		m->t.sealer = false; /* try again at the next poll */
		cds_mirror_work_drop(m);
		return rc;
	}
	if (!m->cfg.quiet)
		cds_log_info("transparency: sealing versions from %" PRIu64,
			     cds_mlog_mem_size(m->t.log) + 1);
	return CDS_OK;
}

/* ---- sealing ---- */

/* The diff to seal for ep: every entry for a first version, else the dirty
 * buckets' (*taken gets them, to give back on failure). */
static enum cds_err diff_of(struct cds_mirror_epoch *ep, bool first,
			    uint32_t **taken, size_t *n, struct cds_tdiff **d,
			    struct cds_error *err)
{
	enum cds_err rc;

	if (first)
		return cds_tview_diff_all(ep->tv, ep->ix, d, err);
	rc = cds_index_dirty_take(ep->ix, taken, n, err);
	if (rc || *n == 0)
		return rc;
	return cds_tview_diff(ep->tv, ep->ix, *taken, *n, d, err);
}

/* Head of the next version over d, signed. */
static enum cds_err make_head(struct cds_mirror *m,
			      struct cds_mirror_epoch *ep,
			      const struct cds_tdiff *d, struct cds_thead *h,
			      struct cds_error *err)
{
	uint8_t rec[CDS_TLOG_RECORD_BYTES], leaf[CDS_HASH_BYTES];
	enum cds_err rc;

	memset(h, 0, sizeof(*h));
	h->epoch = ep->key.epoch;
	h->version = cds_mlog_mem_size(m->t.log) + 1;
	h->time_ms = (uint64_t)(cds_now_us() / 1000);
	rc = cds_tview_root_after(ep->tv, d, h->root, err);
	if (rc)
		return rc;
	cds_tlog_record(rec, h);
	cds_mlog_leaf_hash(leaf, rec, sizeof(rec));
	rc = cds_mirror_t_root_after(m, leaf, h->log_root, err);
	if (!rc)
		cds_thead_sign(h, m->t.sk);
	return rc;
}

/* Seal one version of ep (first: its first version); *sealed if one was. */
static enum cds_err seal_epoch(struct cds_mirror *m,
			       struct cds_mirror_epoch *ep, bool first,
			       bool *sealed, struct cds_error *err)
{
	struct cds_tversion v;
	struct cds_tdiff *d = NULL;
	uint32_t *taken = NULL;
	size_t n = 0;
	enum cds_err rc;

	*sealed = false;
	rc = diff_of(ep, first, &taken, &n, &d, err);
	if (!rc && d && !first && d->n == 0)
		n = 0; /* the buckets came back to their sealed bytes */
	if (rc || !d || (!first && d->n == 0))
		goto out;
	rc = make_head(m, ep, d, &v.head, err);
	v.seq = cds_index_seq(ep->ix);
	if (!rc)
		rc = cds_store_tversion_append(m->store, &v, d->ch, d->n, err);
	if (rc == CDS_ERR_EXISTS) {
		cds_log_warn("transparency: version %" PRIu64 " was sealed by "
			     "another server; following it", v.head.version);
		rc = CDS_OK;
		goto out;
	}
	if (rc)
		goto out;
	n = 0; /* sealed: the marks are spent */
	*sealed = true;
	rc = cds_mirror_t_append(m, &v.head, err);
	/* Should the view refuse it, the next poll reloads it from the store. */
	if (!rc)
		rc = cds_tview_apply(ep->tv, &v.head, d->ch, d->n, err);
out:
	if (n)
		cds_index_dirty_mark(ep->ix, taken, n);
	free(taken);
	cds_tdiff_free(d);
	return rc;
}

enum cds_err cds_mirror_seal_first(struct cds_mirror *m,
				   struct cds_mirror_epoch *ep,
				   struct cds_error *err)
{
	struct cds_thead h;
	bool sealed;

	if (!m->t.sealer || cds_tview_head(ep->tv, &h))
		return CDS_OK;
	return seal_epoch(m, ep, true, &sealed, err);
}

/* True if a served index has changes waiting for the next seal. */
static bool changes_waiting(struct cds_mirror *m)
{
	for (size_t i = 0; i < m->n_ep; i++)
		if (cds_index_dirty_count(m->ep[i].ix))
			return true;
	return false;
}

enum cds_err cds_mirror_seal_poll(struct cds_mirror *m, struct cds_error *err)
{
	int64_t now = cds_monotonic_us();
	bool due = now - m->t.sealed_us >= m->cfg.seal_interval_us;
	struct cds_error e2;
	enum cds_err rc, rc2;

	cds_error_clear(&e2);
	rc = take_role(m, err);
	rc2 = cds_mirror_t_follow(m, rc ? &e2 : err);
	if (!rc)
		rc = rc2;
	atomic_store(&m->t.due_us, 0);
	if (!m->t.sealer)
		return rc;
	for (size_t i = 0; i < m->n_ep && !rc; i++) {
		struct cds_thead h;
		bool first = !cds_tview_head(m->ep[i].tv, &h), sealed = false;

		/* Made when the role was taken; again if that failed midway. */
		rc = cds_mirror_work_make(m, &m->ep[i], err);
		if (!rc && (first || due))
			rc = seal_epoch(m, &m->ep[i], first, &sealed, err);
		if (sealed && !first)
			m->t.sealed_us = now;
	}
	/* The server polls again when these are due, not a tick later. */
	if (!rc && !due && changes_waiting(m))
		atomic_store(&m->t.due_us,
			     m->t.sealed_us + m->cfg.seal_interval_us);
	return rc;
}

int64_t cds_mirror_seal_due_us(struct cds_mirror *m)
{
	return atomic_load(&m->t.due_us);
}
