/*
 * mirror_prune.c: pruning the store's change log (DESIGN.md asks that a
 * removed account's handles do not linger in the store).
 *
 * The change log exists for its consumers, and a row may go once every
 * consumer is past it.  The consumers of a data directory are:
 *  1. this server's mirror, at m->seq (every change up to it is applied to
 *     the caches and every served index);
 *  2. an index being built in the background (a key rotation): it replays
 *     the changes since its own start, which the mirror does not track, so
 *     no pruning happens while a build runs;
 *  3. the sealer to come: a replica that takes the role over (or a
 *     restarted one) copies each served epoch's view and replays the
 *     changes after its last version's `seq` (mirror_work.c), so those
 *     changes stay until they are sealed (were they gone, it would have to
 *     evaluate the whole epoch and re-diff every bucket).
 * Rows up to the smallest of these positions are deleted (never the newest
 * row: store.h).  A view whose changes since its last version are gone
 * anyway (a log pruned by an older server) is caught when a sealer copies
 * it: the working index is then evaluated anew (mirror_work.c).
 */
#include "index/mirror_int.h"

#include <inttypes.h>

#include "core/log.h"

/*
 * The oldest change position some consumer still needs.  Under poll_mu,
 * which every change to m->ep also holds, so no ep_lock is needed.
 */
static enum cds_err needed_from(struct cds_mirror *m, uint64_t *bound,
				struct cds_error *err)
{
	struct cds_tversion last;
	bool found = false;
	uint64_t s;
	enum cds_err rc;

	*bound = atomic_load(&m->seq);
	rc = cds_store_tversion_last(m->store, &last, &found, err);
	if (!rc && found && last.seq < *bound)
		*bound = last.seq;
	/* An epoch's last version may be older than the log's last. */
	for (size_t i = 0; !rc && i < m->n_ep; i++) {
		rc = cds_mirror_sealed_seq(m, m->ep[i].tv, &s, &found, err);
		if (!rc && found && s < *bound)
			*bound = s;
	}
	return rc;
}

enum cds_err cds_mirror_prune(struct cds_mirror *m, uint64_t *removed,
			      struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	uint64_t bound;

	*removed = 0;
	pthread_mutex_lock(&m->poll_mu);
	if (!m->pend.running && !(rc = needed_from(m, &bound, err))) {
		/* A consumer at p reads the changes after p: rows <= p go. */
		rc = cds_store_changes_prune(m->store, bound + 1, removed, err);
		if (!rc && *removed)
			cds_log_debug("change log pruned: %" PRIu64
				      " rows up to change %" PRIu64, *removed,
				      bound);
	}
	pthread_mutex_unlock(&m->poll_mu);
	return rc;
}
