/*
 * ratelimit.c: the per-account token buckets of ratelimit.h.
 *
 * Layout: SHARDS open-addressing tables (linear probing, backward-shift
 * deletion), each under its own mutex, keyed by SipHash of the account id
 * with a per-process random key, so a client cannot aim collisions at one
 * shard.  Only accounts that have spent something (or were loaded) take an
 * entry.
 *
 * Shared mode (ratelimit.h): with a pool set, charges and refunds go to
 * the store's atomic bucket (store/shared.h) and the tables stay empty.
 *
 * Invariants:
 *  1. 0 <= tokens <= capacity for every entry after a refill.
 *  2. `dirty` is set on every change and cleared only when the state it
 *     describes has been handed to the store (and set again if that failed).
 */
#include "server/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/shared.h"

#define SHARDS 64
#define MIN_SLOTS 64

struct entry {
	uint8_t id[CDS_ACCOUNT_ID_BYTES];
	double tokens;
	int64_t updated_us;
	bool used;
	bool dirty;
};

struct shard {
	pthread_mutex_t mu;
	struct entry *t;
	size_t cap;   /* power of two, or 0 */
	size_t n;
};

struct cds_ratelimit {
	double allowance;
	double capacity;
	double per_us;  /* refill per microsecond */
	uint8_t key[crypto_shorthash_KEYBYTES];
	_Atomic uint64_t accounts;
	struct cds_storepool *pool; /* shared mode if set */
	struct shard sh[SHARDS];
};

static uint64_t hash_id(const struct cds_ratelimit *rl, const uint8_t *id)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, id, CDS_ACCOUNT_ID_BYTES, rl->key);
	memcpy(&v, h, sizeof(v));
	return v;
}

enum cds_err cds_ratelimit_new(struct cds_ratelimit **out, double allowance,
			       double refill_per_day, struct cds_error *err)
{
	struct cds_ratelimit *rl;

	*out = NULL;
	if (!(allowance >= 0) || !(refill_per_day >= 0) ||
	    !isfinite(allowance) || !isfinite(refill_per_day))
		return cds_fail(err, CDS_ERR_USAGE,
				"rate limits must be finite and not negative");
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	rl->allowance = allowance;
	rl->capacity = allowance > refill_per_day ? allowance : refill_per_day;
	rl->per_us = refill_per_day / (double)CDS_USEC_PER_DAY;
	crypto_shorthash_keygen(rl->key);
	for (size_t i = 0; i < SHARDS; i++)
		pthread_mutex_init(&rl->sh[i].mu, NULL);
	*out = rl;
	return CDS_OK;
}

void cds_ratelimit_free(struct cds_ratelimit *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < SHARDS; i++) {
		pthread_mutex_destroy(&rl->sh[i].mu);
		free(rl->sh[i].t);
	}
	free(rl);
}

/* Slot of id in shard (used or the free slot where it would go). */
static size_t probe(const struct shard *s, uint64_t h, const uint8_t *id)
{
	size_t mask = s->cap - 1, i = (size_t)(h >> 6) & mask;

	while (s->t[i].used && memcmp(s->t[i].id, id, CDS_ACCOUNT_ID_BYTES))
		i = (i + 1) & mask;
	return i;
}

/* Double the table (or create it); existing entries are re-placed. */
static enum cds_err grow(struct cds_ratelimit *rl, struct shard *s)
{
	size_t ncap = s->cap ? s->cap * 2 : MIN_SLOTS;
	struct entry *old = s->t, *nt = calloc(ncap, sizeof(*nt));
	size_t ocap = s->cap;

	if (!nt)
		return CDS_ERR_NOMEM;
	s->t = nt;
	s->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].used)
			s->t[probe(s, hash_id(rl, old[i].id), old[i].id)] = old[i];
	free(old);
	return CDS_OK;
}

/*
 * The entry of id, created with the onboarding allowance if absent.  Called
 * with the shard locked.  NULL only when out of memory.
 */
static struct entry *get_entry(struct cds_ratelimit *rl, struct shard *s,
			       uint64_t h, const uint8_t *id, int64_t now_us)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && grow(rl, s))
		return NULL;
	i = probe(s, h, id);
	if (!s->t[i].used) {
		memcpy(s->t[i].id, id, CDS_ACCOUNT_ID_BYTES);
		s->t[i].tokens = rl->allowance;
		s->t[i].updated_us = now_us;
		s->t[i].used = true;
		s->t[i].dirty = true;
		s->n++;
		atomic_fetch_add(&rl->accounts, 1);
	}
	return &s->t[i];
}

static void refill(const struct cds_ratelimit *rl, struct entry *e,
		   int64_t now_us)
{
	/* A clock that went back gives nothing and takes nothing. */
	if (now_us <= e->updated_us)
		return;
	e->tokens += (double)(now_us - e->updated_us) * rl->per_us;
	if (e->tokens > rl->capacity)
		e->tokens = rl->capacity;
	e->updated_us = now_us;
}

static uint32_t retry_after(const struct cds_ratelimit *rl, double need)
{
	double s;

	if (rl->per_us <= 0)
		return 86400;
	s = ceil(need / (rl->per_us * (double)CDS_USEC_PER_SEC));
	if (s < 1)
		return 1;
	return s > 4294967295.0 ? UINT32_MAX : (uint32_t)s;
}

static struct cds_rate_bucket bucket_of(const struct cds_ratelimit *rl)
{
	return (struct cds_rate_bucket){rl->allowance, rl->capacity, rl->per_us};
}

/* Shared mode: one atomic charge in the store. */
static enum cds_err shared_charge(struct cds_ratelimit *rl, const uint8_t *id,
				  double n, int64_t now_us,
				  uint32_t *retry_after_s, struct cds_error *err)
{
	struct cds_rate_bucket b = bucket_of(rl);
	struct cds_store *st = NULL;
	bool charged = false;
	double left = 0;
	enum cds_err rc = cds_storepool_get(rl->pool, &st, err);

	if (!rc)
		rc = cds_store_rate_charge(st, id, &b, n, now_us, &charged, &left,
					   err);
	cds_storepool_put(rl->pool, st);
	if (rc || charged)
		return rc;
	*retry_after_s = retry_after(rl, n - left);
	return cds_fail(err, CDS_ERR_RATE,
			"rate limit reached: %.0f needed, %.0f left; retry in %u s",
			n, floor(left), *retry_after_s);
}

/* Shared mode: give tokens back; a failure only costs the client them. */
static void shared_refund(struct cds_ratelimit *rl, const uint8_t *id,
			  double n)
{
	struct cds_rate_bucket b = bucket_of(rl);
	struct cds_store *st = NULL;
	struct cds_error err;

	if (cds_storepool_get(rl->pool, &st, &err) == CDS_OK &&
	    cds_store_rate_refund(st, id, &b, n, &err) != CDS_OK)
		cds_log_warn("rate limit refund not stored: %s", err.msg);
	cds_storepool_put(rl->pool, st);
}

void cds_ratelimit_share(struct cds_ratelimit *rl, struct cds_storepool *pool)
{
	rl->pool = pool;
}

enum cds_err cds_ratelimit_charge(struct cds_ratelimit *rl,
				  const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				  double n, int64_t now_us,
				  uint32_t *retry_after_s,
				  struct cds_error *err)
{
	uint64_t h = hash_id(rl, id);
	struct shard *s = &rl->sh[h % SHARDS];
	struct entry *e;
	enum cds_err rc = CDS_OK;

	*retry_after_s = 0;
	if (n > rl->capacity)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"a batch of %.0f exceeds the rate-limit capacity of %.0f; send smaller batches",
				n, rl->capacity);
	if (rl->pool)
		return shared_charge(rl, id, n, now_us, retry_after_s, err);
	pthread_mutex_lock(&s->mu);
	e = get_entry(rl, s, h, id, now_us);
	if (!e) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		goto out;
	}
	refill(rl, e, now_us);
	if (e->tokens < n) {
		*retry_after_s = retry_after(rl, n - e->tokens);
		rc = cds_fail(err, CDS_ERR_RATE,
			      "rate limit reached: %.0f needed, %.0f left; retry in %u s",
			      n, floor(e->tokens), *retry_after_s);
		goto out;
	}
	e->tokens -= n;
	e->dirty = true;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void cds_ratelimit_refund(struct cds_ratelimit *rl,
			  const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
			  double n)
{
	uint64_t h = hash_id(rl, id);
	struct shard *s = &rl->sh[h % SHARDS];
	size_t i;

	if (rl->pool) {
		shared_refund(rl, id, n);
		return;
	}
	pthread_mutex_lock(&s->mu);
	if (s->cap && s->t[i = probe(s, h, id)].used) {
		s->t[i].tokens += n;
		if (s->t[i].tokens > rl->capacity)
			s->t[i].tokens = rl->capacity;
		s->t[i].dirty = true;
	}
	pthread_mutex_unlock(&s->mu);
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void remove_slot(struct cds_ratelimit *rl, struct shard *s, size_t i)
{
	size_t mask = s->cap - 1, j = i;

	s->t[i].used = false;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!s->t[j].used)
			break;
		home = (size_t)(hash_id(rl, s->t[j].id) >> 6) & mask;
		/* Move j back into the hole unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			s->t[i] = s->t[j];
			s->t[j].used = false;
			i = j;
		}
	}
	s->n--;
}

void cds_ratelimit_forget(struct cds_ratelimit *rl,
			  const uint8_t id[static CDS_ACCOUNT_ID_BYTES])
{
	uint64_t h = hash_id(rl, id);
	struct shard *s = &rl->sh[h % SHARDS];
	size_t i;

	pthread_mutex_lock(&s->mu);
	if (s->cap && s->t[i = probe(s, h, id)].used) {
		remove_slot(rl, s, i);
		atomic_fetch_sub(&rl->accounts, 1);
	}
	pthread_mutex_unlock(&s->mu);
}

static int load_one(void *ctx, const struct cds_rate_state *st)
{
	struct cds_ratelimit *rl = ctx;
	uint64_t h = hash_id(rl, st->account);
	struct shard *s = &rl->sh[h % SHARDS];
	struct entry *e;

	pthread_mutex_lock(&s->mu);
	e = get_entry(rl, s, h, st->account, st->updated_us);
	if (e) {
		e->tokens = st->tokens < 0 ? 0
			  : st->tokens > rl->capacity ? rl->capacity
						      : st->tokens;
		e->updated_us = st->updated_us;
		e->dirty = false;
	}
	pthread_mutex_unlock(&s->mu);
	return e ? 0 : 1;
}

enum cds_err cds_ratelimit_load(struct cds_ratelimit *rl, struct cds_store *s,
				struct cds_error *err)
{
	return cds_store_rate_load(s, load_one, rl, err);
}

/* Copy the dirty entries of one shard into *v (growing it), clearing flags. */
static enum cds_err collect(struct shard *s, struct cds_rate_state **v,
			    size_t *n, size_t *cap)
{
	enum cds_err rc = CDS_OK;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->cap; i++) {
		struct entry *e = &s->t[i];

		if (!e->used || !e->dirty)
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 256;
			struct cds_rate_state *nv = realloc(*v, nc * sizeof(**v));

			if (!nv) {
				rc = CDS_ERR_NOMEM;
				break;
			}
			*v = nv;
			*cap = nc;
		}
		memcpy((*v)[*n].account, e->id, CDS_ACCOUNT_ID_BYTES);
		(*v)[*n].tokens = e->tokens;
		(*v)[*n].updated_us = e->updated_us;
		(*n)++;
		e->dirty = false;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/*
 * After a failed save: mark what we took as dirty again, except the state
 * of accounts that no longer exist (deleted by cdsctl, or by the API while
 * a charge was in flight), which the store would refuse forever.
 */
static void remark(struct cds_ratelimit *rl, struct cds_store *st,
		   const struct cds_rate_state *v, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		uint64_t h = hash_id(rl, v[k].account);
		struct shard *s = &rl->sh[h % SHARDS];
		struct cds_account a;
		struct cds_error e = {0};
		size_t i;

		if (cds_store_account_get(st, v[k].account, &a, &e) ==
		    CDS_ERR_NOT_FOUND) {
			cds_ratelimit_forget(rl, v[k].account);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		if (s->cap && s->t[i = probe(s, h, v[k].account)].used)
			s->t[i].dirty = true;
		pthread_mutex_unlock(&s->mu);
	}
}

enum cds_err cds_ratelimit_save(struct cds_ratelimit *rl, struct cds_store *s,
				struct cds_error *err)
{
	struct cds_rate_state *v = NULL;
	size_t n = 0, cap = 0;
	enum cds_err rc = CDS_OK;

	for (size_t i = 0; i < SHARDS && !rc; i++)
		rc = collect(&rl->sh[i], &v, &n, &cap);
	if (rc)
		rc = cds_fail(err, rc, "out of memory saving rate limits");
	else if (n)
		rc = cds_store_rate_save(s, v, n, err);
	if (rc)
		remark(rl, s, v, n);
	free(v);
	return rc;
}

uint64_t cds_ratelimit_accounts(struct cds_ratelimit *rl)
{
	return atomic_load(&rl->accounts);
}
