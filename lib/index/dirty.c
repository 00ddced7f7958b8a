/*
 * dirty.c: the set of changed buckets as a bitmap (dirty.h).
 */
#include "index/dirty.h"

#include <stdlib.h>
#include <string.h>

static size_t words_of(uint32_t nbits)
{
	return ((size_t)nbits + 63) / 64;
}

enum cds_err cds_dirty_init(struct cds_dirty *d, unsigned prefix_bits,
			    struct cds_error *err)
{
	d->nbits = UINT32_C(1) << prefix_bits;
	d->n = 0;
	d->bits = calloc(words_of(d->nbits), sizeof(*d->bits));
	if (!d->bits)
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot allocate the set of %u changed buckets",
				(unsigned)d->nbits);
	return CDS_OK;
}

void cds_dirty_fini(struct cds_dirty *d)
{
	free(d->bits);
	d->bits = NULL;
	d->n = 0;
}

void cds_dirty_mark(struct cds_dirty *d, uint32_t b)
{
	uint64_t bit = UINT64_C(1) << (b % 64);

	if (!(d->bits[b / 64] & bit)) {
		d->bits[b / 64] |= bit;
		d->n++;
	}
}

enum cds_err cds_dirty_take(struct cds_dirty *d, uint32_t **out, size_t *n,
			    struct cds_error *err)
{
	uint32_t *p;
	size_t at = 0;

	*out = NULL;
	*n = 0;
	if (d->n == 0)
		return CDS_OK;
	if (!(p = malloc(d->n * sizeof(*p))))
		return cds_fail(err, CDS_ERR_NOMEM,
				"cannot list %zu changed buckets", d->n);
	for (size_t w = 0; w < words_of(d->nbits); w++) {
		for (uint64_t x = d->bits[w]; x; x &= x - 1)
			p[at++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
		d->bits[w] = 0;
	}
	*out = p;
	*n = at;
	d->n = 0;
	return CDS_OK;
}
