/*
 * synth_run.c: cds_synth_run, registering a synthetic directory.
 *
 * The numbers of accounts 0..count-1 are drawn, sorted (LSD radix sort, two
 * 16-bit passes: a 10-million account run sorts in a fraction of a second)
 * and registered in that order, batch by batch, so that the handle B-tree is
 * written left to right (synth.h says why).
 *
 * Invariants: nothing is written if a synthetic handle is already taken;
 * tokens are wiped once the created() callback has seen them.
 */
#include "store/synth.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Sort v[0..n) ascending, using tmp (n items) and count as scratch. */
static void radix_sort(uint32_t *v, uint32_t *tmp, size_t *count, size_t n)
{
	for (int shift = 0; shift < 32; shift += 16) {
		memset(count, 0, (65536 + 1) * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[((v[i] >> shift) & 0xffff) + 1]++;
		for (size_t d = 1; d <= 65536; d++)
			count[d] += count[d - 1];
		for (size_t i = 0; i < n; i++)
			tmp[count[(v[i] >> shift) & 0xffff]++] = v[i];
		memcpy(v, tmp, n * sizeof(*v));
	}
}

/* The numbers of accounts 0..count-1, sorted, in a new array. */
static enum cds_err numbers(uint32_t **out, const struct cds_synth_opts *o,
			    struct cds_error *err)
{
	size_t n = (size_t)o->count;
	uint32_t *v = malloc((n ? n : 1) * sizeof(*v));
	uint32_t *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	size_t *count = malloc((65536 + 1) * sizeof(*count));
	enum cds_err rc = CDS_OK;

	if (!v || !tmp || !count) {
		rc = cds_fail(err, CDS_ERR_NOMEM,
			      "out of memory for %zu synthetic numbers", n);
		free(v);
		v = NULL;
	} else {
		for (size_t i = 0; i < n; i++)
			v[i] = cds_synth_number(o->seed, i);
		radix_sort(v, tmp, count, n);
	}
	free(tmp);
	free(count);
	*out = v;
	return rc;
}

/* Synthetic handles per cds_store_handles_taken call (on the stack). */
#define PRECHECK_BATCH 1024

/* Look up the handles of numbers v[0..n); the first taken one fails. */
static enum cds_err precheck_batch(struct cds_store *s,
				   const struct cds_synth_opts *o,
				   const uint32_t *v, size_t n,
				   struct cds_error *err)
{
	char h[PRECHECK_BATCH][CDS_SYNTH_HANDLE_BYTES];
	const char *hp[PRECHECK_BATCH];
	bool taken[PRECHECK_BATCH];
	enum cds_err rc;

	for (size_t i = 0; i < n; i++) {
		cds_synth_handle_of(h[i], v[i]);
		hp[i] = h[i];
	}
	rc = cds_store_handles_taken(s, hp, n, taken, err);
	for (size_t i = 0; i < n && !rc; i++)
		if (taken[i])
			rc = cds_fail(err, CDS_ERR_EXISTS,
				      "synthetic handle '%s' of seed %llu is already "
				      "registered; nothing was written (choose another "
				      "--seed)",
				      h[i], (unsigned long long)o->seed);
	return rc;
}

/* Fail before writing anything if a synthetic handle is taken. */
static enum cds_err precheck(struct cds_store *s, const struct cds_synth_opts *o,
			     const uint32_t *v, struct cds_error *err)
{
	uint64_t handles = 0;
	enum cds_err rc;

	rc = cds_store_count(s, NULL, &handles, err);
	for (uint64_t i = 0; !rc && handles && i < o->count; i += PRECHECK_BATCH)
		rc = precheck_batch(s, o, v + i,
				    o->count - i < PRECHECK_BATCH ? o->count - i
								  : PRECHECK_BATCH,
				    err);
	return rc;
}

struct synth_batch {
	struct cds_new_account *accts;
	char (*handles)[CDS_SYNTH_HANDLE_BYTES];
	const char **hp;
};

/* Create the accounts of numbers v[0..n) in one transaction. */
static enum cds_err write_batch(struct cds_store *s,
				const struct cds_synth_opts *o,
				struct synth_batch *b, const uint32_t *v, size_t n,
				struct cds_error *err)
{
	enum cds_err rc;

	for (size_t i = 0; i < n; i++) {
		cds_synth_handle_of(b->handles[i], v[i]);
		cds_synth_identity_key(b->accts[i].identity_key, o->seed, v[i]);
		b->hp[i] = b->handles[i];
		b->accts[i].handles = &b->hp[i];
		b->accts[i].n_handles = 1;
	}
	rc = cds_store_accounts_create(s, b->accts, n, err);
	for (size_t i = 0; i < n && !rc; i++)
		if (o->created && o->created(o->ctx, b->handles[i], &b->accts[i]) != 0)
			rc = cds_fail(err, CDS_ERR_IO,
				      "could not record synthetic account '%s'",
				      b->handles[i]);
	sodium_memzero(b->accts, n * sizeof(*b->accts));
	return rc;
}

static enum cds_err run(struct cds_store *s, const struct cds_synth_opts *o,
			const uint32_t *v, size_t batch, uint64_t *done,
			struct cds_error *err)
{
	struct synth_batch b;
	enum cds_err rc;

	b.accts = calloc(batch, sizeof(*b.accts));
	b.handles = calloc(batch, sizeof(*b.handles));
	b.hp = calloc(batch, sizeof(*b.hp));
	rc = b.accts && b.handles && b.hp
		     ? CDS_OK
		     : cds_fail(err, CDS_ERR_NOMEM, "out of memory for a batch of %zu",
				batch);
	while (!rc && *done < o->count) {
		size_t n = o->count - *done < batch ? (size_t)(o->count - *done)
						    : batch;

		rc = write_batch(s, o, &b, v + *done, n, err);
		if (rc != CDS_ERR_IO && rc != CDS_OK)
			break; /* not committed */
		*done += n;
		if (o->progress)
			o->progress(o->ctx, *done, o->count);
	}
	free(b.accts);
	free(b.handles);
	free(b.hp);
	return rc;
}

enum cds_err cds_synth_run(struct cds_store *s,
			   const struct cds_synth_opts *o, uint64_t *done,
			   struct cds_error *err)
{
	size_t batch = o->batch ? o->batch : CDS_SYNTH_BATCH;
	uint32_t *v = NULL;
	enum cds_err rc;

	*done = 0;
	if (o->count > CDS_SYNTH_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"count %llu is more than the %llu synthetic handles "
				"there are",
				(unsigned long long)o->count,
				(unsigned long long)CDS_SYNTH_MAX);
	rc = numbers(&v, o, err);
	if (!rc)
		rc = precheck(s, o, v, err);
	if (!rc)
		rc = run(s, o, v, batch, done, err);
	free(v);
	return rc;
}
