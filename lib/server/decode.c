/*
 * decode.c: JSON request bodies into C structs, strictly (rules in
 * decode.h).  Pure functions: they read only their arguments, so the fuzzer
 * can call them on any bytes.
 *
 * Invariants:
 *  1. On failure nothing is left allocated and the out-struct is zeroed, so
 *     calling its _fini is harmless either way.
 *  2. Every message names the field, and batch errors set err->index.
 */
#include "server/decode.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/handle.h"

#define JSON_FLAGS JSON_REJECT_DUPLICATES

/* Parse body as one JSON object. */
static enum cds_err load_object(json_t **out, const char *body, size_t len,
				struct cds_error *err)
{
	json_error_t je;
	json_t *doc;

	*out = NULL;
	if (len == 0)
		return cds_fail(err, CDS_ERR_INVALID,
				"request body is empty; expected a JSON object");
	doc = json_loadb(body, len, JSON_FLAGS, &je);
	if (!doc)
		return cds_fail(err, CDS_ERR_INVALID,
				"malformed JSON at line %d column %d: %s",
				je.line, je.column, je.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return cds_fail(err, CDS_ERR_INVALID,
				"request body must be a JSON object");
	}
	*out = doc;
	return CDS_OK;
}

/* Reject any member not named in `allowed` (NULL-terminated). */
static enum cds_err check_fields(json_t *obj, const char *const *allowed,
				 struct cds_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *a = allowed;

		while (*a && strcmp(*a, key) != 0)
			a++;
		if (!*a)
			return cds_fail(err, CDS_ERR_INVALID,
					"unknown field '%.40s'", key);
	}
	return CDS_OK;
}

/* A required integer member in [min, max]. */
static enum cds_err get_u32(uint32_t *out, json_t *obj, const char *name,
			    uint32_t min, uint32_t max, struct cds_error *err)
{
	json_t *v = json_object_get(obj, name);
	json_int_t i;

	if (!v)
		return cds_fail(err, CDS_ERR_INVALID, "missing field '%s'",
				name);
	if (!json_is_integer(v))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' must be an integer", name);
	i = json_integer_value(v);
	if (i < (json_int_t)min || i > (json_int_t)max)
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' must be from %u to %u", name, min, max);
	*out = (uint32_t)i;
	return CDS_OK;
}

/*
 * The array member `name`: required unless `optional`, non-empty unless
 * `may_be_empty`, at most max items.  *out is NULL for an absent optional.
 */
static enum cds_err get_array(json_t **out, json_t *obj, const char *name,
			      bool optional, bool may_be_empty, size_t max,
			      struct cds_error *err)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (!v) {
		if (optional)
			return CDS_OK;
		return cds_fail(err, CDS_ERR_INVALID, "missing field '%s'",
				name);
	}
	if (!json_is_array(v))
		return cds_fail(err, CDS_ERR_INVALID, "'%s' must be an array",
				name);
	if (json_array_size(v) == 0 && !may_be_empty)
		return cds_fail(err, CDS_ERR_INVALID, "'%s' must not be empty",
				name);
	if (json_array_size(v) > max)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"'%s' has %zu items; at most %zu are allowed",
				name, json_array_size(v), max);
	*out = v;
	return CDS_OK;
}

/* A required padded-base64 member of exactly n bytes. */
static enum cds_err get_b64(uint8_t *out, size_t n, json_t *obj,
			    const char *name, struct cds_error *err)
{
	json_t *v = json_object_get(obj, name);

	if (!v)
		return cds_fail(err, CDS_ERR_INVALID, "missing field '%s'",
				name);
	if (!json_is_string(v))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' must be a base64 string", name);
	return cds_b64_decode_exact(out, n, json_string_value(v),
				    json_string_length(v), name, err);
}

static int cmp_handle_idx(const void *a, const void *b, void *ctx)
{
	const char **v = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(v[i], v[j]);

	if (c)
		return c;
	return i < j ? -1 : i > j;
}

/*
 * Find a repeated handle in v[0..n): CDS_ERR_INVALID naming the later
 * position.  Sorting indices keeps this O(n log n) for fuzzed inputs.
 */
static enum cds_err check_unique(const char **v, size_t n, const char *what,
				 size_t base, struct cds_error *err)
{
	size_t *idx, i, bad = SIZE_MAX, first = 0;

	if (n < 2)
		return CDS_OK;
	idx = malloc(n * sizeof(*idx));
	if (!idx)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_handle_idx, v);
	for (i = 1; i < n; i++)
		if (!strcmp(v[idx[i - 1]], v[idx[i]]) && idx[i] < bad) {
			bad = idx[i];
			first = idx[i - 1];
		}
	free(idx);
	if (bad == SIZE_MAX)
		return CDS_OK;
	return cds_fail_at(err, CDS_ERR_INVALID, (long)(bad - base),
			   "%s: handle %zu repeats handle %zu", what,
			   bad - base, first);
}

/* Decode the handle strings of array `arr` (member `name`) into *out. */
static enum cds_err get_handles(struct cds_handle_list *out, json_t *arr,
				const char *name, struct cds_error *err)
{
	struct cds_error e = {0};
	size_t i, n = arr ? json_array_size(arr) : 0;

	out->v = NULL;
	out->n = 0;
	if (n == 0)
		return CDS_OK;
	out->v = calloc(n, sizeof(*out->v));
	if (!out->v)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		json_t *h = json_array_get(arr, i);

		if (!json_is_string(h))
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "%s[%zu] must be a string", name, i);
		if (cds_handle_check(json_string_value(h),
				     json_string_length(h), NULL, &e))
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "%s[%zu]: %s", name, i, e.msg);
		out->v[i] = json_string_value(h);
	}
	out->n = n;
	return CDS_OK;
}

static void handle_list_fini(struct cds_handle_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* One blinded element: 32 bytes, a canonical point, not the identity. */
static enum cds_err get_element(uint8_t *out, json_t *v, size_t i,
				struct cds_error *err)
{
	if (!json_is_string(v))
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "elements[%zu] must be a base64 string", i);
	if (cds_b64_decode_exact(out, CDS_OPRF_ELEMENT_BYTES,
				 json_string_value(v), json_string_length(v),
				 "element", NULL))
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "elements[%zu] must be %d bytes in padded base64",
				   i, CDS_OPRF_ELEMENT_BYTES);
	if (sodium_is_zero(out, CDS_OPRF_ELEMENT_BYTES))
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "elements[%zu] is the identity element", i);
	if (!crypto_core_ristretto255_is_valid_point(out))
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "elements[%zu] is not a canonical ristretto255 point",
				   i);
	return CDS_OK;
}

enum cds_err cds_decode_discover(struct cds_discover_req *out,
				 const char *body, size_t len,
				 size_t max_batch, struct cds_error *err)
{
	static const char *const fields[] = {"epoch", "elements", NULL};
	json_t *doc = NULL, *arr;
	enum cds_err rc;
	size_t i;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(&doc, body, len, err)) ||
	    (rc = check_fields(doc, fields, err)) ||
	    (rc = get_u32(&out->epoch, doc, "epoch", 1, UINT32_MAX, err)) ||
	    (rc = get_array(&arr, doc, "elements", false, false, max_batch,
			    err)))
		goto out;
	out->n = json_array_size(arr);
	out->elements = malloc(out->n * CDS_OPRF_ELEMENT_BYTES);
	if (!out->elements) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < out->n; i++)
		if ((rc = get_element(out->elements + i * CDS_OPRF_ELEMENT_BYTES,
				      json_array_get(arr, i), i, err)))
			goto out;
out:
	json_decref(doc);
	if (rc)
		cds_discover_req_fini(out);
	return rc;
}

void cds_discover_req_fini(struct cds_discover_req *r)
{
	free(r->elements);
	memset(r, 0, sizeof(*r));
}

/* prefixes[i] for every item of arr, each from 0 to limit. */
static enum cds_err get_prefixes(uint32_t *out, json_t *arr, uint32_t limit,
				 struct cds_error *err)
{
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		json_int_t p = json_is_integer(v) ? json_integer_value(v) : -1;

		if (p < 0 || p > (json_int_t)limit)
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "prefixes[%zu] must be an integer from 0 to %u",
					   i, limit);
		out[i] = (uint32_t)p;
	}
	return CDS_OK;
}

static int cmp_u32_idx(const void *a, const void *b, void *ctx)
{
	const uint32_t *v = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (v[i] != v[j])
		return v[i] < v[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

/*
 * A prefix asked for twice would make the server build (and the guard
 * charge) the same bucket again for nothing: CDS_ERR_INVALID naming the
 * first repeat.  Sorting indices keeps this O(n log n).
 */
static enum cds_err check_distinct(const uint32_t *v, size_t n,
				   struct cds_error *err)
{
	size_t *idx, bad = SIZE_MAX, first = 0;

	if (n < 2)
		return CDS_OK;
	idx = malloc(n * sizeof(*idx));
	if (!idx)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_u32_idx, (void *)v);
	for (size_t i = 1; i < n; i++)
		if (v[idx[i - 1]] == v[idx[i]] && idx[i] < bad) {
			bad = idx[i];
			first = idx[i - 1];
		}
	free(idx);
	if (bad == SIZE_MAX)
		return CDS_OK;
	return cds_fail_at(err, CDS_ERR_INVALID, (long)bad,
			   "prefixes[%zu] repeats prefixes[%zu] (%u); ask for each bucket once",
			   bad, first, v[bad]);
}

/* True if s[0..len) is an entity tag: W/ optional, then "etagc*". */
static bool is_etag(const char *s, size_t len)
{
	if (len >= 2 && s[0] == 'W' && s[1] == '/') {
		s += 2;
		len -= 2;
	}
	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"')
			return false;
	return true;
}

/* One item of "etags": null, or an ETag (is_etag). */
static enum cds_err get_etag(const char **out, json_t *v, size_t i,
			     struct cds_error *err)
{
	size_t len;

	*out = NULL;
	if (json_is_null(v))
		return CDS_OK;
	if (!json_is_string(v))
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "etags[%zu] must be an ETag string or null", i);
	len = json_string_length(v);
	if (len > CDS_ETAG_MAX_BYTES)
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "etags[%zu] is %zu characters; an ETag has at most %d",
				   i, len, CDS_ETAG_MAX_BYTES);
	if (!is_etag(json_string_value(v), len))
		return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
				   "etags[%zu] is not an ETag as GET /v1/buckets returns it (a quoted string)",
				   i);
	*out = json_string_value(v);
	return CDS_OK;
}

/* The optional "etags" array, parallel to the n prefixes. */
static enum cds_err get_etags(struct cds_buckets_req *out, json_t *doc,
			      struct cds_error *err)
{
	json_t *arr = json_object_get(doc, "etags");
	size_t m;
	enum cds_err rc;

	if (!arr)
		return CDS_OK;
	if (!json_is_array(arr))
		return cds_fail(err, CDS_ERR_INVALID,
				"'etags' must be an array parallel to 'prefixes'");
	m = json_array_size(arr);
	if (m != out->n)
		return cds_fail_at(err, CDS_ERR_INVALID,
				   (long)(m < out->n ? m : out->n),
				   "'etags' has %zu items but 'prefixes' has %zu; they must be parallel (null for no ETag)",
				   m, out->n);
	out->etags = calloc(m, sizeof(*out->etags));
	if (!out->etags)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < m; i++)
		if ((rc = get_etag(&out->etags[i], json_array_get(arr, i), i,
				   err)))
			return rc;
	return CDS_OK;
}

enum cds_err cds_decode_buckets(struct cds_buckets_req *out,
				const char *body, size_t len,
				size_t max_prefixes, unsigned prefix_bits,
				struct cds_error *err)
{
	static const char *const fields[] = {"epoch", "prefixes", "etags",
					     NULL};
	uint32_t limit = prefix_bits >= 32 ? UINT32_MAX
					   : (uint32_t)((1ULL << prefix_bits) - 1);
	json_t *arr;
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(&out->doc, body, len, err)) ||
	    (rc = check_fields(out->doc, fields, err)) ||
	    (rc = get_u32(&out->epoch, out->doc, "epoch", 1, UINT32_MAX,
			  err)) ||
	    (rc = get_array(&arr, out->doc, "prefixes", false, false,
			    max_prefixes, err)))
		goto out;
	out->n = json_array_size(arr);
	out->prefixes = malloc(out->n * sizeof(*out->prefixes));
	if (!out->prefixes) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = get_prefixes(out->prefixes, arr, limit, err)) ||
	    (rc = check_distinct(out->prefixes, out->n, err)))
		goto out;
	rc = get_etags(out, out->doc, err);
out:
	if (rc)
		cds_buckets_req_fini(out);
	return rc;
}

void cds_buckets_req_fini(struct cds_buckets_req *r)
{
	json_decref(r->doc);
	free(r->prefixes);
	free(r->etags);
	memset(r, 0, sizeof(*r));
}

enum cds_err cds_decode_lookup(struct cds_lookup_req *out, const char *body,
			       size_t len, size_t max_batch,
			       struct cds_error *err)
{
	static const char *const fields[] = {"handles", NULL};
	json_t *arr;
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(&out->doc, body, len, err)) ||
	    (rc = check_fields(out->doc, fields, err)) ||
	    (rc = get_array(&arr, out->doc, "handles", false, false,
			    max_batch, err)) ||
	    (rc = get_handles(&out->handles, arr, "handles", err)))
		cds_lookup_req_fini(out);
	return rc;
}

void cds_lookup_req_fini(struct cds_lookup_req *r)
{
	handle_list_fini(&r->handles);
	json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}

enum cds_err cds_decode_account(struct cds_account_req *out, const char *body,
				size_t len, size_t max_batch,
				struct cds_error *err)
{
	static const char *const fields[] = {"identity_key", "handles", NULL};
	json_t *arr;
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(&out->doc, body, len, err)) ||
	    (rc = check_fields(out->doc, fields, err)) ||
	    (rc = get_b64(out->identity_key, CDS_IDENTITY_KEY_BYTES, out->doc,
			  "identity_key", err)) ||
	    (rc = get_array(&arr, out->doc, "handles", false, true, max_batch,
			    err)) ||
	    (rc = get_handles(&out->handles, arr, "handles", err)) ||
	    (rc = check_unique(out->handles.v, out->handles.n, "handles", 0,
			       err)))
		cds_account_req_fini(out);
	return rc;
}

void cds_account_req_fini(struct cds_account_req *r)
{
	handle_list_fini(&r->handles);
	json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}

/*
 * A handle both added and removed is ambiguous: refuse it, naming its
 * position in "remove".  Checked over the concatenation add || remove.
 */
enum cds_err cds_decode_handles(struct cds_handles_req *out, const char *body,
				size_t len, size_t max_batch,
				struct cds_error *err)
{
	static const char *const fields[] = {"add", "remove", NULL};
	json_t *rm = NULL;
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(&out->doc, body, len, err)) ||
	    (rc = check_fields(out->doc, fields, err)))
		goto out;
	if (json_object_get(out->doc, "add")) {
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "'add' is not accepted: a handle is bound only by "
			      "proof of control (POST /v1/verifications, then "
			      "POST /v1/accounts/me/handles)");
		goto out;
	}
	if ((rc = get_array(&rm, out->doc, "remove", false, false, max_batch,
			    err)) ||
	    (rc = get_handles(&out->remove, rm, "remove", err)))
		goto out;
	rc = check_unique(out->remove.v, out->remove.n, "remove", 0, err);
out:
	if (rc)
		cds_handles_req_fini(out);
	return rc;
}

void cds_handles_req_fini(struct cds_handles_req *r)
{
	handle_list_fini(&r->remove);
	json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}

enum cds_err cds_decode_verify(struct cds_verify_req *out, const char *body,
			       size_t len, struct cds_error *err)
{
	static const char *const fields[] = {"handle", NULL};
	json_t *h;
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(&out->doc, body, len, err)) ||
	    (rc = check_fields(out->doc, fields, err)))
		goto out;
	h = json_object_get(out->doc, "handle");
	if (!h || !json_is_string(h)) {
		rc = cds_fail(err, CDS_ERR_INVALID,
			      h ? "'handle' must be a string"
				: "missing field 'handle'");
		goto out;
	}
	rc = cds_handle_check(json_string_value(h), json_string_length(h),
			      &out->kind, err);
	if (!rc)
		out->handle = json_string_value(h);
out:
	if (rc)
		cds_verify_req_fini(out);
	return rc;
}

void cds_verify_req_fini(struct cds_verify_req *r)
{
	json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}

/* "code": a string of 1 to CDS_CODE_MAX_DIGITS decimal digits. */
static enum cds_err get_code(char *out, json_t *doc, struct cds_error *err)
{
	json_t *v = json_object_get(doc, "code");
	const char *c;
	size_t n;

	if (!v)
		return cds_fail(err, CDS_ERR_INVALID, "missing field 'code'");
	if (!json_is_string(v))
		return cds_fail(err, CDS_ERR_INVALID,
				"'code' must be a string of digits");
	c = json_string_value(v);
	n = json_string_length(v);
	if (n < 1 || n > CDS_CODE_MAX_DIGITS || strspn(c, "0123456789") != n)
		return cds_fail(err, CDS_ERR_INVALID,
				"'code' must be 1 to %d digits",
				CDS_CODE_MAX_DIGITS);
	memcpy(out, c, n + 1);
	return CDS_OK;
}

static enum cds_err get_id(uint8_t *out, json_t *doc, struct cds_error *err)
{
	json_t *v = json_object_get(doc, "verification");

	if (!v)
		return cds_fail(err, CDS_ERR_INVALID,
				"missing field 'verification'");
	if (!json_is_string(v))
		return cds_fail(err, CDS_ERR_INVALID,
				"'verification' must be a string");
	return cds_hex_decode_exact(out, CDS_VERIFY_ID_BYTES,
				    json_string_value(v), json_string_length(v),
				    "verification", err);
}

enum cds_err cds_decode_redeem(struct cds_redeem_req *out, const char *body,
			       size_t len, bool with_key,
			       struct cds_error *err)
{
	static const char *const with[] = {"verification", "code",
					   "identity_key", NULL};
	static const char *const without[] = {"verification", "code", NULL};
	json_t *doc = NULL;
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(&doc, body, len, err)) ||
	    (rc = check_fields(doc, with_key ? with : without, err)) ||
	    (rc = get_id(out->id, doc, err)) ||
	    (rc = get_code(out->code, doc, err)))
		goto out;
	if (with_key)
		rc = get_b64(out->identity_key, CDS_IDENTITY_KEY_BYTES, doc,
			     "identity_key", err);
out:
	if (rc)
		cds_redeem_req_fini(out);
	if (doc) {
		/* The document held the code too. */
		json_t *c = json_object_get(doc, "code");

		if (json_is_string(c))
			sodium_memzero((char *)json_string_value(c),
				       json_string_length(c));
	}
	json_decref(doc);
	return rc;
}

void cds_redeem_req_fini(struct cds_redeem_req *r)
{
	sodium_memzero(r, sizeof(*r));
}

enum cds_err cds_decode_identity(struct cds_identity_req *out,
				 const char *body, size_t len,
				 struct cds_error *err)
{
	static const char *const fields[] = {"identity_key", NULL};
	json_t *doc = NULL;
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = load_object(&doc, body, len, err)) ||
	    (rc = check_fields(doc, fields, err)) ||
	    (rc = get_b64(out->identity_key, CDS_IDENTITY_KEY_BYTES, doc,
			  "identity_key", err)))
		memset(out, 0, sizeof(*out));
	json_decref(doc);
	return rc;
}

enum cds_err cds_decode_u64(uint64_t *out, const char *s, size_t len,
			    uint64_t min, uint64_t max, const char *what,
			    struct cds_error *err)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		goto bad;
	for (i = 0; i < len; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
			goto bad;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		goto bad;
	*out = v;
	return CDS_OK;
bad:
	return cds_fail(err, CDS_ERR_INVALID,
			"%s must be a whole number from %" PRIu64 " to %" PRIu64,
			what, min, max);
}

enum cds_err cds_decode_u32(uint32_t *out, const char *s, size_t len,
			    uint32_t min, uint32_t max, const char *what,
			    struct cds_error *err)
{
	uint64_t v;
	enum cds_err rc = cds_decode_u64(&v, s, len, min, max, what, err);

	if (!rc)
		*out = (uint32_t)v;
	return rc;
}
