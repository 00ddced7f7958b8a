/*
 * iplimit.c: per-address token buckets in a fixed table (iplimit.h).
 *
 * The table has SHARDS x SLOTS entries; an address hashes (keyed SipHash)
 * to a shard and a start slot, and is looked for in a window of WINDOW
 * slots.  Invariants: an address occupies at most one slot of its window;
 * a balance stays within [-burst, burst].
 */
#include "server/iplimit.h"

#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/timeutil.h"

#define SHARDS 16
#define SLOTS 4096
#define WINDOW 8
/* A tag (4, 6, or K for other keys) + up to 16 key bytes. */
#define KEY_BYTES (1 + CDS_IPLIMIT_KEY_BYTES)

struct slot {
	uint8_t key[KEY_BYTES];
	double tokens;
	int64_t updated_us;
	bool used;
};

struct shard {
	pthread_mutex_t mu;
	struct slot t[SLOTS];
};

struct cds_iplimit {
	double per_us;
	double burst;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct shard *sh; /* SHARDS, NULL when unlimited */
};

enum cds_err cds_iplimit_new(struct cds_iplimit **out, double rate,
			     double burst, struct cds_error *err)
{
	struct cds_iplimit *il = calloc(1, sizeof(*il));

	*out = NULL;
	if (!il)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	if (rate > 0) {
		il->per_us = rate / (double)CDS_USEC_PER_SEC;
		il->burst = burst >= 1 ? burst : rate;
		il->sh = calloc(SHARDS, sizeof(*il->sh));
		if (!il->sh) {
			free(il);
			return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		}
		for (size_t i = 0; i < SHARDS; i++)
			pthread_mutex_init(&il->sh[i].mu, NULL);
		crypto_shorthash_keygen(il->hkey);
	}
	*out = il;
	return CDS_OK;
}

void cds_iplimit_free(struct cds_iplimit *il)
{
	if (!il)
		return;
	if (il->sh)
		for (size_t i = 0; i < SHARDS; i++)
			pthread_mutex_destroy(&il->sh[i].mu);
	free(il->sh);
	free(il);
}

/* The key of an address: IPv4 whole, IPv6 its /64 (v4-mapped as IPv4). */
static bool addr_key(uint8_t key[KEY_BYTES], const struct sockaddr *sa)
{
	memset(key, 0, KEY_BYTES);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		key[0] = 4;
		memcpy(key + 1, &s4->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
		}
		return true;
	}
	return false;
}

/* The slot for key in its window: its own, a free one, or the most idle. */
static struct slot *find_slot(struct shard *s, size_t start,
			      const uint8_t *key, double burst,
			      int64_t now_us)
{
	struct slot *free_slot = NULL, *oldest = NULL, *victim;

	for (size_t k = 0; k < WINDOW; k++) {
		struct slot *e = &s->t[(start + k) % SLOTS];

		if (!e->used) {
			if (!free_slot)
				free_slot = e;
		} else if (!memcmp(e->key, key, KEY_BYTES)) {
			return e;
		} else if (!oldest || e->updated_us < oldest->updated_us) {
			oldest = e;
		}
	}
	victim = free_slot ? free_slot : oldest;
	memcpy(victim->key, key, KEY_BYTES);
	victim->tokens = burst;
	victim->updated_us = now_us;
	victim->used = true;
	return victim;
}

/*
 * Run fn on the slot of an encoded key (addr_key's form), refilled to
 * now_us, under its shard's lock.
 */
static void with_slot(struct cds_iplimit *il, const uint8_t key[KEY_BYTES],
		      int64_t now_us, void (*fn)(struct cds_iplimit *,
						 struct slot *, void *),
		      void *ctx)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t hv;
	struct shard *s;
	struct slot *e;

	crypto_shorthash(h, key, KEY_BYTES, il->hkey);
	memcpy(&hv, h, sizeof(hv));
	s = &il->sh[hv % SHARDS];
	pthread_mutex_lock(&s->mu);
	e = find_slot(s, (size_t)(hv / SHARDS) % SLOTS, key, il->burst,
		      now_us);
	if (now_us > e->updated_us) {
		e->tokens += (double)(now_us - e->updated_us) * il->per_us;
		if (e->tokens > il->burst)
			e->tokens = il->burst;
		e->updated_us = now_us;
	}
	fn(il, e, ctx);
	pthread_mutex_unlock(&s->mu);
}

/* peer's key; false for a guard without limit or a non-IP peer. */
static bool peer_key(struct cds_iplimit *il, uint8_t key[KEY_BYTES],
		     const struct sockaddr *peer)
{
	return il->sh && peer && addr_key(key, peer);
}

/* Seconds until the balance is positive again (at least 1). */
static void admit_fn(struct cds_iplimit *il, struct slot *e, void *ctx)
{
	uint32_t *retry = ctx;

	if (e->tokens > 0)
		return;
	*retry = (uint32_t)ceil((1.0 - e->tokens) / (il->per_us * 1e6));
	if (*retry == 0)
		*retry = 1;
}

bool cds_iplimit_admit(struct cds_iplimit *il, const struct sockaddr *peer,
		       int64_t now_us, uint32_t *retry_after_s)
{
	uint8_t key[KEY_BYTES];

	*retry_after_s = 0;
	if (peer_key(il, key, peer))
		with_slot(il, key, now_us, admit_fn, retry_after_s);
	return *retry_after_s == 0;
}

/* Debit, but never below -burst: a debt is paid off within burst/rate. */
static void charge_fn(struct cds_iplimit *il, struct slot *e, void *ctx)
{
	e->tokens -= *(const double *)ctx;
	if (e->tokens < -il->burst)
		e->tokens = -il->burst;
}

void cds_iplimit_charge(struct cds_iplimit *il, const struct sockaddr *peer,
			double n, int64_t now_us)
{
	uint8_t key[KEY_BYTES];

	if (peer_key(il, key, peer))
		with_slot(il, key, now_us, charge_fn, &n);
}

struct take {
	double n;
	uint32_t retry;
};

/* Take n tokens if there are that many, else say when there will be. */
static void take_fn(struct cds_iplimit *il, struct slot *e, void *ctx)
{
	struct take *t = ctx;

	if (e->tokens >= t->n) {
		e->tokens -= t->n;
		return;
	}
	t->retry = (uint32_t)ceil((t->n - e->tokens) / (il->per_us * 1e6));
	if (t->retry == 0)
		t->retry = 1;
}

static bool take(struct cds_iplimit *il, const uint8_t key[KEY_BYTES],
		 double n, int64_t now_us, uint32_t *retry_after_s)
{
	struct take t = {n, 0};

	with_slot(il, key, now_us, take_fn, &t);
	*retry_after_s = t.retry;
	return t.retry == 0;
}

bool cds_iplimit_take(struct cds_iplimit *il, const struct sockaddr *peer,
		      double n, int64_t now_us, uint32_t *retry_after_s)
{
	uint8_t key[KEY_BYTES];

	*retry_after_s = 0;
	if (!peer_key(il, key, peer))
		return true;
	return take(il, key, n, now_us, retry_after_s);
}
bool cds_iplimit_take_key(struct cds_iplimit *il, const uint8_t *k,
			  size_t len, double n, int64_t now_us,
			  uint32_t *retry_after_s)
{
	uint8_t key[KEY_BYTES] = {'K'};

	*retry_after_s = 0;
	if (!il->sh || len > CDS_IPLIMIT_KEY_BYTES)
		return true;
	memcpy(key + 1, k, len);
	return take(il, key, n, now_us, retry_after_s);
}
