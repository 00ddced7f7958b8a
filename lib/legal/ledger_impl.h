/*
 * ledger_impl.h: what a ledger backend implements (internal to lib/legal),
 * like store_impl.h for the directory store.
 *
 * ledger.c owns everything that does not depend on the database: the
 * entry hash, the chain rule (seq, prev_hash), verification, "extends".
 * A backend keeps the rows: two tables, the entries and a one-row head,
 * written together in one transaction; UPDATE and DELETE on the entries
 * refused by triggers (against accidents; the chain is the guard against
 * intent).  There are two: SQLite, DIR/legal/ledger.sqlite3
 * (ledger_sqlite.c), and PostgreSQL, tables ledger and
 * ledger_head in the database DIR/store.conf names (ledger_pg.c).
 *
 * Every backend object starts with a struct cds_ledger.
 */
#ifndef CDS_LEGAL_LEDGER_IMPL_H
#define CDS_LEGAL_LEDGER_IMPL_H

#include "legal/ledger.h"

struct ledger_ops {
	void (*close)(struct cds_ledger *l);
	/*
	 * In one transaction that excludes other appends: read the last
	 * entry (seq 0 and zeros when empty), ledger_chain(e, ...), insert e,
	 * set the head to e.
	 */
	enum cds_err (*append)(struct cds_ledger *l, struct cds_ledger_entry *e,
			       struct cds_error *err);
	/* Visit the entries in seq order (strings valid during fn only). */
	enum cds_err (*scan)(struct cds_ledger *l, cds_ledger_entry_fn fn,
			     void *ctx, struct cds_error *err);
	/* The head row (seq 0 and zeros if there is none). */
	enum cds_err (*head)(struct cds_ledger *l, uint64_t *seq,
			     char hash[CDS_LEDGER_HASH_HEX_BYTES],
			     struct cds_error *err);
	/* entry_hash of entry seq; CDS_ERR_NOT_FOUND if there is none. */
	enum cds_err (*hash_at)(struct cds_ledger *l, uint64_t seq,
				char hash[CDS_LEDGER_HASH_HEX_BYTES],
				struct cds_error *err);
};

struct cds_ledger {
	const struct ledger_ops *ops;
	char where[256]; /* the file or database, for messages */
};

/* 64 zeros: the prev_hash of entry 1, the hash of an empty head. */
extern const char cds_ledger_zero_hash[CDS_LEDGER_HASH_HEX_BYTES];

/* Set e's seq, prev_hash and entry_hash to follow (last_seq, last_hash). */
void ledger_chain(struct cds_ledger_entry *e, uint64_t last_seq,
		  const char *last_hash);

/* The backends' open functions (create: see cds_ledger_open). */
enum cds_err ledger_sqlite_open(struct cds_ledger **out, const char *datadir,
				bool create, struct cds_error *err) CDS_MUST_CHECK;
enum cds_err ledger_pg_open(struct cds_ledger **out, const char *url,
			    bool create, struct cds_error *err) CDS_MUST_CHECK;

#endif
