/*
 * gwkeys.h: the Oblivious HTTP gateway's key pairs on disk.
 *
 * One file, DIR/keys/ohttp-gateway.keys (0600, in the 0700 key directory),
 * holds the current key pair and those retired less than the grace period
 * ago, each with its RFC 9458 key id:
 *
 *     cds-ohttp-keys v1
 *     key <id 0-255> <created_us> <retired_us, 0 = current> <secret: 64 hex>
 *
 * Invariants:
 *  1. Exactly one key is current; key ids in the file are distinct.
 *  2. The file is replaced whole (temporary file, fsync, rename, directory
 *     fsync): a crash leaves the old set or the new one.
 *  3. A file that is not a regular file, that others can read, or that is
 *     malformed is refused with a message naming it.
 *  4. Secrets are wiped from every buffer that held them.
 */
#ifndef CDS_CRYPTO_GWKEYS_H
#define CDS_CRYPTO_GWKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/ohttp.h"

/* How long a retired key still decrypts requests (clients' cached configs). */
#define CDS_GWKEYS_GRACE_US (INT64_C(7) * 24 * 3600 * 1000000)
#define CDS_GWKEYS_MAX 16

struct cds_gwkey {
	struct cds_ohttp_key key;
	int64_t created_us;
	int64_t retired_us;     /* 0: the current key */
};

/* DIR/keys/ohttp-gateway.keys (out holds PATH_MAX bytes). */
enum cds_err cds_gwkeys_path(char *out, const char *datadir,
			     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Write a first key set (one current key, id 1) if there is none.
 * CDS_ERR_EXISTS if the file exists (left untouched); CDS_ERR_NOT_FOUND if
 * DIR/keys does not.
 */
enum cds_err cds_gwkeys_create(const char *datadir,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Retire the current key (as of now_us), drop keys retired more than the
 * grace period ago, add a new current key with the next free id (*id).
 * CDS_ERR_NOT_FOUND if there is no key file.
 */
enum cds_err cds_gwkeys_rotate(const char *datadir, int64_t now_us,
			       uint8_t *id,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Load the key set, current key first, keys retired more than the grace
 * period before now_us left out.  keys holds CDS_GWKEYS_MAX entries; the
 * caller wipes it (sodium_memzero).  CDS_ERR_NOT_FOUND if there is no file.
 */
enum cds_err cds_gwkeys_load(const char *datadir, int64_t now_us,
			     struct cds_gwkey keys[CDS_GWKEYS_MAX], size_t *n,
			     struct cds_error *err) CDS_MUST_CHECK;

/*
 * The same key set as text, for a set kept elsewhere than the file
 * (lib/store/keysrc.h: sealed in the database).  The caller wipes every
 * buffer that held the text.
 */
#define CDS_GWKEYS_TEXT_MAX (32 + CDS_GWKEYS_MAX * 160)

/* Append the text of k[0..n) to b.  CDS_ERR_NOMEM. */
enum cds_err cds_gwkeys_format(struct cds_buf *b, const struct cds_gwkey *k,
			       size_t n) CDS_MUST_CHECK;

/*
 * Parse text (NUL-terminated, modified) as cds_gwkeys_load reads a file:
 * current key first, keys retired more than the grace period before now_us
 * left out.  `where` names the text in messages.  CDS_ERR_INVALID.
 */
enum cds_err cds_gwkeys_parse(char *text, int64_t now_us,
			      struct cds_gwkey keys[CDS_GWKEYS_MAX], size_t *n,
			      const char *where,
			      struct cds_error *err) CDS_MUST_CHECK;

/* A first key set: one current key, id 1, created now_us. */
void cds_gwkeys_first(struct cds_gwkey *k, int64_t now_us);

/*
 * Rotate the set k[0..*n) (as loaded: current first) in place: the current
 * key retires at now_us, the oldest goes if the set is full, a new current
 * key with the next free id (*id) is appended.  k holds CDS_GWKEYS_MAX + 1.
 */
void cds_gwkeys_next(struct cds_gwkey *k, size_t *n, int64_t now_us,
		     uint8_t *id);

#endif
