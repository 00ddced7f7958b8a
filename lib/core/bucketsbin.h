/*
 * bucketsbin.h: the binary answer of POST /v1/buckets (docs/api.md), sent
 * when the request says `Accept: application/octet-stream`:
 *
 *   reply = u32be(epoch) || u32be(n) || item[0] || ... || item[n-1]
 *   item  = u32be(prefix) || u8(kind) || u64be(version)
 *           || u16be(len(proof)) || proof || rest
 *   kind 0 (a bucket):     rest = u8(len(etag)) || etag
 *                                 || u32be(len(entries)) || entries
 *   kind 1 (not modified): rest is empty
 *
 * Items come in the order asked; version, proof, etag and entries mean what
 * the JSON answer's members of the same names do.  Why a second
 * representation: a first discovery downloads megabytes of entries, which
 * in JSON are base64 (a third more bytes) that both ends must encode and
 * decode and the client's JSON parser must copy byte by byte; in this form
 * the client's parse is a copy of the entries.  The writer is here so that
 * the server and the tests share it; the client's parser is
 * lib/client/protocol_bucketsbin.c.
 */
#ifndef CDS_CORE_BUCKETSBIN_H
#define CDS_CORE_BUCKETSBIN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define CDS_BUCKETSBIN_TYPE "application/octet-stream"
#define CDS_BUCKETSBIN_HEAD_BYTES 8      /* epoch, n */
#define CDS_BUCKETSBIN_ITEM_BYTES 15     /* prefix, kind, version, len(proof) */
#define CDS_BUCKETSBIN_ETAG_MAX 255
#define CDS_BUCKETSBIN_BUCKET 0
#define CDS_BUCKETSBIN_NOT_MODIFIED 1

/* Bytes one item takes: a bucket of entries_len bytes, or not modified
 * (etag NULL). */
size_t cds_bucketsbin_item_size(size_t proof_len, const char *etag,
				size_t entries_len);

enum cds_err cds_bucketsbin_head(struct cds_buf *out, uint32_t epoch,
				 uint32_t n) CDS_MUST_CHECK;

/*
 * Append one item: a bucket with its ETag (at most CDS_BUCKETSBIN_ETAG_MAX
 * bytes) and entries, or, with etag NULL, a not-modified one (entries
 * ignored).  CDS_ERR_NOMEM, or CDS_ERR_INVALID for a field too long.
 */
enum cds_err cds_bucketsbin_item(struct cds_buf *out, uint32_t prefix,
				 uint64_t version, const uint8_t *proof,
				 size_t proof_len, const char *etag,
				 const uint8_t *entries,
				 size_t entries_len) CDS_MUST_CHECK;

#endif
