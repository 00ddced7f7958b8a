/*
 * mirror_tlog.c: directory transparency in the mirror (mirror_int.h): the
 * log of every sealed version (crypto/mlog.h, in memory: 64 bytes x 2 per
 * version), the latest signed head, and the published view of each served
 * epoch, all followed from the store's history (store/tstore.h).
 *
 * A view is only ever loaded from the store (the epoch's first version,
 * then each later one, each applied with its root checked by tview.h),
 * never re-evaluated: a restarted server or another replica answers the
 * same heads and the same bytes.
 *
 * Invariants:
 *  1. The log holds versions 1..n with no gap, each appended only if the
 *     log's root after it equals the head's log_root (a store whose
 *     history was altered stops the follower with CDS_ERR_CRYPTO).
 *  2. A version enters the log before any view serves it, so a client
 *     given version V by a bucket answer can fetch V's head and proofs
 *     from the same replica.
 *  3. A view never moves past the log.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "index/mirror_int.h"

/* Versions read from the store per round (bounded memory per step). */
#define VERSIONS_CHUNK 256

/* ---- the log ---- */

/*
 * The log's nodes as if k leaves were appended at index n: the next
 * version's log root (root_after), and proofs to versions this mirror has
 * not followed yet but the store holds (cds_mirror_tconsistency).
 */
struct plus_leaves {
	struct cds_mlog_src base;
	uint64_t n;
	const uint8_t (*leaf)[CDS_HASH_BYTES]; /* k of them */
};

static enum cds_err plus_node(void *ctx, unsigned level, uint64_t index,
			      uint8_t out[CDS_HASH_BYTES],
			      struct cds_error *err)
{
	struct plus_leaves *p = ctx;
	uint8_t l[CDS_HASH_BYTES], r[CDS_HASH_BYTES];
	enum cds_err rc;

	/* Subtrees wholly inside the log are the log's own. */
	if (((index + 1) << level) <= p->n)
		return p->base.node(p->base.ctx, level, index, out, err);
	if (level == 0) {
		memcpy(out, p->leaf[index - p->n], CDS_HASH_BYTES);
		return CDS_OK;
	}
	if ((rc = plus_node(ctx, level - 1, 2 * index, l, err)) ||
	    (rc = plus_node(ctx, level - 1, 2 * index + 1, r, err)))
		return rc;
	cds_mlog_node_hash(out, l, r);
	return CDS_OK;
}

enum cds_err cds_mirror_t_root_after(struct cds_mirror *m,
				     const uint8_t leaf[CDS_HASH_BYTES],
				     uint8_t root[CDS_HASH_BYTES],
				     struct cds_error *err)
{
	struct plus_leaves p = { cds_mlog_mem_src(m->t.log),
				 cds_mlog_mem_size(m->t.log),
				 (const uint8_t (*)[CDS_HASH_BYTES])leaf };
	struct cds_mlog_src src = { plus_node, &p };

	return cds_mlog_root(&src, p.n + 1, root, err);
}

enum cds_err cds_mirror_t_append(struct cds_mirror *m,
				 const struct cds_thead *h,
				 struct cds_error *err)
{
	uint8_t rec[CDS_TLOG_RECORD_BYTES], leaf[CDS_HASH_BYTES];
	uint8_t root[CDS_HASH_BYTES];
	uint64_t n = cds_mlog_mem_size(m->t.log);
	enum cds_err rc;

	if (h->version != n + 1)
		return cds_fail(err, CDS_ERR_STORE, "transparency: version %"
				PRIu64 " follows %" PRIu64 " in the log",
				h->version, n);
	cds_tlog_record(rec, h);
	cds_mlog_leaf_hash(leaf, rec, sizeof(rec));
	rc = cds_mirror_t_root_after(m, leaf, root, err);
	if (rc)
		return rc;
	if (sodium_memcmp(root, h->log_root, sizeof(root)) != 0)
		return cds_fail(err, CDS_ERR_CRYPTO, "transparency: version %"
				PRIu64 "'s log root does not extend the log "
				"(the store's history was altered?)",
				h->version);
	pthread_rwlock_wrlock(&m->t.lock);
	rc = cds_mlog_mem_append(m->t.log, leaf, err);
	if (!rc)
		m->t.head = *h;
	pthread_rwlock_unlock(&m->t.lock);
	return rc;
}

/* ---- reading the store's history ---- */

struct heads {
	struct cds_tversion *v; /* VERSIONS_CHUNK of them */
	size_t n;
	enum cds_err rc;
};

static int collect_head(void *ctx, const struct cds_tversion *v)
{
	struct heads *hs = ctx;

	hs->v[hs->n++] = *v;
	return hs->n == VERSIONS_CHUNK;
}

/* Up to `limit` (<= VERSIONS_CHUNK) versions from `from` into hs. */
static enum cds_err read_heads(struct cds_mirror *m, struct heads *hs,
			       uint64_t from, size_t limit,
			       struct cds_error *err)
{
	uint64_t last;

	hs->n = 0;
	return cds_store_tversions(m->store, from, limit, collect_head, hs,
				   &last, err);
}

/* Change rows copied out of the store's callback, in (version, prefix) order. */
struct rows {
	uint64_t *version;
	struct cds_tchange *ch;
	size_t n, cap;
	bool nomem;
};

static void rows_clear(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free((void *)rs->ch[i].removed);
		free((void *)rs->ch[i].added);
	}
	rs->n = 0;
}

static void rows_free(struct rows *rs)
{
	rows_clear(rs);
	free(rs->version);
	free(rs->ch);
}

static void *dup_bytes(const uint8_t *p, size_t len)
{
	void *d = malloc(len ? len : 1);

	if (d && len)
		memcpy(d, p, len);
	return d;
}

static bool rows_grow(struct rows *rs)
{
	size_t cap = rs->cap ? 2 * rs->cap : 64;
	uint64_t *v = realloc(rs->version, cap * sizeof(*v));
	struct cds_tchange *ch;

	if (!v)
		return false;
	rs->version = v;
	ch = realloc(rs->ch, cap * sizeof(*ch));
	if (!ch)
		return false;
	rs->ch = ch;
	rs->cap = cap;
	return true;
}

static int collect_row(void *ctx, uint64_t version,
		       const struct cds_tchange *ch)
{
	struct rows *rs = ctx;
	struct cds_tchange c = *ch;

	if (rs->n == rs->cap && !rows_grow(rs))
		goto nomem;
	c.removed = dup_bytes(ch->removed, ch->n_removed * CDS_FP_BYTES);
	c.added = dup_bytes(ch->added, ch->n_added * CDS_ENTRY_BYTES);
	if (!c.removed || !c.added) {
		free((void *)c.removed);
		free((void *)c.added);
		goto nomem;
	}
	rs->version[rs->n] = version;
	rs->ch[rs->n++] = c;
	return 0;
nomem:
	rs->nomem = true;
	return 1;
}

/* ---- views ---- */

/* Apply the versions of hs that belong to tv's epoch, with their rows. */
static enum cds_err apply_heads(struct cds_tview *tv, const struct heads *hs,
				const struct rows *rs, struct cds_error *err)
{
	size_t j = 0;
	enum cds_err rc;

	for (size_t i = 0; i < hs->n; i++) {
		const struct cds_thead *h = &hs->v[i].head;
		size_t k;

		if (h->epoch != cds_tview_epoch(tv))
			continue;
		while (j < rs->n && rs->version[j] < h->version)
			j++;
		for (k = j; k < rs->n && rs->version[k] == h->version; k++)
			;
		rc = cds_tview_apply(tv, h, rs->ch + j, k - j, err);
		if (rc)
			return rc;
		j = k;
	}
	return CDS_OK;
}

/* Bring tv up to the log's last version (invariant 3). */
static enum cds_err view_catch_up(struct cds_mirror *m, struct cds_tview *tv,
				  struct cds_error *err)
{
	uint64_t upto = cds_mlog_mem_size(m->t.log), from = 0;
	struct heads hs = { malloc(VERSIONS_CHUNK * sizeof(*hs.v)), 0,
			    CDS_OK };
	struct rows rs = { 0 };
	struct cds_thead cur;
	bool found = true;
	enum cds_err rc = CDS_OK;

	if (!hs.v)
		return cds_fail(err, CDS_ERR_NOMEM, "cannot read versions");
	if (cds_tview_head(tv, &cur))
		from = cur.version + 1;
	else
		rc = cds_store_tepoch_first(m->store, cds_tview_epoch(tv),
					    &from, &found, err);
	while (!rc && found && from <= upto) {
		uint64_t left = upto - from + 1, last;

		rc = read_heads(m, &hs, from,
				left < VERSIONS_CHUNK ? (size_t)left
						      : VERSIONS_CHUNK, err);
		if (rc || hs.n == 0)
			break;
		last = hs.v[hs.n - 1].head.version;
		rows_clear(&rs);
		rc = cds_store_tepoch_changes(m->store, cds_tview_epoch(tv),
					      from - 1, last, collect_row, &rs,
					      err);
		if (!rc && rs.nomem)
			rc = cds_fail(err, CDS_ERR_NOMEM,
				      "cannot hold a version's changes");
		if (!rc)
			rc = apply_heads(tv, &hs, &rs, err);
		from = last + 1;
	}
	rows_free(&rs);
	free(hs.v);
	return rc;
}

/* Append the store's versions after the log's last (invariant 1). */
static enum cds_err log_follow(struct cds_mirror *m, struct cds_error *err)
{
	struct heads hs = { malloc(VERSIONS_CHUNK * sizeof(*hs.v)), 0,
			    CDS_OK };
	enum cds_err rc;

	if (!hs.v)
		return cds_fail(err, CDS_ERR_NOMEM, "cannot read versions");
	do {
		rc = read_heads(m, &hs, cds_mlog_mem_size(m->t.log) + 1,
				VERSIONS_CHUNK, err);
		for (size_t i = 0; i < hs.n && !rc; i++)
			rc = cds_mirror_t_append(m, &hs.v[i].head, err);
	} while (!rc && hs.n == VERSIONS_CHUNK);
	free(hs.v);
	return rc;
}

enum cds_err cds_mirror_t_follow(struct cds_mirror *m, struct cds_error *err)
{
	enum cds_err rc = log_follow(m, err);

	for (size_t i = 0; i < m->n_ep && !rc; i++)
		if (m->ep[i].tv)
			rc = view_catch_up(m, m->ep[i].tv, err);
	return rc;
}

enum cds_err cds_mirror_t_attach(struct cds_mirror *m,
				 struct cds_mirror_epoch *ep, bool *ready,
				 struct cds_error *err)
{
	struct cds_thead h;
	enum cds_err rc;

	*ready = false;
	rc = cds_tview_new(&ep->tv, ep->key.epoch, m->prefix_bits, err);
	if (!rc)
		rc = log_follow(m, err);
	if (!rc)
		rc = view_catch_up(m, ep->tv, err);
	/* An index evaluated for a first version is not the view's copy. */
	if (!rc && cds_tview_head(ep->tv, &h)) {
		cds_index_free(ep->ix);
		ep->ix = NULL;
	}
	if (!rc && m->t.sealer)
		rc = cds_mirror_work_make(m, ep, err);
	if (!rc && !cds_tview_head(ep->tv, &h) && m->t.sealer)
		rc = cds_mirror_seal_first(m, ep, err);
	if (!rc)
		*ready = cds_tview_head(ep->tv, &h);
	if (rc || !*ready) {
		cds_tview_free(ep->tv);
		ep->tv = NULL;
	}
	return rc;
}

/*
 * The transparency key.  A directory whose store holds no version yet (new,
 * or made before transparency) gets one now.  Once versions exist, the key
 * must be the one that signed the last of them: a fresh key would make every
 * client that pinned the old one fail, so a missing or other key is refused
 * and the operator restores it from a backup.
 */
static enum cds_err check_key(struct cds_mirror *m,
			      const struct cds_tversion *last,
			      struct cds_error *err)
{
	struct cds_error e;

	if (cds_thead_verify(&last->head, m->t.pk, &e) == CDS_OK)
		return CDS_OK;
	return cds_fail(err, CDS_ERR_CRYPTO,
			"the transparency key is not the one that signed "
			"version %" PRIu64 ": restore the data directory's "
			"keys/transparency.key (or its sealed row) from a backup",
			last->head.version);
}

static enum cds_err load_key(struct cds_mirror *m, struct cds_error *err)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	struct cds_tversion last;
	bool found = false;
	enum cds_err rc;

	rc = cds_store_tversion_last(m->store, &last, &found, err);
	if (!rc)
		rc = cds_keysrc_tkey(&m->ks, !found, seed, err);
	if (rc == CDS_ERR_NOT_FOUND)
		rc = cds_fail(err, rc, "no transparency key, but the store "
			      "holds %" PRIu64 " versions signed with one: "
			      "restore the data directory's "
			      "keys/transparency.key (or its sealed row) from "
			      "a backup", last.head.version);
	if (!rc)
		crypto_sign_seed_keypair(m->t.pk, m->t.sk, seed);
	sodium_memzero(seed, sizeof(seed));
	if (!rc && found)
		rc = check_key(m, &last, err);
	return rc;
}

enum cds_err cds_mirror_t_open(struct cds_mirror *m, struct cds_error *err)
{
	enum cds_err rc;

	if ((rc = load_key(m, err)) ||
	    (rc = cds_mlog_mem_new(&m->t.log, err)))
		return rc;
	for (size_t i = 0; i < m->n_ep && !rc; i++)
		rc = cds_tview_new(&m->ep[i].tv, m->ep[i].key.epoch,
				   m->prefix_bits, err);
	if (!rc)
		rc = cds_mirror_seal_poll(m, err);
	if (!rc && !m->cfg.quiet)
		cds_log_info("transparency: %" PRIu64 " versions in the log%s",
			     cds_mlog_mem_size(m->t.log),
			     m->t.sealer ? "; sealing" : "");
	return rc;
}

void cds_mirror_t_close(struct cds_mirror *m)
{
	cds_mlog_mem_free(m->t.log);
	m->t.log = NULL;
	sodium_memzero(m->t.sk, sizeof(m->t.sk));
}

/* ---- readers (any thread) ---- */

bool cds_mirror_thead(struct cds_mirror *m, struct cds_thead *out)
{
	bool have;

	pthread_rwlock_rdlock(&m->t.lock);
	have = m->t.head.version != 0;
	*out = m->t.head;
	pthread_rwlock_unlock(&m->t.lock);
	return have;
}

void cds_mirror_tkey(struct cds_mirror *m, uint8_t pk[CDS_TKEY_PUBLIC_BYTES])
{
	memcpy(pk, m->t.pk, CDS_TKEY_PUBLIC_BYTES);
}

/* Leaf hashes of versions first..first+k-1 from the store into leaf[]. */
struct ahead {
	uint8_t (*leaf)[CDS_HASH_BYTES];
	uint64_t first, k, got;
};

static int take_leaf(void *ctx, const struct cds_tversion *v)
{
	struct ahead *a = ctx;
	uint8_t rec[CDS_TLOG_RECORD_BYTES];

	if (v->head.version != a->first + a->got)
		return 1;
	cds_tlog_record(rec, &v->head);
	cds_mlog_leaf_hash(a->leaf[a->got++], rec, sizeof(rec));
	return a->got == a->k;
}

static enum cds_err read_ahead(struct cds_store *st, struct ahead *a,
			       struct cds_error *err)
{
	uint64_t last;
	enum cds_err rc;

	if (a->k > CDS_MIRROR_TLOG_AHEAD)
		return cds_fail(err, CDS_ERR_NOT_FOUND, "version %" PRIu64
				" is %" PRIu64 " versions past this server's "
				"log", a->first + a->k - 1, a->k);
	if (!(a->leaf = malloc(a->k * sizeof(*a->leaf))))
		return cds_fail(err, CDS_ERR_NOMEM, "cannot read versions ahead");
	rc = cds_store_tversions(st, a->first, (size_t)a->k, take_leaf, a,
				 &last, err);
	if (!rc && a->got < a->k)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND, "version %" PRIu64
			      " is not sealed", a->first + a->k - 1);
	return rc;
}

enum cds_err cds_mirror_tconsistency(struct cds_mirror *m,
				     struct cds_store *st, uint64_t from,
				     uint64_t to,
				     uint8_t proof[][CDS_HASH_BYTES],
				     size_t *len, struct cds_error *err)
{
	struct ahead a = { NULL, 0, 0, 0 };
	struct plus_leaves p;
	struct cds_mlog_src src = { plus_node, &p };
	enum cds_err rc = CDS_OK;

	if (from < 1 || from > to)
		return cds_fail(err, CDS_ERR_INVALID, "a consistency proof "
				"needs 1 <= from <= to (from %" PRIu64 ", to %"
				PRIu64 ")", from, to);
	pthread_rwlock_rdlock(&m->t.lock);
	a.first = cds_mlog_mem_size(m->t.log) + 1;
	pthread_rwlock_unlock(&m->t.lock);
	/* A version sealed but not yet followed here is read from the store,
	 * outside the lock; the log only grows meanwhile. */
	if (to >= a.first) {
		a.k = to - a.first + 1;
		rc = st ? read_ahead(st, &a, err)
			: cds_fail(err, CDS_ERR_NOT_FOUND, "version %" PRIu64
				   " is not sealed", to);
	}
	if (!rc) {
		pthread_rwlock_rdlock(&m->t.lock);
		p.base = cds_mlog_mem_src(m->t.log);
		p.n = cds_mlog_mem_size(m->t.log);
		/* Leaves ahead from p.n on (none is read if p.n >= to). */
		p.leaf = p.n < to ? a.leaf + (p.n + 1 - a.first) : NULL;
		rc = cds_mlog_consistency(&src, from, to, proof, len, err);
		pthread_rwlock_unlock(&m->t.lock);
	}
	free(a.leaf);
	return rc;
}
