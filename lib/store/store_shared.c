/*
 * store_shared.c: the shared-state calls of shared.h, dispatched to the
 * backend; a backend without them (SQLite) answers CDS_ERR_DISABLED.
 */
#include "store/shared.h"

#include "store/store_impl.h"

bool cds_store_is_shared(struct cds_store *s)
{
	return s->ops->sealed_put != NULL;
}

static enum cds_err not_shared(struct cds_store *s, struct cds_error *err)
{
	return cds_fail(err, CDS_ERR_DISABLED,
			"the %s store is not shared by replicas", s->ops->name);
}

enum cds_err cds_store_sealed_put(struct cds_store *s, const char *kind,
				  int64_t id, int64_t created_us,
				  const uint8_t *box, size_t len, bool replace,
				  struct cds_error *err)
{
	if (!cds_store_is_shared(s))
		return not_shared(s, err);
	return s->ops->sealed_put(s, kind, id, created_us, box, len, replace,
				  err);
}

enum cds_err cds_store_sealed_list(struct cds_store *s, const char *kind,
				   cds_store_sealed_fn fn, void *ctx,
				   struct cds_error *err)
{
	if (!cds_store_is_shared(s))
		return not_shared(s, err);
	return s->ops->sealed_list(s, kind, fn, ctx, err);
}

enum cds_err cds_store_sealed_delete(struct cds_store *s, const char *kind,
				     int64_t id, struct cds_error *err)
{
	if (!cds_store_is_shared(s))
		return not_shared(s, err);
	return s->ops->sealed_delete(s, kind, id, err);
}

enum cds_err cds_store_rate_charge(struct cds_store *s, const uint8_t *id,
				   const struct cds_rate_bucket *b, double n,
				   int64_t now_us, bool *charged, double *left,
				   struct cds_error *err)
{
	*charged = false;
	*left = 0;
	if (!cds_store_is_shared(s))
		return not_shared(s, err);
	return s->ops->rate_charge(s, id, b, n, now_us, charged, left, err);
}

enum cds_err cds_store_rate_refund(struct cds_store *s, const uint8_t *id,
				   const struct cds_rate_bucket *b, double n,
				   struct cds_error *err)
{
	if (!cds_store_is_shared(s))
		return not_shared(s, err);
	return s->ops->rate_refund(s, id, b, n, err);
}

enum cds_err cds_store_changes_listen(struct cds_store *s,
				      struct cds_error *err)
{
	if (!cds_store_is_shared(s))
		return not_shared(s, err);
	return s->ops->changes_listen(s, err);
}

enum cds_err cds_store_wait_changes(struct cds_store *s, int timeout_ms,
				    bool *notified, struct cds_error *err)
{
	*notified = false;
	if (!cds_store_is_shared(s))
		return not_shared(s, err);
	return s->ops->wait_changes(s, timeout_ms, notified, err);
}
