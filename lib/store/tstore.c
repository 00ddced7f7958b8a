/*
 * tstore.c: the public face of transparency's history (tstore.h).
 *
 * As store.c does for the directory, this checks what the backends must not
 * have to: a version row whose numbers fit the databases' signed 64-bit
 * integers, change lists that are present when counted and whose bytes fit
 * one blob, prefixes inside the store's tree (below 2^prefix_bits) and in
 * strictly ascending order (one row per bucket and version).  Read bounds
 * beyond any storable version are clamped, so a backend only sees values
 * it can bind.
 */
#include "store/store_impl.h"

#include <limits.h>

/* Blobs are bound with an int length on both backends. */
#define MAX_ADDED ((size_t)INT_MAX / CDS_ENTRY_BYTES)
#define MAX_REMOVED ((size_t)INT_MAX / CDS_FP_BYTES)

static uint64_t clamp(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : v;
}

static enum cds_err check_version(const struct cds_tversion *v,
				  struct cds_error *err)
{
	if (!v)
		return cds_fail(err, CDS_ERR_INVALID, "no version to append");
	if (v->head.version < 1 || v->head.version > INT64_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"version %llu is out of range (1..2^63-1)",
				(unsigned long long)v->head.version);
	if (v->head.time_ms > INT64_MAX || v->seq > INT64_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"version %llu: time or change sequence out of "
				"range (above 2^63-1)",
				(unsigned long long)v->head.version);
	return CDS_OK;
}

static enum cds_err check_change(const struct cds_tchange *c, size_t i,
				 uint64_t buckets, struct cds_error *err)
{
	if (c->prefix >= buckets)
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "change %zu: prefix %u is outside the tree "
				   "(%llu buckets)", i, c->prefix,
				   (unsigned long long)buckets);
	if ((c->n_removed && !c->removed) || (c->n_added && !c->added))
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "change %zu (prefix %u): a counted list is "
				   "missing (NULL)", i, c->prefix);
	if (c->n_removed > MAX_REMOVED || c->n_added > MAX_ADDED)
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "change %zu (prefix %u): too many entries "
				   "for one bucket", i, c->prefix);
	return CDS_OK;
}

static enum cds_err check_changes(struct cds_store *s,
				  const struct cds_tchange *ch, size_t n,
				  struct cds_error *err)
{
	unsigned bits = 0;
	enum cds_err rc;

	if (n && !ch)
		return cds_fail(err, CDS_ERR_INVALID, "change list is missing");
	rc = n ? s->ops->prefix_bits(s, &bits, err) : CDS_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		rc = check_change(&ch[i], i, (uint64_t)1 << bits, err);
		if (!rc && i && ch[i].prefix <= ch[i - 1].prefix)
			rc = cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					 "change %zu: prefix %u does not follow "
					 "prefix %u (one change per bucket, "
					 "ascending)", i, ch[i].prefix,
					 ch[i - 1].prefix);
	}
	return rc;
}

enum cds_err cds_tstore_check_next(uint64_t version, uint64_t last,
				   struct cds_error *err)
{
	if (version <= last)
		return cds_fail(err, CDS_ERR_EXISTS,
				"version %llu is already sealed (the last is "
				"%llu)", (unsigned long long)version,
				(unsigned long long)last);
	if (version != last + 1)
		return cds_fail(err, CDS_ERR_INVALID,
				"version %llu does not follow the last version "
				"%llu", (unsigned long long)version,
				(unsigned long long)last);
	return CDS_OK;
}

enum cds_err cds_store_tversion_append(struct cds_store *s,
				       const struct cds_tversion *v,
				       const struct cds_tchange *ch, size_t n,
				       struct cds_error *err)
{
	enum cds_err rc = check_version(v, err);

	if (!rc)
		rc = check_changes(s, ch, n, err);
	return rc ? rc : s->ops->tversion_append(s, v, ch, n, err);
}

enum cds_err cds_store_tversion_last(struct cds_store *s,
				     struct cds_tversion *v, bool *found,
				     struct cds_error *err)
{
	*found = false;
	return s->ops->tversion_last(s, v, found, err);
}

/* From 0 reads as from 1 (there is no version 0); *last is then 0. */
enum cds_err cds_store_tversions(struct cds_store *s, uint64_t from,
				 size_t limit, cds_tversion_fn fn, void *ctx,
				 uint64_t *last, struct cds_error *err)
{
	from = clamp(from ? from : 1);
	*last = from - 1;
	if (!fn)
		return cds_fail(err, CDS_ERR_INVALID, "no version callback");
	if (!limit)
		return CDS_OK;
	return s->ops->tversions(s, from, limit, fn, ctx, last, err);
}

enum cds_err cds_store_tepoch_first(struct cds_store *s, uint32_t epoch,
				    uint64_t *version, bool *found,
				    struct cds_error *err)
{
	*found = false;
	return s->ops->tepoch_first(s, epoch, version, found, err);
}

enum cds_err cds_store_tchanges(struct cds_store *s, uint64_t version,
				uint32_t from_prefix, size_t limit,
				cds_tchange_fn fn, void *ctx,
				struct cds_error *err)
{
	if (!fn)
		return cds_fail(err, CDS_ERR_INVALID, "no change callback");
	if (!limit || version < 1 || version > INT64_MAX)
		return CDS_OK;
	return s->ops->tchanges(s, version, from_prefix, limit, fn, ctx, err);
}

enum cds_err cds_store_thistory(struct cds_store *s, uint32_t epoch,
				uint32_t prefix, uint64_t since,
				cds_tchange_fn fn, void *ctx,
				struct cds_error *err)
{
	if (!fn)
		return cds_fail(err, CDS_ERR_INVALID, "no change callback");
	if (since >= INT64_MAX)
		return CDS_OK;
	return s->ops->thistory(s, epoch, prefix, since, fn, ctx, err);
}

enum cds_err cds_store_tepoch_changes(struct cds_store *s, uint32_t epoch,
				      uint64_t after, uint64_t upto,
				      cds_tchange_fn fn, void *ctx,
				      struct cds_error *err)
{
	if (!fn)
		return cds_fail(err, CDS_ERR_INVALID, "no change callback");
	upto = clamp(upto);
	if (after >= upto)
		return CDS_OK;
	return s->ops->tepoch_changes(s, epoch, after, upto, fn, ctx, err);
}

enum cds_err cds_store_tseal_try(struct cds_store *s, bool *held,
				 struct cds_error *err)
{
	*held = false;
	return s->ops->tseal_try(s, held, err);
}
