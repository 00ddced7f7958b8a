/*
 * merge.c: normalise raw contacts and merge duplicates (policy in merge.h).
 *
 * Invariants: every handle in the result passed cds_handle_check and appears
 * on exactly one contact; contacts are in file order; the two digest tables
 * (handle -> owning contact, contact -> seen) hold 128-bit BLAKE2b digests,
 * whose equality stands for equality of what they digest (a collision among
 * a million items has probability around 2^-88).
 */
#include "addressbook/merge.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "addressbook/textconv.h"

#define DIGEST_BYTES 16

struct slot {
	uint8_t d[DIGEST_BYTES];
	size_t val;
	bool used;
};

/* Open addressing, linear probing, at most half full. */
struct dtable {
	struct slot *slots;
	size_t cap, n;
};

static struct slot *dtable_find(struct dtable *t, const uint8_t *d)
{
	size_t i;

	memcpy(&i, d, sizeof(i));
	for (i &= t->cap - 1;; i = (i + 1) & (t->cap - 1))
		if (!t->slots[i].used || !memcmp(t->slots[i].d, d, DIGEST_BYTES))
			return &t->slots[i];
}

static enum cds_err dtable_grow(struct dtable *t)
{
	struct dtable bigger = { .cap = t->cap ? t->cap * 2 : 64 };
	struct slot *s;
	size_t i;

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return CDS_ERR_NOMEM;
	for (i = 0; i < t->cap; i++) {
		if (!t->slots[i].used)
			continue;
		s = dtable_find(&bigger, t->slots[i].d);
		*s = t->slots[i];
	}
	bigger.n = t->n;
	free(t->slots);
	*t = bigger;
	return CDS_OK;
}

/* The value stored under d, or insert val and return it. */
static enum cds_err dtable_get_or_put(struct dtable *t, const uint8_t *d,
				      size_t val, size_t *found)
{
	struct slot *s;

	if ((t->n + 1) * 2 > t->cap && dtable_grow(t))
		return CDS_ERR_NOMEM;
	s = dtable_find(t, d);
	if (!s->used) {
		memcpy(s->d, d, DIGEST_BYTES);
		s->val = val;
		s->used = true;
		t->n++;
	}
	*found = s->val;
	return CDS_OK;
}

/* Growable array of owned strings. */
static enum cds_err push(char ***arr, size_t *n, size_t *cap, char *s)
{
	size_t ncap;
	char **p;

	if (!s)
		return CDS_ERR_NOMEM;
	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 4;
		p = reallocarray(*arr, ncap, sizeof(*p));
		if (!p) {
			free(s);
			return CDS_ERR_NOMEM;
		}
		*arr = p;
		*cap = ncap;
	}
	(*arr)[(*n)++] = s;
	return CDS_OK;
}

static void contact_fini(struct cds_contact *c)
{
	size_t i;

	free(c->name);
	for (i = 0; i < c->n_handles; i++)
		free(c->handles[i]);
	free(c->handles);
	for (i = 0; i < c->n_problems; i++)
		free(c->problems[i]);
	free(c->problems);
	memset(c, 0, sizeof(*c));
}

struct merger {
	const char *region;
	struct dtable owners;   /* handle digest -> index of its contact */
	struct dtable seen;     /* contact digest -> index of the contact */
	struct cds_addressbook *ab;
	size_t cap;             /* of ab->contacts */
};

/* A contact being built, with the capacities of its arrays. */
struct work {
	struct cds_contact c;
	size_t cap_h, cap_p;
	size_t parse_problems;  /* problems that came from the parser */
};

/* Step 1: normalise each entry into a handle or a problem. */
static enum cds_err normalise(struct merger *m, struct work *w,
			      const struct cds_raw_contact *raw)
{
	char h[CDS_HANDLE_MAX_BYTES + 1];
	const struct cds_raw_entry *e;
	struct cds_error why;
	enum cds_err rc;
	size_t i;

	for (i = 0; i < raw->n_entries; i++) {
		e = &raw->entries[i];
		cds_error_clear(&why);
		if (e->kind == CDS_RAW_TEL)
			rc = cds_phone_normalize(h, sizeof(h), e->value, m->region,
						 &why);
		else
			rc = cds_email_normalize(h, sizeof(h), e->value, &why);
		if (rc == CDS_ERR_NOMEM)
			return rc;
		if (rc)
			rc = push(&w->c.problems, &w->c.n_problems, &w->cap_p,
				  strdup(why.msg));
		else
			rc = push(&w->c.handles, &w->c.n_handles, &w->cap_h,
				  strdup(h));
		if (rc)
			return rc;
	}
	return CDS_OK;
}

struct ranked {
	const char *s;
	size_t pos;
};

static int ranked_cmp(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	int c = strcmp(a->s, b->s);

	if (c)
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Step 2: keep the first of equal handles on one contact, in order.  Sorting
 * keeps this O(n log n) for a contact with very many numbers. */
static enum cds_err dedup_local(struct work *w)
{
	struct ranked *r;
	bool *drop;
	size_t i, j, n = w->c.n_handles;

	if (n < 2)
		return CDS_OK;
	r = calloc(n, sizeof(*r));
	drop = calloc(n, sizeof(*drop));
	if (!r || !drop) {
		free(r);
		free(drop);
		return CDS_ERR_NOMEM;
	}
	for (i = 0; i < n; i++)
		r[i] = (struct ranked){ w->c.handles[i], i };
	qsort(r, n, sizeof(*r), ranked_cmp);
	for (i = 1; i < n; i++)
		drop[r[i].pos] = strcmp(r[i].s, r[i - 1].s) == 0;
	for (i = j = 0; i < n; i++) {
		if (drop[i])
			free(w->c.handles[i]);
		else
			w->c.handles[j++] = w->c.handles[i];
	}
	w->c.n_handles = j;
	free(r);
	free(drop);
	return CDS_OK;
}

static void digest_put(crypto_generichash_state *st, const char *s)
{
	uint8_t len[8];
	uint64_t n = strlen(s);
	int i;

	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)(n >> (8 * i));
	crypto_generichash_update(st, len, sizeof(len));
	crypto_generichash_update(st, (const uint8_t *)s, n);
}

/* What makes two contacts exact duplicates: name, handles in order, and
 * the normalisation problems (parser problems carry line numbers). */
static void digest_contact(uint8_t d[DIGEST_BYTES], const struct work *w)
{
	crypto_generichash_state st;
	char count[32];
	size_t i;

	crypto_generichash_init(&st, NULL, 0, DIGEST_BYTES);
	digest_put(&st, w->c.name);
	snprintf(count, sizeof(count), "%zu", w->c.n_handles);
	digest_put(&st, count);
	for (i = 0; i < w->c.n_handles; i++)
		digest_put(&st, w->c.handles[i]);
	snprintf(count, sizeof(count), "%zu", w->c.n_problems - w->parse_problems);
	digest_put(&st, count);
	for (i = w->parse_problems; i < w->c.n_problems; i++)
		digest_put(&st, w->c.problems[i]);
	crypto_generichash_final(&st, d, DIGEST_BYTES);
}

/* Step 4: hand each handle already owned by an earlier contact back to it,
 * leaving a problem that says where it went. */
static enum cds_err merge_away(struct merger *m, struct work *w, size_t self)
{
	uint8_t d[DIGEST_BYTES];
	const struct cds_contact *owner;
	size_t i, j, who;
	char q[64];
	char *msg;

	for (i = j = 0; i < w->c.n_handles; i++) {
		crypto_generichash(d, sizeof(d), (const uint8_t *)w->c.handles[i],
				   strlen(w->c.handles[i]), NULL, 0);
		if (dtable_get_or_put(&m->owners, d, self, &who))
			return CDS_ERR_NOMEM;
		if (who == self) {
			w->c.handles[j++] = w->c.handles[i];
			continue;
		}
		owner = &m->ab->contacts[who];
		cds_text_quote(q, owner->name, strlen(owner->name));
		if (asprintf(&msg, "'%s': also on contact %zu ('%s'), kept there",
			     w->c.handles[i], who + 1, q) < 0)
			return CDS_ERR_NOMEM;
		free(w->c.handles[i]);
		w->c.handles[i] = NULL;
		if (push(&w->c.problems, &w->c.n_problems, &w->cap_p, msg))
			return CDS_ERR_NOMEM;
	}
	w->c.n_handles = j;
	return CDS_OK;
}

/* Take the raw contact's name and parser problems without copying. */
static enum cds_err start(struct work *w, struct cds_raw_contact *raw)
{
	memset(w, 0, sizeof(*w));
	w->c.name = raw->name ? raw->name : strdup("");
	raw->name = NULL;
	if (!w->c.name)
		return CDS_ERR_NOMEM;
	w->c.problems = raw->problems;
	w->c.n_problems = w->parse_problems = raw->n_problems;
	w->cap_p = raw->cap_problems;
	raw->problems = NULL;
	raw->n_problems = raw->cap_problems = 0;
	return CDS_OK;
}

static enum cds_err one_contact(struct merger *m, struct cds_raw_contact *raw)
{
	uint8_t d[DIGEST_BYTES];
	struct cds_contact *p;
	struct work w;
	size_t self = m->ab->n, first;
	enum cds_err rc;

	rc = start(&w, raw);
	if (!rc)
		rc = normalise(m, &w, raw);
	if (!rc)
		rc = dedup_local(&w);
	if (rc)
		goto out;
	digest_contact(d, &w);
	rc = dtable_get_or_put(&m->seen, d, self, &first);
	if (rc || first != self)
		goto out; /* an exact duplicate of contact `first`: dropped */
	rc = merge_away(m, &w, self);
	if (!rc && m->ab->n == m->cap) {
		p = reallocarray(m->ab->contacts, m->cap ? m->cap * 2 : 64,
				 sizeof(*p));
		if (!p)
			rc = CDS_ERR_NOMEM;
		else {
			m->ab->contacts = p;
			m->cap = m->cap ? m->cap * 2 : 64;
		}
	}
	if (rc)
		goto out;
	m->ab->contacts[m->ab->n++] = w.c;
	return CDS_OK;
out:
	contact_fini(&w.c);
	return rc;
}

enum cds_err cds_ab_merge(struct cds_addressbook **out, struct cds_rawbook *rb,
			  const char *region, struct cds_error *err)
{
	struct merger m = { .region = region };
	enum cds_err rc = CDS_OK;
	size_t i;

	*out = NULL;
	if (sodium_init() < 0)
		return cds_fail(err, CDS_ERR_INTERNAL, "libsodium failed to start");
	m.ab = calloc(1, sizeof(*m.ab));
	if (!m.ab)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	cds_rawbook_sort_pref(rb);
	for (i = 0; !rc && i < rb->n; i++)
		rc = one_contact(&m, &rb->contacts[i]);
	free(m.owners.slots);
	free(m.seen.slots);
	if (rc) {
		cds_addressbook_free(m.ab);
		return cds_fail(err, rc, "out of memory normalising contact %zu",
				i);
	}
	*out = m.ab;
	return CDS_OK;
}
