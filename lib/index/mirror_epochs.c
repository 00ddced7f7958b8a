/*
 * mirror_epochs.c: the key epochs a mirror serves (mirror_int.h).
 *
 * Keys come through the data directory's key source (store/keysrc.h): key
 * files in DIR/keys, or rows sealed in a PostgreSQL store that every
 * replica reads, so a rotation made on any machine reaches them all.
 *
 * Life of an epoch: its key appears in the key source (cdsctl key rotate);
 * a poll notices it and, on the sealer, starts a background thread that
 * builds its index over a store connection of its own (unless the epoch
 * has a version already); a later poll catches the new
 * index up with the changes made meanwhile, gives it a published view (the
 * sealer seals its first version; a follower, which builds nothing, waits
 * until that version is in the store) and makes it current; the old
 * current epoch is served for the grace period; then its view and index
 * are freed, its key wiped and its key file destroyed.
 *
 * Invariants:
 *  1. At most two epochs are served (ep[0] current, ep[1] in grace) and at
 *     most one build runs.  ep/n_ep change only under ep_lock held for
 *     writing, by the thread holding poll_mu.
 *  2. The newest key file is never destroyed, nor any key newer than the
 *     current epoch: it may still become current.
 *  3. A key that leaves the mirror is wiped (sodium_memzero) on every path.
 */
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "index/build.h"
#include "index/mirror_int.h"

/* Reload keys at least this often even if their stamp looks unchanged. */
#define KEYS_RECHECK_US (10 * CDS_USEC_PER_SEC)

bool cds_mirror_changes_kept(struct cds_store *s, uint64_t seq)
{
	struct cds_error e;
	uint64_t floor = 0;

	if (cds_store_changes_floor(s, &floor, &e))
		return false;
	return floor == 0 || seq + 1 >= floor;
}

enum cds_err cds_mirror_index_get(struct cds_mirror *m, struct cds_store *s,
				  const struct cds_epoch_key *key,
				  const atomic_bool *cancel,
				  struct cds_index **out, uint64_t *evals,
				  struct cds_error *err)
{
	struct cds_index_build_opts o = { .threads = m->threads,
					  .quiet = m->cfg.quiet,
					  .cancel = cancel };

	*evals = 0;
	return cds_index_build(out, s, key, m->prefix_bits, &o, evals, err);
}

/* ---- dropping epochs ---- */

static void remove_epoch_files(struct cds_mirror *m, uint32_t epoch)
{
	struct cds_error e;
	enum cds_err rc;

	cds_error_clear(&e);
	rc = cds_keysrc_epoch_destroy(&m->ks, epoch, &e);
	if (rc && rc != CDS_ERR_NOT_FOUND)
		cds_log_warn("key of epoch %" PRIu32 " not destroyed: %s",
			     epoch, e.msg);
	if (!m->cfg.quiet)
		cds_log_info("key epoch %" PRIu32 " retired", epoch);
}

/* Free an epoch that no reader can reach any more. */
static void retire(struct cds_mirror *m, struct cds_mirror_epoch *ep,
		   bool destroy)
{
	bool held = ep->tv || ep->ix; /* false: an empty slot */

	cds_tview_free(ep->tv);
	cds_index_free(ep->ix);
	if (destroy && held)
		remove_epoch_files(m, ep->key.epoch);
	sodium_memzero(ep, sizeof(*ep));
}

/* ---- background builds ---- */

/*
 * Only a sealer evaluates a new epoch's index, and only if the epoch has
 * no version yet; otherwise its view is loaded from the store at install
 * (and copied, for a sealer: mirror_work.c).
 */
static void *build_main(void *arg)
{
	struct cds_mirror_pending *p = arg;
	struct cds_store *s = NULL;
	uint64_t first;
	bool versioned = false;
	enum cds_err rc;

	cds_error_clear(&p->err);
	if (!p->build) {
		p->rc = CDS_OK;
		atomic_store(&p->done, true);
		return NULL;
	}
	rc = cds_store_open(&s, p->m->datadir, &p->err);
	if (!rc)
		rc = cds_store_tepoch_first(s, p->key.epoch, &first,
					    &versioned, &p->err);
	if (!rc && !versioned)
		rc = cds_mirror_index_get(p->m, s, &p->key, &p->cancel, &p->ix,
					  &p->evaluations, &p->err);
	cds_store_close(s);
	p->rc = rc;
	atomic_store(&p->done, true);
	return NULL;
}

static enum cds_err start_build(struct cds_mirror *m,
				const struct cds_epoch_key *key, bool previous,
				int64_t expires_us, struct cds_error *err)
{
	struct cds_mirror_pending *p = &m->pend;

	memset(p, 0, sizeof(*p));
	p->m = m;
	p->key = *key;
	p->previous = previous;
	p->expires_us = expires_us;
	p->build = m->t.sealer;
	atomic_init(&p->done, false);
	atomic_init(&p->cancel, false);
	if (pthread_create(&p->th, NULL, build_main, p)) {
		sodium_memzero(&p->key, sizeof(p->key));
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot start the index build of epoch %" PRIu32,
				key->epoch);
	}
	p->running = true;
	atomic_store(&m->building, true);
	if (!m->cfg.quiet && p->build)
		cds_log_info("building the index of key epoch %" PRIu32
			     " in the background", key->epoch);
	return CDS_OK;
}

static void drop_pending(struct cds_mirror *m)
{
	struct cds_mirror_pending *p = &m->pend;

	if (!p->running)
		return;
	atomic_store(&p->cancel, true);
	pthread_join(p->th, NULL);
	atomic_store(&m->building, false);
	cds_index_free(p->ix);
	sodium_memzero(p, sizeof(*p));
}

/* Make the caught-up index `ne` served (ep_lock held for writing). */
static void serve(struct cds_mirror *m, struct cds_mirror_epoch *ne,
		  bool previous, int64_t expires_us,
		  struct cds_mirror_epoch *dropped)
{
	int64_t now = cds_now_us();

	memset(dropped, 0, sizeof(*dropped));
	if (previous) {
		/* The start-up build of the epoch before the current one. */
		if (m->n_ep == 1 && ne->key.epoch < m->ep[0].key.epoch &&
		    now < expires_us) {
			ne->expires_us = expires_us;
			m->ep[1] = *ne;
			m->n_ep = 2;
		} else {
			*dropped = *ne;
		}
		return;
	}
	if (m->n_ep == 2)
		*dropped = m->ep[1];
	m->ep[1] = m->ep[0];
	m->ep[1].expires_us = now + m->cfg.epoch_grace_us;
	m->ep[0] = *ne;
	m->ep[0].expires_us = 0;
	m->n_ep = 2;
}

/*
 * A follower serves an epoch only once the sealer has sealed its first
 * version: until then it has nothing to answer for it.
 */
static bool wait_for_sealer(struct cds_mirror *m, uint32_t epoch)
{
	struct cds_error e;
	uint64_t v;
	bool found = false;

	if (m->t.sealer)
		return false;
	return cds_store_tepoch_first(m->store, epoch, &v, &found, &e) ||
	       !found;
}

enum cds_err cds_mirror_epochs_install(struct cds_mirror *m,
				       struct cds_error *err)
{
	struct cds_mirror_pending *p = &m->pend;
	struct cds_mirror_epoch ne = { 0 }, dropped;
	struct cds_mirror_target t;
	uint64_t last;
	bool ready = false;
	enum cds_err rc;

	if (!p->running || !atomic_load(&p->done) ||
	    (!p->rc && wait_for_sealer(m, p->key.epoch)))
		return CDS_OK;
	pthread_join(p->th, NULL);
	p->running = false;
	atomic_store(&m->building, false);
	m->keys_checked_us = 0; /* look at the keys again on this poll */
	if (p->rc) {
		rc = cds_fail(err, p->rc, "index of key epoch %" PRIu32
			      " not built: %s", p->key.epoch, p->err.msg);
		goto out;
	}
	ne.key = p->key;
	/* A sealer's build; a follower (or a sealer no more) keeps none. */
	if (m->t.sealer) {
		ne.ix = p->ix;
		p->ix = NULL;
	}
	rc = CDS_OK;
	if (ne.ix) {
		t = (struct cds_mirror_target){ &ne.key, &ne, ne.ix };
		rc = cds_mirror_sync(m, &t, 1, false, cds_index_seq(ne.ix),
				     atomic_load(&m->seq), &last, err);
	}
	if (!rc)
		rc = cds_mirror_t_attach(m, &ne, &ready, err);
	if (!rc && !ready)
		rc = cds_fail(err, CDS_ERR_STORE, "key epoch %" PRIu32
			      " has no sealed version to serve", ne.key.epoch);
	if (rc)
		goto out;
	atomic_fetch_add(&m->evaluations, p->evaluations);
	pthread_rwlock_wrlock(&m->ep_lock);
	serve(m, &ne, p->previous, p->expires_us, &dropped);
	pthread_rwlock_unlock(&m->ep_lock);
	if (!m->cfg.quiet)
		cds_log_info("serving key epoch %" PRIu32 "%s", ne.key.epoch,
			     p->previous ? " (previous)" : " (current)");
	/* An epoch displaced before its grace ended goes all the same. */
	retire(m, &dropped, !p->previous);
	memset(&ne, 0, sizeof(ne));
out:
	cds_tview_free(ne.tv);
	cds_index_free(ne.ix);
	sodium_memzero(&ne, sizeof(ne));
	cds_index_free(p->ix);
	sodium_memzero(p, sizeof(*p));
	return rc;
}

/* ---- keys on disk ---- */

static bool served_or_pending(const struct cds_mirror *m, uint32_t epoch)
{
	for (size_t i = 0; i < m->n_ep; i++)
		if (m->ep[i].key.epoch == epoch)
			return true;
	return m->pend.running && m->pend.key.epoch == epoch;
}

/*
 * Destroy key files (keys[], newest first) of epochs nobody serves whose
 * grace, counted from the creation of the next epoch, is over.
 */
static void sweep_keys(struct cds_mirror *m, const struct cds_epoch_key *keys,
		       size_t n)
{
	int64_t now = cds_now_us();

	for (size_t i = 1; i < n; i++) {
		uint32_t e = keys[i].epoch;

		if (served_or_pending(m, e) || e > m->ep[0].key.epoch)
			continue;
		if (now >= keys[i - 1].created_us + m->cfg.epoch_grace_us)
			remove_epoch_files(m, e);
	}
}

static bool keys_changed(struct cds_mirror *m)
{
	struct cds_error e;
	uint64_t stamp = 0;
	int64_t now = cds_monotonic_us();
	bool changed;

	/* A stamp that cannot be read counts as a change: load says why. */
	changed = cds_keysrc_epochs_stamp(&m->ks, &stamp, &e) != CDS_OK ||
		  stamp != m->keys_stamp || m->keys_checked_us == 0 ||
		  now - m->keys_checked_us >= KEYS_RECHECK_US;
	m->keys_stamp = stamp;
	if (changed)
		m->keys_checked_us = now;
	return changed;
}

static enum cds_err check_keys(struct cds_mirror *m, struct cds_error *err)
{
	struct cds_epoch_key *keys = NULL;
	size_t n = 0;
	enum cds_err rc;

	if (!keys_changed(m))
		return CDS_OK;
	rc = cds_keysrc_epochs_load(&m->ks, &keys, &n, err);
	if (rc)
		return rc;
	if (keys[0].epoch > m->ep[0].key.epoch &&
	    !(m->pend.running && m->pend.key.epoch == keys[0].epoch)) {
		drop_pending(m); /* an older build is not worth finishing */
		rc = start_build(m, &keys[0], false, 0, err);
	}
	sweep_keys(m, keys, n);
	cds_keys_free(keys, n);
	return rc;
}

static void expire_previous(struct cds_mirror *m)
{
	struct cds_mirror_epoch old;

	if (m->n_ep < 2 || cds_now_us() < m->ep[1].expires_us)
		return;
	pthread_rwlock_wrlock(&m->ep_lock);
	old = m->ep[1];
	memset(&m->ep[1], 0, sizeof(m->ep[1]));
	m->n_ep = 1;
	pthread_rwlock_unlock(&m->ep_lock);
	retire(m, &old, true);
	sodium_memzero(&old, sizeof(old));
}

enum cds_err cds_mirror_epochs_poll(struct cds_mirror *m,
				    struct cds_error *err)
{
	enum cds_err rc = check_keys(m, err);

	expire_previous(m);
	return rc;
}

enum cds_err cds_mirror_epochs_open(struct cds_mirror *m,
				    struct cds_error *err)
{
	struct cds_epoch_key *keys = NULL;
	size_t n = 0;
	int64_t grace_end;
	enum cds_err rc;

	rc = cds_keysrc_epochs_load(&m->ks, &keys, &n, err);
	if (rc == CDS_ERR_NOT_FOUND && !cds_keysrc_sealed(&m->ks))
		rc = cds_fail(err, rc, "no OPRF key in '%s/keys' (run cdsctl "
			      "init)", m->datadir);
	if (rc)
		return rc;
	(void)keys_changed(m);
	/* Its view and working index come with cds_mirror_t_open. */
	m->ep[0].key = keys[0];
	m->n_ep = 1;
	grace_end = keys[0].created_us + m->cfg.epoch_grace_us;
	if (n > 1 && cds_now_us() < grace_end)
		rc = start_build(m, &keys[1], true, grace_end, err);
	if (!rc)
		sweep_keys(m, keys, n);
	cds_keys_free(keys, n);
	return rc;
}

void cds_mirror_epochs_close(struct cds_mirror *m)
{
	drop_pending(m);
	for (size_t i = 0; i < m->n_ep; i++)
		retire(m, &m->ep[i], false);
	m->n_ep = 0;
}
