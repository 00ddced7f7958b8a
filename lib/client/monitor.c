/*
 * monitor.c: `cds monitor` (cds_client_monitor in include/cds/client.h):
 * the account checks that the directory never bound one of its handles to
 * someone else, without showing the server which handles it watches
 * beyond what its own account record already says.
 *
 * The handles watched are the account's current ones (GET
 * /v1/accounts/me) and every one watched before (a handle moved to
 * another account by verification leaves the record: that is precisely
 * what must be reported).  Each is evaluated once per key epoch; its
 * bucket's history since the last version checked is read change by
 * change:
 *   - an added entry with the handle's fingerprint that opens to this
 *     account and a key it set: bound; to anything else: taken;
 *   - the fingerprint removed and not re-added while the account holds
 *     the handle: removed.
 * Then the current buckets are fetched and checked against the signed
 * heads like a sync's, and a held handle whose verified entry opens to
 * someone else is taken even if the history did not say so.
 *
 * Invariants:
 *   1. Nothing is saved (outputs apart, as in a sync) unless the whole run
 *      succeeded: the next run re-reads the same versions.
 *   2. OPRF outputs are wiped on every path (cds_op_fini).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client/client_impl.h"
#include "client/protocol_tlog.h"
#include "core/codec.h"
#include "core/timeutil.h"
#include "crypto/entry.h"

struct mon {
	struct cds_client *c;
	struct cds_params p;
	struct cds_proto_me me;
	char **seen;             /* handles watched before (cache) */
	size_t n_seen;
	struct cds_op op;
	bool *held;              /* per op record: in the account's record */
	struct cds_tfetch tf;
	struct cds_tverify tv;
	struct cds_bucket_set set; /* the current buckets of the handles */
	uint64_t since, upto;
	size_t cap;
};

void cds_monitor_clear(struct cds_client *c)
{
	for (size_t i = 0; i < c->n_mon; i++)
		free((char *)c->mon[i].handle);
	free(c->mon);
	c->mon = NULL;
	c->n_mon = 0;
}

size_t cds_client_monitor_count(const struct cds_client *c)
{
	return c->n_mon;
}

const struct cds_monitor_event *cds_client_monitor_at(const struct cds_client *c,
						      size_t i)
{
	return i < c->n_mon ? &c->mon[i] : NULL;
}

const char *cds_monitor_kind_name(enum cds_monitor_kind kind)
{
	switch (kind) {
	case CDS_MONITOR_BOUND: return "bound";
	case CDS_MONITOR_REMOVED: return "removed";
	case CDS_MONITOR_TAKEN: return "taken";
	}
	return "unknown";
}

static enum cds_err add_event(struct mon *m, const struct cds_hrec *h,
			      uint64_t version, enum cds_monitor_kind kind,
			      const uint8_t *account, const uint8_t *key,
			      struct cds_error *err)
{
	struct cds_client *c = m->c;
	struct cds_monitor_event *e;

	if (c->n_mon == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 8;
		struct cds_monitor_event *v = realloc(c->mon, cap * sizeof(*v));

		if (!v)
			return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		c->mon = v;
		m->cap = cap;
	}
	e = memset(&c->mon[c->n_mon], 0, sizeof(*e));
	if (!(e->handle = strdup(h->handle)))
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	c->n_mon++;
	e->version = version;
	e->kind = kind;
	e->has_owner = account != NULL;
	if (account) {
		memcpy(e->account, account, sizeof(e->account));
		cds_hex_encode(e->account_hex, account, sizeof(e->account));
		memcpy(e->identity_key, key, sizeof(e->identity_key));
	}
	return CDS_OK;
}

/* GET /v1/accounts/me with the account's token. */
static enum cds_err fetch_me(struct mon *m, struct cds_error *err)
{
	static const struct cds_request rq = {.what = "GET /v1/accounts/me",
					      .path = "/v1/accounts/me",
					      .auth = true};
	struct cds_http_reply r;
	enum cds_err rc;

	cds_http_reply_init(&r);
	rc = cds_client_request_ok(m->c, m->c->http[0], &rq, &r, err);
	if (!rc)
		rc = cds_proto_parse_me(&m->me, (const char *)r.body.data,
					r.body.len, err);
	cds_http_reply_fini(&r);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The working set: the record's handles and the ones watched before,
 * sorted and distinct (op.c's order), each with its cached output. */
static enum cds_err build_op(struct mon *m, struct cds_error *err)
{
	size_t n = m->me.n + m->n_seen, k = 0;
	const char **all = malloc((n ? n : 1) * sizeof(*all));
	enum cds_err rc = CDS_OK;

	m->op.recs = calloc(n ? n : 1, sizeof(*m->op.recs));
	m->held = calloc(n ? n : 1, sizeof(*m->held));
	if (!all || !m->op.recs || !m->held) {
		free(all);
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	/* Either list may be empty (and NULL). */
	if (m->me.n)
		memcpy(all, m->me.handles, m->me.n * sizeof(*all));
	if (m->n_seen)
		memcpy(all + m->me.n, m->seen, m->n_seen * sizeof(*all));
	qsort(all, n, sizeof(*all), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (!k || strcmp(all[k - 1], all[i]))
			all[k++] = all[i];
	for (size_t i = 0; i < k && !rc; i++) {
		struct cds_hrec *h = &m->op.recs[m->op.n++];
		bool found = false;

		h->handle = all[i];
		h->len = strlen(all[i]);
		h->bucket = cds_bucket_of((const uint8_t *)h->handle, h->len,
					  m->p.prefix_bits);
		for (size_t j = 0; j < m->me.n; j++)
			m->held[i] |= !strcmp(m->me.handles[j], all[i]);
		rc = cds_cache_mon_output_get(m->c->cache, h->handle, m->p.epoch,
					      h->out, &found, err);
		h->have_out = found;
		h->need_eval = !found;
	}
	free(all);
	return rc;
}

/* Outputs evaluated now, in their own transaction (as sync.c's). */
static enum cds_err save_outputs(struct mon *m, struct cds_error *err)
{
	enum cds_err rc = cds_cache_begin(m->c->cache, err);

	for (size_t i = 0; !rc && i < m->op.n; i++)
		if (m->op.recs[i].fresh_out)
			rc = cds_cache_mon_output_put(m->c->cache,
						      m->op.recs[i].handle,
						      m->p.epoch,
						      m->op.recs[i].out, err);
	if (!rc)
		return cds_cache_commit(m->c->cache, err);
	cds_cache_rollback(m->c->cache);
	return rc;
}

/* Is key one the account set (its current one, or one seen before)? */
static enum cds_err key_known(struct mon *m, const uint8_t *key, bool *known,
			      struct cds_error *err)
{
	if (!memcmp(key, m->me.identity_key, CDS_IDENTITY_KEY_BYTES)) {
		*known = true;
		return CDS_OK;
	}
	return cds_cache_mon_key_known(m->c->cache, key, known, err);
}

/* Whom an entry with h's fingerprint opens to: bound or taken (account
 * and key zero if it does not open: ours by fingerprint, not by key). */
static enum cds_err owner_of(struct mon *m, const struct cds_hrec *h,
			     const uint8_t *e, enum cds_monitor_kind *kind,
			     uint8_t account[static CDS_ACCOUNT_ID_BYTES],
			     uint8_t key[static CDS_IDENTITY_KEY_BYTES],
			     bool *opened, struct cds_error *err)
{
	bool known = false;
	enum cds_err rc;

	*kind = CDS_MONITOR_TAKEN;
	*opened = cds_entry_open(account, key, e, h->out, m->p.epoch,
				 NULL) == CDS_OK;
	if (!*opened)
		return CDS_OK;
	rc = key_known(m, key, &known, err);
	if (!rc && known &&
	    !memcmp(account, m->me.account, CDS_ACCOUNT_ID_BYTES))
		*kind = CDS_MONITOR_BOUND;
	return rc;
}

/* Report the entry e of h seen in version; only_taken skips a bound one. */
static enum cds_err judge_entry(struct mon *m, const struct cds_hrec *h,
				const uint8_t *e, uint64_t version,
				bool only_taken, struct cds_error *err)
{
	uint8_t account[CDS_ACCOUNT_ID_BYTES], key[CDS_IDENTITY_KEY_BYTES];
	enum cds_monitor_kind kind;
	bool opened;
	enum cds_err rc = owner_of(m, h, e, &kind, account, key, &opened, err);

	if (rc || (only_taken && kind != CDS_MONITOR_TAKEN))
		return rc;
	return add_event(m, h, version, kind, opened ? account : NULL,
			 opened ? key : NULL, err);
}

static bool fp_removed(const struct cds_proto_tchange *ch, const uint8_t *fp)
{
	for (size_t i = 0; i < ch->n_removed; i++)
		if (!memcmp(ch->removed + i * CDS_FP_BYTES, fp, CDS_FP_BYTES))
			return true;
	return false;
}

/* One version's change of h's bucket, for h. */
static enum cds_err judge_change(struct mon *m, size_t i,
				 const struct cds_proto_tchange *ch,
				 struct cds_error *err)
{
	const struct cds_hrec *h = &m->op.recs[i];
	const uint8_t *e = cds_entry_find(ch->added, ch->n_added, h->out);

	if (ch->version > m->upto)
		m->upto = ch->version;
	if (e)
		return judge_entry(m, h, e, ch->version, false, err);
	if (fp_removed(ch, h->out) && m->held[i])
		return add_event(m, h, ch->version, CDS_MONITOR_REMOVED, NULL,
				 NULL, err);
	return CDS_OK;
}

/* One answer of bucket p's history since `since`, judged for every
 * record in it; *next and *more say where the next answer starts. */
static enum cds_err history_page(struct mon *m, uint32_t p, uint64_t since,
				 uint64_t *next, bool *more,
				 struct cds_error *err)
{
	struct cds_proto_thistory hist = {NULL, 0, false, 0};
	struct cds_buf body;
	char path[96];
	enum cds_err rc;

	cds_buf_init(&body);
	snprintf(path, sizeof(path),
		 "/v1/transparency/buckets/%u/history?epoch=%u&since=%llu", p,
		 m->p.epoch, (unsigned long long)since);
	rc = m->tf.get(m->tf.ctx, path, "GET /v1/transparency/buckets/P/history",
		       &body, err);
	if (!rc)
		rc = cds_proto_parse_thistory(&hist, m->p.epoch, p, since,
					      (const char *)body.data, body.len,
					      err);
	for (size_t v = 0; !rc && v < hist.n; v++)
		for (size_t i = 0; !rc && i < m->op.n; i++)
			if (m->op.recs[i].bucket == p)
				rc = judge_change(m, i, &hist.ch[v], err);
	*more = !rc && hist.more;
	*next = hist.next;
	cds_proto_thistory_fini(&hist);
	cds_buf_fini(&body);
	return rc;
}

/* The whole history of bucket p since m->since. */
static enum cds_err follow_bucket(struct mon *m, uint32_t p,
				  struct cds_error *err)
{
	uint64_t since = m->since;
	bool more = true;
	enum cds_err rc = CDS_OK;

	while (more && !rc)
		rc = history_page(m, p, since, &since, &more, err);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Each distinct bucket of the records once. */
static enum cds_err follow_all(struct mon *m, struct cds_error *err)
{
	uint32_t *b = malloc((m->op.n ? m->op.n : 1) * sizeof(*b));
	enum cds_err rc = CDS_OK;

	if (!b)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < m->op.n; i++)
		b[i] = m->op.recs[i].bucket;
	qsort(b, m->op.n, sizeof(*b), cmp_u32);
	for (size_t i = 0; !rc && i < m->op.n; i++)
		if (!i || b[i] != b[i - 1])
			rc = follow_bucket(m, b[i], err);
	free(b);
	return rc;
}

/* Findings in version order, then by handle. */
static int cmp_event(const void *a, const void *b)
{
	const struct cds_monitor_event *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->handle, y->handle);
}

static bool has_taken(const struct cds_client *c, const char *handle)
{
	for (size_t i = 0; i < c->n_mon; i++)
		if (c->mon[i].kind == CDS_MONITOR_TAKEN &&
		    !strcmp(c->mon[i].handle, handle))
			return true;
	return false;
}

/* The verified current bucket of each held handle (history omissions),
 * revalidated by ETag against the copy the cache keeps (m->set, saved by
 * save_state). */
static enum cds_err check_current(struct mon *m, struct cds_error *err)
{
	enum cds_err rc = cds_buckets_plan(&m->set, &m->op, m->p.prefix_bits, 0,
					   err);

	if (!rc)
		rc = cds_buckets_load(m->c, &m->p, &m->set, CDS_CACHE_MONITOR, err);
	if (!rc)
		rc = cds_buckets_fetch_post(m->c, &m->p, &m->set, true, err);
	if (!rc)
		rc = cds_buckets_verify(m->c, &m->tv, &m->p, &m->set, err);
	for (size_t i = 0; !rc && i < m->op.n; i++) {
		const struct cds_hrec *h = &m->op.recs[i];
		const struct cds_bucket *b = cds_bucket_set_find(&m->set,
								 h->bucket);
		const uint8_t *e = b ? cds_entry_find(b->entries, b->n, h->out)
				     : NULL;

		if (!m->held[i] || !e || has_taken(m->c, h->handle))
			continue;
		/* Only a takeover the history left out is news here. */
		rc = judge_entry(m, h, e, b->version, true, err);
	}
	cds_buckets_count(m->c, &m->set);
	return rc;
}

/* Invariant 1: the account's key, its handles' outputs and buckets, the
 * version reached, the head kept. */
static enum cds_err save_state(struct mon *m, struct cds_error *err)
{
	struct cds_cache *cache = m->c->cache;
	enum cds_err rc = cds_cache_begin(cache, err);

	if (!rc)
		rc = cds_cache_mon_key_add(cache, m->me.identity_key,
					   cds_now_us(), err);
	for (size_t i = 0; !rc && i < m->op.n; i++)
		if (!m->op.recs[i].fresh_out) /* new ones are saved already */
			rc = cds_cache_mon_output_put(cache, m->op.recs[i].handle,
						      m->p.epoch,
						      m->op.recs[i].out, err);
	for (size_t i = 0; !rc && i < m->set.n; i++)
		if (m->set.v[i].fresh)
			rc = cds_cache_bucket_put(cache, CDS_CACHE_MONITOR,
						  m->p.epoch, m->set.v[i].prefix,
						  m->set.v[i].etag,
						  m->set.v[i].entries,
						  m->set.v[i].n, cds_now_us(), err);
	if (!rc)
		rc = cds_cache_mon_version_put(cache, m->p.epoch, m->upto, err);
	if (!rc && m->tv.kept_moved)
		rc = cds_cache_thead_put(cache, &m->tv.kept, err);
	if (!rc)
		return cds_cache_commit(cache, err);
	cds_cache_rollback(cache);
	return rc;
}

/* The latest head, admitted (signature, consistency with the kept one):
 * the history is read up to it at least. */
static enum cds_err latest(struct mon *m, struct cds_error *err)
{
	struct cds_thead h;
	enum cds_err rc = cds_tverify_fetch_head(&m->tf, 0,
						 m->p.transparency_key, &h, err);

	if (!rc)
		rc = cds_tverify_admit(&m->tv, &h, err);
	if (!rc && h.version > m->upto)
		m->upto = h.version;
	return rc;
}

static enum cds_err run(struct mon *m, struct cds_error *err)
{
	enum cds_err rc = cds_disc_params(m->c, &m->p, err);

	if (!rc)
		rc = cds_sync_reconcile(m->c, &m->p, err);
	if (!rc)
		rc = cds_sync_tverify(m->c, &m->p, &m->tf, &m->tv, err);
	if (!rc)
		rc = fetch_me(m, err);
	if (!rc)
		rc = cds_cache_mon_handles(m->c->cache, &m->seen, &m->n_seen, err);
	if (!rc)
		rc = build_op(m, err);
	if (!rc)
		rc = cds_cache_mon_version_get(m->c->cache, m->p.epoch, &m->since,
					       err);
	m->upto = m->since;
	if (!rc && (rc = cds_disc_oprf(m->c, &m->p, &m->op, err)) == CDS_OK)
		rc = save_outputs(m, err);
	if (!rc)
		rc = latest(m, err);
	if (!rc)
		rc = follow_all(m, err);
	if (!rc)
		rc = check_current(m, err);
	if (!rc && m->c->n_mon) /* no event: no list (NULL) */
		qsort(m->c->mon, m->c->n_mon, sizeof(*m->c->mon), cmp_event);
	if (!rc)
		rc = save_state(m, err);
	return rc;
}

enum cds_err cds_monitor_run(struct cds_client *c, size_t *handles,
			     struct cds_error *err)
{
	struct mon m;
	enum cds_err rc;

	memset(&m, 0, sizeof(m));
	m.c = c;
	cds_monitor_clear(c);
	if (!c->cache)
		return cds_fail(err, CDS_ERR_USAGE,
				"monitor needs a cache file (none was given)");
	rc = run(&m, err);
	if (rc)
		cds_monitor_clear(c);
	*handles = m.op.n;
	cds_tverify_fini(&m.tv);
	cds_bucket_set_fini(&m.set);
	cds_op_fini(&m.op);
	free(m.held);
	for (size_t i = 0; i < m.n_seen; i++)
		free(m.seen[i]);
	free(m.seen);
	cds_proto_me_fini(&m.me);
	return rc;
}
