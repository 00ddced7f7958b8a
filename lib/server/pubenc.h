/*
 * pubenc.h: fast hex and base64 encoders for PUBLIC bytes on the hot paths
 * (bucket entries, account ids and identity keys in lookup answers).
 *
 * lib/core/codec.h uses libsodium's constant-time encoders, which is right
 * for secrets but costs several percent of a plain lookup or bucket fetch.
 * What these encode is sent to anyone who asks, so a timing side channel
 * on it reveals nothing.  Never use them for tokens or keys.
 *
 * Output is identical to cds_hex_encode / cds_b64_encode (lower-case hex;
 * standard base64 alphabet with padding), including the terminating NUL.
 */
#ifndef CDS_SERVER_PUBENC_H
#define CDS_SERVER_PUBENC_H

#include <stddef.h>
#include <stdint.h>

/* out holds 2n + 1 bytes. */
void cds_pubenc_hex(char *out, const uint8_t *bin, size_t n);

/* out holds CDS_B64_LEN(n) bytes. */
void cds_pubenc_b64(char *out, const uint8_t *bin, size_t n);

#endif
