/*
 * idperm.h: account ids as a keyed permutation of account numbers.
 *
 * A store numbers its accounts 1, 2, 3... (never reusing a number) and
 * shows the world id = P_k(0^64 || n), where P_k is a 128-bit pseudorandom
 * permutation under the store's secret id key.  Ids therefore look random
 * (they reveal neither how many accounts there are nor which is older) and
 * are unique by construction, and the store finds an account from its id by
 * inverting P_k instead of through an index of random keys, which is what
 * made bulk imports slow down as the directory grew.  An id whose inverse
 * does not start with 64 zero bits was not issued by this store (a forgery
 * passes with probability 2^-64).
 *
 * P_k is a 6-round Feistel network on 64-bit halves with SipHash-2-4 as the
 * round function (Luby-Rackoff: 4 rounds of a PRF already make a strong
 * PRP).
 */
#ifndef CDS_STORE_IDPERM_H
#define CDS_STORE_IDPERM_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/entry.h"

#define CDS_IDPERM_KEY_BYTES 16

void cds_idperm_id(uint8_t id[static CDS_ACCOUNT_ID_BYTES],
		   const uint8_t key[static CDS_IDPERM_KEY_BYTES], uint64_t n);

/* The number behind id, or false if this key never issued it. */
bool cds_idperm_number(uint64_t *n,
		       const uint8_t key[static CDS_IDPERM_KEY_BYTES],
		       const uint8_t id[static CDS_ACCOUNT_ID_BYTES]);

#endif
