/*
 * protocol.c: strict JSON codecs of protocol v1 for the client.
 *
 * Invariants:
 *   1. A parser either fills its outputs completely and returns CDS_OK, or
 *      returns CDS_ERR_PROTO (CDS_ERR_NOMEM) and leaves nothing allocated.
 *   2. Nothing the server sends reaches a message unquoted: text is cut
 *      short and control characters replaced (quote_text).
 *   3. Numbers are range-checked before they are narrowed.
 */
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/codec.h"
#include "core/handle.h"

#define EPOCH_MAX UINT32_MAX
#define PREFIX_MAX ((UINT32_C(1) << CDS_PREFIX_BITS_MAX) - 1)

/* Copy at most 120 printable bytes of server text into out. */
static void quote_text(char out[128], const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < 120; i++)
		out[i] = (s[i] >= 0x20 && s[i] != 0x7f) ? s[i] : '?';
	out[i] = '\0';
	if (s[i])
		strcpy(out + i, "...");
}

static enum cds_err load(json_t **root, const char *body, size_t len,
			 const char *what, struct cds_error *err)
{
	json_error_t je;

	*root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!*root)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s is not valid JSON: %s (byte %d)",
				what, je.text, je.position);
	if (!json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s is not a JSON object", what);
	}
	return CDS_OK;
}

static enum cds_err get_uint(uint64_t *out, json_t *o, const char *key,
			     uint64_t min, uint64_t max, const char *what,
			     struct cds_error *err)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;

	if (!json_is_integer(v))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: \"%s\" is missing or not an integer",
				what, key);
	x = json_integer_value(v);
	if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: \"%s\" = %lld is out of range %llu..%llu",
				what, key, (long long)x, (unsigned long long)min,
				(unsigned long long)max);
	*out = (uint64_t)x;
	return CDS_OK;
}

static enum cds_err get_str(const char **s, size_t *slen, json_t *o,
			    const char *key, const char *what,
			    struct cds_error *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: \"%s\" is missing or not a string",
				what, key);
	*s = json_string_value(v);
	*slen = json_string_length(v);
	return CDS_OK;
}

/* Decode string value v into exactly n bytes. */
static enum cds_err b64_exact(uint8_t *out, size_t n, json_t *v,
			      const char *field, const char *what,
			      struct cds_error *err)
{
	if (!json_is_string(v) ||
	    cds_b64_decode_exact(out, n, json_string_value(v),
				 json_string_length(v), field, NULL) != CDS_OK)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: %s is not %zu bytes of padded base64",
				what, field, n);
	return CDS_OK;
}

static enum cds_err check_epoch(json_t *root, uint32_t epoch, const char *what,
				struct cds_error *err)
{
	uint64_t e;
	enum cds_err rc = get_uint(&e, root, "epoch", 1, EPOCH_MAX, what, err);

	if (rc)
		return rc;
	if (e != epoch)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s is for epoch %llu, not the %u asked for",
				what, (unsigned long long)e, epoch);
	return CDS_OK;
}

static enum cds_err expect_string(json_t *root, const char *key,
				  const char *want, const char *what,
				  struct cds_error *err)
{
	const char *s;
	size_t n;
	char q[128];
	enum cds_err rc = get_str(&s, &n, root, key, what, err);

	if (rc)
		return rc;
	if (strlen(want) != n || memcmp(s, want, n)) {
		quote_text(q, s);
		return cds_fail(err, CDS_ERR_PROTO,
				"server offers %s '%s', this client speaks only '%s'",
				key, q, want);
	}
	return CDS_OK;
}

enum cds_err cds_proto_parse_params(struct cds_params *p, const char *body,
				    size_t len, struct cds_error *err)
{
	static const char what[] = "GET /v1/params";
	json_t *root = NULL, *plain;
	uint64_t version, epoch, bits, batch;
	enum cds_err rc;

	rc = load(&root, body, len, what, err);
	if (rc)
		goto out;
	rc = get_uint(&version, root, "version", 0, UINT32_MAX, what, err);
	if (!rc && version != 1)
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "server speaks protocol version %llu, this client only 1",
			      (unsigned long long)version);
	if (!rc)
		rc = expect_string(root, "suite", "ristretto255-SHA512", what, err);
	if (!rc)
		rc = expect_string(root, "mode", "voprf", what, err);
	if (!rc)
		rc = get_uint(&epoch, root, "epoch", 1, EPOCH_MAX, what, err);
	if (!rc)
		rc = get_uint(&bits, root, "prefix_bits", 0, CDS_PREFIX_BITS_MAX,
			      what, err);
	if (!rc)
		rc = get_uint(&batch, root, "max_batch", 1, 1u << 24, what, err);
	if (!rc)
		rc = b64_exact(p->public_key, sizeof(p->public_key),
			       json_object_get(root, "public_key"), "public_key",
			       what, err);
	if (rc)
		goto out;
	/* libsodium accepts the identity's encoding; a key must not be it. */
	if (sodium_is_zero(p->public_key, sizeof(p->public_key)) ||
	    !crypto_core_ristretto255_is_valid_point(p->public_key)) {
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: public_key is not a valid ristretto255 element",
			      what);
		goto out;
	}
	plain = json_object_get(root, "plain_lookup");
	if (!json_is_boolean(plain)) {
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"plain_lookup\" is missing or not a boolean",
			      what);
		goto out;
	}
	p->epoch = (uint32_t)epoch;
	p->prefix_bits = (unsigned)bits;
	p->max_batch = (size_t)batch;
	p->plain_lookup = json_is_true(plain);
out:
	json_decref(root);
	return rc;
}

enum cds_err cds_proto_build_discover(struct cds_buf *out, uint32_t epoch,
				      const uint8_t *blinded, size_t n,
				      struct cds_error *err)
{
	char b64[CDS_B64_LEN(CDS_OPRF_ELEMENT_BYTES)];
	enum cds_err rc;

	cds_buf_reset(out);
	rc = cds_buf_appendf(out, "{\"epoch\":%u,\"elements\":[", epoch);
	for (size_t i = 0; !rc && i < n; i++) {
		cds_b64_encode(b64, blinded + i * CDS_OPRF_ELEMENT_BYTES,
			       CDS_OPRF_ELEMENT_BYTES);
		rc = cds_buf_appendf(out, "%s\"%s\"", i ? "," : "", b64);
	}
	if (!rc)
		rc = cds_buf_append(out, "]}", 2);
	if (rc)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory building a request");
	return CDS_OK;
}

enum cds_err cds_proto_parse_discover(uint8_t *evaluated,
				      uint8_t proof[static CDS_OPRF_PROOF_BYTES],
				      uint32_t epoch, size_t n,
				      const char *body, size_t len,
				      struct cds_error *err)
{
	static const char what[] = "POST /v1/discover";
	json_t *root = NULL, *arr;
	enum cds_err rc;
	char field[48];

	rc = load(&root, body, len, what, err);
	if (!rc)
		rc = check_epoch(root, epoch, what, err);
	if (rc)
		goto out;
	arr = json_object_get(root, "evaluated");
	if (!json_is_array(arr) || json_array_size(arr) != n) {
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"evaluated\" must be an array of %zu elements",
			      what, n);
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		snprintf(field, sizeof(field), "evaluated[%zu]", i);
		rc = b64_exact(evaluated + i * CDS_OPRF_ELEMENT_BYTES,
			       CDS_OPRF_ELEMENT_BYTES, json_array_get(arr, i),
			       field, what, err);
	}
	if (!rc)
		rc = b64_exact(proof, CDS_OPRF_PROOF_BYTES,
			       json_object_get(root, "proof"), "proof", what, err);
out:
	json_decref(root);
	return rc;
}

enum cds_err cds_proto_build_buckets(struct cds_buf *out, uint32_t epoch,
				     const uint32_t *prefixes, size_t n,
				     struct cds_error *err)
{
	enum cds_err rc;

	cds_buf_reset(out);
	rc = cds_buf_appendf(out, "{\"epoch\":%u,\"prefixes\":[", epoch);
	for (size_t i = 0; !rc && i < n; i++)
		rc = cds_buf_appendf(out, "%s%u", i ? "," : "", prefixes[i]);
	if (!rc)
		rc = cds_buf_append(out, "]}", 2);
	if (rc)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory building a request");
	return CDS_OK;
}

enum cds_err cds_proto_check_entries(const uint8_t *entries, size_t nbytes,
				     const char *what, struct cds_error *err)
{
	if (nbytes % CDS_ENTRY_BYTES)
		return cds_fail(err, CDS_ERR_PROTO,
				"%s: %zu bytes of entries is not a whole number of %d-byte entries",
				what, nbytes, CDS_ENTRY_BYTES);
	for (size_t off = CDS_ENTRY_BYTES; off < nbytes; off += CDS_ENTRY_BYTES)
		if (memcmp(entries + off - CDS_ENTRY_BYTES, entries + off,
			   CDS_FP_BYTES) >= 0)
			return cds_fail_at(err, CDS_ERR_PROTO,
					   (long)(off / CDS_ENTRY_BYTES),
					   "%s: entry %zu is not in fingerprint order",
					   what, off / CDS_ENTRY_BYTES);
	return CDS_OK;
}

/* Decode and check the "entries" of one bucket object o into b. */
static enum cds_err bucket_entries(struct cds_proto_bucket *b, json_t *o,
				   const char *what, struct cds_error *err)
{
	char name[96];
	const char *s;
	size_t slen, got = 0;
	enum cds_err rc;

	rc = get_str(&s, &slen, o, "entries", what, err);
	if (rc)
		return rc;
	b->entries = malloc(slen / 4 * 3 + 1);
	if (!b->entries)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for bucket %u",
				b->prefix);
	snprintf(name, sizeof(name), "reply to %s: bucket %u", what, b->prefix);
	if (cds_b64_decode(b->entries, slen / 4 * 3 + 1, &got, s, slen, NULL))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "%s: entries are not padded base64", name);
	else
		rc = cds_proto_check_entries(b->entries, got, name, err);
	if (rc) {
		free(b->entries);
		b->entries = NULL;
		return rc;
	}
	b->n = got / CDS_ENTRY_BYTES;
	return CDS_OK;
}

enum cds_err cds_proto_parse_bucket(struct cds_proto_bucket *b, uint32_t epoch,
				    uint32_t prefix, const char *body,
				    size_t len, struct cds_error *err)
{
	static const char what[] = "GET /v1/buckets";
	json_t *root = NULL;
	uint64_t p;
	enum cds_err rc;

	b->entries = NULL;
	b->n = 0;
	b->prefix = prefix;
	rc = load(&root, body, len, what, err);
	if (!rc)
		rc = check_epoch(root, epoch, what, err);
	if (!rc)
		rc = get_uint(&p, root, "prefix", 0, PREFIX_MAX, what, err);
	if (!rc && p != prefix)
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s/%u is for bucket %llu", what, prefix,
			      (unsigned long long)p);
	if (!rc)
		rc = bucket_entries(b, root, what, err);
	json_decref(root);
	return rc;
}

/* Index of prefix p in the request, or -1. */
static long find_prefix(const uint32_t *prefixes, size_t n, uint64_t p)
{
	for (size_t i = 0; i < n; i++)
		if (prefixes[i] == p)
			return (long)i;
	return -1;
}

static void free_buckets(struct cds_proto_bucket *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(out[i].entries);
		out[i].entries = NULL;
	}
}

/* Fill out[] from the "buckets" array; each slot at most once. */
static enum cds_err buckets_array(struct cds_proto_bucket *out,
				  const uint32_t *prefixes, size_t n,
				  json_t *arr, const char *what,
				  struct cds_error *err)
{
	bool *seen = calloc(n ? n : 1, sizeof(*seen));
	enum cds_err rc = CDS_OK;
	uint64_t p;
	long at;

	if (!seen)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(arr) && !rc; i++) {
		json_t *o = json_array_get(arr, i);

		if (!json_is_object(o)) {
			rc = cds_fail(err, CDS_ERR_PROTO,
				      "reply to %s: buckets[%zu] is not an object", what, i);
			break;
		}
		rc = get_uint(&p, o, "prefix", 0, PREFIX_MAX, what, err);
		if (rc)
			break;
		at = find_prefix(prefixes, n, p);
		if (at < 0 || seen[at]) {
			rc = cds_fail(err, CDS_ERR_PROTO,
				      "reply to %s: bucket %llu was not asked for or comes twice",
				      what, (unsigned long long)p);
			break;
		}
		seen[at] = true;
		out[at].prefix = (uint32_t)p;
		rc = bucket_entries(&out[at], o, what, err);
	}
	free(seen);
	return rc;
}

enum cds_err cds_proto_parse_buckets(struct cds_proto_bucket *out,
				     uint32_t epoch, const uint32_t *prefixes,
				     size_t n, const char *body, size_t len,
				     struct cds_error *err)
{
	static const char what[] = "POST /v1/buckets";
	json_t *root = NULL, *arr;
	enum cds_err rc;

	memset(out, 0, n * sizeof(*out));
	rc = load(&root, body, len, what, err);
	if (!rc)
		rc = check_epoch(root, epoch, what, err);
	if (rc)
		goto out;
	arr = json_object_get(root, "buckets");
	if (!json_is_array(arr) || json_array_size(arr) != n) {
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"buckets\" must be an array of the %zu buckets asked for",
			      what, n);
		goto out;
	}
	rc = buckets_array(out, prefixes, n, arr, what, err);
out:
	if (rc)
		free_buckets(out, n);
	json_decref(root);
	return rc;
}

enum cds_err cds_proto_build_lookup(struct cds_buf *out,
				    const char *const *handles, size_t n,
				    struct cds_error *err)
{
	enum cds_err rc;

	/* Canonical handles hold no character that JSON must escape. */
	cds_buf_reset(out);
	rc = cds_buf_append(out, "{\"handles\":[", 12);
	for (size_t i = 0; !rc && i < n; i++)
		rc = cds_buf_appendf(out, "%s\"%s\"", i ? "," : "", handles[i]);
	if (!rc)
		rc = cds_buf_append(out, "]}", 2);
	if (rc)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory building a request");
	return CDS_OK;
}

/* Parse one result object into out, for the handle it names. */
static enum cds_err lookup_one(struct cds_proto_lookup *out, json_t *o,
			       const char *what, struct cds_error *err)
{
	json_t *reg = json_object_get(o, "registered");
	const char *hex;
	size_t hexlen;
	enum cds_err rc;

	if (!json_is_boolean(reg))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: \"registered\" is missing or not a boolean",
				what);
	memset(out, 0, sizeof(*out));
	out->registered = json_is_true(reg);
	if (!out->registered)
		return CDS_OK;
	rc = get_str(&hex, &hexlen, o, "account", what, err);
	if (!rc && cds_hex_decode_exact(out->account, sizeof(out->account), hex,
					hexlen, "account", NULL))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: account is not %zu hex digits", what,
			      2 * sizeof(out->account));
	if (!rc)
		rc = b64_exact(out->identity_key, sizeof(out->identity_key),
			       json_object_get(o, "identity_key"),
			       "identity_key", what, err);
	return rc;
}

/* Index of the request handle named s, preferring position hint. */
static long find_handle(const char *const *handles, size_t n, size_t hint,
			const char *s)
{
	if (hint < n && !strcmp(handles[hint], s))
		return (long)hint;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(handles[i], s))
			return (long)i;
	return -1;
}

enum cds_err cds_proto_parse_lookup(struct cds_proto_lookup *out,
				    const char *const *handles, size_t n,
				    const char *body, size_t len,
				    struct cds_error *err)
{
	static const char what[] = "POST /v1/lookup";
	json_t *root = NULL, *arr;
	bool *seen = NULL;
	enum cds_err rc;

	rc = load(&root, body, len, what, err);
	if (rc)
		goto out;
	arr = json_object_get(root, "results");
	seen = calloc(n ? n : 1, sizeof(*seen));
	if (!seen) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!json_is_array(arr) || json_array_size(arr) != n) {
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"results\" must be an array of %zu results",
			      what, n);
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		json_t *o = json_array_get(arr, i);
		const char *h;
		size_t hlen;
		long at;

		if (!json_is_object(o)) {
			rc = cds_fail(err, CDS_ERR_PROTO,
				      "reply to %s: results[%zu] is not an object", what, i);
			break;
		}
		rc = get_str(&h, &hlen, o, "handle", what, err);
		if (rc)
			break;
		at = find_handle(handles, n, i, h);
		if (at < 0 || seen[at] || strlen(h) != hlen) {
			rc = cds_fail(err, CDS_ERR_PROTO,
				      "reply to %s: results[%zu] names a handle not asked for, or twice",
				      what, i);
			break;
		}
		seen[at] = true;
		rc = lookup_one(&out[at], o, what, err);
	}
out:
	free(seen);
	json_decref(root);
	return rc;
}

/* Code and message of an error reply, quoted; "" if the body is not one. */
static void error_body(char code[128], char msg[128], long *index,
		       const char *body, size_t len)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *e = json_object_get(root, "error");
	json_t *c = json_object_get(e, "code"), *m = json_object_get(e, "message");
	json_t *i = json_object_get(e, "index");

	code[0] = msg[0] = '\0';
	*index = -1;
	if (json_is_string(c))
		quote_text(code, json_string_value(c));
	if (json_is_string(m))
		quote_text(msg, json_string_value(m));
	if (json_is_integer(i) && json_integer_value(i) >= 0)
		*index = (long)json_integer_value(i);
	json_decref(root);
}

static enum cds_err status_code(long status)
{
	switch (status) {
	case 400: return CDS_ERR_INVALID;
	case 401: case 403: return CDS_ERR_AUTH;
	case 404: return CDS_ERR_NOT_FOUND;
	case 409: return CDS_ERR_EPOCH;
	case 413: return CDS_ERR_TOO_LARGE;
	case 429: return CDS_ERR_RATE;
	case 503: return CDS_ERR_BUSY;
	default: return CDS_ERR_PROTO;
	}
}

enum cds_err cds_proto_status_error(long status, long retry_after,
				    const char *body, size_t len,
				    const char *what, struct cds_error *err)
{
	enum cds_err code = status_code(status);
	char ecode[128], msg[128], wait[64] = "";
	long index;

	error_body(ecode, msg, &index, body ? body : "", body ? len : 0);
	if (retry_after >= 0 && (code == CDS_ERR_RATE || code == CDS_ERR_BUSY))
		snprintf(wait, sizeof(wait), "; retry after %ld s", retry_after);
	if (code == CDS_ERR_RATE)
		return cds_fail_at(err, code, index,
				   "rate limited by the server on %s%s%s%s",
				   what, msg[0] ? ": " : "", msg, wait);
	return cds_fail_at(err, code, index, "%s failed: HTTP %ld%s%s%s%s%s",
			   what, status, ecode[0] ? " " : "", ecode,
			   msg[0] ? ": " : "", msg, wait);
}
