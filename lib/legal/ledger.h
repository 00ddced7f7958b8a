/*
 * ledger.h: the append-only, tamper-evident ledger of legal disclosures
 * (DESIGN.md "Legal process"), DIR/legal/ledger.sqlite3.
 *
 * Every export appends one entry: seq (1, 2, 3...), time, order ID, scope
 * type and value, window, record count, SHA-256 of the exported bytes,
 * prev_hash (the previous entry's entry_hash; 64 zeros for the first) and
 * entry_hash = SHA-256 over a canonical encoding of all the other fields
 * and prev_hash (ledger.c, docs/querylog.md).  The newest seq and hash are
 * also kept in a one-row head table, written in the same transaction, so
 * that removing the last entries is detected as well as altering,
 * removing or reordering earlier ones.
 *
 * Triggers refuse UPDATE and DELETE on the entries; they guard against
 * accidents.  Against a deliberate edit the chain is the guard: anyone can
 * rewrite a SQLite file, nobody can do so without `cdsctl legal verify`
 * noticing unless they recompute every later hash and the head: against
 * that, the transparency report publishes the head signed with the ledger
 * key (ledger_head.h), and cds_ledger_extends checks a ledger against a
 * head published earlier.
 */
#ifndef CDS_LEGAL_LEDGER_H
#define CDS_LEGAL_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "legal/ledger_head.h"

#define CDS_LEDGER_HASH_HEX_BYTES 65 /* 64 hex digits + NUL */

/*
 * One entry.  For cds_ledger_append the caller fills time_us, the strings
 * and record_count and export_sha256; the ledger fills seq, prev_hash and
 * entry_hash.  In a scan the strings point into the row being visited and
 * are valid only during the callback.
 */
struct cds_ledger_entry {
	uint64_t seq;
	int64_t time_us;
	const char *order_id;
	const char *scope_type;   /* "requester", "target", "ip" */
	const char *scope_value;
	const char *window;       /* "SINCE/UNTIL", ".." for an open end */
	uint64_t record_count;
	char export_sha256[CDS_LEDGER_HASH_HEX_BYTES];
	char prev_hash[CDS_LEDGER_HASH_HEX_BYTES];
	char entry_hash[CDS_LEDGER_HASH_HEX_BYTES];
};

struct cds_ledger;

/*
 * Open DIR/legal/ledger.sqlite3.  create: make the directory (0700), the
 * file (0600) and its schema if missing; otherwise a missing ledger is
 * CDS_ERR_NOT_FOUND and nothing is created.  Close with cds_ledger_close.
 */
enum cds_err cds_ledger_open(struct cds_ledger **out, const char *datadir,
			     bool create, struct cds_error *err) CDS_MUST_CHECK;
void cds_ledger_close(struct cds_ledger *l);

/* Append e (see above) in one transaction; fills seq and the hashes. */
enum cds_err cds_ledger_append(struct cds_ledger *l, struct cds_ledger_entry *e,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Recompute the chain.  CDS_OK with *n entries if it holds; CDS_ERR_CRYPTO
 * with a message naming the first broken entry (by position and seq) if an
 * entry was altered, removed, inserted or reordered, or the head does not
 * match the last entry.
 */
enum cds_err cds_ledger_verify(struct cds_ledger *l, uint64_t *n,
			       struct cds_error *err) CDS_MUST_CHECK;

/* Like cds_ledger_verify; cur gets the head (entries, last entry_hash). */
enum cds_err cds_ledger_verify_head(struct cds_ledger *l,
				    struct cds_ledger_head *cur,
				    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Given cur from a successful cds_ledger_verify_head: CDS_OK if the ledger
 * extends h (has at least h->entries entries, and entry h->entries has
 * h's hash); CDS_ERR_CRYPTO naming `what` (e.g. "the published head") if
 * not.  A head of 0 entries is extended by every ledger.
 */
enum cds_err cds_ledger_extends(struct cds_ledger *l,
				const struct cds_ledger_head *cur,
				const struct cds_ledger_head *h,
				const char *what,
				struct cds_error *err) CDS_MUST_CHECK;

/* Visit entries in seq order; fn returns non-zero to stop (then CDS_OK). */
typedef int (*cds_ledger_entry_fn)(void *ctx, const struct cds_ledger_entry *e);
enum cds_err cds_ledger_scan(struct cds_ledger *l, cds_ledger_entry_fn fn,
			     void *ctx, struct cds_error *err) CDS_MUST_CHECK;

/* entry_hash of e over its fields and e->prev_hash (hex, NUL-terminated). */
void cds_ledger_entry_hash(char out[CDS_LEDGER_HASH_HEX_BYTES],
			   const struct cds_ledger_entry *e);

#endif
