/*
 * ledger_head.h: the published head of the disclosure ledger, and the
 * ledger's own Ed25519 key that signs it (DESIGN.md "Legal process").
 *
 * The hash chain (ledger.h) catches an edit by anyone who does not also
 * recompute every later hash; someone with write access to DIR/legal can
 * do exactly that.  So the transparency report publishes the head, entry
 * count and last entry_hash, signed with the ledger key; anyone holding a
 * published head can later demand that the ledger extends it (`cdsctl
 * legal verify --head HEX`): a rewritten or truncated ledger cannot.
 *
 * Layouts (hex on the command line, lower or upper case):
 *
 *     head        = u64be(entries) || entry_hash        40 bytes, 80 hex
 *     signed head = head || Ed25519 signature           104 bytes, 208 hex
 *     signed bytes = "cds/v1/ledger-head" || head
 *
 * entry_hash is the last entry's (ledger.c), 32 zero bytes for 0 entries.
 *
 * The key lives in DIR/keys/ledger.key, or, on a PostgreSQL store that
 * keeps its keys sealed, in the database sealed under the key-encryption
 * key, shared by every data directory of it (ledger_key.h).  `cdsctl
 * init` makes it; a data directory from before gets it on first use.
 */
#ifndef CDS_LEGAL_LEDGER_HEAD_H
#define CDS_LEGAL_LEDGER_HEAD_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "core/err.h"
#include "store/ledger_mark.h" /* struct cds_ledger_head */

#define CDS_LEDGER_HEAD_BYTES (8 + CDS_LEDGER_ENTRY_HASH_BYTES)
#define CDS_LEDGER_SIG_BYTES crypto_sign_BYTES
#define CDS_LEDGER_PK_BYTES crypto_sign_PUBLICKEYBYTES
#define CDS_LEDGER_SIGNED_HEAD_BYTES (CDS_LEDGER_HEAD_BYTES + CDS_LEDGER_SIG_BYTES)

/* The 40 head bytes of h. */
void cds_ledger_head_encode(uint8_t out[static CDS_LEDGER_HEAD_BYTES],
			    const struct cds_ledger_head *h);

/*
 * Parse a head (80 hex digits) or a signed head (208): *has_sig says
 * which, and sig gets the signature.  CDS_ERR_USAGE quoting the input.
 */
enum cds_err cds_ledger_head_parse(struct cds_ledger_head *h,
				   uint8_t sig[static CDS_LEDGER_SIG_BYTES],
				   bool *has_sig, const char *hex,
				   struct cds_error *err) CDS_MUST_CHECK;

/*
 * Sign h with the ledger key, creating the key if it is missing; pk gets
 * the public key.  CDS_ERR_IO naming the file if it cannot be read or
 * made, CDS_ERR_INVALID if it is malformed; on a sealed store the key
 * source's errors (a missing or wrong KEK, an altered row: keysrc.h).
 */
enum cds_err cds_ledger_head_sign(const char *datadir,
				  const struct cds_ledger_head *h,
				  uint8_t sig[static CDS_LEDGER_SIG_BYTES],
				  uint8_t pk[static CDS_LEDGER_PK_BYTES],
				  struct cds_error *err) CDS_MUST_CHECK;

/* Create the ledger key if it is missing (cdsctl init). */
enum cds_err cds_ledger_key_ensure(const char *datadir,
				   struct cds_error *err) CDS_MUST_CHECK;

/*
 * CDS_OK if sig is the ledger key's signature of h; CDS_ERR_CRYPTO if not
 * (a forged head, or a replaced key), CDS_ERR_NOT_FOUND without a key.
 */
enum cds_err cds_ledger_head_check(const char *datadir,
				   const struct cds_ledger_head *h,
				   const uint8_t sig[static CDS_LEDGER_SIG_BYTES],
				   struct cds_error *err) CDS_MUST_CHECK;

#endif
