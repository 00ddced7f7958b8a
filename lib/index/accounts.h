/*
 * accounts.h: the account cache the server authenticates against:
 * account id -> (identity key, token hash).  The records (80 bytes each)
 * sit packed in one array; an open-addressing table of 4-byte slots points
 * into it, so 10 million accounts take about 870 MB, with no per-account
 * allocation.
 *
 * Not locked: the mirror guards it with its directory lock.  Ids are hashed
 * with SipHash under a random key, so no input can pile them into one
 * probe chain.
 */
#ifndef CDS_INDEX_ACCOUNTS_H
#define CDS_INDEX_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "store/store.h"

struct cds_accounts;

/* An empty cache; the caller frees it with cds_accounts_free. */
enum cds_err cds_accounts_new(struct cds_accounts **out,
			      struct cds_error *err) CDS_MUST_CHECK;
void cds_accounts_free(struct cds_accounts *a); /* wipes token hashes */

/* Insert or replace the record of acct->id.  CDS_ERR_NOMEM. */
enum cds_err cds_accounts_put(struct cds_accounts *a,
			      const struct cds_account *acct,
			      struct cds_error *err) CDS_MUST_CHECK;

/* Forget an account; false if it was not there. */
bool cds_accounts_remove(struct cds_accounts *a,
			 const uint8_t id[static CDS_ACCOUNT_ID_BYTES]);

/* Copy the record of id into *out; false if unknown. */
bool cds_accounts_get(const struct cds_accounts *a,
		      const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
		      struct cds_account *out);

size_t cds_accounts_count(const struct cds_accounts *a);
size_t cds_accounts_memory(const struct cds_accounts *a);

#endif
