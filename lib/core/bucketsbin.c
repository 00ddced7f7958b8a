/*
 * bucketsbin.c: the writer of POST /v1/buckets' binary answer
 * (bucketsbin.h).
 */
#include "bucketsbin.h"

#include <string.h>

#include "codec.h"

size_t cds_bucketsbin_item_size(size_t proof_len, const char *etag,
				size_t entries_len)
{
	size_t n = CDS_BUCKETSBIN_ITEM_BYTES + proof_len;

	return etag ? n + 1 + strlen(etag) + 4 + entries_len : n;
}

enum cds_err cds_bucketsbin_head(struct cds_buf *out, uint32_t epoch,
				 uint32_t n)
{
	uint8_t h[CDS_BUCKETSBIN_HEAD_BYTES];

	cds_put_u32be(h, epoch);
	cds_put_u32be(h + 4, n);
	return cds_buf_append(out, h, sizeof(h));
}

enum cds_err cds_bucketsbin_item(struct cds_buf *out, uint32_t prefix,
				 uint64_t version, const uint8_t *proof,
				 size_t proof_len, const char *etag,
				 const uint8_t *entries, size_t entries_len)
{
	size_t tlen = etag ? strlen(etag) : 0;
	uint8_t *p;
	enum cds_err rc;

	if (proof_len > UINT16_MAX || tlen > CDS_BUCKETSBIN_ETAG_MAX ||
	    entries_len > UINT32_MAX)
		return CDS_ERR_INVALID;
	rc = cds_buf_reserve(out, cds_bucketsbin_item_size(proof_len, etag,
							   entries_len));
	if (rc)
		return rc;
	p = out->data + out->len;
	cds_put_u32be(p, prefix);
	p[4] = etag ? CDS_BUCKETSBIN_BUCKET : CDS_BUCKETSBIN_NOT_MODIFIED;
	cds_put_u64be(p + 5, version);
	p[13] = (uint8_t)(proof_len >> 8);
	p[14] = (uint8_t)proof_len;
	p += CDS_BUCKETSBIN_ITEM_BYTES;
	if (proof_len)
		memcpy(p, proof, proof_len);
	p += proof_len;
	if (etag) {
		*p++ = (uint8_t)tlen;
		memcpy(p, etag, tlen);
		p += tlen;
		cds_put_u32be(p, (uint32_t)entries_len);
		p += 4;
		if (entries_len)
			memcpy(p, entries, entries_len);
		p += entries_len;
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
	return CDS_OK;
}
