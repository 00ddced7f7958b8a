/*
 * vcode.h: one-time verification codes (DESIGN.md "Verified handles"):
 * drawing them, and the keyed hash under which the store keeps them.
 *
 * The hash key lives in DIR/keys/verify.key (0600), made on first use, and
 * never in the database: a copy of the store alone cannot be searched for
 * codes (there are only 10^8 of them, so an unkeyed hash would not hide
 * one).  The hash covers the verification id too, so equal codes of two
 * verifications do not hash alike.
 */
#ifndef CDS_SERVER_VCODE_H
#define CDS_SERVER_VCODE_H

#include <stdint.h>

#include <sodium.h>

#include "core/err.h"
#include "store/verify.h"

#define CDS_VCODE_DIGITS 8
#define CDS_VCODE_KEY_BYTES crypto_generichash_KEYBYTES

/*
 * Read DIR/keys/verify.key into key, creating it (random, 0600) if it does
 * not exist yet.  CDS_ERR_IO naming the file; CDS_ERR_INVALID if it has the
 * wrong size.
 */
enum cds_err cds_vcode_key_load(uint8_t key[static CDS_VCODE_KEY_BYTES],
				const char *datadir,
				struct cds_error *err) CDS_MUST_CHECK;

/* A fresh code: CDS_VCODE_DIGITS decimal digits, uniform, NUL-terminated. */
void cds_vcode_new(char code[static CDS_VCODE_DIGITS + 1]);

/*
 * out = BLAKE2b-256 keyed with key over "cds/v1/code" || id || code: what
 * the store keeps and compares.
 */
void cds_vcode_hash(uint8_t out[static CDS_VERIFY_HASH_BYTES],
		    const uint8_t key[static CDS_VCODE_KEY_BYTES],
		    const uint8_t id[static CDS_VERIFY_ID_BYTES],
		    const char *code, size_t len);

#endif
