/*
 * keys.h: OPRF key epochs on disk.
 *
 * Each epoch's secret key lives in its own file DIR/keys/epoch-<N>.key, mode
 * 0600, never in the SQLite store and never logged.  Epoch numbers start at 1
 * and only grow.  A file holds the epoch, its creation time and the secret
 * scalar; the public key is derived.  Files are written to a temporary name,
 * fsynced and renamed, so a crash never leaves a half-written key.
 */
#ifndef CDS_CRYPTO_KEYS_H
#define CDS_CRYPTO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/oprf.h"

struct cds_epoch_key {
	uint32_t epoch;
	int64_t created_us;
	uint8_t sk[CDS_OPRF_SCALAR_BYTES];
	uint8_t pk[CDS_OPRF_ELEMENT_BYTES];
};

/* Create DIR/keys (0700) and the key of epoch 1. CDS_ERR_EXISTS if present. */
enum cds_err cds_keys_init(const char *datadir,
			   struct cds_error *err) CDS_MUST_CHECK;

/* Add epoch (newest + 1); *epoch gets its number. */
enum cds_err cds_keys_rotate(const char *datadir, uint32_t *epoch,
			     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Load every epoch key, newest first, into a new array (*keys, *n).  The
 * caller frees it with cds_keys_free (which wipes it).  CDS_ERR_NOT_FOUND if
 * there is none.
 */
enum cds_err cds_keys_load(const char *datadir, struct cds_epoch_key **keys,
			   size_t *n, struct cds_error *err) CDS_MUST_CHECK;
void cds_keys_free(struct cds_epoch_key *keys, size_t n);

/*
 * The text of one key as a key file holds it (format in keys.c), for a key
 * kept elsewhere (lib/store/keysrc.h: sealed in the database).  Text of at
 * most CDS_KEYS_TEXT_MAX bytes, NUL-terminated; the caller wipes it.
 */
#define CDS_KEYS_TEXT_MAX 512

/* A fresh secret for `epoch`, created at created_us, as text (*len bytes). */
void cds_keys_text_new(char text[static CDS_KEYS_TEXT_MAX], size_t *len,
		       uint32_t epoch, int64_t created_us);

/*
 * Parse text into k, which must be the key of epoch `want`.  `where` names
 * the text's origin in messages ("key file '/path'").  CDS_ERR_INVALID
 * saying what is wrong; k is wiped then.
 */
enum cds_err cds_keys_parse(struct cds_epoch_key *k, const char *text,
			    const char *where, uint32_t want,
			    struct cds_error *err) CDS_MUST_CHECK;

/* Overwrite and unlink the file of one epoch (after its grace period). */
enum cds_err cds_keys_destroy(const char *datadir, uint32_t epoch,
			      struct cds_error *err) CDS_MUST_CHECK;

#endif
