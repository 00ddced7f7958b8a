/*
 * protocol.c: strict JSON codecs of protocol v1 for the client: the shared
 * field readers, params, discover and error replies.  Buckets and plain
 * lookup are in protocol_buckets.c.
 *
 * Invariants:
 *   1. A parser either fills its outputs completely and returns CDS_OK, or
 *      returns CDS_ERR_PROTO (CDS_ERR_NOMEM) and leaves nothing allocated.
 *   2. Nothing the server sends reaches a message unquoted: text is cut
 *      short and control characters replaced (cds_proto_quote).
 *   3. Numbers are range-checked before they are narrowed.
 */
#include "protocol_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/codec.h"

bool cds_proto_token_text(const char *s, size_t len, size_t cap)
{
	if (len == 0 || len >= cap)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* Copy at most 120 printable bytes of server text into out. */
void cds_proto_quote(char out[128], const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < 120; i++)
		out[i] = (s[i] >= 0x20 && s[i] != 0x7f) ? s[i] : '?';
	out[i] = '\0';
	if (s[i])
		strcpy(out + i, "...");
}

enum cds_err cds_proto_load(json_t **root, const char *body, size_t len,
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

enum cds_err cds_proto_get_uint(uint64_t *out, json_t *o, const char *key,
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

enum cds_err cds_proto_get_str(const char **s, size_t *slen, json_t *o,
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
enum cds_err cds_proto_b64_exact(uint8_t *out, size_t n, json_t *v,
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

enum cds_err cds_proto_account_key(uint8_t account[static CDS_ACCOUNT_ID_BYTES],
				   uint8_t key[static CDS_IDENTITY_KEY_BYTES],
				   json_t *o, const char *what,
				   struct cds_error *err)
{
	const char *hex;
	size_t hexlen;
	enum cds_err rc = cds_proto_get_str(&hex, &hexlen, o, "account", what,
					    err);

	if (!rc && cds_hex_decode_exact(account, CDS_ACCOUNT_ID_BYTES, hex,
					hexlen, "account", NULL))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: account is not %d hex digits", what,
			      2 * CDS_ACCOUNT_ID_BYTES);
	if (!rc)
		rc = cds_proto_b64_exact(key, CDS_IDENTITY_KEY_BYTES,
					 json_object_get(o, "identity_key"),
					 "identity_key", what, err);
	return rc;
}

enum cds_err cds_proto_check_epoch(json_t *root, uint32_t epoch,
				   const char *what, struct cds_error *err)
{
	uint64_t e;
	enum cds_err rc = cds_proto_get_uint(&e, root, "epoch", 1,
					     CDS_PROTO_EPOCH_MAX, what, err);

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
	enum cds_err rc = cds_proto_get_str(&s, &n, root, key, what, err);

	if (rc)
		return rc;
	if (strlen(want) != n || memcmp(s, want, n)) {
		cds_proto_quote(q, s);
		return cds_fail(err, CDS_ERR_PROTO,
				"server offers %s '%s', this client speaks only '%s'",
				key, q, want);
	}
	return CDS_OK;
}

/* version 1, suite and mode: what this client speaks, or nothing. */
static enum cds_err params_dialect(json_t *root, const char *what,
				   struct cds_error *err)
{
	uint64_t version;
	enum cds_err rc;

	rc = cds_proto_get_uint(&version, root, "version", 0, UINT32_MAX, what,
				err);
	if (!rc && version != 1)
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "server speaks protocol version %llu, this client only 1",
			      (unsigned long long)version);
	if (!rc)
		rc = expect_string(root, "suite", "ristretto255-SHA512", what, err);
	if (!rc)
		rc = expect_string(root, "mode", "voprf", what, err);
	return rc;
}

/* The public key: 32 bytes, a valid element, not the identity (libsodium
 * accepts the identity's encoding; a key must not be it). */
static enum cds_err params_key(uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
			       json_t *root, const char *what,
			       struct cds_error *err)
{
	enum cds_err rc = cds_proto_b64_exact(pk, CDS_OPRF_ELEMENT_BYTES,
					      json_object_get(root, "public_key"),
					      "public_key", what, err);

	if (!rc && (sodium_is_zero(pk, CDS_OPRF_ELEMENT_BYTES) ||
		    !crypto_core_ristretto255_is_valid_point(pk)))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: public_key is not a valid ristretto255 element",
			      what);
	return rc;
}

enum cds_err cds_proto_parse_params(struct cds_params *p, const char *body,
				    size_t len, struct cds_error *err)
{
	static const char what[] = "GET /v1/params";
	json_t *root = NULL, *plain;
	uint64_t epoch, bits, batch, prefixes = CDS_PROTO_PREFIXES_DEFAULT;
	enum cds_err rc;

	rc = cds_proto_load(&root, body, len, what, err);
	if (!rc)
		rc = params_dialect(root, what, err);
	if (!rc)
		rc = cds_proto_get_uint(&epoch, root, "epoch", 1,
					CDS_PROTO_EPOCH_MAX, what, err);
	if (!rc)
		rc = cds_proto_get_uint(&bits, root, "prefix_bits", 0,
					CDS_PREFIX_BITS_MAX, what, err);
	if (!rc)
		rc = cds_proto_get_uint(&batch, root, "max_batch", 1, 1u << 24,
					what, err);
	if (!rc)
		rc = params_key(p->public_key, root, what, err);
	if (!rc)
		rc = cds_proto_b64_exact(p->transparency_key,
					 sizeof(p->transparency_key),
					 json_object_get(root, "transparency_key"),
					 "transparency_key", what, err);
	/* Optional (announced since the per-address limits): older servers
	 * take the default. */
	if (!rc && json_object_get(root, "max_prefixes"))
		rc = cds_proto_get_uint(&prefixes, root, "max_prefixes", 1,
					1u << 24, what, err);
	plain = json_object_get(root, "plain_lookup");
	if (!rc && !json_is_boolean(plain))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"plain_lookup\" is missing or not a boolean",
			      what);
	if (!rc) {
		p->epoch = (uint32_t)epoch;
		p->prefix_bits = (unsigned)bits;
		p->max_batch = (size_t)batch;
		p->max_prefixes = (size_t)prefixes;
		p->plain_lookup = json_is_true(plain);
	}
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

	rc = cds_proto_load(&root, body, len, what, err);
	if (!rc)
		rc = cds_proto_check_epoch(root, epoch, what, err);
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
		rc = cds_proto_b64_exact(evaluated + i * CDS_OPRF_ELEMENT_BYTES,
			       CDS_OPRF_ELEMENT_BYTES, json_array_get(arr, i),
			       field, what, err);
	}
	if (!rc)
		rc = cds_proto_b64_exact(proof, CDS_OPRF_PROOF_BYTES,
			       json_object_get(root, "proof"), "proof", what, err);
out:
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
		cds_proto_quote(code, json_string_value(c));
	if (json_is_string(m))
		cds_proto_quote(msg, json_string_value(m));
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
