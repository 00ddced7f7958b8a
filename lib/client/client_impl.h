/*
 * client_impl.h: the client object and the working set of one operation,
 * shared by client.c, discover.c, buckets.c, plain.c and sync.c
 * (lib/client internal).
 *
 * An operation (discover or sync) turns the contact list into a sorted
 * array of distinct handles (struct cds_op), fills each record's result,
 * then expands them back into per-contact results (struct cds_result).
 */
#ifndef CDS_CLIENT_IMPL_H
#define CDS_CLIENT_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cds/client.h"
#include "client/cache.h"
#include "addressbook/contacts.h"
#include "client/http.h"
#include "client/protocol.h"
#include "client/tverify.h"
#include "core/err.h"
#include "core/parallel.h"

/* Most worker threads of one client (cds_client_options.threads). */
#define CDS_CLIENT_THREADS_MAX 8

/* Below this many handles one thread does the OPRF work: starting a second
 * one costs more than it saves. */
#define CDS_CLIENT_PARALLEL_MIN 256

struct cds_client {
	char *url;
	char *region;
	unsigned decoys;
	unsigned threads;
	struct cds_http *http[CDS_CLIENT_THREADS_MAX]; /* one per worker thread */
	struct cds_http *prefetch; /* buckets fetched beside the OPRF step */
	struct cds_relay *relay;   /* NULL: direct; shared by the handles */
	struct cds_cache *cache;                /* NULL without a cache */
	struct cds_contact_list contacts;
	struct cds_result *results;             /* strings owned */
	size_t n_results;
	struct cds_monitor_event *mon;          /* handles owned */
	size_t n_mon;
	struct cds_client_stats stats;
	/* waiting and events (request.c); counters reset per operation */
	long max_wait_ms;
	cds_client_event_fn on_event;
	void *event_ctx;
	pthread_mutex_t event_mu;
	atomic_long waited_ms;
	atomic_uint_fast64_t waits;
	atomic_long retry_after_s;              /* last Retry-After seen */
	atomic_uint_fast64_t done[CDS_PHASE__COUNT];
	atomic_uint_fast64_t total[CDS_PHASE__COUNT];
};

/* One request as the client sends it (request.c). */
struct cds_request {
	const char *what;          /* "POST /v1/buckets", for messages */
	const char *path;
	const char *body;          /* POST this JSON; NULL = GET */
	size_t len;
	const char *if_none_match; /* GET: an ETag, or NULL */
	bool auth;                 /* send the account token */
	bool charged;              /* spends the account's allowance */
	const char *accept;        /* POST: the answer's type; NULL = JSON */
};

/* One distinct handle of an operation. */
struct cds_hrec {
	const char *handle; /* borrowed from a contact */
	size_t len;
	uint32_t bucket;
	bool need_eval;
	bool have_out;
	bool fresh_out;     /* evaluated in this operation */
	uint8_t out[CDS_OPRF_OUTPUT_BYTES]; /* secret: wiped by cds_op_fini */
	bool registered;
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
	/* sync: the previous result, if the cache had one */
	bool prev_known;
	bool prev_registered;
	uint8_t prev_account[CDS_ACCOUNT_ID_BYTES];
	uint8_t prev_identity_key[CDS_IDENTITY_KEY_BYTES];
	enum cds_change change;
};

struct cds_op {
	struct cds_hrec *recs; /* sorted by handle (strcmp), distinct */
	size_t n;
};

/* One bucket an operation needs (or a decoy). */
struct cds_bucket {
	uint32_t prefix;
	bool decoy;
	bool have;          /* entries hold the bucket's current content */
	bool fresh;         /* received with a 200 in this operation */
	bool not_modified;  /* the server said our cached copy is current */
	uint8_t *entries;   /* n * CDS_ENTRY_BYTES, malloc'd */
	size_t n;
	char etag[CDS_HTTP_ETAG_BYTES]; /* cached or fresh ETag, "" if none */
	uint64_t version;   /* of this operation's answer (fresh or not) */
	uint8_t proof[CDS_TPROOF_MAX_BYTES]; /* its 32 K bytes */
};

struct cds_bucket_set {
	struct cds_bucket *v; /* sorted by prefix, distinct */
	size_t n;
};

/* ---- request.c ---- */

/*
 * Send rq on h (a connection of c) into r.  A 429 or 503 with Retry-After
 * is waited out and sent again while the operation's waits stay within
 * c->max_wait_ms; then, or at once for a 429 to a charged request (the
 * account's allowance: the message says when it refills) or without
 * Retry-After, it fails with CDS_ERR_RATE or CDS_ERR_BUSY.  Any other
 * status is CDS_OK with r filled, for the caller to judge.  Transport
 * errors as cds_http_get / cds_http_post_json.
 */
enum cds_err cds_client_request(struct cds_client *c, struct cds_http *h,
				const struct cds_request *rq,
				struct cds_http_reply *r,
				struct cds_error *err) CDS_MUST_CHECK;
/* cds_client_request, then any status but 200 as cds_proto_status_error. */
enum cds_err cds_client_request_ok(struct cds_client *c, struct cds_http *h,
				   const struct cds_request *rq,
				   struct cds_http_reply *r,
				   struct cds_error *err) CDS_MUST_CHECK;
/* Progress of step ph: its total (resets done), or n more done.  Each
 * emits a CDS_EVENT_PROGRESS. */
void cds_client_progress_total(struct cds_client *c, enum cds_phase ph,
			       uint64_t total);
void cds_client_progress(struct cds_client *c, enum cds_phase ph, uint64_t n);
/* Hand ev to the caller's callback, one at a time. */
void cds_client_emit(struct cds_client *c, const struct cds_client_event *ev);

/* ---- client.c / op.c ---- */

/* Upper-cased two-letter region into out: region, else fallback, else the
 * locale's.  CDS_ERR_INVALID quoting anything else. */
enum cds_err cds_client_region(char out[3], const char *region,
			       const char *fallback,
			       struct cds_error *err) CDS_MUST_CHECK;

/* Build the distinct-handle working set of the current contacts. */
enum cds_err cds_op_build(struct cds_op *op, const struct cds_contact_list *l,
			  struct cds_error *err) CDS_MUST_CHECK;
void cds_op_fini(struct cds_op *op); /* wipes OPRF outputs */
/* The record of handle h, or NULL. */
struct cds_hrec *cds_op_find(const struct cds_op *op, const char *h);
/* Replace the client's results by the op's, per (contact, handle). */
enum cds_err cds_op_publish(struct cds_client *c, const struct cds_op *op,
			    struct cds_error *err) CDS_MUST_CHECK;
void cds_client_results_clear(struct cds_client *c);

/* ---- discover.c ---- */

/* GET /v1/params with worker 0's handle. */
enum cds_err cds_disc_params(struct cds_client *c, struct cds_params *p,
			     struct cds_error *err) CDS_MUST_CHECK;
/* Set every record's bucket for p->prefix_bits. */
void cds_disc_assign_buckets(struct cds_op *op, const struct cds_params *p);
/*
 * Evaluate the OPRF for every record with need_eval: blind, POST
 * /v1/discover in batches (on up to c->threads threads), verify each batch's
 * proof against p->public_key, finalise into rec->out (have_out).
 * CDS_ERR_EPOCH on 409 (the caller refetches params once and retries).
 */
enum cds_err cds_disc_oprf(struct cds_client *c, const struct cds_params *p,
			   struct cds_op *op,
			   struct cds_error *err) CDS_MUST_CHECK;
/* The whole private discovery of discover (no cache). */
enum cds_err cds_disc_private(struct cds_client *c, struct cds_op *op,
			      struct cds_error *err) CDS_MUST_CHECK;

/* ---- plain.c ---- */

/* Plain lookup of every record (caller checked p->plain_lookup). */
enum cds_err cds_disc_plain(struct cds_client *c, const struct cds_params *p,
			    struct cds_op *op,
			    struct cds_error *err) CDS_MUST_CHECK;

/* ---- buckets.c ---- */

/* The distinct buckets of the records plus `decoys` random others. */
enum cds_err cds_buckets_plan(struct cds_bucket_set *s, const struct cds_op *op,
			      unsigned prefix_bits, unsigned decoys,
			      struct cds_error *err) CDS_MUST_CHECK;
void cds_bucket_set_fini(struct cds_bucket_set *s);
struct cds_bucket *cds_bucket_set_find(const struct cds_bucket_set *s,
				       uint32_t prefix);
/*
 * Fetch every bucket of s with POST /v1/buckets, in groups, on the worker
 * threads.  With revalidate, buckets that have entries send their ETag and
 * a not_modified answer keeps them (b->not_modified); others are adopted
 * fresh with their ETag.
 */
enum cds_err cds_buckets_fetch_post(struct cds_client *c,
				    const struct cds_params *p,
				    struct cds_bucket_set *s, bool revalidate,
				    struct cds_error *err) CDS_MUST_CHECK;
/* The same without revalidating, on one given connection, on the calling
 * thread (the prefetch that runs beside the OPRF step). */
enum cds_err cds_buckets_fetch_post_on(struct cds_client *c,
				       struct cds_http *http,
				       const struct cds_params *p,
				       struct cds_bucket_set *s,
				       struct cds_error *err) CDS_MUST_CHECK;
/* Look every record with an OPRF output up in its bucket and open its
 * entry: registered, account, identity_key.  CDS_ERR_CRYPTO naming the
 * handle if a matching entry does not decrypt. */
enum cds_err cds_buckets_match(struct cds_op *op, const struct cds_bucket_set *s,
			       uint32_t epoch,
			       struct cds_error *err) CDS_MUST_CHECK;
/* Give the planned buckets (decoys aside) the copy of p's epoch that
 * cache table t holds, with its ETag, so that a fetch revalidates them. */
enum cds_err cds_buckets_load(struct cds_client *c, const struct cds_params *p,
			      struct cds_bucket_set *s, enum cds_cache_table t,
			      struct cds_error *err) CDS_MUST_CHECK;
/* Add the set's fetched / not-modified / decoy counts to the stats. */
void cds_buckets_count(struct cds_client *c, const struct cds_bucket_set *s);
/*
 * Check every bucket of the set as answered in this operation (fresh, or
 * not_modified with the cached bytes) against the signed head of the
 * version it came with (tverify.h invariant 1).  Call after a fetch.
 */
enum cds_err cds_buckets_verify(struct cds_client *c, struct cds_tverify *tv,
				const struct cds_params *p,
				const struct cds_bucket_set *s,
				struct cds_error *err) CDS_MUST_CHECK;

/* ---- tfetch.c ---- */

/* A fetcher for tverify.h that sends GETs through c's first connection
 * (so through the relay if there is one). */
void cds_client_tfetch(struct cds_client *c, struct cds_tfetch *f);

/* ---- sync.c ---- */

enum cds_err cds_sync_run(struct cds_client *c, struct cds_op *op,
			  struct cds_error *err) CDS_MUST_CHECK;
/* Bring the cache in line with params p (cache.h cds_cache_reconcile) and
 * pin p's transparency key, in one transaction. */
enum cds_err cds_sync_reconcile(struct cds_client *c,
				const struct cds_params *p,
				struct cds_error *err) CDS_MUST_CHECK;
/* A verifier under the pinned key, from the cache's last kept head. */
enum cds_err cds_sync_tverify(struct cds_client *c, const struct cds_params *p,
			      struct cds_tfetch *tf, struct cds_tverify *tv,
			      struct cds_error *err) CDS_MUST_CHECK;

/* ---- monitor.c ---- */

void cds_monitor_clear(struct cds_client *c);
/* The monitor run (cds_client_monitor); *handles gets the number watched. */
enum cds_err cds_monitor_run(struct cds_client *c, size_t *handles,
			     struct cds_error *err) CDS_MUST_CHECK;

#endif
