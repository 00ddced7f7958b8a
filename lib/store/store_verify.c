/*
 * store_verify.c: the public face of verify.h: argument checks, then the
 * backend's ops.  A backend may assume a canonical handle and sane limits.
 * Also what both backends share of it (store_impl.h): the per-handle limit
 * once counted, and redeeming a code on a backend's hooks.
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

enum { ST_PENDING = 0, ST_USED = 1, ST_DEAD = 2 };

static enum cds_err refuse(struct cds_verify_redeem *r,
			   enum cds_verify_refusal why, const char *msg,
			   struct cds_error *err)
{
	r->refusal = why;
	return cds_fail(err, CDS_ERR_AUTH, "%s", msg);
}

/*
 * Judge r->code_hash against row w (NULL: no such verification): CDS_OK
 * for the right code (r->handle set), CDS_ERR_AUTH with r->refusal (and
 * r->attempts_left) otherwise.  *write, *attempts, *state: the row's
 * update.  A wrong code counts an attempt (and kills the verification at
 * the last one).
 */
static enum cds_err judge(struct cds_verify_redeem *r,
			  const struct cds_verify_row *w, bool *write,
			  unsigned *attempts, int *state, struct cds_error *err)
{
	*write = false;
	if (!w)
		return refuse(r, CDS_VERIFY_UNKNOWN, "no such verification", err);
	if (w->state == ST_USED)
		return refuse(r, CDS_VERIFY_USED, "this code was already used", err);
	if (w->state == ST_DEAD)
		return refuse(r, CDS_VERIFY_EXHAUSTED,
			      "too many wrong codes: ask for a new one", err);
	if (r->now_us >= w->expires_us)
		return refuse(r, CDS_VERIFY_EXPIRED,
			      "this code has expired: ask for a new one", err);
	*write = true;
	*attempts = w->attempts + 1;
	if (!sodium_memcmp(w->code_hash, r->code_hash, CDS_VERIFY_HASH_BYTES)) {
		*state = ST_USED;
		memcpy(r->handle, w->handle, sizeof(r->handle));
		return CDS_OK;
	}
	*state = *attempts >= r->max_attempts ? ST_DEAD : ST_PENDING;
	r->attempts_left = *attempts >= r->max_attempts
				   ? 0 : r->max_attempts - *attempts;
	r->refusal = CDS_VERIFY_WRONG;
	return cds_fail(err, CDS_ERR_AUTH, "wrong code; %u attempt%s left",
			r->attempts_left, r->attempts_left == 1 ? "" : "s");
}

/*
 * Read and judge, and store the row's update; *count_attempt: a wrong
 * code's attempt, to commit with the refusal.
 */
static enum cds_err check_code(struct cds_store *s,
			       const struct cds_verify_backend *b,
			       struct cds_verify_redeem *r, bool *count_attempt,
			       struct cds_error *err)
{
	struct cds_verify_row w;
	bool found = false, write = false;
	unsigned attempts = 0;
	int state = 0;
	enum cds_err rc;

	*count_attempt = false;
	rc = b->row_get(s, r->id, &w, &found, err);
	if (!rc)
		rc = judge(r, found ? &w : NULL, &write, &attempts, &state, err);
	sodium_memzero(&w, sizeof(w));
	if (write && b->row_set(s, r->id, attempts, state, err))
		return CDS_ERR_STORE;
	*count_attempt = write && rc == CDS_ERR_AUTH;
	return rc;
}

/*
 * Take h from the account that holds it (with its change row), unless that
 * account is `keep` (*kept = true then; keep may be NULL).  No-op if nobody
 * holds h.
 */
static enum cds_err release(struct cds_store *s,
			    const struct cds_verify_backend *b, const char *h,
			    const uint8_t *keep, bool *kept,
			    struct cds_error *err)
{
	struct cds_account old;
	enum cds_err rc;

	*kept = false;
	rc = s->ops->handle_get(s, h, &old, err);
	if (rc == CDS_ERR_NOT_FOUND)
		return CDS_OK;
	if (rc)
		return rc;
	if (keep && !memcmp(old.id, keep, CDS_ACCOUNT_ID_BYTES)) {
		*kept = true;
		return CDS_OK;
	}
	return b->handle_remove(s, old.id, h, err);
}

/*
 * The binding the code pays for, inside the transaction: r->handle moves
 * from whichever account holds it (verify.h invariant 3) to r->account (a
 * no-op if it holds it already; CDS_ERR_NOT_FOUND if it is gone) or to a
 * new account.
 */
static enum cds_err bind(struct cds_store *s, const struct cds_verify_backend *b,
			 struct cds_verify_redeem *r, struct cds_error *err)
{
	const char *hs[1] = {r->handle};
	bool kept = false;
	enum cds_err rc;

	rc = release(s, b, r->handle, r->account, &kept, err);
	if (rc || kept)
		return rc;
	if (r->account)
		return b->handle_add(s, r->account, r->handle, err);
	memcpy(r->created.identity_key, r->identity_key, CDS_IDENTITY_KEY_BYTES);
	r->created.handles = hs;
	r->created.n_handles = 1;
	rc = b->accounts_write(s, &r->created, 1, err);
	r->created.handles = NULL;
	r->created.n_handles = 0;
	return rc;
}

enum cds_err cds_verify_redeem_with(struct cds_store *s,
				    const struct cds_verify_backend *b,
				    struct cds_verify_redeem *r,
				    struct cds_error *err)
{
	bool count_attempt = false;
	enum cds_err rc;

	rc = b->begin(s, err);
	if (rc)
		return rc;
	rc = check_code(s, b, r, &count_attempt, err);
	if (!rc)
		rc = bind(s, b, r, err);
	if (count_attempt) {
		/* Keep the spent attempt, and still refuse. */
		struct cds_error e = {0};

		if (b->end(s, CDS_OK, &e))
			return cds_fail(err, e.code, "%s", e.msg);
		return rc;
	}
	rc = b->end(s, rc, err);
	if (rc)
		sodium_memzero(&r->created, sizeof(r->created));
	return rc;
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
