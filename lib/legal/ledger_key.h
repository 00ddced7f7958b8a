/*
 * ledger_key.h: where the ledger's Ed25519 key lives (internal to
 * lib/legal; ledger_head.c signs and checks with it).
 *
 *   file    DIR/keys/ledger.key (mode 0600, beside the OPRF keys rather
 *           than in DIR/legal, so that write access to the ledger's
 *           directory does not give the signing key): 128 hex digits of
 *           libsodium's 64-byte secret key and a newline.  SQLite, and a
 *           PostgreSQL store that keeps no sealed keys.
 *   sealed  row ("ledger", 1) of the store's sealed table: the key's
 *           32-byte seed under the key-encryption key (store/keysrc.h).
 *           A PostgreSQL store that keeps its keys sealed: every data
 *           directory of the database, the one init made and every
 *           joined one, signs with the same key, and none holds a file.
 *
 * `cdsctl init` makes the key; a data directory from before gets it on
 * first use.  A sealed store whose row is missing (made by a cdsctl from
 * before the key was sealed) seals the key of the data directory's
 * DIR/keys/ledger.key, if it has one, so that heads already published
 * keep verifying; the file is not read again after that.
 */
#ifndef CDS_LEGAL_LEDGER_KEY_H
#define CDS_LEGAL_LEDGER_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "core/err.h"

/*
 * The secret key of datadir's ledger into sk (the caller's, best in
 * locked memory: core/secrets.h), made first if create and there is none.
 * CDS_ERR_NOT_FOUND without a key (and not create); CDS_ERR_INVALID for a
 * malformed key file; CDS_ERR_IO, CDS_ERR_STORE or CDS_ERR_CRYPTO (the
 * KEK, an altered row) from where it lives.  sk is zeroed on failure.
 */
enum cds_err cds_ledger_key_load(const char *datadir, bool create,
				 uint8_t sk[static crypto_sign_SECRETKEYBYTES],
				 struct cds_error *err) CDS_MUST_CHECK;

#endif
