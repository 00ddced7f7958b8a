/*
 * ledger.c: the disclosure ledger, a hash chain kept by a backend
 * (ledger_impl.h: DIR/legal/ledger.sqlite3, or tables in the PostgreSQL
 * database DIR/store.conf names).  This file holds what both share: the
 * chain rule, the entry hash, verification and "extends".
 *
 * entry_hash = SHA-256 of the canonical encoding
 *
 *     "cds/v1/ledger-entry" 0x00
 *     u64be(seq) u64be(time_us) lp(order_id) lp(scope_type) lp(scope_value)
 *     lp(window) u64be(record_count) lp(export_sha256) lp(prev_hash)
 *
 * where lp(s) = u32be(length) || bytes and hashes are lower-case hex text.
 * Length prefixes make the encoding injective: no two different entries
 * encode to the same bytes, whatever their strings contain.
 *
 * Invariants:
 *  1. seq runs 1, 2, 3... without gaps; entry k's prev_hash is entry
 *     k-1's entry_hash (64 zeros for entry 1).
 *  2. The head row holds the seq and entry_hash of the last entry, updated
 *     in the same transaction as the append.
 *  3. An appended entry is durable (SQLite synchronous=FULL, PostgreSQL's
 *     commit) before the export is released.
 */
#include "legal/ledger.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/codec.h"
#include "legal/ledger_impl.h"
#include "store/store_impl.h" /* DIR/store.conf */

#define LEDGER_DOMAIN "cds/v1/ledger-entry"

const char cds_ledger_zero_hash[CDS_LEDGER_HASH_HEX_BYTES] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static void put_u64(crypto_hash_sha256_state *st, uint64_t v)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	crypto_hash_sha256_update(st, b, sizeof(b));
}

static void put_str(crypto_hash_sha256_state *st, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	uint8_t b[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
			(uint8_t)(len >> 8), (uint8_t)len};

	crypto_hash_sha256_update(st, b, sizeof(b));
	crypto_hash_sha256_update(st, (const uint8_t *)(s ? s : ""), len);
}

void cds_ledger_entry_hash(char out[CDS_LEDGER_HASH_HEX_BYTES],
			   const struct cds_ledger_entry *e)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)LEDGER_DOMAIN,
				  sizeof(LEDGER_DOMAIN)); /* with its NUL */
	put_u64(&st, e->seq);
	put_u64(&st, (uint64_t)e->time_us);
	put_str(&st, e->order_id);
	put_str(&st, e->scope_type);
	put_str(&st, e->scope_value);
	put_str(&st, e->window);
	put_u64(&st, e->record_count);
	put_str(&st, e->export_sha256);
	put_str(&st, e->prev_hash);
	crypto_hash_sha256_final(&st, h);
	cds_hex_encode(out, h, sizeof(h));
}

void ledger_chain(struct cds_ledger_entry *e, uint64_t last_seq,
		  const char *last_hash)
{
	e->seq = last_seq + 1;
	snprintf(e->prev_hash, sizeof(e->prev_hash), "%s", last_hash);
	cds_ledger_entry_hash(e->entry_hash, e);
}

enum cds_err cds_ledger_open(struct cds_ledger **out, const char *datadir,
			     bool create, struct cds_error *err)
{
	char url[CDS_STORE_URL_MAX];
	enum cds_err rc;

	*out = NULL;
	if (!cds_store_conf_exists(datadir))
		return ledger_sqlite_open(out, datadir, create, err);
	rc = cds_store_conf_read(datadir, url, err);
	if (!rc)
		rc = ledger_pg_open(out, url, create, err);
	return rc;
}

void cds_ledger_close(struct cds_ledger *l)
{
	if (l)
		l->ops->close(l);
}

enum cds_err cds_ledger_append(struct cds_ledger *l, struct cds_ledger_entry *e,
			       struct cds_error *err)
{
	if (!e->order_id || !e->scope_type || !e->scope_value || !e->window ||
	    strlen(e->export_sha256) != 64)
		return cds_fail(err, CDS_ERR_INVALID, "ledger: incomplete entry");
	return l->ops->append(l, e, err);
}

enum cds_err cds_ledger_scan(struct cds_ledger *l, cds_ledger_entry_fn fn,
			     void *ctx, struct cds_error *err)
{
	return l->ops->scan(l, fn, ctx, err);
}

/* State of a verification walk. */
struct walk {
	uint64_t n;
	char prev[CDS_LEDGER_HASH_HEX_BYTES];
	struct cds_error *err;
	enum cds_err rc;
};

/* Check one entry against its position and predecessor. */
static int walk_entry(void *ctx, const struct cds_ledger_entry *e)
{
	char h[CDS_LEDGER_HASH_HEX_BYTES];
	struct walk *w = ctx;
	uint64_t pos = w->n + 1;

	if (e->seq != pos)
		w->rc = cds_fail(w->err, CDS_ERR_CRYPTO,
				 "ledger broken at entry %llu: found seq %llu "
				 "(an entry was removed, inserted or reordered)",
				 (unsigned long long)pos,
				 (unsigned long long)e->seq);
	else if (strcmp(e->prev_hash, w->prev) != 0)
		w->rc = cds_fail(w->err, CDS_ERR_CRYPTO,
				 "ledger broken at entry %llu: prev_hash does not "
				 "match entry %llu (entries removed or reordered)",
				 (unsigned long long)pos,
				 (unsigned long long)pos - 1);
	if (w->rc)
		return 1;
	cds_ledger_entry_hash(h, e);
	if (strcmp(h, e->entry_hash) != 0) {
		w->rc = cds_fail(w->err, CDS_ERR_CRYPTO,
				 "ledger broken at entry %llu (order '%.60s'): "
				 "entry_hash does not match its contents "
				 "(the entry was altered)",
				 (unsigned long long)pos, e->order_id);
		return 1;
	}
	memcpy(w->prev, e->entry_hash, sizeof(w->prev));
	w->n = pos;
	return 0;
}

/* The head must name the last entry (catches removal of the newest). */
static enum cds_err check_head(struct cds_ledger *l, const struct walk *w,
			       struct cds_error *err)
{
	char hash[CDS_LEDGER_HASH_HEX_BYTES];
	uint64_t seq = 0;
	enum cds_err rc;

	rc = l->ops->head(l, &seq, hash, err);
	if (rc)
		return rc;
	if (seq == w->n && strcmp(hash, w->prev) == 0)
		return CDS_OK;
	if (seq > w->n)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"ledger broken at entry %llu: the head records %llu "
				"entries, only %llu remain (entries removed)",
				(unsigned long long)w->n + 1,
				(unsigned long long)seq, (unsigned long long)w->n);
	return cds_fail(err, CDS_ERR_CRYPTO,
			"ledger broken at entry %llu: it does not match the "
			"recorded head (seq %llu)",
			(unsigned long long)(seq < w->n ? seq + 1 : w->n),
			(unsigned long long)seq);
}

enum cds_err cds_ledger_verify_head(struct cds_ledger *l,
				    struct cds_ledger_head *cur,
				    struct cds_error *err)
{
	struct walk w = {0, {0}, err, CDS_OK};
	enum cds_err rc;

	memset(cur, 0, sizeof(*cur));
	memcpy(w.prev, cds_ledger_zero_hash, sizeof(w.prev));
	rc = cds_ledger_scan(l, walk_entry, &w, err);
	if (!rc)
		rc = w.rc;
	if (!rc)
		rc = check_head(l, &w, err);
	if (!rc &&
	    cds_hex_decode_exact(cur->hash, sizeof(cur->hash), w.prev,
				 strlen(w.prev), "entry hash", NULL) != CDS_OK)
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "ledger broken at entry %llu: its entry_hash is "
			      "not 64 hex digits", (unsigned long long)w.n);
	if (!rc)
		cur->entries = w.n;
	return rc;
}

enum cds_err cds_ledger_verify(struct cds_ledger *l, uint64_t *n,
			       struct cds_error *err)
{
	struct cds_ledger_head cur;
	enum cds_err rc = cds_ledger_verify_head(l, &cur, err);

	*n = rc ? 0 : cur.entries;
	return rc;
}

/* The stored entry_hash of entry seq, as bytes. */
static enum cds_err entry_hash_at(struct cds_ledger *l, uint64_t seq,
				  uint8_t out[static CDS_LEDGER_ENTRY_HASH_BYTES],
				  struct cds_error *err)
{
	char hex[CDS_LEDGER_HASH_HEX_BYTES];
	enum cds_err rc;

	rc = l->ops->hash_at(l, seq, hex, err);
	if (rc == CDS_ERR_NOT_FOUND)
		rc = cds_fail(err, CDS_ERR_STORE, "ledger %s: no entry %llu",
			      l->where, (unsigned long long)seq);
	if (!rc && cds_hex_decode_exact(out, CDS_LEDGER_ENTRY_HASH_BYTES, hex,
					strlen(hex), "entry hash", NULL))
		rc = cds_fail(err, CDS_ERR_CRYPTO, "ledger entry %llu: bad hash",
			      (unsigned long long)seq);
	return rc;
}

enum cds_err cds_ledger_extends(struct cds_ledger *l,
				const struct cds_ledger_head *cur,
				const struct cds_ledger_head *h,
				const char *what, struct cds_error *err)
{
	uint8_t got[CDS_LEDGER_ENTRY_HASH_BYTES];
	enum cds_err rc;

	if (h->entries > cur->entries)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"ledger broken at entry %llu: %s has %llu entries, "
				"the ledger only %llu (entries removed)",
				(unsigned long long)cur->entries + 1, what,
				(unsigned long long)h->entries,
				(unsigned long long)cur->entries);
	if (h->entries == 0)
		return CDS_OK;
	if ((rc = entry_hash_at(l, h->entries, got, err)))
		return rc;
	if (sodium_memcmp(got, h->hash, sizeof(got)) != 0)
		return cds_fail(err, CDS_ERR_CRYPTO,
				"ledger broken at or before entry %llu: it does not "
				"extend %s (the ledger was rewritten)",
				(unsigned long long)h->entries, what);
	return CDS_OK;
}
