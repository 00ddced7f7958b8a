/*
 * ledger_mark.h: the shape of a legal ledger head, as the store keeps its
 * mark of the last export (store.h cds_store_ledger_mark_*).  The ledger
 * itself, its hashing and its signed head live in lib/legal (ledger.h,
 * ledger_head.h); the store only remembers one head, so it needs the type
 * and nothing of the ledger.
 */
#ifndef CDS_STORE_LEDGER_MARK_H
#define CDS_STORE_LEDGER_MARK_H

#include <stdint.h>

#define CDS_LEDGER_ENTRY_HASH_BYTES 32

/* A ledger head: its entry count and its last entry_hash (zeros if none). */
struct cds_ledger_head {
	uint64_t entries;
	uint8_t hash[CDS_LEDGER_ENTRY_HASH_BYTES];
};

#endif
