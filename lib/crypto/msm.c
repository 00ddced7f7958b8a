/*
 * msm.c: Pippenger multi-scalar multiplication, VARIABLE TIME (public
 * inputs only, see msm.h).
 *
 * Each scalar is recoded into signed base-2^c digits in
 * [-2^(c-1), 2^(c-1)], so a window needs 2^(c-1) buckets (a negative digit
 * subtracts the point).  Windows are processed from the top: double the
 * accumulator c times, drop every point into the bucket of its digit, and
 * add sum_j j * bucket_j with two running sums.  Cost per window is about
 * n + 2^c additions; c is chosen to minimise that over all windows.
 *
 * Invariant: the number of windows covers one bit more than the widest
 * scalar, so the last digit's carry never overflows.
 */
#include "crypto/msm.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WINDOW 16

struct msm_ctx {
	size_t n;
	unsigned c, nwin;
	int16_t *digits;               /* nwin * n, window-major */
	struct cds_ge_cached *pts;     /* n */
	struct cds_ge *buckets;        /* 2^(c-1) */
	uint8_t *used;                 /* 2^(c-1) */
};

/* Number of significant bits of the widest scalar (0 if all are zero). */
static unsigned scalar_bits(const uint8_t *scalars, size_t n)
{
	uint8_t any[CDS_MSM_SCALAR_BYTES] = { 0 };

	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < CDS_MSM_SCALAR_BYTES; j++)
			any[j] |= scalars[CDS_MSM_SCALAR_BYTES * i + (size_t)j];
	for (int j = CDS_MSM_SCALAR_BYTES - 1; j >= 0; j--)
		for (int b = 7; b >= 0; b--)
			if (any[j] >> b & 1)
				return (unsigned)(8 * j + b + 1);
	return 0;
}

/* Windows of width c covering bits + 1 bits (room for the last carry). */
static unsigned windows_for(unsigned bits, unsigned c)
{
	return (bits + c) / c;
}

static unsigned choose_window(size_t n, unsigned bits)
{
	unsigned best = 1;
	double best_cost = 0;

	for (unsigned c = 1; c <= MAX_WINDOW; c++) {
		double cost = (double)windows_for(bits, c) *
			      ((double)n + (double)(1u << c));

		if (c == 1 || cost < best_cost) {
			best = c;
			best_cost = cost;
		}
	}
	return best;
}

/* c bits of the little-endian scalar s starting at bit off (c <= 16). */
static unsigned get_bits(const uint8_t s[CDS_MSM_SCALAR_BYTES], unsigned off,
			 unsigned c)
{
	unsigned byte = off / 8;
	uint32_t v = 0;

	for (unsigned k = 0; k < 3 && byte + k < CDS_MSM_SCALAR_BYTES; k++)
		v |= (uint32_t)s[byte + k] << (8 * k);
	return (v >> (off % 8)) & ((UINT32_C(1) << c) - 1);
}

static void recode(struct msm_ctx *m, const uint8_t *scalars)
{
	int half = 1 << (m->c - 1), full = 1 << m->c;

	for (size_t i = 0; i < m->n; i++) {
		int carry = 0;

		for (unsigned w = 0; w < m->nwin; w++) {
			int d = (int)get_bits(scalars +
					      CDS_MSM_SCALAR_BYTES * i,
					      w * m->c, m->c) + carry;

			carry = d > half;
			if (carry)
				d -= full;
			m->digits[(size_t)w * m->n + i] = (int16_t)d;
		}
	}
}

/* sum_j (j + 1) * bucket_j, via running sums from the top bucket down. */
static int bucket_sum(struct cds_ge *total, const struct msm_ctx *m,
		      size_t nb)
{
	struct cds_ge running;
	int have_running = 0, have_total = 0;

	for (size_t j = nb; j-- > 0;) {
		if (m->used[j]) {
			if (have_running)
				cds_ge_add(&running, &running, &m->buckets[j]);
			else
				running = m->buckets[j];
			have_running = 1;
		}
		if (!have_running)
			continue;
		if (have_total)
			cds_ge_add(total, total, &running);
		else
			*total = running;
		have_total = 1;
	}
	return have_total;
}

/* Drop the points into the buckets of window w; returns its weighted sum. */
static int window_sum(struct cds_ge *total, struct msm_ctx *m, unsigned w)
{
	size_t nb = (size_t)1 << (m->c - 1);
	const int16_t *dig = m->digits + (size_t)w * m->n;

	memset(m->used, 0, nb);
	for (size_t i = 0; i < m->n; i++) {
		int d = dig[i];
		size_t b = (size_t)(d < 0 ? -d : d) - 1;

		if (d == 0)
			continue;
		if (!m->used[b]) {
			cds_ge_identity(&m->buckets[b]);
			m->used[b] = 1;
		}
		if (d > 0)
			cds_ge_add_cached(&m->buckets[b], &m->buckets[b],
					  &m->pts[i]);
		else
			cds_ge_sub_cached(&m->buckets[b], &m->buckets[b],
					  &m->pts[i]);
	}
	return bucket_sum(total, m, nb);
}

static void run(struct cds_ge *out, struct msm_ctx *m)
{
	struct cds_ge total;
	int have_acc = 0;

	cds_ge_identity(out);
	for (unsigned w = m->nwin; w-- > 0;) {
		if (have_acc)
			for (unsigned k = 0; k < m->c; k++)
				cds_ge_dbl(out, out);
		if (!window_sum(&total, m, w))
			continue;
		if (have_acc)
			cds_ge_add(out, out, &total);
		else
			*out = total;
		have_acc = 1;
	}
}

enum cds_err cds_msm(struct cds_ge *out, const uint8_t *scalars,
		     const struct cds_ge *points, size_t n,
		     struct cds_error *err)
{
	struct msm_ctx m = { .n = n };
	unsigned bits = scalar_bits(scalars, n);
	enum cds_err rc = CDS_OK;

	cds_ge_identity(out);
	if (n == 0 || bits == 0)
		return CDS_OK;
	m.c = choose_window(n, bits);
	m.nwin = windows_for(bits, m.c);
	m.digits = calloc((size_t)m.nwin * n, sizeof(*m.digits));
	m.pts = calloc(n, sizeof(*m.pts));
	m.buckets = calloc((size_t)1 << (m.c - 1), sizeof(*m.buckets));
	m.used = calloc((size_t)1 << (m.c - 1), 1);
	if (!m.digits || !m.pts || !m.buckets || !m.used) {
		rc = cds_fail(err, CDS_ERR_NOMEM,
			      "out of memory for a %zu-point product", n);
		goto out;
	}
	recode(&m, scalars);
	for (size_t i = 0; i < n; i++)
		cds_ge_to_cached(&m.pts[i], &points[i]);
	run(out, &m);
out:
	free(m.digits);
	free(m.pts);
	free(m.buckets);
	free(m.used);
	return rc;
}
