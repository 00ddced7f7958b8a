/*
 * protocol_buckets.c: the client's codecs for bucket replies (POST
 * /v1/buckets) and plain lookup (POST /v1/lookup).  Same invariants as
 * protocol.c; in addition a bucket is accepted only as whole 104-byte
 * entries strictly sorted by fingerprint, and a group reply only if it
 * answers every prefix asked for exactly once.
 */
#include "protocol_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "crypto/mlog.h"

#define PREFIX_MAX ((UINT32_C(1) << CDS_PREFIX_BITS_MAX) - 1)

/* Append ,"etags":[...] for the n prefixes. */
static enum cds_err append_etags(struct cds_buf *out,
				 const char *const *etags, size_t n)
{
	enum cds_err rc = cds_buf_append(out, ",\"etags\":[", 10);

	for (size_t i = 0; !rc && i < n; i++) {
		const char *t = etags[i];

		if (i)
			rc = cds_buf_append(out, ",", 1);
		if (rc)
			break;
		if (!t || !*t) {
			rc = cds_buf_append(out, "null", 4);
			continue;
		}
		rc = cds_buf_append(out, "\"", 1);
		for (; !rc && *t; t++)
			rc = *t == '"' ? cds_buf_append(out, "\\\"", 2)
				       : cds_buf_append(out, t, 1);
		if (!rc)
			rc = cds_buf_append(out, "\"", 1);
	}
	return rc ? rc : cds_buf_append(out, "]", 1);
}

enum cds_err cds_proto_build_buckets(struct cds_buf *out, uint32_t epoch,
				     const uint32_t *prefixes,
				     const char *const *etags, size_t n,
				     struct cds_error *err)
{
	enum cds_err rc;

	cds_buf_reset(out);
	rc = cds_buf_appendf(out, "{\"epoch\":%u,\"prefixes\":[", epoch);
	for (size_t i = 0; !rc && i < n; i++)
		rc = cds_buf_appendf(out, "%s%u", i ? "," : "", prefixes[i]);
	if (!rc)
		rc = cds_buf_append(out, "]", 1);
	if (!rc && etags)
		rc = append_etags(out, etags, n);
	if (!rc)
		rc = cds_buf_append(out, "}", 1);
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

	rc = cds_proto_get_str(&s, &slen, o, "entries", what, err);
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

/* Index of prefix p in the request, or -1. */
static long find_prefix(const uint32_t *prefixes, size_t n, uint64_t p)
{
	for (size_t i = 0; i < n; i++)
		if (prefixes[i] == p)
			return (long)i;
	return -1;
}

void cds_proto_buckets_free(struct cds_proto_bucket *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(out[i].entries);
		out[i].entries = NULL;
	}
}

/* A proof: canonical base64 of exactly 32 K bytes ("" for K = 0). */
static enum cds_err tproof_decode(uint8_t proof[static CDS_TPROOF_MAX_BYTES],
				  unsigned prefix_bits, const char *s,
				  size_t slen, const char *name,
				  struct cds_error *err)
{
	size_t want = (size_t)prefix_bits * CDS_HASH_BYTES, got = 0;

	if (prefix_bits > CDS_PREFIX_BITS_MAX ||
	    (slen && cds_b64_decode(proof, CDS_TPROOF_MAX_BYTES, &got, s, slen,
				    NULL)) || got != want)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: proof is not %zu bytes of padded base64 (%u levels)",
				name, want, prefix_bits);
	return CDS_OK;
}

/* "version" and "proof" of one bucket object o (not_modified ones too). */
static enum cds_err bucket_tproof(struct cds_proto_bucket *b, json_t *o,
				  unsigned prefix_bits, const char *what,
				  struct cds_error *err)
{
	char name[96];
	const char *s;
	size_t slen;
	enum cds_err rc;

	snprintf(name, sizeof(name), "%s, bucket %u", what, b->prefix);
	rc = cds_proto_get_uint(&b->version, o, "version", 1, INT64_MAX, name,
				err);
	if (!rc)
		rc = cds_proto_get_str(&s, &slen, o, "proof", name, err);
	if (!rc)
		rc = tproof_decode(b->proof, prefix_bits, s, slen, name, err);
	return rc;
}

enum cds_err cds_proto_parse_tproof_headers(uint64_t *version,
					    uint8_t proof[static CDS_TPROOF_MAX_BYTES],
					    unsigned prefix_bits,
					    const char *version_hdr,
					    const char *proof_hdr,
					    struct cds_error *err)
{
	static const char name[] = "GET /v1/buckets/P (raw)";
	char *end = NULL;
	unsigned long long v = 0;

	if (!version_hdr || version_hdr[0] < '1' || version_hdr[0] > '9' ||
	    strlen(version_hdr) > 19 ||
	    ((v = strtoull(version_hdr, &end, 10)), *end) || v > INT64_MAX)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: header CDS-Version is missing or not a version number",
				name);
	if (!proof_hdr)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: header CDS-Proof is missing", name);
	*version = v;
	return tproof_decode(proof, prefix_bits, proof_hdr, strlen(proof_hdr),
			     name, err);
}

/*
 * One item o of a group reply into b: not_modified (allowed only if an ETag
 * was sent), or entries and an optional ETag (kept if it fits and is
 * token text, as GET's would be); either way its version and proof.
 */
static enum cds_err bucket_item(struct cds_proto_bucket *b, json_t *o,
				bool sent_etag, unsigned prefix_bits,
				const char *what, struct cds_error *err)
{
	json_t *nm = json_object_get(o, "not_modified");
	json_t *tag = json_object_get(o, "etag");
	enum cds_err rc = bucket_tproof(b, o, prefix_bits, what, err);

	if (rc)
		return rc;
	if (nm) {
		if (!json_is_true(nm) || !sent_etag)
			return cds_fail(err, CDS_ERR_PROTO,
					"reply to %s: bucket %u: \"not_modified\" must be true, and only for a bucket sent with an ETag",
					what, b->prefix);
		b->not_modified = true;
		return CDS_OK;
	}
	if (tag && !json_is_string(tag))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: bucket %u: \"etag\" is not a string",
				what, b->prefix);
	if (tag && cds_proto_token_text(json_string_value(tag), json_string_length(tag),
				 sizeof(b->etag)))
		memcpy(b->etag, json_string_value(tag), json_string_length(tag) + 1);
	return bucket_entries(b, o, what, err);
}

/* Fill out[] from the "buckets" array; each slot at most once. */
static enum cds_err buckets_array(struct cds_proto_bucket *out,
				  unsigned prefix_bits,
				  const uint32_t *prefixes,
				  const char *const *etags, size_t n,
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
		rc = cds_proto_get_uint(&p, o, "prefix", 0, PREFIX_MAX, what, err);
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
		rc = bucket_item(&out[at], o,
				 etags && etags[at] && etags[at][0], prefix_bits,
				 what, err);
	}
	free(seen);
	return rc;
}

enum cds_err cds_proto_parse_buckets(struct cds_proto_bucket *out,
				     uint32_t epoch, unsigned prefix_bits,
				     const uint32_t *prefixes,
				     const char *const *etags, size_t n,
				     const char *body, size_t len,
				     struct cds_error *err)
{
	static const char what[] = "POST /v1/buckets";
	json_t *root = NULL, *arr;
	enum cds_err rc;

	memset(out, 0, n * sizeof(*out));
	rc = cds_proto_load(&root, body, len, what, err);
	if (!rc)
		rc = cds_proto_check_epoch(root, epoch, what, err);
	if (rc)
		goto out;
	arr = json_object_get(root, "buckets");
	if (!json_is_array(arr) || json_array_size(arr) != n) {
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"buckets\" must be an array of the %zu buckets asked for",
			      what, n);
		goto out;
	}
	rc = buckets_array(out, prefix_bits, prefixes, etags, n, arr, what, err);
out:
	if (rc)
		cds_proto_buckets_free(out, n);
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

	if (!json_is_boolean(reg))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: \"registered\" is missing or not a boolean",
				what);
	memset(out, 0, sizeof(*out));
	out->registered = json_is_true(reg);
	if (!out->registered)
		return CDS_OK;
	return cds_proto_account_key(out->account, out->identity_key, o, what,
				     err);
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

/* results[i] into out[], at the slot of the handle it names (each once). */
static enum cds_err lookup_item(struct cds_proto_lookup *out, bool *seen,
				const char *const *handles, size_t n, size_t i,
				json_t *o, const char *what,
				struct cds_error *err)
{
	const char *h;
	size_t hlen;
	long at;
	enum cds_err rc;

	if (!json_is_object(o))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: results[%zu] is not an object", what, i);
	rc = cds_proto_get_str(&h, &hlen, o, "handle", what, err);
	if (rc)
		return rc;
	at = strlen(h) == hlen ? find_handle(handles, n, i, h) : -1;
	if (at < 0 || seen[at])
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: results[%zu] names a handle not asked for, or twice",
				what, i);
	seen[at] = true;
	return lookup_one(&out[at], o, what, err);
}

enum cds_err cds_proto_parse_lookup(struct cds_proto_lookup *out,
				    const char *const *handles, size_t n,
				    const char *body, size_t len,
				    struct cds_error *err)
{
	static const char what[] = "POST /v1/lookup";
	json_t *root = NULL, *arr;
	bool *seen = calloc(n ? n : 1, sizeof(*seen));
	enum cds_err rc;

	if (!seen)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	rc = cds_proto_load(&root, body, len, what, err);
	arr = json_object_get(root, "results");
	if (!rc && (!json_is_array(arr) || json_array_size(arr) != n))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"results\" must be an array of %zu results",
			      what, n);
	for (size_t i = 0; i < n && !rc; i++)
		rc = lookup_item(out, seen, handles, n, i, json_array_get(arr, i),
				 what, err);
	free(seen);
	json_decref(root);
	return rc;
}
