/*
 * build.c: the multi-threaded index builder (build.h).
 *
 * Three passes, so that memory stays near the final 104 bytes a handle plus
 * a transient copy of the handle list:
 *   1. scan the store (one read transaction) into records packed in large
 *      mmap()ed chunks, counting handles per bucket;
 *   2. turn the counts into the base's offsets, give every record its final
 *      slot (bucket by bucket, in scan order), then evaluate the OPRF and
 *      seal each entry straight into its slot, on all threads;
 *   3. sort every bucket by fingerprint, on all threads.
 * The chunks are unmapped at the end, so the transient memory goes back to
 * the system rather than staying in the allocator.
 *
 * A record is: u32 slot (bucket in pass 1, entry index in pass 2) ||
 * account id (16) || identity key (32) || u16 length || handle bytes.
 * Invariant: records of one work unit are contiguous in one chunk.
 */
#include "index/build.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sodium.h>

#include "core/handle.h"
#include "core/log.h"
#include "core/parallel.h"
#include "core/timeutil.h"

#define CHUNK_BYTES ((size_t)4 << 20)
#define UNIT_RECORDS 256
#define REC_FIXED (4 + CDS_ACCOUNT_ID_BYTES + CDS_IDENTITY_KEY_BYTES + 2)
#define REPORT_US (2 * CDS_USEC_PER_SEC)

struct unit {
	uint8_t *first;
	uint32_t n;
};

struct builder {
	const struct cds_epoch_key *key;
	unsigned bits;
	const struct cds_index_build_opts *opts;
	/* pass 1 */
	uint8_t **chunks;
	size_t n_chunks, cap_chunks, chunk_used;
	struct unit *units;
	size_t n_units, cap_units;
	uint32_t *counts;
	uint64_t n;
	enum cds_err scan_rc;
	struct cds_error *err;
	/* pass 2 */
	uint8_t *entries;
	atomic_uint_fast64_t done;
	int64_t started_us, last_report_us;
};

static bool cancelled(const struct builder *b)
{
	return b->opts->cancel && atomic_load(b->opts->cancel);
}

static enum cds_err grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return CDS_OK;
	while (c < need)
		c *= 2;
	q = realloc(*p, c * size);
	if (!q)
		return CDS_ERR_NOMEM;
	*p = q;
	*cap = c;
	return CDS_OK;
}

/* Room for one record of `size` bytes; starts a unit where needed. */
static uint8_t *rec_alloc(struct builder *b, size_t size)
{
	bool fresh = false;
	uint8_t *p;

	if (b->n_chunks == 0 || b->chunk_used + size > CHUNK_BYTES) {
		void *c = mmap(NULL, CHUNK_BYTES, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (c == MAP_FAILED)
			return NULL;
		if (grow((void **)&b->chunks, &b->cap_chunks, b->n_chunks + 1,
			 sizeof(*b->chunks))) {
			munmap(c, CHUNK_BYTES);
			return NULL;
		}
		b->chunks[b->n_chunks++] = c;
		b->chunk_used = 0;
		fresh = true;
	}
	p = b->chunks[b->n_chunks - 1] + b->chunk_used;
	if (fresh || b->n_units == 0 ||
	    b->units[b->n_units - 1].n == UNIT_RECORDS) {
		if (grow((void **)&b->units, &b->cap_units, b->n_units + 1,
			 sizeof(*b->units)))
			return NULL;
		b->units[b->n_units].first = p;
		b->units[b->n_units++].n = 0;
	}
	b->units[b->n_units - 1].n++;
	b->chunk_used += size;
	return p;
}

static void report(struct builder *b, const char *what, uint64_t done,
		   uint64_t total)
{
	int64_t now = cds_monotonic_us();
	double s = (double)(now - b->started_us) / 1e6;

	if (b->opts->quiet || now - b->last_report_us < REPORT_US)
		return;
	b->last_report_us = now;
	if (total)
		cds_log_info("index epoch %" PRIu32 ": %s %" PRIu64 "/%" PRIu64
			     " handles (%.0f%%, %.0f/s)", b->key->epoch, what,
			     done, total, 100.0 * (double)done / (double)total,
			     s > 0 ? (double)done / s : 0.0);
	else
		cds_log_info("index epoch %" PRIu32 ": %s %" PRIu64 " handles",
			     b->key->epoch, what, done);
}

/* Pass 1: one registered handle from the store's scan. */
static int collect(void *ctx, const char *handle, size_t len,
		   const struct cds_account *acct)
{
	struct builder *b = ctx;
	uint32_t bucket;
	uint16_t l16 = (uint16_t)len;
	uint8_t *p;

	if (cancelled(b))
		return 1;
	if (len == 0 || len > CDS_HANDLE_MAX_BYTES) {
		b->scan_rc = cds_fail(b->err, CDS_ERR_INVALID,
				      "store returned a handle of %zu bytes",
				      len);
		return 1;
	}
	p = rec_alloc(b, REC_FIXED + len);
	if (!p) {
		b->scan_rc = cds_fail(b->err, CDS_ERR_NOMEM,
				      "cannot hold %" PRIu64 " handles",
				      b->n + 1);
		return 1;
	}
	bucket = cds_bucket_of((const uint8_t *)handle, len, b->bits);
	memcpy(p, &bucket, 4);
	memcpy(p + 4, acct->id, CDS_ACCOUNT_ID_BYTES);
	memcpy(p + 4 + CDS_ACCOUNT_ID_BYTES, acct->identity_key,
	       CDS_IDENTITY_KEY_BYTES);
	memcpy(p + REC_FIXED - 2, &l16, 2);
	memcpy(p + REC_FIXED, handle, len);
	b->counts[bucket]++;
	b->n++;
	if ((b->n & 0xffff) == 0)
		report(b, "read", b->n, 0);
	return 0;
}

static enum cds_err scan(struct builder *b, struct cds_store *s,
			 uint64_t *seq)
{
	struct cds_error serr;
	enum cds_err rc;

	cds_error_clear(&serr);
	rc = cds_store_scan(s, collect, b, seq, &serr);
	if (cancelled(b))
		return cds_fail(b->err, CDS_ERR_BUSY,
				"index build of epoch %" PRIu32 " cancelled",
				b->key->epoch);
	if (b->scan_rc)
		return b->scan_rc;
	if (rc) {
		*b->err = serr;
		return rc;
	}
	if (b->n > UINT32_MAX)
		return cds_fail(b->err, CDS_ERR_TOO_LARGE,
				"%" PRIu64 " handles exceed one index",
				b->n);
	return CDS_OK;
}

static size_t rec_len(const uint8_t *p)
{
	uint16_t l;

	memcpy(&l, p + REC_FIXED - 2, 2);
	return l;
}

/* Pass 2a: offsets from counts, then every record's final slot. */
static void place(struct builder *b, uint32_t *off)
{
	uint32_t nb = cds_index_nbuckets(b->bits);

	off[0] = 0;
	for (uint32_t i = 0; i < nb; i++) {
		off[i + 1] = off[i] + b->counts[i];
		b->counts[i] = off[i]; /* now the fill cursor of bucket i */
	}
	for (size_t u = 0; u < b->n_units; u++) {
		uint8_t *p = b->units[u].first;

		for (uint32_t i = 0; i < b->units[u].n; i++) {
			uint32_t bucket;

			memcpy(&bucket, p, 4);
			memcpy(p, &b->counts[bucket], 4);
			b->counts[bucket]++;
			p += REC_FIXED + rec_len(p);
		}
	}
}

/* Pass 2b: evaluate and seal the records of one unit. */
static enum cds_err eval_unit(struct builder *b, const struct unit *u,
			      struct cds_error *err)
{
	uint8_t out[CDS_OPRF_OUTPUT_BYTES];
	const uint8_t *p = u->first;
	enum cds_err rc = CDS_OK;

	for (uint32_t i = 0; i < u->n && !rc; i++) {
		uint32_t slot;
		size_t len = rec_len(p);

		memcpy(&slot, p, 4);
		rc = cds_oprf_evaluate(out, CDS_OPRF_MODE_VOPRF, b->key->sk,
				       p + REC_FIXED, len, NULL, 0, err);
		if (!rc)
			cds_entry_seal(b->entries + (size_t)slot * CDS_ENTRY_BYTES,
				       out, b->key->epoch, p + 4,
				       p + 4 + CDS_ACCOUNT_ID_BYTES, NULL);
		p += REC_FIXED + len;
	}
	sodium_memzero(out, sizeof(out));
	return rc;
}

static enum cds_err eval_units(void *ctx, size_t begin, size_t end,
			       unsigned worker, struct cds_error *err)
{
	struct builder *b = ctx;
	enum cds_err rc = CDS_OK;

	for (size_t u = begin; u < end && !rc; u++) {
		if (cancelled(b))
			return cds_fail(err, CDS_ERR_BUSY, "index build of epoch %"
					PRIu32 " cancelled", b->key->epoch);
		rc = eval_unit(b, &b->units[u], err);
		atomic_fetch_add(&b->done, b->units[u].n);
	}
	if (!rc && worker == 0)
		report(b, "evaluated", atomic_load(&b->done), b->n);
	return rc;
}

struct sorter {
	const uint32_t *off;
	uint8_t *entries;
};

static enum cds_err sort_buckets(void *ctx, size_t begin, size_t end,
				 unsigned worker, struct cds_error *err)
{
	struct sorter *s = ctx;

	(void)worker;
	(void)err;
	for (size_t i = begin; i < end; i++)
		cds_index_sort_bucket(s->entries + (size_t)s->off[i] *
					      CDS_ENTRY_BYTES,
				      s->off[i + 1] - s->off[i]);
	return CDS_OK;
}

static void builder_fini(struct builder *b)
{
	for (size_t i = 0; i < b->n_chunks; i++)
		munmap(b->chunks[i], CHUNK_BYTES);
	free(b->chunks);
	free(b->units);
	free(b->counts);
}

/* Passes 2 and 3 over the scanned records, into a new index. */
static enum cds_err evaluate(struct builder *b, unsigned threads, uint64_t seq,
			     struct cds_index **out)
{
	uint32_t nb = cds_index_nbuckets(b->bits);
	size_t len = cds_index_region_bytes(b->bits, b->n);
	struct sorter so;
	uint32_t *off;
	void *map;
	enum cds_err rc;

	rc = cds_index_map_anon(&map, len, b->err);
	if (rc)
		return rc;
	off = map;
	b->entries = (uint8_t *)map + ((size_t)nb + 1) * sizeof(uint32_t);
	place(b, off);
	so.off = off;
	so.entries = b->entries;
	rc = cds_parallel_for(threads, b->n_units, 4, eval_units, b, b->err);
	if (!rc)
		rc = cds_parallel_for(threads, nb, 1024, sort_buckets, &so,
				      b->err);
	if (rc) {
		munmap(map, len);
		return rc;
	}
	return cds_index_new(out, b->key->epoch, b->bits, map, len, off,
			     b->entries, NULL, seq, b->err);
}

enum cds_err cds_index_build(struct cds_index **out, struct cds_store *s,
			     const struct cds_epoch_key *key,
			     unsigned prefix_bits,
			     const struct cds_index_build_opts *opts,
			     uint64_t *evaluations, struct cds_error *err)
{
	struct builder b = { .key = key, .bits = prefix_bits, .opts = opts,
			     .err = err };
	unsigned threads = opts->threads ? opts->threads : cds_parallel_cpus();
	uint64_t seq = 0;
	enum cds_err rc;

	*out = NULL;
	if (evaluations)
		*evaluations = 0;
	atomic_init(&b.done, 0);
	b.started_us = b.last_report_us = cds_monotonic_us();
	if (prefix_bits > CDS_PREFIX_BITS_MAX) {
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "prefix bits %u out of range 0..%d",
			      prefix_bits, CDS_PREFIX_BITS_MAX);
		goto out;
	}
	b.counts = calloc(cds_index_nbuckets(prefix_bits), sizeof(uint32_t));
	if (!b.counts) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "cannot count buckets");
		goto out;
	}
	rc = scan(&b, s, &seq);
	if (rc)
		goto out;
	if (!opts->quiet)
		cds_log_info("index epoch %" PRIu32 ": evaluating %" PRIu64
			     " handles on %u threads", key->epoch, b.n,
			     threads);
	rc = evaluate(&b, threads, seq, out);
	if (rc)
		goto out;
	if (evaluations)
		*evaluations = b.n;
	if (!opts->quiet)
		cds_log_info("index epoch %" PRIu32 ": %" PRIu64
			     " handles in %.1f s", key->epoch, b.n,
			     (double)(cds_monotonic_us() - b.started_us) / 1e6);
out:
	builder_fini(&b);
	return rc;
}
