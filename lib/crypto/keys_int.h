/*
 * keys_int.h: what keys.c and keys_load.c share (internal to lib/crypto).
 */
#ifndef CDS_CRYPTO_KEYS_INT_H
#define CDS_CRYPTO_KEYS_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"

#define CDS_KEYS_MAGIC "cds-oprf-key v1"
#define CDS_KEYS_FILE_MAX CDS_KEYS_TEXT_MAX /* a key file is about 130 bytes */

/* DIR/keys/epoch-<epoch>.key, or DIR/keys for epoch 0. */
enum cds_err cds_keys_path(char out[PATH_MAX], const char *datadir,
			   uint32_t epoch, struct cds_error *err);

/*
 * The epochs present in DIR/keys, newest first, in a new array the caller
 * frees (*n may be 0).  CDS_ERR_NOT_FOUND if DIR/keys does not exist.
 */
enum cds_err cds_keys_list(const char *datadir, uint32_t **out, size_t *n,
			   struct cds_error *err);

#endif
