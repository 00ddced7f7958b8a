/*
 * fuzz_client_reply.c: libFuzzer harness for the client's parsers of server
 * replies (lib/client/protocol.c, protocol_buckets.c, protocol_bucketsbin.c,
 * protocol_tlog.c): params, discover, one bucket, a group of buckets (JSON
 * or binary), plain lookup, error bodies, and the transparency routes (head,
 * consistency proof, versions page, bucket history, the account's record).
 *
 * Input: byte 0 picks the parser, byte 1 a count (elements, prefixes,
 * handles; 1..8, its low 3 bits; for the binary group reply, bit 3 says
 * whether ETags were sent and bit 4 is prefix_bits), the rest is the reply
 * body.  Beyond "no crash, no leak":
 * a parser that fails says CDS_ERR_PROTO (or NOMEM) with a message and
 * leaves nothing allocated; one that succeeds returns what was asked for
 * (entries whole and strictly sorted, prefixes as requested).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/protocol.h"
#include "client/protocol_tlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const handles[8] = {
	"tel:+15551234567", "mailto:a@b.org", "tel:+442079460958",
	"mailto:bob@example.org", "tel:+12015550123", "mailto:x@y",
	"tel:+4930123456", "mailto:carol@example.com",
};

static void check_failed(enum cds_err rc, const struct cds_error *err)
{
	assert(rc == CDS_ERR_PROTO || rc == CDS_ERR_NOMEM);
	assert(err->msg[0] != '\0');
}

static void check_entries(const struct cds_proto_bucket *b)
{
	for (size_t i = 1; i < b->n; i++)
		assert(memcmp(b->entries + (i - 1) * CDS_ENTRY_BYTES,
			      b->entries + i * CDS_ENTRY_BYTES, CDS_FP_BYTES) < 0);
}

static const uint32_t group_prefixes[8] = {0, 1, 2, 3, 4, 5, 6, 7};

/* ETags sent for even prefixes when revalidating, else none. */
static const char *const *group_etags(bool revalidate)
{
	static const char *const tags[8] = {"\"a\"", NULL, "\"c\"", NULL,
					    "\"e\"", NULL, "\"g\"", NULL};

	return revalidate ? tags : NULL;
}

/* What a parser of a group reply promises, whichever its form; frees. */
static void check_group(enum cds_err rc, struct cds_proto_bucket *out,
			const char *const *etags, size_t n,
			const struct cds_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (rc) {
			assert(out[i].entries == NULL);
			continue;
		}
		assert(out[i].prefix == group_prefixes[i]);
		/* not_modified only where an ETag was sent, and then bare. */
		assert(!out[i].not_modified || (etags && etags[i]));
		assert(!out[i].not_modified || out[i].entries == NULL);
		assert(strlen(out[i].etag) < sizeof(out[i].etag));
		check_entries(&out[i]);
		free(out[i].entries);
	}
	if (rc)
		check_failed(rc, err);
}

/* A JSON group reply, revalidating or not. */
static void many_buckets(const char *body, size_t len, size_t n,
			 bool revalidate, struct cds_error *err)
{
	const char *const *etags = group_etags(revalidate);
	struct cds_proto_bucket out[8];
	enum cds_err rc = cds_proto_parse_buckets(out, 1, 0, group_prefixes,
						  etags, n, body, len, err);

	check_group(rc, out, etags, n, err);
}

/* A binary group reply (core/bucketsbin.h); flags is byte 1. */
static void many_buckets_bin(const uint8_t *body, size_t len, size_t n,
			     uint8_t flags, struct cds_error *err)
{
	const char *const *etags = group_etags(flags & 8);
	struct cds_proto_bucket out[8];
	enum cds_err rc = cds_proto_parse_buckets_bin(out, 1, (flags >> 4) & 1,
						      group_prefixes, etags, n,
						      body, len, err);

	check_group(rc, out, etags, n, err);
}

/* The transparency parsers (which 6..10); each checks what it promises. */
static enum cds_err transparency(int which, size_t n, const char *body,
				 size_t len, struct cds_error *err)
{
	uint8_t proof[CDS_MLOG_PROOF_MAX][CDS_HASH_BYTES];
	struct cds_thead h;
	struct cds_proto_tversion v;
	struct cds_proto_thistory hist;
	struct cds_proto_me me;
	size_t m;
	enum cds_err rc;

	switch (which) {
	case 6:
		rc = cds_proto_parse_thead(&h, n, body, len, err);
		assert(rc || h.version == n);
		return rc;
	case 7:
		return cds_proto_parse_consistency(proof, &m, 1, n, body, len, err);
	case 8:
		rc = cds_proto_parse_tversion(&v, 3, (unsigned)n, 1, body, len, err);
		for (size_t i = 1; !rc && i < v.n; i++)
			assert(v.ch[i - 1].prefix < v.ch[i].prefix);
		assert(rc || !v.more || !v.n || v.next > v.ch[v.n - 1].prefix);
		cds_proto_tversion_fini(&v);
		return rc;
	case 9:
		rc = cds_proto_parse_thistory(&hist, 1, (uint32_t)n, 2, body, len,
					      err);
		for (size_t i = 0; !rc && i < hist.n; i++)
			assert(hist.ch[i].version > 2);
		cds_proto_thistory_fini(&hist);
		return rc;
	default:
		rc = cds_proto_parse_me(&me, body, len, err);
		cds_proto_me_fini(&me);
		return rc;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ev[8 * CDS_OPRF_ELEMENT_BYTES], proof[CDS_OPRF_PROOF_BYTES];
	struct cds_proto_lookup res[8];
	struct cds_params p;
	struct cds_error err;
	const char *body;
	size_t len, n;
	enum cds_err rc = CDS_OK;

	if (size < 2)
		return 0;
	n = 1 + data[1] % 8;
	body = (const char *)data + 2;
	len = size - 2;
	cds_error_clear(&err);
	switch (data[0] % 12) {
	case 0:
		rc = cds_proto_parse_params(&p, body, len, &err);
		if (!rc)
			assert(p.epoch >= 1 && p.prefix_bits <= 24 && p.max_batch >= 1);
		break;
	case 1:
		rc = cds_proto_parse_discover(ev, proof, 1, n, body, len, &err);
		break;
	case 2:
		many_buckets(body, len, n, true, &err);
		return 0;
	case 3:
		many_buckets(body, len, n, false, &err);
		return 0;
	case 4:
		rc = cds_proto_parse_lookup(res, handles, n, body, len, &err);
		break;
	case 5:
		rc = cds_proto_status_error(400 + data[1], -1, body, len, "fuzz", &err);
		assert(rc != CDS_OK && err.msg[0]);
		for (const char *s = err.msg; *s; s++)
			assert((unsigned char)*s >= 0x20 && *s != 0x7f);
		return 0;
	case 11:
		many_buckets_bin(data + 2, len, n, data[1], &err);
		return 0;
	default:
		rc = transparency(data[0] % 12, n, body, len, &err);
		break;
	}
	if (rc)
		check_failed(rc, &err);
	return 0;
}
