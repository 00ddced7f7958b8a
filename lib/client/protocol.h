/*
 * protocol.h: JSON codecs of protocol v1 as the client speaks it
 * (DESIGN.md "HTTP API v1"; lib/client internal).
 *
 * Parsers are strict about what the client relies on: every field it uses
 * must be present with the right type and range, base64 must be canonical,
 * counts must match the request, the epoch must be the one asked for, and a
 * bucket's entries must be whole 104-byte entries sorted by fingerprint.
 * Fields it does not use are ignored, so the server may add some.  Any
 * violation is CDS_ERR_PROTO with a message naming the endpoint and the
 * field.  Builders produce the request bodies.
 */
#ifndef CDS_CLIENT_PROTOCOL_H
#define CDS_CLIENT_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/http.h"
#include "core/buf.h"
#include "core/err.h"
#include "crypto/entry.h"
#include "crypto/oprf.h"
#include "crypto/thead.h"

/* Prefixes per POST /v1/buckets when the params do not say (cdsd's
 * default). */
#define CDS_PROTO_PREFIXES_DEFAULT 256

struct cds_params {
	uint32_t epoch;
	uint8_t public_key[CDS_OPRF_ELEMENT_BYTES];
	unsigned prefix_bits;
	size_t max_batch;
	size_t max_prefixes;        /* optional "max_prefixes", else default */
	bool plain_lookup;
	/* Ed25519 key that signs the directory's heads (DESIGN.md "Directory
	 * transparency"); required: without it no bucket could be checked. */
	uint8_t transparency_key[CDS_TKEY_PUBLIC_BYTES];
};

/* Longest inclusion proof: 32 bytes per level of the deepest tree. */
#define CDS_TPROOF_MAX_BYTES (CDS_PREFIX_BITS_MAX * CDS_HASH_BYTES)

/* One bucket of a reply; entries (n * CDS_ENTRY_BYTES) are malloc'd.  A
 * not_modified bucket has no entries: the client's copy is current. */
struct cds_proto_bucket {
	uint32_t prefix;
	uint8_t *entries;
	size_t n;
	bool not_modified;
	char etag[CDS_HTTP_ETAG_BYTES]; /* "" if the reply gave none */
	uint64_t version;               /* the version the bucket is of */
	uint8_t proof[CDS_TPROOF_MAX_BYTES]; /* 32 K bytes used */
};

/* One plain-lookup result. */
struct cds_proto_lookup {
	bool registered;
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
};

/* GET /v1/params: version 1, suite, mode, a valid public key, prefix_bits
 * 0..24, max_batch >= 1, plain_lookup boolean; max_prefixes >= 1 if
 * present.  The other limits the server announces are not needed: the
 * client waits out a 429 whatever the guard's figures. */
enum cds_err cds_proto_parse_params(struct cds_params *p, const char *body,
				    size_t len,
				    struct cds_error *err) CDS_MUST_CHECK;

/* {"epoch":E,"elements":[B64...]} for n blinded elements. */
enum cds_err cds_proto_build_discover(struct cds_buf *out, uint32_t epoch,
				      const uint8_t *blinded, size_t n,
				      struct cds_error *err) CDS_MUST_CHECK;

/* POST /v1/discover reply: epoch must be `epoch`, exactly n evaluated
 * elements (n * 32 bytes into evaluated), a 64-byte proof. */
enum cds_err cds_proto_parse_discover(uint8_t *evaluated,
				      uint8_t proof[static CDS_OPRF_PROOF_BYTES],
				      uint32_t epoch, size_t n,
				      const char *body, size_t len,
				      struct cds_error *err) CDS_MUST_CHECK;

/* {"epoch":E,"prefixes":[P...]}, plus "etags":[ETAG|null...] if etags is
 * not NULL (etags[i] NULL or "" for none; ETags are token text, so they
 * need no escaping beyond their quotes). */
enum cds_err cds_proto_build_buckets(struct cds_buf *out, uint32_t epoch,
				     const uint32_t *prefixes,
				     const char *const *etags, size_t n,
				     struct cds_error *err) CDS_MUST_CHECK;

/* POST /v1/buckets reply: every requested prefix exactly once, nothing
 * else; "not_modified":true only for a prefix sent with an ETag (etags as
 * given to the builder, may be NULL); every bucket, not_modified ones too,
 * with "version" >= 1 and "proof" of 32 prefix_bits bytes.  out[i] answers
 * prefixes[i]; the caller frees each out[i].entries (all NULL on
 * failure). */
enum cds_err cds_proto_parse_buckets(struct cds_proto_bucket *out,
				     uint32_t epoch, unsigned prefix_bits,
				     const uint32_t *prefixes,
				     const char *const *etags, size_t n,
				     const char *body, size_t len,
				     struct cds_error *err) CDS_MUST_CHECK;

/* The same reply in its binary form (core/bucketsbin.h; the server's
 * answer to Accept: application/octet-stream): the same checks, and the
 * items in the order asked, with nothing after the last. */
enum cds_err cds_proto_parse_buckets_bin(struct cds_proto_bucket *out,
					 uint32_t epoch, unsigned prefix_bits,
					 const uint32_t *prefixes,
					 const char *const *etags, size_t n,
					 const uint8_t *body, size_t len,
					 struct cds_error *err) CDS_MUST_CHECK;

/* Check that entries[0..nbytes) is whole entries sorted by fingerprint
 * (strictly, so no fingerprint appears twice).  `what` names the bucket. */
enum cds_err cds_proto_check_entries(const uint8_t *entries, size_t nbytes,
				     const char *what,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * The version and proof of a raw bucket answer (application/octet-stream),
 * from its CDS-Version and CDS-Proof header values: a decimal version >= 1
 * and canonical base64 of exactly 32 prefix_bits bytes ("" for K = 0).
 */
enum cds_err cds_proto_parse_tproof_headers(uint64_t *version,
					    uint8_t proof[static CDS_TPROOF_MAX_BYTES],
					    unsigned prefix_bits,
					    const char *version_hdr,
					    const char *proof_hdr,
					    struct cds_error *err) CDS_MUST_CHECK;

/* {"handles":[H...]} */
enum cds_err cds_proto_build_lookup(struct cds_buf *out,
				    const char *const *handles, size_t n,
				    struct cds_error *err) CDS_MUST_CHECK;

/* POST /v1/lookup reply: exactly one result per handle, in order, each
 * naming its handle; account and identity_key present iff registered. */
enum cds_err cds_proto_parse_lookup(struct cds_proto_lookup *out,
				    const char *const *handles, size_t n,
				    const char *body, size_t len,
				    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Turn a reply status other than the expected one into an error for request
 * `what` ("POST /v1/discover"), quoting the server's error message when the
 * body is the API's error object: 400 CDS_ERR_INVALID, 401/403 CDS_ERR_AUTH,
 * 404 CDS_ERR_NOT_FOUND, 409 CDS_ERR_EPOCH, 413 CDS_ERR_TOO_LARGE, 429
 * CDS_ERR_RATE (with Retry-After), 503 CDS_ERR_BUSY, anything else
 * CDS_ERR_PROTO.
 */
enum cds_err cds_proto_status_error(long status, long retry_after,
				    const char *body, size_t len,
				    const char *what,
				    struct cds_error *err) CDS_MUST_CHECK;

#endif
