/*
 * store_verify.c: the public face of verify.h: argument checks, then the
 * backend's ops.  A backend may assume a canonical handle and sane limits.
 */
#include "store/store_impl.h"

#include <string.h>

#include <sodium.h>

enum cds_err cds_store_verify_create(struct cds_store *s,
				     const struct cds_verification *v,
				     unsigned max_per_window, int64_t window_us,
				     uint32_t *retry_after_s,
				     struct cds_error *err)
{
	enum cds_err rc;

	*retry_after_s = 0;
	if (!v->handle)
		return cds_fail(err, CDS_ERR_INVALID, "verification without a handle");
	rc = cds_handle_check(v->handle, strlen(v->handle), NULL, err);
	if (rc)
		return rc;
	if (max_per_window < 1 || window_us < 1 || v->expires_us < v->created_us)
		return cds_fail(err, CDS_ERR_INVALID,
				"verification limits must be positive");
	return s->ops->verify_create(s, v, max_per_window, window_us,
				     retry_after_s, err);
}

enum cds_err cds_store_verify_drop(struct cds_store *s,
				   const uint8_t id[static CDS_VERIFY_ID_BYTES],
				   struct cds_error *err)
{
	return s->ops->verify_drop(s, id, err);
}

enum cds_err cds_store_verify_redeem(struct cds_store *s,
				     struct cds_verify_redeem *r,
				     struct cds_error *err)
{
	r->refusal = CDS_VERIFY_OK;
	r->attempts_left = 0;
	r->handle[0] = '\0';
	sodium_memzero(&r->created, sizeof(r->created));
	if (!r->id || !r->code_hash || r->max_attempts < 1)
		return cds_fail(err, CDS_ERR_INVALID,
				"redeem needs an id, a code hash and attempts");
	return s->ops->verify_redeem(s, r, err);
}
