/*
 * mirror.h: the server's in-memory view of the directory.
 *
 * A mirror holds, built from the store at start-up and then kept current by
 * polling the store's change log (cds_mirror_poll, at least once a second):
 *   - the account cache (id -> identity key, token hash) for authentication;
 *   - the plain-lookup map (handle -> account), only when plain lookup is on;
 *   - one published view per served key epoch (tview.h): every registered
 *     handle's 104-byte entry as of the epoch's latest sealed version,
 *     loaded from the store's history, never evaluated;
 *   - on the sealer only, one working index per served epoch (index.h),
 *     from which it seals versions (mirror_work.c).
 * Key epochs are read from DIR/keys; a new epoch found by a poll becomes
 * current once it has a view (the sealer builds its index in the
 * background and seals its first version); the previous epoch is served
 * for the grace period, then dropped and its key wiped.
 *
 * Thread safety: every function may be called from any thread at any time;
 * readers take read locks and copy what they return, so nothing returned
 * points into the mirror.  Writes the server makes itself (accounts API) are
 * visible to the same server as soon as it calls cds_mirror_poll after the
 * store transaction.
 */
#ifndef CDS_INDEX_MIRROR_H
#define CDS_INDEX_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/keys.h"
#include "crypto/thead.h"
#include "store/store.h"

struct cds_mirror;

struct cds_mirror_config {
	const char *datadir;
	unsigned threads;          /* for index builds; 0 = number of cores */
	bool plain_lookup;         /* keep the handle -> account map */
	int64_t epoch_grace_us;    /* serve the previous epoch this long */
	bool quiet;                /* no progress on stderr */
	int64_t seal_interval_us;  /* seal at most this often; 0: every poll */
};

struct cds_mirror_params {
	uint32_t epoch;                       /* current */
	uint8_t public_key[CDS_OPRF_ELEMENT_BYTES];
	unsigned prefix_bits;
	uint32_t epochs[2];                   /* served epochs, current first */
	size_t n_epochs;
	uint64_t handles;                     /* entries sealed, current epoch */
	uint64_t accounts;
	uint64_t seq;                         /* last change applied */
};

/* Build everything (with progress on stderr unless quiet). */
enum cds_err cds_mirror_open(struct cds_mirror **out,
			     const struct cds_mirror_config *cfg,
			     struct cds_error *err) CDS_MUST_CHECK;
void cds_mirror_close(struct cds_mirror *m);

/* Apply store changes and key rotations since the last poll. */
enum cds_err cds_mirror_poll(struct cds_mirror *m,
			     struct cds_error *err) CDS_MUST_CHECK;

/*
 * When (monotonic us) the sealer may seal changes it holds back for the
 * seal interval, so that the caller polls then; 0 if none wait.
 */
int64_t cds_mirror_seal_due_us(struct cds_mirror *m);

/*
 * Delete the store's change-log rows that no consumer needs any more: not
 * this mirror, not the next sealer (the changes after each served epoch's
 * last version), not a background index build (none is pruned while one
 * runs).
 * *removed gets the number of rows deleted (mirror_prune.c).
 */
enum cds_err cds_mirror_prune(struct cds_mirror *m, uint64_t *removed,
			      struct cds_error *err) CDS_MUST_CHECK;

void cds_mirror_params(struct cds_mirror *m, struct cds_mirror_params *out);

/* Figures for metrics, tests and benchmarks. */
struct cds_mirror_stats {
	uint64_t evaluations;  /* OPRF evaluations for index entries so far
				  (the sealer's; a follower makes none) */
	size_t index_bytes;    /* the served epochs' views and working indexes */
	size_t dir_bytes;      /* account cache and plain-lookup map */
	bool building;         /* an index build runs in the background */
};
void cds_mirror_stats(struct cds_mirror *m, struct cds_mirror_stats *out);

/*
 * Authenticate "<hex id>.<secret>": CDS_OK and *acct filled, or
 * CDS_ERR_AUTH.  Constant-time comparison of the token hash.
 */
enum cds_err cds_mirror_auth(struct cds_mirror *m, const char *token,
			     struct cds_account *acct,
			     struct cds_error *err) CDS_MUST_CHECK;

/* Plain lookup of one canonical handle: true and *acct if registered. */
bool cds_mirror_lookup(struct cds_mirror *m, const char *handle, size_t len,
		       struct cds_account *acct);

/*
 * Plain lookup of n canonical handles (NUL-terminated) under one read
 * lock: found[i] and accts[i] for handles[i].  n <= CDS_MIRROR_LOOKUP_MAX.
 */
#define CDS_MIRROR_LOOKUP_MAX 64
void cds_mirror_lookup_many(struct cds_mirror *m, const char *const *handles,
			    size_t n, struct cds_account *accts, bool *found);

/*
 * VOPRF BlindEvaluate of n blinded elements under `epoch`, with the batched
 * proof.  CDS_ERR_EPOCH if that epoch is not served; CDS_ERR_INVALID (with
 * err->index) for a bad element.
 */
enum cds_err cds_mirror_evaluate(struct cds_mirror *m, uint32_t epoch,
				 const uint8_t *blinded, size_t n,
				 uint8_t *evaluated, uint8_t *proof,
				 struct cds_error *err) CDS_MUST_CHECK;

/* Where a bucket answer stands in the directory's history. */
struct cds_mirror_tproof {
	struct cds_thead head;   /* the sealed version the bytes belong to */
	uint8_t proof[CDS_PREFIX_BITS_MAX * CDS_HASH_BYTES];
	size_t proof_len;        /* 32 K bytes */
};

/*
 * Append bucket `prefix` of `epoch` (raw concatenated entries, as of the
 * epoch's latest sealed version) to out and give its version (changes
 * whenever the bucket's bytes change; for ETag) and, if tp, the head and
 * inclusion proof that go with them.  out NULL: the version and proof
 * alone (a not_modified answer).  CDS_ERR_EPOCH if not served,
 * CDS_ERR_INVALID if prefix >= 2^prefix_bits, CDS_ERR_BUSY if the epoch
 * has no sealed version yet.
 */
enum cds_err cds_mirror_bucket(struct cds_mirror *m, uint32_t epoch,
			       uint32_t prefix, struct cds_buf *out,
			       uint64_t *version, struct cds_mirror_tproof *tp,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Directory transparency (mirror_tlog.c): the transparency key's public
 * half; the latest sealed head (false: none yet); the RFC 9162 consistency
 * proof between log sizes from and to (CDS_ERR_INVALID unless 1 <= from <=
 * to).  Behind a balancer a client may see version V at the sealer and ask
 * a replica that has not followed V yet: versions past this mirror's log
 * are then read from st (a store connection; may be NULL), at most
 * CDS_MIRROR_TLOG_AHEAD of them; CDS_ERR_NOT_FOUND if `to` is not sealed.
 */
#define CDS_MIRROR_TLOG_AHEAD 1024
void cds_mirror_tkey(struct cds_mirror *m, uint8_t pk[CDS_TKEY_PUBLIC_BYTES]);
bool cds_mirror_thead(struct cds_mirror *m, struct cds_thead *out);
enum cds_err cds_mirror_tconsistency(struct cds_mirror *m,
				     struct cds_store *st, uint64_t from,
				     uint64_t to,
				     uint8_t proof[][CDS_HASH_BYTES],
				     size_t *len,
				     struct cds_error *err) CDS_MUST_CHECK;

#endif
