/*
 * seal.h: secrets sealed under a key-encryption key (KEK), for keeping them
 * in a database that several replicas share.
 *
 * A replica's KEK lives in one file of its data directory, DIR/keys/kek
 * (mode 0600, in the 0700 key directory):
 *
 *     cds-kek v1
 *     <64 lower-case hex digits>
 *
 * A sealed box is nonce (24 bytes) || XChaCha20-Poly1305-IETF ciphertext
 * and tag, with associated data naming what the box holds (for example
 * "oprf/7"), so that a box moved to another row, or a row's name changed,
 * no longer opens.
 *
 * Invariants:
 *  1. The KEK and every plaintext are wiped on every path; a failed open
 *     leaves the output zeroed.
 *  2. A KEK file is read only if it is a regular file (not a symlink) that
 *     only its owner can read, and well-formed; anything else is refused
 *     with a message naming the file.
 *  3. Nonces are random (192 bits): boxes made by different replicas with
 *     one KEK never share a nonce in practice.
 */
#ifndef CDS_CRYPTO_SEAL_H
#define CDS_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "core/err.h"

#define CDS_KEK_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define CDS_SEAL_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define CDS_SEAL_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define CDS_SEAL_OVERHEAD_BYTES (CDS_SEAL_NONCE_BYTES + CDS_SEAL_TAG_BYTES)

/* DIR/keys/kek (out holds PATH_MAX bytes). */
enum cds_err cds_kek_path(char *out, const char *datadir,
			  struct cds_error *err) CDS_MUST_CHECK;

/*
 * Write a fresh KEK to path (0600).  CDS_ERR_EXISTS if the file exists
 * (left untouched).
 */
enum cds_err cds_kek_create(const char *path,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Copy the KEK file src to dst (0600, which must not exist), checking src
 * first as cds_kek_load does.
 */
enum cds_err cds_kek_copy(const char *dst, const char *src,
			  struct cds_error *err) CDS_MUST_CHECK;

/* Read the KEK at path into kek (zeroed on failure). */
enum cds_err cds_kek_load(uint8_t kek[static CDS_KEK_BYTES], const char *path,
			  struct cds_error *err) CDS_MUST_CHECK;

/*
 * Seal msg[0..len) with associated data ad into box, which holds
 * len + CDS_SEAL_OVERHEAD_BYTES bytes.
 */
void cds_seal(uint8_t *box, const uint8_t *msg, size_t len, const char *ad,
	      const uint8_t kek[static CDS_KEK_BYTES]);

/*
 * Open box[0..box_len) sealed with associated data ad into msg, which
 * holds box_len - CDS_SEAL_OVERHEAD_BYTES bytes (*len gets that).
 * CDS_ERR_CRYPTO if the box does not open (another KEK, another name, or
 * altered bytes), CDS_ERR_INVALID if it is too short; msg is zeroed then.
 */
enum cds_err cds_unseal(uint8_t *msg, size_t *len, const uint8_t *box,
			size_t box_len, const char *ad,
			const uint8_t kek[static CDS_KEK_BYTES],
			struct cds_error *err) CDS_MUST_CHECK;

#endif
