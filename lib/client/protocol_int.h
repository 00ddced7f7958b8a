/*
 * protocol_int.h: field readers shared by protocol.c and
 * protocol_buckets.c (lib/client internal).  Each names the endpoint
 * (`what`) and the field in its CDS_ERR_PROTO message.
 */
#ifndef CDS_CLIENT_PROTOCOL_INT_H
#define CDS_CLIENT_PROTOCOL_INT_H

#include <jansson.h>

#include "client/protocol.h"

#define CDS_PROTO_EPOCH_MAX UINT32_MAX

/* Copy at most 120 printable bytes of server text into out. */
void cds_proto_quote(char out[128], const char *s);

/* Parse body as a JSON object (duplicate keys refused); caller decrefs. */
enum cds_err cds_proto_load(json_t **root, const char *body, size_t len,
			    const char *what,
			    struct cds_error *err) CDS_MUST_CHECK;

/* s[0..len) is 1..cap-1 printable ASCII characters, no space: an ETag
 * the client may keep and send back. */
bool cds_proto_token_text(const char *s, size_t len, size_t cap);

/* Free the entries of out[0..n) (a failed bucket group: all NULL after). */
void cds_proto_buckets_free(struct cds_proto_bucket *out, size_t n);

/* o[key] as an integer in [min, max]. */
enum cds_err cds_proto_get_uint(uint64_t *out, json_t *o, const char *key,
				uint64_t min, uint64_t max, const char *what,
				struct cds_error *err) CDS_MUST_CHECK;

/* o[key] as a string (borrowed from o). */
enum cds_err cds_proto_get_str(const char **s, size_t *slen, json_t *o,
			       const char *key, const char *what,
			       struct cds_error *err) CDS_MUST_CHECK;

/* String value v, canonical padded base64 of exactly n bytes. */
enum cds_err cds_proto_b64_exact(uint8_t *out, size_t n, json_t *v,
				 const char *field, const char *what,
				 struct cds_error *err) CDS_MUST_CHECK;

/* o's "account" (hex) and "identity_key" (base64), as a lookup result
 * and the account's record give them. */
enum cds_err cds_proto_account_key(uint8_t account[static CDS_ACCOUNT_ID_BYTES],
				   uint8_t key[static CDS_IDENTITY_KEY_BYTES],
				   json_t *o, const char *what,
				   struct cds_error *err) CDS_MUST_CHECK;

/* root["epoch"] must equal epoch. */
enum cds_err cds_proto_check_epoch(json_t *root, uint32_t epoch,
				   const char *what,
				   struct cds_error *err) CDS_MUST_CHECK;

#endif
