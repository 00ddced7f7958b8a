/*
 * decode.h: the JSON request bodies of API v1, decoded by pure functions
 * (no socket, no store, no global state) so that tests/fuzz/fuzz_request.c
 * can drive them directly.
 *
 * Rules every decoder applies (docs/api.md "Request bodies"):
 *  1. The body is one JSON object (jansson, JSON_REJECT_DUPLICATES); NUL
 *     bytes in strings are refused.
 *  2. Required fields must be present with the right type; unknown fields
 *     are rejected (a misspelt optional field would otherwise be ignored
 *     silently), all as CDS_ERR_INVALID naming the field.
 *  3. Batches: an empty batch is CDS_ERR_INVALID, one over the limit is
 *     CDS_ERR_TOO_LARGE; a bad item is CDS_ERR_INVALID with err->index.
 *  4. Handles must be canonical (cds_handle_check); OPRF elements must be
 *     32-byte padded base64 encoding a valid ristretto255 point that is not
 *     the identity.
 *
 * Ownership: each decoded struct is caller-owned; its _fini frees what the
 * decoder allocated (handle strings point into the kept JSON document).
 */
#ifndef CDS_SERVER_DECODE_H
#define CDS_SERVER_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "core/handle.h"
#include "crypto/entry.h"
#include "crypto/oprf.h"
#include "store/verify.h"

/* POST /v1/discover: {"epoch":E,"elements":[B64...]} */
struct cds_discover_req {
	uint32_t epoch;
	uint8_t *elements;          /* n * CDS_OPRF_ELEMENT_BYTES */
	size_t n;
};

/* Longest ETag accepted in "etags" (cdsd's own are under 40). */
#define CDS_ETAG_MAX_BYTES 64

/*
 * POST /v1/buckets: {"epoch":E,"prefixes":[P...],"etags":[ETAG|null...]?}
 * Prefixes are distinct.  etags is NULL when absent; else etags[i] is the
 * ETag sent for prefixes[i] (pointing into doc) or NULL for a JSON null.
 * An ETag is a quoted string as GET returns it ("..." or W/"..."):
 * printable ASCII, no space, at most CDS_ETAG_MAX_BYTES.
 */
struct cds_buckets_req {
	json_t *doc;
	uint32_t epoch;
	uint32_t *prefixes;
	const char **etags;
	size_t n;
};

/* A list of canonical handles (lookup, account creation, handle updates). */
struct cds_handle_list {
	const char **v;             /* NUL-terminated, into the JSON document */
	size_t n;
};

/* POST /v1/lookup: {"handles":[H...]} */
struct cds_lookup_req {
	json_t *doc;
	struct cds_handle_list handles;
};

/* POST /v1/accounts: {"identity_key":B64,"handles":[H...]} */
struct cds_account_req {
	json_t *doc;
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
	struct cds_handle_list handles;
};

/*
 * PUT /v1/accounts/me/handles: {"remove":[H...]}.  An "add" is refused: a
 * handle is only ever bound by proof of control (POST /v1/verifications).
 */
struct cds_handles_req {
	json_t *doc;
	struct cds_handle_list remove;
};

/* POST /v1/verifications: {"handle":H} */
struct cds_verify_req {
	json_t *doc;
	const char *handle;         /* canonical, into the JSON document */
	enum cds_handle_kind kind;
};

#define CDS_CODE_MAX_DIGITS 16

/*
 * POST /v1/register: {"verification":ID,"code":C,"identity_key":B64};
 * POST /v1/accounts/me/handles: {"verification":ID,"code":C}.
 */
struct cds_redeem_req {
	uint8_t id[CDS_VERIFY_ID_BYTES];
	char code[CDS_CODE_MAX_DIGITS + 1];
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
};

/* PUT /v1/accounts/me/identity_key: {"identity_key":B64} */
struct cds_identity_req {
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
};

enum cds_err cds_decode_discover(struct cds_discover_req *out,
				 const char *body, size_t len,
				 size_t max_batch,
				 struct cds_error *err) CDS_MUST_CHECK;
void cds_discover_req_fini(struct cds_discover_req *r);

/* prefix_bits bounds the prefixes (each < 2^prefix_bits). */
enum cds_err cds_decode_buckets(struct cds_buckets_req *out,
				const char *body, size_t len,
				size_t max_prefixes, unsigned prefix_bits,
				struct cds_error *err) CDS_MUST_CHECK;
void cds_buckets_req_fini(struct cds_buckets_req *r);

enum cds_err cds_decode_lookup(struct cds_lookup_req *out, const char *body,
			       size_t len, size_t max_batch,
			       struct cds_error *err) CDS_MUST_CHECK;
void cds_lookup_req_fini(struct cds_lookup_req *r);

/* handles may be empty (an account reachable by no handle yet). */
enum cds_err cds_decode_account(struct cds_account_req *out, const char *body,
				size_t len, size_t max_batch,
				struct cds_error *err) CDS_MUST_CHECK;
void cds_account_req_fini(struct cds_account_req *r);

/* "remove" holds 1 to max_batch distinct handles; "add" is refused. */
enum cds_err cds_decode_handles(struct cds_handles_req *out, const char *body,
				size_t len, size_t max_batch,
				struct cds_error *err) CDS_MUST_CHECK;
void cds_handles_req_fini(struct cds_handles_req *r);

enum cds_err cds_decode_verify(struct cds_verify_req *out, const char *body,
			       size_t len,
			       struct cds_error *err) CDS_MUST_CHECK;
void cds_verify_req_fini(struct cds_verify_req *r);

/*
 * ID is 32 hex digits, C a string of 1 to CDS_CODE_MAX_DIGITS digits;
 * identity_key is required if with_key, refused otherwise.  Wipe out->code
 * after use (cds_redeem_req_fini).
 */
enum cds_err cds_decode_redeem(struct cds_redeem_req *out, const char *body,
			       size_t len, bool with_key,
			       struct cds_error *err) CDS_MUST_CHECK;
void cds_redeem_req_fini(struct cds_redeem_req *r);

enum cds_err cds_decode_identity(struct cds_identity_req *out,
				 const char *body, size_t len,
				 struct cds_error *err) CDS_MUST_CHECK;

/*
 * Strict decimal in [min, max] from s[0..len): digits only, no sign, no
 * leading zeros (but "0"), at most 10 digits.  For path and query values.
 */
enum cds_err cds_decode_u32(uint32_t *out, const char *s, size_t len,
			    uint32_t min, uint32_t max, const char *what,
			    struct cds_error *err) CDS_MUST_CHECK;
/* The same for 64-bit values (at most 20 digits; no overflow). */
enum cds_err cds_decode_u64(uint64_t *out, const char *s, size_t len,
			    uint64_t min, uint64_t max, const char *what,
			    struct cds_error *err) CDS_MUST_CHECK;

#endif
