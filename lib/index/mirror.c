/*
 * mirror.c: open, poll and close a mirror, and everything the request
 * threads call (mirror.h).  State and locks: mirror_int.h.
 *
 * Invariants:
 *  1. Readers hold a read lock only while they copy out what they return,
 *     and never hold one across an OPRF evaluation: cds_mirror_evaluate
 *     copies the epoch's key to its stack and wipes it afterwards.
 *  2. m->seq is the last change applied to the caches and to every working
 *     index (the sealer's); it only grows.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/os.h"
#include "core/parallel.h"
#include "core/secrets.h"
#include "index/mirror_int.h"

/* Apply the store's changes to the caches and every working index. */
static enum cds_err sync_served(struct cds_mirror *m, struct cds_error *err)
{
	struct cds_mirror_target t[2];
	size_t n = 0;
	uint64_t last;

	for (size_t i = 0; i < m->n_ep; i++)
		if (m->ep[i].ix) /* the sealer's working indexes */
			t[n++] = (struct cds_mirror_target){ &m->ep[i].key,
							     &m->ep[i],
							     m->ep[i].ix };
	return cds_mirror_sync(m, t, n, true, atomic_load(&m->seq), 0, &last,
			       err);
}

static enum cds_err open_parts(struct cds_mirror *m, struct cds_error *err)
{
	uint64_t seq_dir;
	enum cds_err rc;

	rc = cds_store_open(&m->store, m->datadir, err);
	if (!rc)
		rc = cds_store_prefix_bits(m->store, &m->prefix_bits, err);
	if (!rc && m->prefix_bits > CDS_PREFIX_BITS_MAX)
		rc = cds_fail(err, CDS_ERR_STORE, "store has %u prefix bits",
			      m->prefix_bits);
	if (!rc)
		rc = cds_keysrc_init(&m->ks, m->datadir, m->store, err);
	if (!rc)
		rc = cds_mirror_load_dir(m, &seq_dir, err);
	if (!rc)
		rc = cds_mirror_epochs_open(m, err);
	if (rc)
		return rc;
	/* Catch the caches up from the older of their two scans. */
	atomic_store(&m->seq, seq_dir);
	rc = sync_served(m, err);
	if (!rc)
		rc = cds_mirror_t_open(m, err);
	return rc;
}

enum cds_err cds_mirror_open(struct cds_mirror **out,
			     const struct cds_mirror_config *cfg,
			     struct cds_error *err)
{
	struct cds_mirror *m;
	enum cds_err rc;

	*out = NULL;
	if (!cfg || !cfg->datadir || !*cfg->datadir)
		return cds_fail(err, CDS_ERR_INVALID,
				"mirror needs a data directory");
	if (cfg->epoch_grace_us < 0)
		return cds_fail(err, CDS_ERR_INVALID,
				"negative epoch grace period %" PRId64,
				cfg->epoch_grace_us);
	/* Locked, guarded memory: the mirror holds the epochs' OPRF keys. */
	m = cds_secret_alloc(sizeof(*m));
	if (!m || !(m->datadir = strdup(cfg->datadir)) ||
	    pthread_mutex_init(&m->poll_mu, NULL) ||
	    cds_rwlock_init_writer_pref(&m->ep_lock) ||
	    cds_rwlock_init_writer_pref(&m->dir_lock) ||
	    cds_rwlock_init_writer_pref(&m->t.lock)) {
		if (m)
			free(m->datadir);
		cds_secret_free(m, sizeof(*m));
		return cds_fail(err, CDS_ERR_NOMEM, "cannot allocate a mirror");
	}
	m->cfg = *cfg;
	m->cfg.datadir = m->datadir;
	m->threads = cfg->threads ? cfg->threads : cds_parallel_cpus();
	atomic_init(&m->seq, 0);
	atomic_init(&m->t.due_us, 0);
	atomic_init(&m->evaluations, 0);
	atomic_init(&m->building, false);
	rc = open_parts(m, err);
	if (rc) {
		cds_mirror_close(m);
		return rc;
	}
	*out = m;
	return CDS_OK;
}

void cds_mirror_close(struct cds_mirror *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->poll_mu);
	cds_mirror_epochs_close(m);
	cds_mirror_t_close(m);
	pthread_mutex_unlock(&m->poll_mu);
	cds_accounts_free(m->accounts);
	cds_dirmap_free(m->dirmap);
	cds_keysrc_fini(&m->ks);
	cds_store_close(m->store);
	pthread_rwlock_destroy(&m->t.lock);
	pthread_rwlock_destroy(&m->dir_lock);
	pthread_rwlock_destroy(&m->ep_lock);
	pthread_mutex_destroy(&m->poll_mu);
	free(m->datadir);
	cds_secret_free(m, sizeof(*m));
}

enum cds_err cds_mirror_poll(struct cds_mirror *m, struct cds_error *err)
{
	struct cds_error e2;
	enum cds_err rc, rc2;

	cds_error_clear(&e2);
	pthread_mutex_lock(&m->poll_mu);
	/* Each step runs even if an earlier one failed; the first error wins. */
	rc = cds_mirror_epochs_install(m, err);
	rc2 = sync_served(m, rc ? &e2 : err);
	if (!rc)
		rc = rc2;
	rc2 = cds_mirror_epochs_poll(m, rc ? &e2 : err);
	if (!rc)
		rc = rc2;
	rc2 = cds_mirror_seal_poll(m, rc ? &e2 : err);
	if (!rc)
		rc = rc2;
	pthread_mutex_unlock(&m->poll_mu);
	return rc;
}

void cds_mirror_params(struct cds_mirror *m, struct cds_mirror_params *out)
{
	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&m->ep_lock);
	out->epoch = m->ep[0].key.epoch;
	memcpy(out->public_key, m->ep[0].key.pk, sizeof(out->public_key));
	for (size_t i = 0; i < m->n_ep; i++)
		out->epochs[i] = m->ep[i].key.epoch;
	out->n_epochs = m->n_ep;
	out->handles = m->ep[0].tv ? cds_tview_count(m->ep[0].tv) : 0;
	pthread_rwlock_unlock(&m->ep_lock);
	pthread_rwlock_rdlock(&m->dir_lock);
	out->accounts = cds_accounts_count(m->accounts);
	pthread_rwlock_unlock(&m->dir_lock);
	out->prefix_bits = m->prefix_bits;
	out->seq = atomic_load(&m->seq);
}

void cds_mirror_stats(struct cds_mirror *m, struct cds_mirror_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->evaluations = atomic_load(&m->evaluations);
	pthread_rwlock_rdlock(&m->ep_lock);
	for (size_t i = 0; i < m->n_ep; i++) {
		if (m->ep[i].tv)
			out->index_bytes += cds_tview_memory(m->ep[i].tv);
		if (m->ep[i].ix)
			out->index_bytes += cds_index_memory(m->ep[i].ix);
	}
	pthread_rwlock_unlock(&m->ep_lock);
	pthread_rwlock_rdlock(&m->dir_lock);
	out->dir_bytes = cds_accounts_memory(m->accounts);
	if (m->dirmap)
		out->dir_bytes += cds_dirmap_memory(m->dirmap);
	pthread_rwlock_unlock(&m->dir_lock);
	out->building = atomic_load(&m->building);
}

enum cds_err cds_mirror_auth(struct cds_mirror *m, const char *token,
			     struct cds_account *acct, struct cds_error *err)
{
	uint8_t id[CDS_ACCOUNT_ID_BYTES], h[CDS_TOKEN_HASH_BYTES];
	struct cds_account a;
	bool known;
	enum cds_err rc = CDS_OK;

	if (!token || cds_token_account(id, token, err) != CDS_OK)
		return cds_fail(err, CDS_ERR_AUTH, "malformed token");
	pthread_rwlock_rdlock(&m->dir_lock);
	known = cds_accounts_get(m->accounts, id, &a);
	pthread_rwlock_unlock(&m->dir_lock);
	/* Hash even for an unknown account: the time says nothing. */
	cds_token_hash(h, token);
	if (!known || sodium_memcmp(h, a.token_hash, sizeof(h)) != 0)
		rc = cds_fail(err, CDS_ERR_AUTH, "unknown account or wrong token");
	else
		*acct = a;
	sodium_memzero(h, sizeof(h));
	sodium_memzero(&a, sizeof(a));
	return rc;
}

bool cds_mirror_lookup(struct cds_mirror *m, const char *handle, size_t len,
		       struct cds_account *acct)
{
	uint8_t id[CDS_ACCOUNT_ID_BYTES];
	bool found = false;

	pthread_rwlock_rdlock(&m->dir_lock);
	if (m->dirmap && cds_dirmap_get(m->dirmap, handle, len, id))
		found = cds_accounts_get(m->accounts, id, acct);
	pthread_rwlock_unlock(&m->dir_lock);
	return found;
}

void cds_mirror_lookup_many(struct cds_mirror *m, const char *const *handles,
			    size_t n, struct cds_account *accts, bool *found)
{
	uint8_t ids[CDS_MIRROR_LOOKUP_MAX][CDS_ACCOUNT_ID_BYTES];

	if (n > CDS_MIRROR_LOOKUP_MAX)
		n = CDS_MIRROR_LOOKUP_MAX;
	memset(found, 0, n * sizeof(*found));
	pthread_rwlock_rdlock(&m->dir_lock);
	if (m->dirmap) {
		cds_dirmap_get_many(m->dirmap, handles, n, ids, found);
		for (size_t i = 0; i < n; i++)
			if (found[i])
				found[i] = cds_accounts_get(m->accounts, ids[i],
							    &accts[i]);
	}
	pthread_rwlock_unlock(&m->dir_lock);
}

/* The served epoch numbered `epoch`, or NULL.  Caller holds ep_lock. */
static struct cds_mirror_epoch *find_epoch(struct cds_mirror *m,
					   uint32_t epoch)
{
	for (size_t i = 0; i < m->n_ep; i++)
		if (m->ep[i].key.epoch == epoch)
			return &m->ep[i];
	return NULL;
}

static enum cds_err not_served(struct cds_mirror *m, uint32_t epoch,
			       struct cds_error *err)
{
	return cds_fail(err, CDS_ERR_EPOCH,
			"epoch %" PRIu32 " is not served (current %" PRIu32 ")",
			epoch, m->ep[0].key.epoch);
}

/*
 * A large batch (an address book's worth) is evaluated on all cores: each
 * slice is multiplied by sk in mode OPRF (no proof), then one batched proof
 * covers the whole batch, exactly as a single-threaded VOPRF evaluation
 * would produce it.  Small batches stay on the calling thread: starting
 * threads costs more than it saves below a few hundred elements.
 */
#define PARALLEL_EVAL_MIN 128

struct eval_job {
	const uint8_t *sk;
	const uint8_t *blinded;
	uint8_t *evaluated;
};

static enum cds_err eval_slice(void *ctx, size_t begin, size_t end,
			       unsigned worker, struct cds_error *err)
{
	struct eval_job *j = ctx;
	enum cds_err rc;

	(void)worker;
	rc = cds_oprf_blind_evaluate(j->evaluated + begin * CDS_OPRF_ELEMENT_BYTES,
				     NULL, CDS_OPRF_MODE_OPRF, j->sk,
				     j->blinded + begin * CDS_OPRF_ELEMENT_BYTES,
				     end - begin, NULL, 0, NULL, err);
	/* The element's index in the whole batch, not in this slice. */
	if (rc && err->index >= 0)
		err->index += (long)begin;
	return rc;
}

static enum cds_err evaluate_parallel(unsigned threads, const uint8_t *sk,
				      const uint8_t *blinded, size_t n,
				      uint8_t *evaluated, uint8_t *proof,
				      struct cds_error *err)
{
	struct eval_job j = { .sk = sk, .blinded = blinded,
			      .evaluated = evaluated };
	size_t grain = (n + threads - 1) / threads;
	enum cds_err rc;

	rc = cds_parallel_for(threads, n, grain < 32 ? 32 : grain, eval_slice,
			      &j, err);
	if (rc)
		return rc;
	return cds_oprf_prove(proof, CDS_OPRF_MODE_VOPRF, sk, blinded,
			      evaluated, n, NULL, 0, NULL, err);
}

enum cds_err cds_mirror_evaluate(struct cds_mirror *m, uint32_t epoch,
				 const uint8_t *blinded, size_t n,
				 uint8_t *evaluated, uint8_t *proof,
				 struct cds_error *err)
{
	uint8_t sk[CDS_OPRF_SCALAR_BYTES];
	struct cds_mirror_epoch *ep;
	enum cds_err rc = CDS_OK;

	if (n == 0)
		return cds_fail(err, CDS_ERR_INVALID, "no element to evaluate");
	pthread_rwlock_rdlock(&m->ep_lock);
	ep = find_epoch(m, epoch);
	if (ep)
		memcpy(sk, ep->key.sk, sizeof(sk));
	else
		rc = not_served(m, epoch, err);
	pthread_rwlock_unlock(&m->ep_lock);
	if (!ep)
		return rc;
	if (n >= PARALLEL_EVAL_MIN && m->threads > 1)
		rc = evaluate_parallel(m->threads, sk, blinded, n, evaluated,
				       proof, err);
	else
		rc = cds_oprf_blind_evaluate(evaluated, proof,
					     CDS_OPRF_MODE_VOPRF, sk, blinded,
					     n, NULL, 0, NULL, err);
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

/* The published view's answer; CDS_ERR_BUSY before its first version. */
static enum cds_err view_bucket(struct cds_mirror_epoch *ep, uint32_t prefix,
				struct cds_buf *out, uint64_t *version,
				struct cds_mirror_tproof *tp,
				struct cds_error *err)
{
	struct cds_mirror_tproof own;
	enum cds_err rc;

	if (!tp)
		tp = &own;
	rc = out ? cds_tview_bucket(ep->tv, prefix, out, &tp->head, tp->proof,
				    version, err)
		 : cds_tview_proof(ep->tv, prefix, &tp->head, tp->proof,
				   version, err);
	if (rc == CDS_ERR_NOT_FOUND)
		return cds_fail(err, CDS_ERR_BUSY, "epoch %" PRIu32 " has no "
				"sealed version yet", ep->key.epoch);
	tp->proof_len = (size_t)cds_tview_prefix_bits(ep->tv) * CDS_HASH_BYTES;
	return rc;
}

enum cds_err cds_mirror_bucket(struct cds_mirror *m, uint32_t epoch,
			       uint32_t prefix, struct cds_buf *out,
			       uint64_t *version, struct cds_mirror_tproof *tp,
			       struct cds_error *err)
{
	struct cds_mirror_epoch *ep;
	enum cds_err rc;

	if (prefix >= cds_index_nbuckets(m->prefix_bits))
		return cds_fail(err, CDS_ERR_INVALID,
				"bucket prefix %" PRIu32 " out of range for %u "
				"prefix bits", prefix, m->prefix_bits);
	pthread_rwlock_rdlock(&m->ep_lock);
	ep = find_epoch(m, epoch);
	if (ep)
		rc = view_bucket(ep, prefix, out, version, tp, err);
	else
		rc = not_served(m, epoch, err);
	pthread_rwlock_unlock(&m->ep_lock);
	return rc;
}
