/*
 * mirror_int.h: the mirror's state, shared by its three files:
 *   mirror.c         open, close and the reader API (auth, lookup, buckets,
 *                    evaluate, params);
 *   mirror_sync.c    applying store changes to the caches and indexes;
 *   mirror_epochs.c  key epochs: index load/build, background builds for
 *                    new epochs, grace periods, key destruction.
 *
 * Locks, always taken in this order, never one while upgrading another:
 *   poll_mu   serialises the updater (poll, close); it owns `store`,
 *             `ks`, `pend`, the keys' stamp, and is the only thread that
 *             writes `ep`/`n_ep` (under ep_lock) or mutates an index;
 *   ep_lock   (rw) the served epochs: readers hold it while they use an
 *             epoch's key or index, so an epoch is never freed under them;
 *   dir_lock  (rw) the account cache and the plain-lookup map.
 * Each index also has its own rwlock (index.h), taken inside ep_lock.
 */
#ifndef CDS_INDEX_MIRROR_INT_H
#define CDS_INDEX_MIRROR_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "index/accounts.h"
#include "index/dirmap.h"
#include "index/index.h"
#include "index/mirror.h"
#include "store/keysrc.h"

/* Changes read from the store per round (bounded memory per poll step). */
#define CDS_MIRROR_CHUNK 1024

struct cds_mirror_epoch {
	struct cds_epoch_key key; /* secret: wiped when dropped */
	struct cds_index *ix;
	int64_t expires_us;       /* wall clock; 0 while current */
	uint64_t unsaved;         /* entry changes since load/build/save */
};

/* A background build of one epoch's index. */
struct cds_mirror_pending {
	bool running;             /* thread started, not yet joined */
	pthread_t th;
	atomic_bool done;
	atomic_bool cancel;
	struct cds_epoch_key key;
	bool previous;            /* start-up: the epoch before the current */
	int64_t expires_us;       /* for previous */
	struct cds_index *ix;
	uint64_t evaluations;
	enum cds_err rc;
	struct cds_error err;
	struct cds_mirror *m;
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
 * mirror_epochs.c: the index of `key` from its snapshot if one is valid,
 * else built (and saved) over store s.
 */
enum cds_err cds_mirror_index_get(struct cds_mirror *m, struct cds_store *s,
				  const struct cds_epoch_key *key,
				  const atomic_bool *cancel,
				  struct cds_index **out, uint64_t *evals,
				  struct cds_error *err);

/*
 * mirror_epochs.c, called under poll_mu:
 *   _open     serve the newest key (snapshot or build); start the build of
 *             the previous epoch if it is still within its grace period;
 *   _install  a finished background build: catch it up and serve it;
 *   _poll     look for new keys (start a build), end grace periods,
 *             destroy keys whose grace is over;
 *   _close    stop a build, save changed indexes, wipe every key.
 */
enum cds_err cds_mirror_epochs_open(struct cds_mirror *m,
				    struct cds_error *err);
enum cds_err cds_mirror_epochs_install(struct cds_mirror *m,
				       struct cds_error *err);
enum cds_err cds_mirror_epochs_poll(struct cds_mirror *m,
				    struct cds_error *err);
void cds_mirror_epochs_close(struct cds_mirror *m);
/*
 * mirror_epochs.c, under poll_mu: the change sequence of served epoch i's
 * snapshot on disk, saved anew first if the index has moved past it (so
 * that pruning can advance).  False if there is no readable snapshot: a
 * server starting later then builds the index from the store and needs no
 * old changes for it.
 */
bool cds_mirror_snapshot_seq(struct cds_mirror *m, size_t i, uint64_t *seq);

#endif
