/*
 * cache.h: the client's local cache, one SQLite file (lib/client internal).
 *
 * What it holds (schema version 2, application_id 'cdsc'; a version 1
 * file is migrated in place when opened):
 *   meta           server URL, key epoch, public key, prefix_bits, next
 *                  contact id, time of the last completed sync; the
 *                  pinned transparency key and the last kept signed head
 *                  (its CDS_THEAD_WIRE_BYTES form, tverify.h)
 *   contacts       the user's contacts, names, canonical handles, problems
 *   handles        per handle: OPRF output and the epoch it was evaluated
 *                  in; the last result (registered, account, identity key)
 *                  and when it was checked
 *   buckets        per (epoch, prefix): ETag and the entries last served
 *   monitor_*      `cds monitor`: the account's handles' OPRF outputs (per
 *                  epoch), the last version checked per epoch, the
 *                  identity keys the account is known to have set, and its
 *                  handles' buckets (as `buckets`, revalidated by ETag)
 *
 * Invariants:
 *   1. The file is created mode 0600 and tightened to 0600 if it was looser
 *      (it holds the address book and per-contact OPRF outputs);
 *      secure_delete is on, so deleted rows are overwritten.
 *   2. Data derived from a server (handles, buckets) is only ever used with
 *      the server URL and public key in meta: cds_cache_reconcile() wipes it
 *      when they no longer match.
 *   3. Writers group their changes between cds_cache_begin() and
 *      cds_cache_commit(), so a crash leaves the last committed state.
 * Not thread-safe: one thread at a time.
 */
#ifndef CDS_CLIENT_CACHE_H
#define CDS_CLIENT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addressbook/contacts.h"
#include "core/err.h"
#include "crypto/entry.h"
#include "crypto/oprf.h"
#include "crypto/thead.h"

#define CDS_CACHE_SCHEMA_VERSION 2

struct cds_cache;

/* What the cache remembers of one handle. */
struct cds_cache_handle {
	bool evaluated;                    /* out holds an OPRF output */
	uint32_t epoch;                    /* ... of this epoch */
	uint8_t out[CDS_OPRF_OUTPUT_BYTES];
	bool checked;                      /* a result is known */
	bool registered;
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
	int64_t checked_us;
};

/* A cached bucket: entries (n * CDS_ENTRY_BYTES) malloc'd, caller frees. */
struct cds_cache_bucket {
	char *etag;
	uint8_t *entries;
	size_t n;
};

/*
 * Open or create the cache at path.  CDS_ERR_IO if the file cannot be
 * created or is not a regular file, CDS_ERR_STORE if it is not a cds cache
 * (another SQLite database, a newer schema, not SQLite at all).
 */
enum cds_err cds_cache_open(struct cds_cache **out, const char *path,
			    struct cds_error *err) CDS_MUST_CHECK;
void cds_cache_close(struct cds_cache *c); /* accepts NULL */

/* Create the file at path 0600 ourselves (SQLite would use the umask) or
 * tighten an existing one; refuse anything but a regular file.  `what`
 * ("cache") names it in messages.  Shared with the audit state. */
enum cds_err cds_sqlite_private_file(const char *path, const char *what,
				     struct cds_error *err) CDS_MUST_CHECK;

enum cds_err cds_cache_begin(struct cds_cache *c,
			     struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_cache_commit(struct cds_cache *c,
			      struct cds_error *err) CDS_MUST_CHECK;
void cds_cache_rollback(struct cds_cache *c); /* no-op outside a transaction */

/*
 * Bring meta in line with what the server at url now presents.  Wipes the
 * handles and buckets (and sets *reset) if the cache was filled from another
 * URL or if the server's epoch is older than the cached one.  The same
 * server presenting the cached epoch with another public key is refused
 * (CDS_ERR_CRYPTO, nothing changed): a possible tagging attack, never a
 * reason to start afresh.  A change of prefix_bits drops the buckets only.
 * A newer epoch keeps everything: handles evaluated in older epochs are
 * simply re-evaluated by the caller.
 */
enum cds_err cds_cache_reconcile(struct cds_cache *c, const char *url,
				 uint32_t epoch,
				 const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
				 unsigned prefix_bits, bool *reset,
				 struct cds_error *err) CDS_MUST_CHECK;

/* Replace the saved contacts by l (ids, order, handles, problems). */
enum cds_err cds_cache_contacts_save(struct cds_cache *c,
				     const struct cds_contact_list *l,
				     struct cds_error *err) CDS_MUST_CHECK;
/* Append the saved contacts to l (normally empty) and restore next_id. */
enum cds_err cds_cache_contacts_load(struct cds_cache *c,
				     struct cds_contact_list *l,
				     struct cds_error *err) CDS_MUST_CHECK;

/* *found = false (row zeroed) if the handle is not in the cache. */
enum cds_err cds_cache_handle_get(struct cds_cache *c, const char *handle,
				  struct cds_cache_handle *row, bool *found,
				  struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_cache_handle_put_output(struct cds_cache *c,
					 const char *handle, uint32_t epoch,
					 const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
					 int64_t now_us,
					 struct cds_error *err) CDS_MUST_CHECK;
/* account and identity_key are ignored (stored empty) if !registered. */
enum cds_err cds_cache_handle_put_result(struct cds_cache *c,
					 const char *handle, bool registered,
					 const uint8_t *account,
					 const uint8_t *identity_key,
					 int64_t now_us,
					 struct cds_error *err) CDS_MUST_CHECK;
/* Forget every handle not in keep[0..n) (sorted by strcmp). */
enum cds_err cds_cache_handles_keep(struct cds_cache *c,
				    const char *const *keep, size_t n,
				    struct cds_error *err) CDS_MUST_CHECK;
/* Number of handles in the cache (tests, stats). */
enum cds_err cds_cache_handle_count(struct cds_cache *c, size_t *n,
				    struct cds_error *err) CDS_MUST_CHECK;

/* Which table of buckets: a sync's (the contacts' buckets, pruned by
 * cds_cache_buckets_keep) or the monitor's (its handles' buckets). */
enum cds_cache_table {
	CDS_CACHE_SYNC = 0,
	CDS_CACHE_MONITOR = 1,
};

/* *found = false if (epoch, prefix) is not cached.  Free b with
 * cds_cache_bucket_fini. */
enum cds_err cds_cache_bucket_get(struct cds_cache *c,
				  enum cds_cache_table t, uint32_t epoch,
				  uint32_t prefix, struct cds_cache_bucket *b,
				  bool *found,
				  struct cds_error *err) CDS_MUST_CHECK;
void cds_cache_bucket_fini(struct cds_cache_bucket *b);
enum cds_err cds_cache_bucket_put(struct cds_cache *c,
				  enum cds_cache_table t, uint32_t epoch,
				  uint32_t prefix, const char *etag,
				  const uint8_t *entries, size_t n,
				  int64_t now_us,
				  struct cds_error *err) CDS_MUST_CHECK;
/* Drop every bucket not of epoch or not in keep[0..n) (sorted). */
enum cds_err cds_cache_buckets_keep(struct cds_cache *c, uint32_t epoch,
				    const uint32_t *keep, size_t n,
				    struct cds_error *err) CDS_MUST_CHECK;

/* ---- transparency (cache_tlog.c) ---- */

/*
 * Pin the server's transparency key on first use; a different key later is
 * refused (CDS_ERR_CRYPTO, nothing changed), like another OPRF key within
 * an epoch: the pin goes only with the server URL (cds_cache_reconcile).
 */
enum cds_err cds_cache_tkey_pin(struct cds_cache *c,
				const uint8_t key[static CDS_TKEY_PUBLIC_BYTES],
				struct cds_error *err) CDS_MUST_CHECK;
/* The last kept head (*found false if none). */
enum cds_err cds_cache_thead_get(struct cds_cache *c, struct cds_thead *h,
				 bool *found,
				 struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_cache_thead_put(struct cds_cache *c, const struct cds_thead *h,
				 struct cds_error *err) CDS_MUST_CHECK;

/* ---- cds monitor (cache_monitor.c) ---- */

/* handle's OPRF output for epoch (*found false if none for that epoch). */
enum cds_err cds_cache_mon_output_get(struct cds_cache *c, const char *handle,
				      uint32_t epoch,
				      uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
				      bool *found,
				      struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_cache_mon_output_put(struct cds_cache *c, const char *handle,
				      uint32_t epoch,
				      const uint8_t out[static CDS_OPRF_OUTPUT_BYTES],
				      struct cds_error *err) CDS_MUST_CHECK;
/* Every handle the monitor has watched (malloc'd array of malloc'd
 * strings, sorted; free each and the array). */
enum cds_err cds_cache_mon_handles(struct cds_cache *c, char ***handles,
				   size_t *n,
				   struct cds_error *err) CDS_MUST_CHECK;
/* Last version checked in epoch (0 if none). */
enum cds_err cds_cache_mon_version_get(struct cds_cache *c, uint32_t epoch,
				       uint64_t *version,
				       struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_cache_mon_version_put(struct cds_cache *c, uint32_t epoch,
				       uint64_t version,
				       struct cds_error *err) CDS_MUST_CHECK;
/* Keys the account set: remember one; is one of them? */
enum cds_err cds_cache_mon_key_add(struct cds_cache *c,
				   const uint8_t key[static CDS_IDENTITY_KEY_BYTES],
				   int64_t now_us,
				   struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_cache_mon_key_known(struct cds_cache *c,
				     const uint8_t key[static CDS_IDENTITY_KEY_BYTES],
				     bool *known,
				     struct cds_error *err) CDS_MUST_CHECK;

/* Record the end of a completed sync. */
enum cds_err cds_cache_mark_synced(struct cds_cache *c, int64_t now_us,
				   struct cds_error *err) CDS_MUST_CHECK;

#endif
