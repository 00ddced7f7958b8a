/*
 * index.c: one epoch's discovery index, base region plus overlay (index.h).
 *
 * The representation and its invariants are in index_int.h.
 */
#include "core/os.h"
#include "index/index.h"
#include "index/index_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sodium.h>

static int fp_cmp(const void *a, const void *b)
{
	return memcmp(a, b, CDS_FP_BYTES);
}

void cds_index_sort_bucket(uint8_t *entries, size_t n)
{
	if (n > 1)
		qsort(entries, n, CDS_ENTRY_BYTES, fp_cmp);
}

size_t cds_index_region_bytes(unsigned prefix_bits, uint64_t n)
{
	return ((size_t)cds_index_nbuckets(prefix_bits) + 1) * sizeof(uint32_t) +
	       (size_t)n * CDS_ENTRY_BYTES;
}

enum cds_err cds_index_map_anon(void **map, size_t len, struct cds_error *err)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		*map = NULL;
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot map %zu bytes for the index", len);
	}
	*map = p;
	return CDS_OK;
}

static void unmap(void *map, size_t len)
{
	if (map)
		munmap(map, len ? len : 1);
}

static uint64_t siphash_u64(const uint8_t key[CDS_INDEX_SALT_BYTES],
			    uint64_t v)
{
	uint8_t in[8], h[crypto_shorthash_BYTES];
	uint64_t r = 0;

	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(v >> (8 * i));
	crypto_shorthash(h, in, sizeof(in), key);
	for (int i = 0; i < 8; i++)
		r |= (uint64_t)h[i] << (8 * i);
	return r;
}

struct ovl_slot *cds_index_ovl_slot(const struct cds_index *ix, uint32_t b)
{
	uint32_t mask = ix->ovl_cap - 1;
	uint32_t i = (uint32_t)(b * UINT32_C(2654435761)) >> ix->ovl_shift;

	for (;; i = (i + 1) & mask) {
		struct ovl_slot *s = &ix->slots[i];

		if (!s->b || s->bucket == b)
			return s;
	}
}

static struct ovl_bucket *ovl_find(const struct cds_index *ix, uint32_t b)
{
	if (ix->ovl_n == 0)
		return NULL;
	return cds_index_ovl_slot(ix, b)->b;
}

/* The bytes bucket b serves now.  Caller holds the lock. */
const uint8_t *cds_index_view(const struct cds_index *ix, uint32_t b,
			      size_t *n, uint64_t *version)
{
	const struct ovl_bucket *o = ovl_find(ix, b);

	if (o) {
		*n = o->n;
		if (version)
			*version = o->version;
		return o->e;
	}
	*n = ix->off[b + 1] - ix->off[b];
	if (version)
		*version = siphash_u64(ix->base_salt, b);
	return ix->base + (size_t)ix->off[b] * CDS_ENTRY_BYTES;
}

enum cds_err cds_index_new(struct cds_index **out, uint32_t epoch,
			   unsigned prefix_bits, void *map, size_t map_len,
			   const uint32_t *off, const uint8_t *entries,
			   const uint8_t *salt, uint64_t seq,
			   struct cds_error *err)
{
	struct cds_index *ix = NULL;
	enum cds_err rc = CDS_OK;

	*out = NULL;
	if (prefix_bits > CDS_PREFIX_BITS_MAX) {
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "prefix bits %u out of range 0..%d", prefix_bits,
			      CDS_PREFIX_BITS_MAX);
		goto out;
	}
	ix = calloc(1, sizeof(*ix));
	if (!ix || cds_rwlock_init_writer_pref(&ix->lock)) {
		free(ix);
		ix = NULL;
		rc = cds_fail(err, CDS_ERR_NOMEM, "cannot allocate an index");
		goto out;
	}
	rc = cds_dirty_init(&ix->dirty, prefix_bits, err);
	if (rc) {
		pthread_rwlock_destroy(&ix->lock);
		free(ix);
		ix = NULL;
		goto out;
	}
	ix->epoch = epoch;
	ix->prefix_bits = prefix_bits;
	ix->nbuckets = cds_index_nbuckets(prefix_bits);
	ix->map = map;
	ix->map_len = map_len;
	ix->off = off;
	ix->base = entries;
	ix->count = off[ix->nbuckets];
	ix->seq = seq;
	if (salt)
		memcpy(ix->base_salt, salt, CDS_INDEX_SALT_BYTES);
	else
		randombytes_buf(ix->base_salt, CDS_INDEX_SALT_BYTES);
	randombytes_buf(ix->ovl_salt, CDS_INDEX_SALT_BYTES);
	*out = ix;
out:
	if (rc)
		unmap(map, map_len);
	return rc;
}

enum cds_err cds_index_new_empty(struct cds_index **out, uint32_t epoch,
				 unsigned prefix_bits, uint64_t seq,
				 struct cds_error *err)
{
	size_t len;
	void *map;
	enum cds_err rc;

	*out = NULL;
	if (prefix_bits > CDS_PREFIX_BITS_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"prefix bits %u out of range 0..%d",
				prefix_bits, CDS_PREFIX_BITS_MAX);
	len = cds_index_region_bytes(prefix_bits, 0);
	rc = cds_index_map_anon(&map, len, err);
	if (rc)
		return rc;
	/* Anonymous memory is zero: every offset 0, every bucket empty. */
	return cds_index_new(out, epoch, prefix_bits, map, len, map,
			     (const uint8_t *)map + len, NULL, seq, err);
}

static void ovl_clear(struct cds_index *ix)
{
	for (uint32_t i = 0; i < ix->ovl_cap; i++)
		free(ix->slots[i].b);
	free(ix->slots);
	ix->slots = NULL;
	ix->ovl_cap = ix->ovl_n = 0;
	ix->ovl_bytes = 0;
}

void cds_index_free(struct cds_index *ix)
{
	if (!ix)
		return;
	ovl_clear(ix);
	unmap(ix->map, ix->map_len);
	cds_dirty_fini(&ix->dirty);
	pthread_rwlock_destroy(&ix->lock);
	free(ix);
}

uint32_t cds_index_epoch(const struct cds_index *ix)
{
	return ix->epoch;
}

unsigned cds_index_prefix_bits(const struct cds_index *ix)
{
	return ix->prefix_bits;
}

uint64_t cds_index_count(struct cds_index *ix)
{
	uint64_t n;

	pthread_rwlock_rdlock(&ix->lock);
	n = ix->count;
	pthread_rwlock_unlock(&ix->lock);
	return n;
}

uint64_t cds_index_seq(struct cds_index *ix)
{
	uint64_t s;

	pthread_rwlock_rdlock(&ix->lock);
	s = ix->seq;
	pthread_rwlock_unlock(&ix->lock);
	return s;
}

void cds_index_set_seq(struct cds_index *ix, uint64_t seq)
{
	pthread_rwlock_wrlock(&ix->lock);
	if (seq > ix->seq)
		ix->seq = seq;
	pthread_rwlock_unlock(&ix->lock);
}

size_t cds_index_memory(struct cds_index *ix)
{
	size_t n;

	pthread_rwlock_rdlock(&ix->lock);
	n = sizeof(*ix) + ix->map_len + ix->ovl_bytes +
	    ((size_t)ix->nbuckets + 63) / 64 * sizeof(uint64_t);
	pthread_rwlock_unlock(&ix->lock);
	return n;
}

enum cds_err cds_index_bucket(struct cds_index *ix, uint32_t bucket,
			      struct cds_buf *out, uint64_t *version,
			      struct cds_error *err)
{
	const uint8_t *e;
	size_t n;
	enum cds_err rc;

	if (bucket >= ix->nbuckets)
		return cds_fail(err, CDS_ERR_INVALID,
				"bucket %u out of range (prefix bits %u)",
				bucket, ix->prefix_bits);
	pthread_rwlock_rdlock(&ix->lock);
	e = cds_index_view(ix, bucket, &n, version);
	rc = out ? cds_buf_append(out, e, n * CDS_ENTRY_BYTES) : CDS_OK;
	pthread_rwlock_unlock(&ix->lock);
	if (rc)
		return cds_fail(err, rc, "cannot copy bucket %u", bucket);
	return CDS_OK;
}

/* First position whose fp is >= fp. */
static size_t lower_bound(const uint8_t *e, size_t n,
			  const uint8_t fp[CDS_FP_BYTES])
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(e + mid * CDS_ENTRY_BYTES, fp, CDS_FP_BYTES) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum cds_err cds_index_ovl_grow(struct cds_index *ix, struct cds_error *err)
{
	uint32_t cap = ix->ovl_cap ? ix->ovl_cap * 2 : 64;
	struct ovl_slot *old = ix->slots;
	uint32_t old_cap = ix->ovl_cap;
	unsigned shift = 32;

	for (uint32_t c = cap; c > 1; c >>= 1)
		shift--;
	ix->slots = calloc(cap, sizeof(*ix->slots));
	if (!ix->slots) {
		ix->slots = old;
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot grow the index overlay to %u", cap);
	}
	ix->ovl_cap = cap;
	ix->ovl_shift = shift;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i].b)
			*cds_index_ovl_slot(ix, old[i].bucket) = old[i];
	free(old);
	ix->ovl_bytes += (size_t)(cap - old_cap) * sizeof(struct ovl_slot);
	return CDS_OK;
}

size_t cds_index_ovl_size(uint32_t cap)
{
	return sizeof(struct ovl_bucket) + (size_t)cap * CDS_ENTRY_BYTES;
}

/*
 * The overlay copy of bucket b with room for `need` entries, copying it
 * from the base the first time.  Caller holds the write lock.
 */
static enum cds_err make_mutable(struct cds_index *ix, uint32_t b, size_t need,
				 struct ovl_bucket **out, struct cds_error *err)
{
	struct ovl_slot *s;
	struct ovl_bucket *o;
	size_t n;
	const uint8_t *e;
	uint32_t cap;
	size_t old_bytes;
	enum cds_err rc;

	if ((ix->ovl_n + 1) * 2 > ix->ovl_cap) {
		rc = cds_index_ovl_grow(ix, err);
		if (rc)
			return rc;
	}
	s = cds_index_ovl_slot(ix, b);
	if (s->b && s->b->cap >= need) {
		*out = s->b;
		return CDS_OK;
	}
	e = cds_index_view(ix, b, &n, NULL);
	cap = (uint32_t)(need + need / 4 + 1);
	/* Read the old size before realloc may free it. */
	old_bytes = s->b ? cds_index_ovl_size(s->b->cap) : 0;
	o = s->b ? realloc(s->b, cds_index_ovl_size(cap))
		 : malloc(cds_index_ovl_size(cap));
	if (!o)
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot allocate bucket %u of %zu entries", b,
				need);
	if (s->b) {
		ix->ovl_bytes -= old_bytes;
	} else {
		memcpy(o->e, e, n * CDS_ENTRY_BYTES);
		o->n = (uint32_t)n;
		s->bucket = b;
		ix->ovl_n++;
	}
	o->cap = cap;
	s->b = o;
	ix->ovl_bytes += cds_index_ovl_size(cap);
	*out = o;
	return CDS_OK;
}

uint64_t cds_index_next_version(struct cds_index *ix)
{
	return siphash_u64(ix->ovl_salt, ix->ovl_counter++);
}

static bool entry_answers(const uint8_t *entry, const uint8_t *out,
			  uint32_t epoch, const uint8_t *account,
			  const uint8_t *identity_key)
{
	uint8_t acct[CDS_ACCOUNT_ID_BYTES], ik[CDS_IDENTITY_KEY_BYTES];
	struct cds_error e;

	if (cds_entry_open(acct, ik, entry, out, epoch, &e) != CDS_OK)
		return false;
	return memcmp(acct, account, sizeof(acct)) == 0 &&
	       memcmp(ik, identity_key, sizeof(ik)) == 0;
}

bool cds_index_ovl_too_big(const struct cds_index *ix)
{
	return ix->ovl_bytes > ix->map_len / 4 + ((size_t)1 << 20);
}

/* Put under the write lock; *grew says whether compaction is due. */
static enum cds_err put_locked(struct cds_index *ix, uint32_t b,
			       const uint8_t *out, const uint8_t *account,
			       const uint8_t *identity_key, bool *changed,
			       struct cds_error *err)
{
	struct ovl_bucket *o;
	const uint8_t *e;
	size_t n, pos;
	bool found;
	enum cds_err rc;

	e = cds_index_view(ix, b, &n, NULL);
	pos = lower_bound(e, n, out);
	found = pos < n && memcmp(e + pos * CDS_ENTRY_BYTES, out,
				  CDS_FP_BYTES) == 0;
	if (found && entry_answers(e + pos * CDS_ENTRY_BYTES, out, ix->epoch,
				   account, identity_key))
		return CDS_OK;
	rc = make_mutable(ix, b, found ? n : n + 1, &o, err);
	if (rc)
		return rc;
	if (!found) {
		memmove(o->e + (pos + 1) * CDS_ENTRY_BYTES,
			o->e + pos * CDS_ENTRY_BYTES,
			(o->n - pos) * CDS_ENTRY_BYTES);
		o->n++;
		ix->count++;
	}
	cds_entry_seal(o->e + pos * CDS_ENTRY_BYTES, out, ix->epoch, account,
		       identity_key, NULL);
	o->version = cds_index_next_version(ix);
	cds_dirty_mark(&ix->dirty, b);
	*changed = true;
	return CDS_OK;
}

enum cds_err cds_index_put(struct cds_index *ix, uint32_t bucket,
			   const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
			   const uint8_t account[static CDS_ACCOUNT_ID_BYTES],
			   const uint8_t identity_key[static CDS_IDENTITY_KEY_BYTES],
			   bool *changed, struct cds_error *err)
{
	bool ch = false, compact;
	enum cds_err rc;

	if (bucket >= ix->nbuckets)
		return cds_fail(err, CDS_ERR_INVALID,
				"bucket %u out of range (prefix bits %u)",
				bucket, ix->prefix_bits);
	pthread_rwlock_wrlock(&ix->lock);
	rc = put_locked(ix, bucket, out, account, identity_key, &ch, err);
	compact = cds_index_ovl_too_big(ix);
	pthread_rwlock_unlock(&ix->lock);
	if (changed)
		*changed = ch;
	if (!rc && compact)
		rc = cds_index_compact(ix, err);
	return rc;
}

enum cds_err cds_index_remove(struct cds_index *ix, uint32_t bucket,
			      const uint8_t fp[static CDS_FP_BYTES],
			      bool *removed, struct cds_error *err)
{
	struct ovl_bucket *o;
	const uint8_t *e;
	size_t n, pos;
	enum cds_err rc = CDS_OK;
	bool compact;

	if (removed)
		*removed = false;
	if (bucket >= ix->nbuckets)
		return cds_fail(err, CDS_ERR_INVALID,
				"bucket %u out of range (prefix bits %u)",
				bucket, ix->prefix_bits);
	pthread_rwlock_wrlock(&ix->lock);
	e = cds_index_view(ix, bucket, &n, NULL);
	pos = lower_bound(e, n, fp);
	if (pos == n || memcmp(e + pos * CDS_ENTRY_BYTES, fp, CDS_FP_BYTES))
		goto out;
	rc = make_mutable(ix, bucket, n, &o, err);
	if (rc)
		goto out;
	memmove(o->e + pos * CDS_ENTRY_BYTES, o->e + (pos + 1) * CDS_ENTRY_BYTES,
		(o->n - pos - 1) * CDS_ENTRY_BYTES);
	o->n--;
	ix->count--;
	o->version = cds_index_next_version(ix);
	cds_dirty_mark(&ix->dirty, bucket);
	if (removed)
		*removed = true;
out:
	compact = cds_index_ovl_too_big(ix);
	pthread_rwlock_unlock(&ix->lock);
	if (!rc && compact)
		rc = cds_index_compact(ix, err);
	return rc;
}

int cds_index_visit(struct cds_index *ix, cds_index_bucket_fn fn, void *ctx,
		    uint8_t salt_out[CDS_INDEX_SALT_BYTES], uint64_t *seq,
		    uint64_t *count)
{
	int r = 0;

	pthread_rwlock_rdlock(&ix->lock);
	if (salt_out) {
		if (ix->ovl_n == 0)
			memcpy(salt_out, ix->base_salt, CDS_INDEX_SALT_BYTES);
		else
			memset(salt_out, 0, CDS_INDEX_SALT_BYTES);
	}
	if (seq)
		*seq = ix->seq;
	if (count)
		*count = ix->count;
	for (uint32_t b = 0; b < ix->nbuckets && r == 0; b++) {
		size_t n;
		const uint8_t *e = cds_index_view(ix, b, &n, NULL);

		r = fn(ctx, b, e, n);
	}
	pthread_rwlock_unlock(&ix->lock);
	return r;
}

struct flatten {
	uint32_t *off;
	uint8_t *entries;
	uint64_t at;
};

static int flatten_bucket(void *ctx, uint32_t b, const uint8_t *e, size_t n)
{
	struct flatten *f = ctx;

	f->off[b] = (uint32_t)f->at;
	memcpy(f->entries + f->at * CDS_ENTRY_BYTES, e, n * CDS_ENTRY_BYTES);
	f->at += n;
	return 0;
}

/* The current buckets copied into a new base region (under the read lock). */
static enum cds_err flatten(struct cds_index *ix, void **map, size_t *len,
			    struct flatten *f, struct cds_error *err)
{
	enum cds_err rc;

	*len = cds_index_region_bytes(ix->prefix_bits, cds_index_count(ix));
	rc = cds_index_map_anon(map, *len, err);
	if (rc)
		return rc;
	f->off = *map;
	f->entries = (uint8_t *)*map +
		     ((size_t)ix->nbuckets + 1) * sizeof(uint32_t);
	f->at = 0;
	(void)cds_index_visit(ix, flatten_bucket, f, NULL, NULL, NULL);
	f->off[ix->nbuckets] = (uint32_t)f->at;
	return CDS_OK;
}

/*
 * Copy the current buckets into a new base under the read lock (readers go
 * on), then swap it in under the write lock.  Safe because the only thread
 * that mutates the index is the one compacting it (index.h, invariant 3).
 */
enum cds_err cds_index_compact(struct cds_index *ix, struct cds_error *err)
{
	struct flatten f;
	void *map, *old_map;
	size_t len, old_len;
	enum cds_err rc;

	rc = flatten(ix, &map, &len, &f, err);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&ix->lock);
	old_map = ix->map;
	old_len = ix->map_len;
	ix->map = map;
	ix->map_len = len;
	ix->off = f.off;
	ix->base = f.entries;
	randombytes_buf(ix->base_salt, CDS_INDEX_SALT_BYTES);
	ovl_clear(ix);
	pthread_rwlock_unlock(&ix->lock);
	unmap(old_map, old_len);
	return CDS_OK;
}

enum cds_err cds_index_clone(struct cds_index *ix, uint64_t seq,
			     struct cds_index **out, struct cds_error *err)
{
	struct flatten f;
	void *map;
	size_t len;
	enum cds_err rc;

	*out = NULL;
	rc = flatten(ix, &map, &len, &f, err);
	if (rc)
		return rc;
	/* cds_index_new takes the region over, and unmaps it on failure. */
	return cds_index_new(out, ix->epoch, ix->prefix_bits, map, len, f.off,
			     f.entries, NULL, seq, err);
}
