/*
 * dirmap.c: the plain-lookup map (dirmap.h).
 *
 * Invariants:
 *  1. Linear probing, n <= cap * 7 / 10, cap a power of two (or 0), no
 *     tombstones (backward-shift deletion, as in accounts.c).
 *  2. slot.rec is 1 + the record's offset in 4-byte units (0 = empty);
 *     slot.tag is the low 32 bits of the handle's SipHash, so a slot's home
 *     is tag & (cap - 1) and moving slots never rehashes a handle.
 *  3. The arena holds live records and `garbage` bytes of dead ones; when
 *     dead bytes outnumber live ones the arena is rewritten.
 */
#include "index/dirmap.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/handle.h"

#define REC_HEAD (CDS_ACCOUNT_ID_BYTES + 2)
#define ARENA_UNITS_MAX UINT32_MAX

/* Handles hashed and prefetched ahead of their probes in one round. */
#define CDS_DIRMAP_MANY_MAX 32

struct slot {
	uint32_t rec;
	uint32_t tag;
};

struct cds_dirmap {
	struct slot *slots;
	size_t cap, n;
	uint8_t *arena;
	size_t used, size, garbage; /* bytes */
	uint8_t key[crypto_shorthash_KEYBYTES];
};

static uint32_t hash32(const struct cds_dirmap *m, const char *h, size_t len)
{
	uint8_t d[crypto_shorthash_BYTES];

	crypto_shorthash(d, (const uint8_t *)h, len, m->key);
	return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
	       (uint32_t)d[3] << 24;
}

static size_t rec_bytes(size_t len)
{
	return (REC_HEAD + len + 3) & ~(size_t)3;
}

static uint8_t *rec_at(const struct cds_dirmap *m, uint32_t rec)
{
	return m->arena + (size_t)(rec - 1) * 4;
}

static size_t rec_len(const uint8_t *r)
{
	uint16_t l;

	memcpy(&l, r + CDS_ACCOUNT_ID_BYTES, 2);
	return l;
}

/* Slot holding handle, or the empty slot ending its chain. */
static struct slot *find(const struct cds_dirmap *m, const char *h, size_t len,
			 uint32_t tag)
{
	size_t i = tag & (m->cap - 1);

	for (;; i = (i + 1) & (m->cap - 1)) {
		struct slot *s = &m->slots[i];
		const uint8_t *r;

		if (!s->rec)
			return s;
		if (s->tag != tag)
			continue;
		r = rec_at(m, s->rec);
		if (rec_len(r) == len && memcmp(r + REC_HEAD, h, len) == 0)
			return s;
	}
}

enum cds_err cds_dirmap_new(struct cds_dirmap **out, struct cds_error *err)
{
	struct cds_dirmap *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot allocate the lookup map");
	crypto_shorthash_keygen(m->key);
	*out = m;
	return CDS_OK;
}

void cds_dirmap_free(struct cds_dirmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->arena);
	free(m);
}

/* Place slot s (from another table) in m's table without comparing keys. */
static void place(struct cds_dirmap *m, struct slot s)
{
	size_t i = s.tag & (m->cap - 1);

	while (m->slots[i].rec)
		i = (i + 1) & (m->cap - 1);
	m->slots[i] = s;
}

static enum cds_err grow_table(struct cds_dirmap *m, struct cds_error *err)
{
	size_t old_cap = m->cap;
	struct slot *old = m->slots;

	m->cap = old_cap ? old_cap * 2 : 1024;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		m->cap = old_cap;
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot grow the lookup map to %zu", old_cap * 2);
	}
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].rec)
			place(m, old[i]);
	free(old);
	return CDS_OK;
}

static enum cds_err reserve_arena(struct cds_dirmap *m, size_t need,
				  struct cds_error *err)
{
	size_t size = m->size ? m->size : 65536;
	uint8_t *p;

	if (m->used + need <= m->size)
		return CDS_OK;
	while (size < m->used + need)
		size *= 2;
	if (size / 4 > ARENA_UNITS_MAX)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"lookup map full at %zu handles", m->n);
	p = realloc(m->arena, size);
	if (!p)
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot grow the lookup map's records to %zu bytes",
				size);
	m->arena = p;
	m->size = size;
	return CDS_OK;
}

static uint32_t append_rec(struct cds_dirmap *m, const char *h, size_t len,
			   const uint8_t *id)
{
	uint8_t *r = m->arena + m->used;
	uint16_t l = (uint16_t)len;
	uint32_t rec = (uint32_t)(m->used / 4) + 1;

	memcpy(r, id, CDS_ACCOUNT_ID_BYTES);
	memcpy(r + CDS_ACCOUNT_ID_BYTES, &l, 2);
	memcpy(r + REC_HEAD, h, len);
	m->used += rec_bytes(len);
	return rec;
}

/* Rewrite the arena with live records only (invariant 3). */
static enum cds_err compact(struct cds_dirmap *m, struct cds_error *err)
{
	uint8_t *old = m->arena;
	size_t size = m->used - m->garbage;

	m->arena = malloc(size ? size : 4);
	if (!m->arena) {
		m->arena = old;
		return cds_fail(err, CDS_ERR_NOMEM, "cannot compact the lookup map");
	}
	m->size = size ? size : 4;
	m->used = 0;
	m->garbage = 0;
	for (size_t i = 0; i < m->cap; i++) {
		const uint8_t *r;

		if (!m->slots[i].rec)
			continue;
		r = old + (size_t)(m->slots[i].rec - 1) * 4;
		m->slots[i].rec = append_rec(m, (const char *)r + REC_HEAD,
					     rec_len(r), r);
	}
	free(old);
	return CDS_OK;
}

enum cds_err cds_dirmap_put(struct cds_dirmap *m, const char *handle,
			    size_t len,
			    const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
			    struct cds_error *err)
{
	uint32_t tag;
	struct slot *s;
	enum cds_err rc;

	if (len == 0 || len > CDS_HANDLE_MAX_BYTES)
		return cds_fail(err, CDS_ERR_INVALID,
				"handle of %zu bytes cannot be mapped", len);
	if ((m->n + 1) * 10 > m->cap * 7) {
		rc = grow_table(m, err);
		if (rc)
			return rc;
	}
	tag = hash32(m, handle, len);
	s = find(m, handle, len, tag);
	if (s->rec) {
		memcpy(rec_at(m, s->rec), id, CDS_ACCOUNT_ID_BYTES);
		return CDS_OK;
	}
	rc = reserve_arena(m, rec_bytes(len), err);
	if (rc)
		return rc;
	s->rec = append_rec(m, handle, len, id);
	s->tag = tag;
	m->n++;
	return CDS_OK;
}

bool cds_dirmap_remove(struct cds_dirmap *m, const char *handle, size_t len)
{
	size_t mask = m->cap - 1, i, j;
	struct slot *s;

	if (m->n == 0)
		return false;
	s = find(m, handle, len, hash32(m, handle, len));
	if (!s->rec)
		return false;
	m->garbage += rec_bytes(len);
	i = (size_t)(s - m->slots);
	for (j = (i + 1) & mask; m->slots[j].rec; j = (j + 1) & mask) {
		size_t k = m->slots[j].tag & mask;

		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].rec = 0;
	m->n--;
	/* A failed compaction only leaves garbage behind; retry next time. */
	if (m->garbage > m->used / 2 && m->garbage > 65536)
		(void)compact(m, NULL);
	return true;
}

bool cds_dirmap_get(const struct cds_dirmap *m, const char *handle, size_t len,
		    uint8_t id[static CDS_ACCOUNT_ID_BYTES])
{
	const struct slot *s;

	if (m->n == 0 || len == 0 || len > CDS_HANDLE_MAX_BYTES)
		return false;
	s = find(m, handle, len, hash32(m, handle, len));
	if (!s->rec)
		return false;
	memcpy(id, rec_at(m, s->rec), CDS_ACCOUNT_ID_BYTES);
	return true;
}

void cds_dirmap_get_many(const struct cds_dirmap *m,
			 const char *const *handles, size_t n,
			 uint8_t (*ids)[CDS_ACCOUNT_ID_BYTES], bool *found)
{
	uint32_t tag[CDS_DIRMAP_MANY_MAX];
	size_t len[CDS_DIRMAP_MANY_MAX];

	for (size_t a = 0; a < n; a += CDS_DIRMAP_MANY_MAX) {
		size_t k = n - a < CDS_DIRMAP_MANY_MAX ? n - a : CDS_DIRMAP_MANY_MAX;

		for (size_t i = 0; i < k; i++) {
			len[i] = strlen(handles[a + i]);
			found[a + i] = false;
			if (m->n == 0 || len[i] == 0 || len[i] > CDS_HANDLE_MAX_BYTES)
				continue;
			tag[i] = hash32(m, handles[a + i], len[i]);
			__builtin_prefetch(&m->slots[tag[i] & (m->cap - 1)]);
		}
		for (size_t i = 0; i < k; i++) {
			const struct slot *s;

			if (m->n == 0 || len[i] == 0 || len[i] > CDS_HANDLE_MAX_BYTES)
				continue;
			s = find(m, handles[a + i], len[i], tag[i]);
			if (!s->rec)
				continue;
			memcpy(ids[a + i], rec_at(m, s->rec), CDS_ACCOUNT_ID_BYTES);
			found[a + i] = true;
		}
	}
}

size_t cds_dirmap_count(const struct cds_dirmap *m)
{
	return m->n;
}

size_t cds_dirmap_memory(const struct cds_dirmap *m)
{
	return sizeof(*m) + m->cap * sizeof(struct slot) + m->size;
}
