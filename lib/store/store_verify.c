/*
 * store_verify.c: the public face of verify.h: argument checks, then the
 * backend's ops.  A backend may assume a canonical handle and sane limits.
 * Also the judgement of a code, which both backends share (store_impl.h).
 */
#include "store/store_impl.h"

#include <string.h>

#include <sodium.h>

#include "core/timeutil.h"

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

static enum cds_err refuse(struct cds_verify_redeem *r,
			   enum cds_verify_refusal why, const char *msg,
			   struct cds_error *err)
{
	r->refusal = why;
	return cds_fail(err, CDS_ERR_AUTH, "%s", msg);
}

/*
 * A wrong code counts an attempt (and kills the verification at the last
 * one); the caller commits that even though the result is a refusal.
 */
enum cds_err cds_verify_judge(struct cds_verify_redeem *r,
			      const struct cds_verify_row *w, bool *write,
			      unsigned *attempts, int *state,
			      struct cds_error *err)
{
	*write = false;
	if (!w)
		return refuse(r, CDS_VERIFY_UNKNOWN, "no such verification", err);
	if (w->state == CDS_VSTATE_USED)
		return refuse(r, CDS_VERIFY_USED, "this code was already used", err);
	if (w->state == CDS_VSTATE_DEAD)
		return refuse(r, CDS_VERIFY_EXHAUSTED,
			      "too many wrong codes: ask for a new one", err);
	if (r->now_us >= w->expires_us)
		return refuse(r, CDS_VERIFY_EXPIRED,
			      "this code has expired: ask for a new one", err);
	*write = true;
	*attempts = w->attempts + 1;
	if (!sodium_memcmp(w->code_hash, r->code_hash, CDS_VERIFY_HASH_BYTES)) {
		*state = CDS_VSTATE_USED;
		memcpy(r->handle, w->handle, sizeof(r->handle));
		return CDS_OK;
	}
	*state = *attempts >= r->max_attempts ? CDS_VSTATE_DEAD
					      : CDS_VSTATE_PENDING;
	r->attempts_left = *attempts >= r->max_attempts
				   ? 0 : r->max_attempts - *attempts;
	r->refusal = CDS_VERIFY_WRONG;
	return cds_fail(err, CDS_ERR_AUTH, "wrong code; %u attempt%s left",
			r->attempts_left, r->attempts_left == 1 ? "" : "s");
}

enum cds_err cds_verify_limit(int64_t count, int64_t oldest_us, int64_t now_us,
			      int64_t window_us, unsigned max,
			      uint32_t *retry_after_s, struct cds_error *err)
{
	int64_t wait_us;

	if (count < (int64_t)max)
		return CDS_OK;
	wait_us = oldest_us + window_us - now_us;
	*retry_after_s = (uint32_t)(wait_us / CDS_USEC_PER_SEC + 1);
	return cds_fail(err, CDS_ERR_RATE,
			"too many codes sent to this handle; retry in %u s",
			*retry_after_s);
}
