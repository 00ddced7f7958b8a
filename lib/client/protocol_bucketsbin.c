/*
 * protocol_bucketsbin.c: the client's parser of POST /v1/buckets' binary
 * answer (core/bucketsbin.h), which it asks for with Accept:
 * application/octet-stream; a server that answers in JSON anyway is read
 * by cds_proto_parse_buckets.
 *
 * Invariants: the same as the JSON parser's (protocol.h), and in addition
 * the items come in the order asked and the body ends with the last one.
 * Every length is checked against what is left before it is used, so no
 * read goes past body[len).
 */
#include "protocol_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bucketsbin.h"
#include "core/codec.h"

static const char what[] = "POST /v1/buckets (binary)";

/* A cursor over the body. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static bool take(struct rd *r, const uint8_t **out, size_t n)
{
	if (r->left < n)
		return false;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static enum cds_err short_body(uint32_t prefix, struct cds_error *err)
{
	return cds_fail(err, CDS_ERR_PROTO,
			"reply to %s: ends inside the item of bucket %u", what,
			prefix);
}

/* The rest of a bucket item: its ETag and its entries. */
static enum cds_err bucket_rest(struct cds_proto_bucket *b, struct rd *r,
				struct cds_error *err)
{
	char name[96];
	const uint8_t *p;
	size_t tlen, elen;

	if (!take(r, &p, 1))
		return short_body(b->prefix, err);
	tlen = p[0];
	if (!take(r, &p, tlen))
		return short_body(b->prefix, err);
	if (cds_proto_token_text((const char *)p, tlen, sizeof(b->etag))) {
		memcpy(b->etag, p, tlen);
		b->etag[tlen] = '\0';
	}
	if (!take(r, &p, 4))
		return short_body(b->prefix, err);
	elen = cds_get_u32be(p);
	if (!take(r, &p, elen))
		return short_body(b->prefix, err);
	snprintf(name, sizeof(name), "reply to %s: bucket %u", what, b->prefix);
	if (cds_proto_check_entries(p, elen, name, err))
		return CDS_ERR_PROTO;
	b->entries = malloc(elen ? elen : 1);
	if (!b->entries)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for bucket %u",
				b->prefix);
	if (elen)
		memcpy(b->entries, p, elen);
	b->n = elen / CDS_ENTRY_BYTES;
	return CDS_OK;
}

/* One item, which must answer prefix (sent with an ETag if sent_etag). */
static enum cds_err item(struct cds_proto_bucket *b, struct rd *r,
			 uint32_t prefix, bool sent_etag, unsigned prefix_bits,
			 struct cds_error *err)
{
	size_t want = (size_t)prefix_bits * CDS_HASH_BYTES;
	const uint8_t *p;
	uint8_t kind;

	if (!take(r, &p, CDS_BUCKETSBIN_ITEM_BYTES))
		return short_body(prefix, err);
	b->prefix = cds_get_u32be(p);
	kind = p[4];
	b->version = cds_get_u64be(p + 5);
	if (b->prefix != prefix)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: bucket %u where bucket %u was asked for",
				what, b->prefix, prefix);
	if (b->version < 1 || b->version > INT64_MAX)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: bucket %u: version %llu is out of range",
				what, prefix, (unsigned long long)b->version);
	if (((size_t)p[13] << 8 | p[14]) != want || !take(r, &p, want))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: bucket %u: proof is not %zu bytes (%u levels)",
				what, prefix, want, prefix_bits);
	if (want)
		memcpy(b->proof, p, want);
	if (kind == CDS_BUCKETSBIN_BUCKET)
		return bucket_rest(b, r, err);
	if (kind != CDS_BUCKETSBIN_NOT_MODIFIED || !sent_etag)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: bucket %u: kind %u (not modified only for a bucket sent with an ETag)",
				what, prefix, kind);
	b->not_modified = true;
	return CDS_OK;
}

enum cds_err cds_proto_parse_buckets_bin(struct cds_proto_bucket *out,
					 uint32_t epoch, unsigned prefix_bits,
					 const uint32_t *prefixes,
					 const char *const *etags, size_t n,
					 const uint8_t *body, size_t len,
					 struct cds_error *err)
{
	struct rd r = {body, len};
	const uint8_t *p;
	enum cds_err rc = CDS_OK;

	memset(out, 0, n * sizeof(*out));
	if (prefix_bits > CDS_PREFIX_BITS_MAX)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: %u prefix bits is more than %d",
				what, prefix_bits, CDS_PREFIX_BITS_MAX);
	if (!take(&r, &p, CDS_BUCKETSBIN_HEAD_BYTES))
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: %zu bytes is too short", what, len);
	if (cds_get_u32be(p) != epoch || cds_get_u32be(p + 4) != n)
		return cds_fail(err, CDS_ERR_PROTO,
				"reply to %s: epoch %u and %u buckets, not epoch %u and the %zu asked for",
				what, cds_get_u32be(p), cds_get_u32be(p + 4),
				epoch, n);
	for (size_t i = 0; i < n && !rc; i++)
		rc = item(&out[i], &r, prefixes[i],
			  etags && etags[i] && etags[i][0], prefix_bits, err);
	if (!rc && r.left)
		rc = cds_fail(err, CDS_ERR_PROTO,
			      "reply to %s: bytes after the last bucket (%zu)",
			      what, r.left);
	if (rc)
		cds_proto_buckets_free(out, n);
	return rc;
}
