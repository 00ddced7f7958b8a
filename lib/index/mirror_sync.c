/*
 * mirror_sync.c: bring the mirror's caches and indexes up to date with the
 * store (mirror_int.h).
 *
 * The change log only names what changed (an account, or a handle of an
 * account); the state is re-read from the store for each name, so applying
 * a change twice, or applying it after a later one, converges on the
 * store's current state.  That is what lets a copy of a view, a scan and
 * a background build, each at its own sequence, catch up from there.
 *
 * Per chunk of at most CDS_MIRROR_CHUNK changes:
 *   1. read the changes, 2. re-read each one's current state,
 *   3. evaluate the OPRF of every changed handle under every target's key
 *      (outside any lock, on the mirror's threads when there are many),
 *   4. apply: account cache and lookup map under dir_lock, then each index
 *      (under its own lock, one entry at a time, so readers wait at most
 *      one insertion).
 * Invariant: a target's index seq and *last advance only past chunks that
 * were applied completely.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/handle.h"
#include "core/log.h"
#include "core/parallel.h"
#include "index/mirror_int.h"

struct change {
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	char *handle; /* NULL: account-level change */
	size_t len;
	bool present; /* current state: the account / handle exists */
	struct cds_account acct;
	uint32_t bucket;
};

struct batch {
	struct change *c;
	size_t n;
	uint8_t *outs; /* n * n_targets OPRF outputs */
	struct cds_mirror_target *t;
	size_t nt;
	unsigned bits;
	enum cds_err rc;
	struct cds_error err;
};

static int collect(void *ctx, const uint8_t account[CDS_ACCOUNT_ID_BYTES],
		   const char *handle)
{
	struct batch *b = ctx;
	struct change *c = &b->c[b->n];

	if (b->n == CDS_MIRROR_CHUNK) {
		b->rc = cds_fail(&b->err, CDS_ERR_INTERNAL,
				 "store returned more changes than asked");
		return 1;
	}
	memset(c, 0, sizeof(*c));
	memcpy(c->account, account, CDS_ACCOUNT_ID_BYTES);
	if (handle) {
		c->len = strlen(handle);
		c->handle = strdup(handle);
		if (!c->handle) {
			b->rc = cds_fail(&b->err, CDS_ERR_NOMEM,
					 "cannot hold changed handle");
			return 1;
		}
	}
	b->n++;
	return 0;
}

static void batch_reset(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->c[i].handle);
	if (b->outs)
		sodium_memzero(b->outs, b->n * b->nt * CDS_OPRF_OUTPUT_BYTES);
	b->n = 0;
}

/* Step 2: the current state of what change c names. */
static enum cds_err reread(struct cds_mirror *m, struct batch *b,
			   struct change *c, struct cds_error *err)
{
	struct cds_error e;
	enum cds_err rc;

	cds_error_clear(&e);
	if (!c->handle) {
		rc = cds_store_account_get(m->store, c->account, &c->acct, &e);
	} else if (c->len == 0 || c->len > CDS_HANDLE_MAX_BYTES) {
		return cds_fail(err, CDS_ERR_STORE,
				"change log names a handle of %zu bytes",
				c->len);
	} else {
		c->bucket = cds_bucket_of((const uint8_t *)c->handle, c->len,
					  b->bits);
		rc = cds_store_handle_get(m->store, c->handle, &c->acct, &e);
	}
	if (rc == CDS_ERR_NOT_FOUND) {
		c->present = false;
		return CDS_OK;
	}
	if (rc) {
		*err = e;
		return rc;
	}
	c->present = true;
	return CDS_OK;
}

static enum cds_err eval_items(void *ctx, size_t begin, size_t end,
			       unsigned worker, struct cds_error *err)
{
	struct batch *b = ctx;
	enum cds_err rc = CDS_OK;

	(void)worker;
	for (size_t i = begin; i < end && !rc; i++) {
		const struct change *c = &b->c[i / b->nt];
		const struct cds_epoch_key *k = b->t[i % b->nt].key;

		if (c->handle)
			rc = cds_oprf_evaluate(b->outs + i * CDS_OPRF_OUTPUT_BYTES,
					       CDS_OPRF_MODE_VOPRF, k->sk,
					       (const uint8_t *)c->handle,
					       c->len, NULL, 0, err);
	}
	return rc;
}

/* Step 3; adds the number of evaluations to the mirror's count. */
static enum cds_err evaluate(struct cds_mirror *m, struct batch *b,
			     struct cds_error *err)
{
	size_t items = b->n * b->nt, handles = 0;
	enum cds_err rc;

	for (size_t i = 0; i < b->n; i++)
		handles += b->c[i].handle != NULL;
	if (items == 0 || handles == 0)
		return CDS_OK;
	/* Threads cost ~50 us to start: worth it past a few evaluations. */
	rc = cds_parallel_for(handles * b->nt >= 16 ? m->threads : 1, items, 8,
			      eval_items, b, err);
	atomic_fetch_add(&m->evaluations, handles * b->nt);
	return rc;
}

static enum cds_err apply_dir(struct cds_mirror *m, const struct batch *b,
			      struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	pthread_rwlock_wrlock(&m->dir_lock);
	for (size_t i = 0; i < b->n && !rc; i++) {
		const struct change *c = &b->c[i];

		/* A handle's row also brings its account: a new account's
		 * own row may be left out (store.h invariant 2). */
		if (c->present)
			rc = cds_accounts_put(m->accounts, &c->acct, err);
		else if (!c->handle)
			(void)cds_accounts_remove(m->accounts, c->account);
		if (rc || !c->handle || !m->dirmap)
			continue;
		if (c->present)
			rc = cds_dirmap_put(m->dirmap, c->handle, c->len,
					    c->acct.id, err);
		else
			(void)cds_dirmap_remove(m->dirmap, c->handle, c->len);
	}
	pthread_rwlock_unlock(&m->dir_lock);
	return rc;
}

static enum cds_err apply_index(const struct batch *b, size_t k,
				struct cds_error *err)
{
	struct cds_mirror_target *t = &b->t[k];

	for (size_t i = 0; i < b->n; i++) {
		const struct change *c = &b->c[i];
		const uint8_t *out = b->outs + (i * b->nt + k) *
						       CDS_OPRF_OUTPUT_BYTES;
		bool changed;
		enum cds_err rc;

		if (!c->handle)
			continue;
		if (c->present)
			rc = cds_index_put(t->ix, c->bucket, out, c->acct.id,
					   c->acct.identity_key, &changed, err);
		else
			rc = cds_index_remove(t->ix, c->bucket, out, &changed,
					      err);
		if (rc)
			return rc;
	}
	return CDS_OK;
}

/* Steps 2-4 for one chunk that ends at sequence last. */
static enum cds_err apply_chunk(struct cds_mirror *m, struct batch *b,
				bool dir, uint64_t last, struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	for (size_t i = 0; i < b->n && !rc; i++)
		rc = reread(m, b, &b->c[i], err);
	if (rc)
		return rc;
	rc = evaluate(m, b, err);
	if (!rc && dir)
		rc = apply_dir(m, b, err);
	for (size_t k = 0; k < b->nt && !rc; k++) {
		rc = apply_index(b, k, err);
		if (!rc)
			cds_index_set_seq(b->t[k].ix, last);
	}
	return rc;
}

enum cds_err cds_mirror_sync(struct cds_mirror *m,
			     struct cds_mirror_target *targets, size_t n,
			     bool dir, uint64_t since, uint64_t until,
			     uint64_t *last, struct cds_error *err)
{
	struct batch b = { .t = targets, .nt = n, .bits = m->prefix_bits };
	enum cds_err rc = CDS_OK;
	uint64_t end;

	*last = since;
	b.c = calloc(CDS_MIRROR_CHUNK, sizeof(*b.c));
	b.outs = n ? calloc((size_t)CDS_MIRROR_CHUNK * n,
			    CDS_OPRF_OUTPUT_BYTES) : NULL;
	if (!b.c || (n && !b.outs)) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "cannot hold a change batch");
		goto out;
	}
	for (;;) {
		size_t got;

		rc = cds_store_changes(m->store, *last, CDS_MIRROR_CHUNK,
				       collect, &b, &end, err);
		if (b.rc) {
			*err = b.err;
			rc = b.rc;
		}
		if (rc || b.n == 0)
			break;
		rc = apply_chunk(m, &b, dir, end, err);
		got = b.n;
		batch_reset(&b);
		if (rc)
			break;
		*last = end;
		if (dir)
			atomic_store(&m->seq, end);
		if (got < CDS_MIRROR_CHUNK || (until && end >= until))
			break;
	}
out:
	batch_reset(&b);
	free(b.c);
	free(b.outs);
	return rc;
}

/* ---- initial load of the account cache and the lookup map ---- */

struct dir_load {
	struct cds_accounts *accounts;
	struct cds_dirmap *dirmap;
	enum cds_err rc;
	struct cds_error err;
};

static int load_account(void *ctx, const struct cds_account *acct)
{
	struct dir_load *d = ctx;

	d->rc = cds_accounts_put(d->accounts, acct, &d->err);
	return d->rc ? 1 : 0;
}

static int load_handle(void *ctx, const char *handle, size_t len,
		       const struct cds_account *acct)
{
	struct dir_load *d = ctx;

	d->rc = cds_dirmap_put(d->dirmap, handle, len, acct->id, &d->err);
	return d->rc ? 1 : 0;
}

enum cds_err cds_mirror_load_dir(struct cds_mirror *m, uint64_t *seq,
				 struct cds_error *err)
{
	struct dir_load d = { 0 };
	uint64_t seq_a = 0, seq_d;
	enum cds_err rc;

	rc = cds_accounts_new(&m->accounts, err);
	if (rc)
		return rc;
	d.accounts = m->accounts;
	rc = cds_store_scan_accounts(m->store, load_account, &d, &seq_a, err);
	if (d.rc) {
		*err = d.err;
		return d.rc;
	}
	if (rc)
		return rc;
	seq_d = seq_a;
	if (m->cfg.plain_lookup) {
		rc = cds_dirmap_new(&m->dirmap, err);
		if (rc)
			return rc;
		d.dirmap = m->dirmap;
		rc = cds_store_scan(m->store, load_handle, &d, &seq_d, err);
		if (d.rc) {
			*err = d.err;
			return d.rc;
		}
		if (rc)
			return rc;
	}
	*seq = seq_a < seq_d ? seq_a : seq_d;
	m->open_seq = seq_a > seq_d ? seq_a : seq_d;
	if (!m->cfg.quiet)
		cds_log_info("mirror: %zu accounts%s, change sequence %" PRIu64,
			     cds_accounts_count(m->accounts),
			     m->dirmap ? ", plain-lookup map" : "",
			     m->open_seq);
	return CDS_OK;
}
