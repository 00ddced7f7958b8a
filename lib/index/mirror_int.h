/*
 * mirror_int.h: the mirror's state, shared by its files:
 *   mirror.c         open, close and the reader API (auth, lookup, buckets,
 *                    evaluate, params);
 *   mirror_sync.c    applying store changes to the caches and indexes;
 *   mirror_epochs.c  key epochs: index load/build, background builds for
 *                    new epochs, grace periods, key destruction;
 *   mirror_tlog.c    directory transparency: the version log in memory,
 *                    the published views followed from the store, and what
 *                    readers ask of them (heads, proofs);
 *   mirror_seal.c    the sealer: versions made from the working index;
 *   mirror_work.c    the sealer's working indexes: made from the views.
 *
 * Bucket answers come from each served epoch's published view (tview.h),
 * never from the working index (index.h), which only the sealer keeps:
 * entries carry random nonces, so only the bytes one sealer wrote to the
 * store are served, by every replica alike.
 *
 * Locks, always taken in this order, never one while upgrading another:
 *   poll_mu   serialises the updater (poll, close); it owns `store`,
 *             `ks`, `pend`, the keys' stamp, and is the only thread that
 *             writes `ep`/`n_ep` (under ep_lock) or mutates an index;
 *   ep_lock   (rw) the served epochs: readers hold it while they use an
 *             epoch's key or index, so an epoch is never freed under them;
 *   dir_lock  (rw) the account cache and the plain-lookup map;
 *   t.lock    (rw) the version log and the latest head.
 * Each index and view also has its own rwlock (index.h, tview.h), taken
 * inside ep_lock.
 */
#ifndef CDS_INDEX_MIRROR_INT_H
#define CDS_INDEX_MIRROR_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "crypto/thead.h"
#include "index/accounts.h"
#include "index/dirmap.h"
#include "index/index.h"
#include "index/mirror.h"
#include "index/tview.h"
#include "store/keysrc.h"

/* Changes read from the store per round (bounded memory per poll step). */
#define CDS_MIRROR_CHUNK 1024

struct cds_mirror_epoch {
	struct cds_epoch_key key; /* secret: wiped when dropped */
	struct cds_index *ix;     /* the working index; NULL unless sealer */
	struct cds_tview *tv;     /* what is served: the latest sealed version */
	int64_t expires_us;       /* wall clock; 0 while current */
};

/* A background build of one epoch's index. */
struct cds_mirror_pending {
	bool running;             /* thread started, not yet joined */
	pthread_t th;
	atomic_bool done;
	atomic_bool cancel;
	struct cds_epoch_key key;
	bool previous;            /* start-up: the epoch before the current */
	bool build;               /* sealer: evaluate it if it has no version */
	int64_t expires_us;       /* for previous */
	struct cds_index *ix;     /* NULL if not built (see build) */
	uint64_t evaluations;
	enum cds_err rc;
	struct cds_error err;
	struct cds_mirror *m;
};

/* Directory transparency (mirror_tlog.c, mirror_seal.c). */
struct cds_mirror_tlog {
	pthread_rwlock_t lock;       /* log and head, for readers */
	struct cds_mlog_mem *log;    /* every version's record, all epochs */
	struct cds_thead head;       /* the latest version; version 0: none */
	uint8_t pk[CDS_TKEY_PUBLIC_BYTES];
	uint8_t sk[CDS_TKEY_SECRET_BYTES]; /* secret (the mirror is locked) */
	bool sealer;                 /* holds the store's sealer role */
	int64_t sealed_us;           /* monotonic, the last seal */
	atomic_int_fast64_t due_us;  /* monotonic: changes wait until; 0 none */
};

struct cds_mirror {
	struct cds_mirror_config cfg; /* cfg.datadir points to datadir */
	char *datadir;
	unsigned threads;
	unsigned prefix_bits;
	uint64_t open_seq;            /* store's sequence when opened */

	pthread_mutex_t poll_mu;
	struct cds_store *store;
	struct cds_keysrc ks;         /* the epochs' keys, over `store` */
	struct cds_mirror_pending pend;
	uint64_t keys_stamp;          /* cds_keysrc_epochs_stamp when checked */
	int64_t keys_checked_us;      /* monotonic */

	pthread_rwlock_t ep_lock;
	struct cds_mirror_epoch ep[2]; /* ep[0] current, ep[1] in grace */
	size_t n_ep;

	pthread_rwlock_t dir_lock;
	struct cds_accounts *accounts;
	struct cds_dirmap *dirmap;    /* NULL unless cfg.plain_lookup */

	atomic_uint_fast64_t seq;     /* last change applied everywhere */
	atomic_uint_fast64_t evaluations;
	atomic_bool building;         /* pend.running, for readers */

	struct cds_mirror_tlog t;
};

/* One index to bring up to date, with the key of its epoch. */
struct cds_mirror_target {
	const struct cds_epoch_key *key;
	struct cds_mirror_epoch *ep; /* may be NULL (pending index) */
	struct cds_index *ix;
};

/*
 * mirror_sync.c: apply the store's changes after `since` to the targets
 * (and, if dir, to the account cache and lookup map), chunk by chunk, until
 * the change log is exhausted or, if until != 0, a chunk ends at or past
 * `until`.  *last gets the last sequence applied.
 */
enum cds_err cds_mirror_sync(struct cds_mirror *m,
			     struct cds_mirror_target *targets, size_t n,
			     bool dir, uint64_t since, uint64_t until,
			     uint64_t *last, struct cds_error *err);

/* mirror_sync.c: fill the account cache and the lookup map from scans. */
enum cds_err cds_mirror_load_dir(struct cds_mirror *m, uint64_t *seq,
				 struct cds_error *err);

/*
 * mirror_epochs.c: the index of `key` built by evaluating every handle
 * over store s (an epoch's first version: mirror_work.c).
 */
enum cds_err cds_mirror_index_get(struct cds_mirror *m, struct cds_store *s,
				  const struct cds_epoch_key *key,
				  const atomic_bool *cancel,
				  struct cds_index **out, uint64_t *evals,
				  struct cds_error *err);

/*
 * mirror_epochs.c: true if the store's change log still holds every change
 * after seq (the pruner may have removed older ones: mirror_prune.c).
 */
bool cds_mirror_changes_kept(struct cds_store *s, uint64_t seq);

/*
 * mirror_work.c, under poll_mu:
 *   _sealed_seq  the change sequence tv's latest version reflects (*found
 *                false if tv is NULL or has no version);
 *   _work_make   ep's working index (sealer), unless it has one: a copy
 *                of its view caught up from that version's seq, or built
 *                by evaluation if the epoch has no version yet;
 *   _work_drop   free every served epoch's working index (no longer the
 *                sealer).
 */
enum cds_err cds_mirror_sealed_seq(struct cds_mirror *m,
				   struct cds_tview *tv, uint64_t *seq,
				   bool *found, struct cds_error *err);
enum cds_err cds_mirror_work_make(struct cds_mirror *m,
				  struct cds_mirror_epoch *ep,
				  struct cds_error *err);
void cds_mirror_work_drop(struct cds_mirror *m);

/*
 * mirror_epochs.c, called under poll_mu:
 *   _open     serve the newest key (its view and, for the sealer, its
 *             working index come with cds_mirror_t_open); start the
 *             install of the previous epoch if it is still within its
 *             grace period;
 *   _install  a finished background build (or, on a follower, a new
 *             epoch whose first version is sealed): serve it;
 *   _poll     look for new keys (start a build), end grace periods,
 *             destroy keys whose grace is over;
 *   _close    stop a build, free every epoch, wipe every key.
 */
enum cds_err cds_mirror_epochs_open(struct cds_mirror *m,
				    struct cds_error *err);
enum cds_err cds_mirror_epochs_install(struct cds_mirror *m,
				       struct cds_error *err);
enum cds_err cds_mirror_epochs_poll(struct cds_mirror *m,
				    struct cds_error *err);
void cds_mirror_epochs_close(struct cds_mirror *m);
/*
 * mirror_tlog.c, under poll_mu:
 *   _open     the transparency key (made if the directory has none), the
 *             log from the store's versions, a view for each served epoch;
 *   _attach   a view for epoch ep (an epoch about to be served), loaded
 *             from the store; *ready false if the store holds no version
 *             of it and this mirror is not the sealer (a follower waits
 *             for the sealer's first version).  The sealer gets ep's
 *             working index (cds_mirror_work_make; one ep->ix built by
 *             evaluation is dropped if the epoch has a version already)
 *             and seals its first version if it has none;
 *   _follow   append the store's new versions to the log and apply them
 *             to the served views;
 *   _close    free the log, wipe the key.
 */
enum cds_err cds_mirror_t_open(struct cds_mirror *m, struct cds_error *err);
enum cds_err cds_mirror_t_attach(struct cds_mirror *m,
				 struct cds_mirror_epoch *ep, bool *ready,
				 struct cds_error *err);
enum cds_err cds_mirror_t_follow(struct cds_mirror *m, struct cds_error *err);
void cds_mirror_t_close(struct cds_mirror *m);
/*
 * mirror_tlog.c: the log's root if leaf were appended (the log unchanged),
 * and the append itself with the new head (under t.lock).
 */
enum cds_err cds_mirror_t_root_after(struct cds_mirror *m,
				     const uint8_t leaf[CDS_HASH_BYTES],
				     uint8_t root[CDS_HASH_BYTES],
				     struct cds_error *err);
enum cds_err cds_mirror_t_append(struct cds_mirror *m,
				 const struct cds_thead *h,
				 struct cds_error *err);

/*
 * mirror_seal.c, under poll_mu, after the indexes are synced:
 *   _seal_poll  take or keep the sealer role (taking it makes the working
 *               indexes, losing it drops them); as sealer seal every
 *               served epoch's changes (at most every seal interval), or
 *               its first version;
 *   _seal_first as sealer, seal epoch ep's first version now if it has
 *               none (an epoch about to be served).
 */
enum cds_err cds_mirror_seal_poll(struct cds_mirror *m,
				  struct cds_error *err);
enum cds_err cds_mirror_seal_first(struct cds_mirror *m,
				   struct cds_mirror_epoch *ep,
				   struct cds_error *err);

#endif
