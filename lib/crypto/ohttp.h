/*
 * ohttp.h: Oblivious HTTP message encapsulation (RFC 9458 §3, §4) over
 * HPKE (hpke.h): key configurations, encapsulated requests and responses.
 * What is inside (Binary HTTP) is core/bhttp.h's business; who sends what
 * where is the server's and the client's.
 *
 * One exchange = one request and its response: the HPKE context set up for
 * the request is kept in a struct cds_ohttp_exchange until the response is
 * sealed (gateway) or opened (client), then wiped.
 *
 * Invariants:
 *  1. Key configurations offer exactly DHKEM(X25519, HKDF-SHA256) with
 *     HKDF-SHA256 and AEADs 0x0001 (AES-128-GCM) and 0x0003
 *     (ChaCha20-Poly1305); anything else in a request is refused.
 *  2. Decrypted plaintext is only appended to the caller's buffer on
 *     success; the caller wipes it (it may hold a bearer token).
 */
#ifndef CDS_CRYPTO_OHTTP_H
#define CDS_CRYPTO_OHTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/hpke.h"

/* key_id (1) || kem_id (2) || kdf_id (2) || aead_id (2) */
#define CDS_OHTTP_HDR_BYTES 7
#define CDS_OHTTP_MEDIA_KEYS "application/ohttp-keys"
#define CDS_OHTTP_MEDIA_REQ "message/ohttp-req"
#define CDS_OHTTP_MEDIA_RES "message/ohttp-res"
/* The problem type of RFC 9458 §5.3 (key configuration problems). */
#define CDS_OHTTP_KEY_PROBLEM \
	"https://iana.org/assignments/http-problem-types#ohttp-key"

/* A gateway key pair and its key identifier. */
struct cds_ohttp_key {
	uint8_t id;
	uint8_t sk[CDS_HPKE_SK_BYTES];
	uint8_t pk[CDS_HPKE_PK_BYTES];
};

/* What a client keeps of a key configuration: the one suite it chose. */
struct cds_ohttp_config {
	uint8_t id;
	uint8_t pk[CDS_HPKE_PK_BYTES];
	uint16_t aead_id;
};

struct cds_ohttp_exchange {
	struct cds_hpke_ctx hpke;
	uint8_t enc[CDS_HPKE_PK_BYTES];
};

/*
 * Append the application/ohttp-keys encoding (§3.2: each configuration
 * preceded by its 2-byte length) of n keys.  CDS_ERR_NOMEM.
 */
enum cds_err cds_ohttp_keys_encode(struct cds_buf *out,
				   const struct cds_ohttp_key *keys, size_t n,
				   struct cds_error *err) CDS_MUST_CHECK;

/*
 * Parse application/ohttp-keys strictly and choose the first configuration
 * offering our KEM, KDF and one of our AEADs (its first such).
 * CDS_ERR_PROTO naming the problem if the list is malformed or offers
 * nothing usable.
 */
enum cds_err cds_ohttp_keys_pick(struct cds_ohttp_config *cfg,
				 const uint8_t *in, size_t len,
				 struct cds_error *err) CDS_MUST_CHECK;

/*
 * Client: encapsulate request (a Binary HTTP message) to cfg, appending
 * the encapsulated request to out.  skE is the ephemeral secret (NULL: a
 * fresh one; tests pass the RFC's).
 */
enum cds_err cds_ohttp_request_seal(struct cds_ohttp_exchange *x,
				    struct cds_buf *out,
				    const struct cds_ohttp_config *cfg,
				    const uint8_t *request, size_t len,
				    const uint8_t *skE,
				    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Gateway: decapsulate an encapsulated request with the key of its key id
 * among keys[0..n), appending the plaintext to out.  CDS_ERR_NOT_FOUND for
 * an unknown key id, CDS_ERR_INVALID for a short header or a suite not
 * offered, CDS_ERR_CRYPTO if it does not decrypt.
 */
enum cds_err cds_ohttp_request_open(struct cds_ohttp_exchange *x,
				    struct cds_buf *out,
				    const uint8_t *req, size_t len,
				    const struct cds_ohttp_key *keys, size_t n,
				    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Gateway: encapsulate the response of exchange x, appending it to out.
 * nonce is the response nonce, max(Nn, Nk) bytes (NULL: random; tests
 * pass the RFC's).
 */
enum cds_err cds_ohttp_response_seal(struct cds_ohttp_exchange *x,
				     struct cds_buf *out,
				     const uint8_t *response, size_t len,
				     const uint8_t *nonce,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Gateway, the same in place, for responses of megabytes (a group of
 * buckets): cds_ohttp_response_begin appends the response nonce to out
 * (nonce as above); the caller appends the Binary HTTP response after it;
 * cds_ohttp_response_finish then encrypts everything after the nonce that
 * starts at out->data[at] where it lies and appends the tag.  No second
 * buffer, no copy of the plaintext.  On failure finish wipes and cuts out
 * back to at (CDS_ERR_INVALID if no nonce is there, CDS_ERR_NOMEM).
 */
enum cds_err cds_ohttp_response_begin(const struct cds_ohttp_exchange *x,
				      struct cds_buf *out, const uint8_t *nonce,
				      struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_ohttp_response_finish(const struct cds_ohttp_exchange *x,
				       struct cds_buf *out, size_t at,
				       struct cds_error *err) CDS_MUST_CHECK;

/* Client: open the encapsulated response of x.  CDS_ERR_PROTO if it fails. */
enum cds_err cds_ohttp_response_open(struct cds_ohttp_exchange *x,
				     struct cds_buf *out,
				     const uint8_t *res, size_t len,
				     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Client, the same in place: decrypt res[0..len) where it lies; the
 * plaintext is then res[*off .. *off + *pt_len).  CDS_ERR_PROTO if it does
 * not open (res then holds no plaintext).
 */
enum cds_err cds_ohttp_response_open_in(const struct cds_ohttp_exchange *x,
					uint8_t *res, size_t len, size_t *off,
					size_t *pt_len,
					struct cds_error *err) CDS_MUST_CHECK;

void cds_ohttp_exchange_wipe(struct cds_ohttp_exchange *x);

#endif
