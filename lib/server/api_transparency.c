/*
 * api_transparency.c: the directory transparency routes (DESIGN.md
 * "Directory transparency"), public, unauthenticated and not charged to
 * any account:
 *   GET /v1/transparency/head[?version=V]
 *   GET /v1/transparency/consistency?from=N&to=M
 *   GET /v1/transparency/versions/V[?from=P&count=N]
 *   GET /v1/transparency/buckets/P/history?epoch=E&since=V
 * The latest head and consistency proofs come from the mirror's log in
 * memory; a named version's head and changes from the store (tstore.h).
 * Every version in the store is answerable here, even one this server has
 * not followed yet: behind a balancer a client may get a bucket at version
 * V from one replica and ask another, still at V - 1, for V's head and
 * proofs.
 *
 * Named versions never change: their answers are cacheable for a year.
 * The versions and history routes serve bucket bytes, so they pass the
 * per-address guard as bucket fetches do.  The query log records the
 * endpoint and an item count, never a prefix.
 */
#include "server/server_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/codec.h"
#include "store/tstore.h"

#define VERSIONS_PATH "/v1/transparency/versions/"
#define BUCKETS_PATH "/v1/transparency/buckets/"
#define HISTORY_SUFFIX "/history"
/* Buckets per page of GET .../versions/V (docs/api.md). */
#define VERSION_PAGE_DEFAULT 256
#define VERSION_PAGE_MAX 1024
/* Versions per answer of GET .../history ("next" says where to go on). */
#define HISTORY_MAX 1024
/* JSON integers are signed 64-bit. */
#define VERSION_MAX ((uint64_t)INT64_MAX)

static void immutable(struct cds_reply *rp)
{
	cds_reply_header(rp, "Cache-Control",
			 "public, max-age=31536000, immutable");
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char *s = malloc(CDS_B64_LEN(n));
	json_t *v;

	if (!s)
		return NULL;
	cds_b64_encode(s, p, n);
	v = json_string(s);
	free(s);
	return v;
}

/* A number from the query: *present false if absent; false after a 400. */
static bool query_u64(struct cds_req *rq, struct cds_reply *rp,
		      const char *name, uint64_t min, uint64_t max,
		      uint64_t *out, bool *present)
{
	const char *s = cds_req_query(rq, name);
	struct cds_error err = {0};

	*present = s != NULL;
	if (!s)
		return true;
	if (cds_decode_u64(out, s, strlen(s), min, max, name, &err)) {
		cds_reply_from_err(rp, &err);
		return false;
	}
	return true;
}

static bool query_need(struct cds_req *rq, struct cds_reply *rp,
		       const char *name, uint64_t min, uint64_t max,
		       uint64_t *out, const char *usage)
{
	bool present;

	if (!query_u64(rq, rp, name, min, max, out, &present))
		return false;
	if (!present)
		cds_reply_error(rp, 400, "invalid", -1,
				"missing query parameter '%s' (%s)", name, usage);
	return present;
}

/* The latest version this server has; false after a 404 if none. */
static bool latest(struct cds_req *rq, struct cds_reply *rp,
		   struct cds_thead *h)
{
	if (cds_mirror_thead(rq->srv->mirror, h))
		return true;
	cds_reply_error(rp, 404, "not_found", -1, "no version is sealed yet");
	return false;
}

/* ---- a named version's head, from the store ---- */

struct one_head {
	struct cds_tversion v;
	bool found;
};

static int take_head(void *ctx, const struct cds_tversion *v)
{
	struct one_head *o = ctx;

	o->v = *v;
	o->found = true;
	return 1;
}

static bool stored_head(struct cds_reply *rp, struct cds_store *st,
			uint64_t version,
			struct cds_thead *h)
{
	struct one_head o = { .found = false };
	struct cds_error err = {0};
	uint64_t last;

	if (cds_store_tversions(st, version, 1, take_head, &o, &last, &err)) {
		cds_reply_from_err(rp, &err);
		return false;
	}
	if (!o.found || o.v.head.version != version) {
		cds_reply_error(rp, 404, "not_found", -1,
				"version %" PRIu64 " is not in the store",
				version);
		return false;
	}
	*h = o.v.head;
	return true;
}

/* {"epoch","version","time_ms","root"} and more into a new object. */
static json_t *head_json(const struct cds_thead *h, bool signed_head)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:o*}", "epoch",
			      (json_int_t)h->epoch, "version",
			      (json_int_t)h->version, "time_ms",
			      (json_int_t)h->time_ms, "root",
			      b64_json(h->root, sizeof(h->root)));

	if (o && signed_head &&
	    (json_object_set_new(o, "log_root",
				 b64_json(h->log_root, sizeof(h->log_root))) ||
	     json_object_set_new(o, "signature",
				 b64_json(h->signature,
					  sizeof(h->signature))))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void cds_api_thead(struct cds_req *rq, struct cds_reply *rp)
{
	struct cds_store *st = NULL;
	struct cds_error err = {0};
	struct cds_thead last, h;
	uint64_t v = 0;
	bool named;

	rq->items = 1;
	if (!query_u64(rq, rp, "version", 1, VERSION_MAX, &v, &named) ||
	    !latest(rq, rp, &last))
		return;
	if (!named || v == last.version) {
		cds_reply_json(rp, 200, head_json(&last, true));
		cds_reply_header(rp, "Cache-Control", named
				 ? "public, max-age=31536000, immutable"
				 : "no-cache");
		return;
	}
	if (cds_storepool_get(rq->srv->pool, &st, &err)) {
		cds_reply_from_err(rp, &err);
		return;
	}
	if (stored_head(rp, st, v, &h)) {
		cds_reply_json(rp, 200, head_json(&h, true));
		immutable(rp);
	}
	cds_storepool_put(rq->srv->pool, st);
}

void cds_api_tconsistency(struct cds_req *rq, struct cds_reply *rp)
{
	static const char usage[] =
		"GET /v1/transparency/consistency?from=N&to=M";
	uint8_t proof[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES];
	struct cds_store *st = NULL;
	struct cds_error err = {0};
	struct cds_thead last;
	uint64_t from, to;
	size_t len = 0;
	enum cds_err rc;
	json_t *a;

	if (!query_need(rq, rp, "from", 1, VERSION_MAX, &from, usage) ||
	    !query_need(rq, rp, "to", 1, VERSION_MAX, &to, usage))
		return;
	if (from > to) {
		cds_reply_error(rp, 400, "invalid", -1,
				"from (%" PRIu64 ") must not exceed to (%"
				PRIu64 ")", from, to);
		return;
	}
	if (!latest(rq, rp, &last))
		return;
	/* A store connection only for versions not followed here yet. */
	if (to > last.version &&
	    cds_storepool_get(rq->srv->pool, &st, &err)) {
		cds_reply_from_err(rp, &err);
		return;
	}
	rc = cds_mirror_tconsistency(rq->srv->mirror, st, from, to, proof,
				     &len, &err);
	cds_storepool_put(rq->srv->pool, st);
	if (rc) {
		cds_reply_from_err(rp, &err);
		return;
	}
	rq->items = (uint32_t)len;
	a = json_array();
	for (size_t i = 0; a && i < len; i++)
		if (json_array_append_new(a, b64_json(proof[i], CDS_HASH_BYTES))) {
			json_decref(a);
			a = NULL;
		}
	cds_reply_json(rp, 200, json_pack("{s:I, s:I, s:o*}", "from",
					  (json_int_t)from, "to",
					  (json_int_t)to, "proof", a));
	immutable(rp);
}

/* ---- changes: one version's page, one bucket's history ---- */

/* [B64 of each n items of size bytes]. */
static json_t *b64_list(const uint8_t *p, size_t n, size_t size)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, b64_json(p + i * size, size))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

struct changes {
	json_t *list;      /* the objects so far */
	size_t limit;      /* stop after this many */
	bool more;         /* a row past the limit exists */
	uint32_t next;     /* its prefix (versions) */
	uint64_t next_v;   /* the last version listed (history) */
	uint64_t upto;     /* history: versions past it are not served yet */
	bool history;
	bool nomem;
};

static int add_change(void *ctx, uint64_t version, const struct cds_tchange *ch)
{
	struct changes *c = ctx;
	json_t *o;

	if (c->history && version > c->upto)
		return 1;
	if (json_array_size(c->list) == c->limit) {
		c->more = true;
		c->next = ch->prefix;
		return 1;
	}
	o = json_pack("{s:I, s:o*, s:o*}",
		      c->history ? "version" : "prefix",
		      (json_int_t)(c->history ? version : ch->prefix),
		      "removed", b64_list(ch->removed, ch->n_removed,
					  CDS_FP_BYTES),
		      "added", b64_list(ch->added, ch->n_added,
					CDS_ENTRY_BYTES));
	if (!o || !json_object_get(o, "removed") ||
	    !json_object_get(o, "added") || json_array_append_new(c->list, o)) {
		json_decref(o);
		c->nomem = true;
		return 1;
	}
	c->next_v = version;
	return 0;
}

/* The prefix count limit (2^K) of this server's buckets. */
static uint64_t n_buckets(struct cds_req *rq)
{
	struct cds_mirror_params p;

	cds_mirror_params(rq->srv->mirror, &p);
	return UINT64_C(1) << p.prefix_bits;
}

/* A number in the path after `base` (and before `end`, if given). */
static bool path_u64(struct cds_req *rq, struct cds_reply *rp,
		     const char *base, size_t len, uint64_t min, uint64_t max,
		     const char *what, uint64_t *out)
{
	struct cds_error err = {0};

	if (cds_decode_u64(out, rq->url + strlen(base), len, min, max, what,
			   &err)) {
		cds_reply_from_err(rp, &err);
		return false;
	}
	return true;
}

/* The version page's arguments; false after an error reply. */
static bool version_args(struct cds_req *rq, struct cds_reply *rp,
			 uint64_t *v, uint64_t *from, uint64_t *count)
{
	uint64_t nb = n_buckets(rq);
	bool present;

	*from = 0;
	*count = VERSION_PAGE_DEFAULT;
	return path_u64(rq, rp, VERSIONS_PATH,
			strlen(rq->url + strlen(VERSIONS_PATH)), 1,
			VERSION_MAX, "version", v) &&
	       query_u64(rq, rp, "from", 0, nb - 1, from, &present) &&
	       query_u64(rq, rp, "count", 1, VERSION_PAGE_MAX, count,
			 &present);
}

/* Answer with c's list under `key` added to doc, and "next" if more. */
static void reply_changes(struct cds_req *rq, struct cds_reply *rp,
			  json_t *doc, const char *key, struct changes *c)
{
	if (c->nomem || !doc || json_object_set(doc, key, c->list) ||
	    (c->more && json_object_set_new(doc, "next", json_integer(
			c->history ? (json_int_t)c->next_v
				   : (json_int_t)c->next)))) {
		json_decref(doc);
		cds_reply_error(rp, 503, "busy", -1, "out of memory");
		return;
	}
	rq->items = (uint32_t)json_array_size(c->list);
	cds_reply_json(rp, 200, doc);
}

void cds_api_tversion(struct cds_req *rq, struct cds_reply *rp)
{
	struct changes c = { .list = json_array() };
	struct cds_store *st = NULL;
	struct cds_error err = {0};
	struct cds_thead h;
	uint64_t v, from, count;

	if (!cds_api_ip_admit(rq, rp))
		goto out;
	if (!version_args(rq, rp, &v, &from, &count))
		goto charge;
	c.limit = (size_t)count;
	if (cds_storepool_get(rq->srv->pool, &st, &err)) {
		cds_reply_from_err(rp, &err);
		goto charge;
	}
	if (!stored_head(rp, st, v, &h))
		goto charge;
	if (cds_store_tchanges(st, v, (uint32_t)from, c.limit + 1, add_change,
			       &c, &err)) {
		cds_reply_from_err(rp, &err);
		goto charge;
	}
	reply_changes(rq, rp, head_json(&h, false), "changes", &c);
	if (rp->status == 200)
		immutable(rp);
charge:
	cds_api_ip_charge(rq, rp);
out:
	cds_storepool_put(rq->srv->pool, st);
	json_decref(c.list);
}

/* P of /v1/transparency/buckets/P/history; false after a 400. */
static bool history_prefix(struct cds_req *rq, struct cds_reply *rp,
			   uint32_t *prefix)
{
	size_t len = strlen(rq->url) - strlen(BUCKETS_PATH) -
		     strlen(HISTORY_SUFFIX);
	uint64_t nb = n_buckets(rq), p;

	if (!path_u64(rq, rp, BUCKETS_PATH, len, 0, nb - 1, "bucket prefix",
		      &p))
		return false;
	*prefix = (uint32_t)p;
	return true;
}

void cds_api_thistory(struct cds_req *rq, struct cds_reply *rp)
{
	static const char usage[] =
		"GET /v1/transparency/buckets/P/history?epoch=E&since=V";
	struct changes c = { .list = json_array(), .limit = HISTORY_MAX,
			     .history = true };
	struct cds_mirror_params p;
	struct cds_store *st = NULL;
	struct cds_error err = {0};
	struct cds_tversion last;
	uint64_t epoch, since = 0;
	uint32_t prefix;
	bool present, found = false;

	if (!cds_api_ip_admit(rq, rp))
		goto out;
	if (!history_prefix(rq, rp, &prefix) ||
	    !query_need(rq, rp, "epoch", 1, UINT32_MAX, &epoch, usage) ||
	    !query_u64(rq, rp, "since", 0, VERSION_MAX, &since, &present))
		goto charge;
	cds_mirror_params(rq->srv->mirror, &p);
	if (!cds_api_epoch_served(&p, (uint32_t)epoch)) {
		cds_reply_error(rp, 404, "not_found", -1,
				"epoch %" PRIu64 " is not served (current %u)",
				epoch, p.epoch);
		goto charge;
	}
	/* Up to the store's latest version, which may be past this
	 * server's: every replica answers the same history. */
	if (cds_storepool_get(rq->srv->pool, &st, &err) ||
	    cds_store_tversion_last(st, &last, &found, &err)) {
		cds_reply_from_err(rp, &err);
		goto charge;
	}
	if (!found || since > last.head.version) {
		cds_reply_error(rp, 404, "not_found", -1,
				"version %" PRIu64 " is not sealed (latest %"
				PRIu64 ")", since,
				found ? last.head.version : 0);
		goto charge;
	}
	c.upto = last.head.version;
	c.next_v = since;
	if (cds_store_thistory(st, (uint32_t)epoch, prefix, since, add_change,
			       &c, &err)) {
		cds_reply_from_err(rp, &err);
		goto charge;
	}
	reply_changes(rq, rp, json_pack("{s:I, s:I}", "epoch",
					(json_int_t)epoch, "prefix",
					(json_int_t)prefix), "versions", &c);
	cds_reply_header(rp, "Cache-Control", "no-cache");
charge:
	cds_api_ip_charge(rq, rp);
out:
	cds_storepool_put(rq->srv->pool, st);
	json_decref(c.list);
}
