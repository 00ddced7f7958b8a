/*
 * protocol_tlog.c: strict codecs of the directory transparency routes and
 * of GET /v1/accounts/me (protocol_tlog.h).
 *
 * Invariants (as protocol.c):
 *   1. A parser fills its outputs and returns CDS_OK, or returns an error
 *      naming the route and the field; its _fini frees whatever it left.
 *   2. Lists are checked canonical here, once, so the verifiers (tverify.c,
 *      audit.c, monitor.c) may rely on order and lengths.
 */
#include "protocol_int.h"
#include "client/protocol_tlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/handle.h"

#define PREFIX_LIMIT(k) ((uint64_t)1 << (k))

/* o[key] as a version number (1 .. 2^63). */
static enum cds_err get_version(uint64_t *v, json_t *o, const char *key,
				const char *what, struct cds_error *err)
{
	return cds_proto_get_uint(v, o, key, 1, INT64_MAX, what, err);
}

enum cds_err cds_proto_parse_thead(struct cds_thead *h, uint64_t want_version,
				   const char *body, size_t len,
				   struct cds_error *err)
{
	static const char what[] = "GET /v1/transparency/head";
	json_t *root = NULL;
	uint64_t epoch = 0;
	enum cds_err rc;

	memset(h, 0, sizeof(*h));
	rc = cds_proto_load(&root, body, len, what, err);
	if (!rc)
		rc = cds_proto_get_uint(&epoch, root, "epoch", 1,
					CDS_PROTO_EPOCH_MAX, what, err);
	if (!rc)
		rc = get_version(&h->version, root, "version", what, err);
	if (!rc && want_version && h->version != want_version)
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s?version=%llu is the head of version %llu",
			      what, (unsigned long long)want_version,
			      (unsigned long long)h->version);
	if (!rc)
		rc = cds_proto_get_uint(&h->time_ms, root, "time_ms", 0,
					INT64_MAX, what, err);
	if (!rc)
		rc = cds_proto_b64_exact(h->root, sizeof(h->root),
					 json_object_get(root, "root"), "root",
					 what, err);
	if (!rc)
		rc = cds_proto_b64_exact(h->log_root, sizeof(h->log_root),
					 json_object_get(root, "log_root"),
					 "log_root", what, err);
	if (!rc)
		rc = cds_proto_b64_exact(h->signature, sizeof(h->signature),
					 json_object_get(root, "signature"),
					 "signature", what, err);
	h->epoch = (uint32_t)epoch;
	json_decref(root);
	return rc;
}

enum cds_err cds_proto_parse_consistency(uint8_t proof[][CDS_HASH_BYTES],
					 size_t *n, uint64_t from, uint64_t to,
					 const char *body, size_t len,
					 struct cds_error *err)
{
	static const char what[] = "GET /v1/transparency/consistency";
	json_t *root = NULL, *arr;
	uint64_t f, t;
	char field[32];
	enum cds_err rc;

	*n = 0;
	rc = cds_proto_load(&root, body, len, what, err);
	if (!rc)
		rc = get_version(&f, root, "from", what, err);
	if (!rc)
		rc = get_version(&t, root, "to", what, err);
	if (!rc && (f != from || t != to))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s is from %llu to %llu, not %llu to %llu",
			      what, (unsigned long long)f, (unsigned long long)t,
			      (unsigned long long)from, (unsigned long long)to);
	arr = json_object_get(root, "proof");
	if (!rc && (!json_is_array(arr) ||
		    json_array_size(arr) > CDS_MLOG_PROOF_MAX))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"proof\" must be an array of at most %d hashes",
			      what, CDS_MLOG_PROOF_MAX);
	for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
		snprintf(field, sizeof(field), "proof[%zu]", i);
		rc = cds_proto_b64_exact(proof[i], CDS_HASH_BYTES,
					 json_array_get(arr, i), field, what, err);
	}
	if (!rc)
		*n = json_array_size(arr);
	json_decref(root);
	return rc;
}

/* Decode the base64 string v (in field `field`) into a fresh buffer of
 * whole `unit`-byte items: *out, *count. */
static enum cds_err b64_items(uint8_t **out, size_t *count, json_t *v,
			      size_t unit, const char *field, const char *what,
			      struct cds_error *err)
{
	size_t slen = json_string_length(v), got = 0;

	*out = NULL;
	*count = 0;
	if (!json_is_string(v))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: %s is not a string", what, field);
	*out = malloc(slen / 4 * 3 + 1);
	if (!*out)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for %s", field);
	if (cds_b64_decode(*out, slen / 4 * 3 + 1, &got, json_string_value(v),
			   slen, NULL) || got != unit)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: %s is not %zu bytes of padded base64",
				what, field, unit);
	*count = 1;
	return CDS_OK;
}

/*
 * An array of base64 items of `unit` bytes each, concatenated into *out:
 * removed fingerprints or added entries.  Strict order by the first
 * CDS_FP_BYTES bytes.
 */
static enum cds_err item_list(uint8_t **out, size_t *n, json_t *arr,
			      size_t unit, const char *name, const char *what,
			      struct cds_error *err)
{
	char field[64];
	enum cds_err rc = CDS_OK;
	size_t m = json_array_size(arr);

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: \"%s\" is missing or not an array",
				what, name);
	if (m && !(*out = malloc(m * unit)))
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for %s", name);
	for (size_t i = 0; !rc && i < m; i++) {
		uint8_t *one = NULL;
		size_t c;

		snprintf(field, sizeof(field), "%s[%zu]", name, i);
		rc = b64_items(&one, &c, json_array_get(arr, i), unit, field,
			       what, err);
		if (!rc)
			memcpy(*out + i * unit, one, unit);
		free(one);
		if (!rc && i && memcmp(*out + (i - 1) * unit, *out + i * unit,
				       CDS_FP_BYTES) >= 0)
			rc = cds_fail(err, CDS_ERR_PROTO,
				      "reply to %s: %s is not in fingerprint order",
				      what, field);
	}
	if (!rc)
		*n = m;
	return rc;
}

/* The removed and added lists of one change object o. */
static enum cds_err change_lists(struct cds_proto_tchange *c, json_t *o,
				 const char *what, struct cds_error *err)
{
	enum cds_err rc = item_list(&c->removed, &c->n_removed,
				    json_object_get(o, "removed"), CDS_FP_BYTES,
				    "removed", what, err);

	if (!rc)
		rc = item_list(&c->added, &c->n_added,
			       json_object_get(o, "added"), CDS_ENTRY_BYTES,
			       "added", what, err);
	return rc;
}

static void changes_free(struct cds_proto_tchange *ch, size_t n)
{
	for (size_t i = 0; ch && i < n; i++) {
		free(ch[i].removed);
		free(ch[i].added);
	}
	free(ch);
}

/* Allocate the change array of arr (an array of objects). */
static enum cds_err changes_alloc(struct cds_proto_tchange **ch, json_t *arr,
				  const char *name, const char *what,
				  struct cds_error *err)
{
	*ch = NULL;
	if (!json_is_array(arr))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: \"%s\" is missing or not an array",
				what, name);
	*ch = calloc(json_array_size(arr) + 1, sizeof(**ch));
	if (!*ch)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for %s", name);
	return CDS_OK;
}

/* changes[i] of a versions page: prefix ascending from `lo`, below lim. */
static enum cds_err version_change(struct cds_proto_tchange *c, json_t *o,
				   uint64_t lo, uint64_t lim, size_t i,
				   const char *what, struct cds_error *err)
{
	uint64_t p;
	enum cds_err rc;

	if (!json_is_object(o))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: changes[%zu] is not an object", what, i);
	rc = cds_proto_get_uint(&p, o, "prefix", 0, UINT32_MAX, what, err);
	if (!rc && (p < lo || p >= lim))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: changes[%zu] has prefix %llu, out of order or range",
			      what, i, (unsigned long long)p);
	if (rc)
		return rc;
	c->prefix = (uint32_t)p;
	return change_lists(c, o, what, err);
}

/* The page's "next", if any: a prefix past the page's, below lim. */
static enum cds_err version_next(struct cds_proto_tversion *v, json_t *root,
				 uint64_t lo, uint64_t lim, const char *what,
				 struct cds_error *err)
{
	json_t *nx = json_object_get(root, "next");
	uint64_t p;
	enum cds_err rc;

	if (!nx || json_is_null(nx))
		return CDS_OK;
	rc = cds_proto_get_uint(&p, root, "next", 0, UINT32_MAX, what, err);
	if (!rc && (p < lo || p >= lim))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"next\" = %llu is not a prefix after this page's",
			      what, (unsigned long long)p);
	if (!rc) {
		v->more = true;
		v->next = (uint32_t)p;
	}
	return rc;
}

/* Head fields of a versions page. */
static enum cds_err version_head(struct cds_proto_tversion *v, json_t *root,
				 uint64_t version, const char *what,
				 struct cds_error *err)
{
	uint64_t e, got;
	enum cds_err rc;

	rc = cds_proto_get_uint(&e, root, "epoch", 1, CDS_PROTO_EPOCH_MAX, what,
				err);
	if (!rc)
		rc = get_version(&got, root, "version", what, err);
	if (!rc && got != version)
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s is version %llu", what,
			      (unsigned long long)got);
	if (!rc)
		rc = cds_proto_get_uint(&v->time_ms, root, "time_ms", 0,
					INT64_MAX, what, err);
	if (!rc)
		rc = cds_proto_b64_exact(v->root, sizeof(v->root),
					 json_object_get(root, "root"), "root",
					 what, err);
	v->epoch = (uint32_t)e;
	v->version = version;
	return rc;
}

enum cds_err cds_proto_parse_tversion(struct cds_proto_tversion *out,
				      uint64_t version, unsigned prefix_bits,
				      uint32_t from_prefix,
				      const char *body, size_t len,
				      struct cds_error *err)
{
	char what[64];
	json_t *root = NULL, *arr = NULL;
	uint64_t lo = from_prefix, lim = PREFIX_LIMIT(prefix_bits);
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "GET /v1/transparency/versions/%llu",
		 (unsigned long long)version);
	rc = cds_proto_load(&root, body, len, what, err);
	if (!rc)
		rc = version_head(out, root, version, what, err);
	if (!rc) {
		arr = json_object_get(root, "changes");
		rc = changes_alloc(&out->ch, arr, "changes", what, err);
	}
	for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
		rc = version_change(&out->ch[i], json_array_get(arr, i), lo, lim,
				    i, what, err);
		out->n = i + 1;
		lo = (uint64_t)out->ch[i].prefix + 1;
	}
	if (!rc)
		rc = version_next(out, root, lo, lim, what, err);
	json_decref(root);
	return rc;
}

void cds_proto_tversion_fini(struct cds_proto_tversion *v)
{
	changes_free(v->ch, v->n);
	v->ch = NULL;
	v->n = 0;
}

/* versions[i] of a bucket history: versions ascending past `lo`. */
static enum cds_err history_change(struct cds_proto_tchange *c, json_t *o,
				   uint32_t prefix, uint64_t lo, size_t i,
				   const char *what, struct cds_error *err)
{
	enum cds_err rc;

	if (!json_is_object(o))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: versions[%zu] is not an object", what, i);
	rc = get_version(&c->version, o, "version", what, err);
	if (!rc && c->version <= lo)
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: versions[%zu] is version %llu, out of order or not after since",
			      what, i, (unsigned long long)c->version);
	if (rc)
		return rc;
	c->prefix = prefix;
	return change_lists(c, o, what, err);
}

/* "next", if any: the last version listed, so that asking since it goes
 * on where this answer stopped (and a list cut short is never empty). */
static enum cds_err history_next(struct cds_proto_thistory *h, json_t *root,
				 uint64_t last, const char *what,
				 struct cds_error *err)
{
	json_t *nx = json_object_get(root, "next");
	uint64_t v;
	enum cds_err rc;

	if (!nx || json_is_null(nx))
		return CDS_OK;
	rc = get_version(&v, root, "next", what, err);
	if (!rc && (!h->n || v != last))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"next\" = %llu is not the last version listed",
			      what, (unsigned long long)v);
	if (!rc) {
		h->more = true;
		h->next = v;
	}
	return rc;
}

enum cds_err cds_proto_parse_thistory(struct cds_proto_thistory *out,
				      uint32_t epoch, uint32_t prefix,
				      uint64_t since,
				      const char *body, size_t len,
				      struct cds_error *err)
{
	char what[80];
	json_t *root = NULL, *arr = NULL;
	uint64_t p, lo = since;
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	snprintf(what, sizeof(what), "GET /v1/transparency/buckets/%u/history",
		 prefix);
	rc = cds_proto_load(&root, body, len, what, err);
	if (!rc)
		rc = cds_proto_check_epoch(root, epoch, what, err);
	if (!rc)
		rc = cds_proto_get_uint(&p, root, "prefix", 0, UINT32_MAX, what,
					err);
	if (!rc && p != prefix)
		rc = cds_fail(err, CDS_ERR_PROTO, "reply to %s is for bucket %llu",
			      what, (unsigned long long)p);
	if (!rc) {
		arr = json_object_get(root, "versions");
		rc = changes_alloc(&out->ch, arr, "versions", what, err);
	}
	for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
		rc = history_change(&out->ch[i], json_array_get(arr, i), prefix,
				    lo, i, what, err);
		out->n = i + 1;
		lo = out->ch[i].version;
	}
	if (!rc)
		rc = history_next(out, root, lo, what, err);
	json_decref(root);
	return rc;
}

void cds_proto_thistory_fini(struct cds_proto_thistory *h)
{
	changes_free(h->ch, h->n);
	h->ch = NULL;
	h->n = 0;
}

/* handles[i] of GET /v1/accounts/me: a canonical handle, copied. */
static enum cds_err me_handle(char **out, json_t *v, size_t i,
			      const char *what, struct cds_error *err)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!json_is_string(v) || strlen(s) != len ||
	    cds_handle_check(s, len, NULL, NULL) != CDS_OK)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: handles[%zu] is not a canonical handle",
				what, i);
	*out = strdup(s);
	if (!*out)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	return CDS_OK;
}

enum cds_err cds_proto_parse_me(struct cds_proto_me *out, const char *body,
				size_t len, struct cds_error *err)
{
	static const char what[] = "GET /v1/accounts/me";
	json_t *root = NULL, *arr;
	enum cds_err rc;

	memset(out, 0, sizeof(*out));
	rc = cds_proto_load(&root, body, len, what, err);
	if (!rc)
		rc = cds_proto_account_key(out->account, out->identity_key, root,
					   what, err);
	arr = json_object_get(root, "handles");
	if (!rc && !json_is_array(arr))
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: \"handles\" is missing or not an array",
			      what);
	if (!rc && !(out->handles = calloc(json_array_size(arr) + 1,
					    sizeof(*out->handles))))
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
		rc = me_handle(&out->handles[i], json_array_get(arr, i), i, what,
			       err);
		out->n += !rc;
	}
	json_decref(root);
	return rc;
}

void cds_proto_me_fini(struct cds_proto_me *m)
{
	for (size_t i = 0; m->handles && i < m->n; i++)
		free(m->handles[i]);
	free(m->handles);
	m->handles = NULL;
	m->n = 0;
}
