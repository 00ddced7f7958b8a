/*
 * cds/client.h: the cds client library.
 *
 * A client holds a list of contacts (names and their handles: phone numbers
 * and e-mail addresses, normalised to canonical form) and asks a cds server
 * which of those handles reach an account, and with which identity key.
 *
 * Private discovery (the default, protocol v1) never shows the server a
 * handle: each handle is blinded (RFC 9497 VOPRF, ristretto255-SHA512), the
 * server evaluates the blinded elements and proves it used its published key,
 * and the client then fetches the public buckets its handles fall into and
 * decrypts its own entries.  Plain lookup sends the handles in the clear; it
 * is used only when the caller asks for it AND the server offers it.
 *
 * With a cache file (SQLite, mode 0600) the client remembers each handle's
 * OPRF output per key epoch and its last result, so cds_client_sync() spends
 * OPRF evaluations only on new handles (or once after a key rotation) and
 * otherwise revalidates its cached buckets with their ETags, 256 to a
 * request, which costs a few bytes per bucket when nothing changed.  Sync
 * reports what changed since the previous sync.
 *
 * Conventions
 *   - Every fallible function returns enum cds_err (cds/err.h; CDS_OK = 0)
 *     and, on failure, fills the caller's struct cds_error with a one-line
 *     message naming the bad input.  err may be NULL.
 *   - Strings are UTF-8 and NUL-terminated; the library copies what it keeps.
 *   - Thread-compatible: one struct cds_client must not be used by two
 *     threads at once; distinct clients may run in parallel.  The library
 *     starts at most `threads` worker threads of its own during an operation
 *     and joins them before returning.  The only global state is libsodium's,
 *     libcurl's and jansson's one-time initialisation, done once under
 *     pthread_once by cds_client_new().
 *   - Pointers returned by the accessors (results, contact names) stay valid
 *     until the next call that changes contacts, runs an operation or frees
 *     the client.
 *
 * Minimal use (see examples/example_client.c):
 *
 *     struct cds_client_options opt;
 *     struct cds_client *c;
 *     struct cds_error err;
 *     uint64_t id = 0;
 *     const char *raw[] = { "(201) 555-0123", "Alice@Example.org" };
 *
 *     cds_client_options_init(&opt);
 *     opt.server_url = "http://127.0.0.1:8080";
 *     opt.token = token;
 *     if (cds_client_new(&c, &opt, &err) ||
 *         cds_client_contact_add(c, &id, "Alice", raw, 2, "US", &err) ||
 *         cds_client_discover(c, 0, &err))
 *             fprintf(stderr, "%s\n", err.msg);
 *     for (size_t i = 0; i < cds_client_result_count(c); i++) {
 *             const struct cds_result *r = cds_client_result_at(c, i);
 *             printf("%s %s %s\n", r->name, r->handle,
 *                    r->registered ? r->account_hex : "-");
 *     }
 *     cds_client_free(c);
 */
#ifndef CDS_CLIENT_H
#define CDS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "cds/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CDS_CLIENT_ACCOUNT_BYTES 16
#define CDS_CLIENT_ACCOUNT_HEX_BYTES (2 * CDS_CLIENT_ACCOUNT_BYTES + 1)
#define CDS_CLIENT_IDENTITY_KEY_BYTES 32
#define CDS_CLIENT_PUBLIC_KEY_BYTES 32
/* Longest canonical handle ("mailto:" + 254) plus its terminator. */
#define CDS_CLIENT_HANDLE_BYTES 262

struct cds_client;

/* ---- Events: waiting and progress ------------------------------------ */

enum cds_event_kind {
	CDS_EVENT_WAIT = 1,     /* about to wait out a 429/503 Retry-After */
	CDS_EVENT_PROGRESS = 2, /* a step of an operation advanced */
};

/* The steps of a private discovery or sync that report progress. */
enum cds_phase {
	CDS_PHASE_BLINDED = 0,   /* handles blinded */
	CDS_PHASE_EVALUATED = 1, /* handles evaluated by the server, verified */
	CDS_PHASE_BUCKETS = 2,   /* buckets fetched or revalidated */
	CDS_PHASE__COUNT = 3,
};

struct cds_client_event {
	enum cds_event_kind kind;
	/* CDS_EVENT_WAIT */
	const char *request;     /* "POST /v1/buckets" */
	long status;             /* 429 or 503 */
	long wait_ms;            /* about to wait this long (with jitter) */
	long waited_ms;          /* waited before this, in this operation */
	long max_wait_ms;        /* the bound (cds_client_options) */
	/* CDS_EVENT_PROGRESS: done[p] of total[p] for every phase p (totals
	 * are 0 for a step that has nothing to do) */
	uint64_t done[CDS_PHASE__COUNT];
	uint64_t total[CDS_PHASE__COUNT];
};

/*
 * Called during an operation, possibly from the library's worker threads,
 * but never by two threads at once.  It must not call back into the client.
 */
typedef void (*cds_client_event_fn)(void *ctx,
				    const struct cds_client_event *ev);

/*
 * Options for cds_client_new().  Call cds_client_options_init() first, then
 * set what you need; every field has a usable default except server_url.
 */
struct cds_client_options {
	/* Base URL of the server, "http://host:port" or "https://...".
	 * Required. */
	const char *server_url;
	/* Account token sent as "Authorization: Bearer" to /v1/discover and
	 * /v1/lookup.  NULL: those calls fail with CDS_ERR_AUTH.  Wiped from
	 * the library's memory by cds_client_free(). */
	const char *token;
	/* SQLite cache file, created mode 0600 if missing.  NULL: no cache
	 * (cds_client_sync then fails with CDS_ERR_USAGE).  Contacts kept in
	 * the cache are loaded by cds_client_new(). */
	const char *cache_path;
	/* Default region (ISO 3166 alpha-2, e.g. "US") for phone numbers
	 * written without a country code.  NULL: from the locale, else "US". */
	const char *region;
	/* Random extra buckets fetched per operation so that the server
	 * cannot tell which fetched buckets hold the contacts.  Default 0. */
	unsigned decoys;
	/* Worker threads for blinding, evaluation requests, finalising and
	 * bucket fetches (1..8).  Default 2. */
	unsigned threads;
	/* TCP connect timeout and whole-request timeout, milliseconds.
	 * Defaults 5000 and 60000. */
	long connect_timeout_ms;
	long timeout_ms;
	/* Largest server reply accepted, bytes.  Default 256 MiB. */
	size_t max_reply_bytes;
	/* Non-zero: allow sending the token over plain http:// to a host that
	 * is not loopback (127.0.0.0/8, ::1, localhost).  Default 0: then
	 * cds_client_new refuses such a URL with CDS_ERR_INVALID, since anyone
	 * on the path could read the token and spend its rate limit. */
	int insecure_http;
	/* A 429 or 503 with Retry-After is waited out (plus up to a quarter
	 * more, at random, so that clients refused together do not return
	 * together) and the request sent again, as long as the waits of one
	 * operation add up to at most this many milliseconds; past it the
	 * operation fails (CDS_ERR_RATE or CDS_ERR_BUSY).  0 = never wait.
	 * Default 300000 (5 minutes).  Exception: a 429 on POST /v1/discover
	 * or /v1/lookup means the account's daily allowance is spent, which
	 * no short wait cures: it fails at once, saying when it refills. */
	long max_wait_ms;
	/* Waits and progress, or NULL. */
	cds_client_event_fn on_event;
	void *event_ctx;
	/* Oblivious HTTP relay (RFC 9458), "http://..." or "https://...":
	 * every request then goes, encrypted to the server's gateway key,
	 * through this relay, so that the server never sees this machine's
	 * address; the key configuration is fetched through the relay and
	 * checked against the one the server publishes.  NULL (the default):
	 * requests go straight to server_url. */
	const char *relay_url;
	/* PEM file of the certificate authorities to trust for https://
	 * (server and relay) instead of the system's store: for a server
	 * whose certificate a private CA signed, or that signed it itself
	 * (then the file is that certificate).  Names and expiry are still
	 * checked.  cds_client_new fails with CDS_ERR_INVALID if the file
	 * cannot be read.  NULL (the default): the system's store. */
	const char *ca_file;
};

/* Fill opt with the defaults (all pointers NULL). */
void cds_client_options_init(struct cds_client_options *opt);

/*
 * Create a client.  Checks the options (CDS_ERR_INVALID naming the bad one),
 * opens or creates the cache (CDS_ERR_STORE, CDS_ERR_IO) and loads the
 * contacts saved in it.  No network traffic.  *out is freed with
 * cds_client_free().
 */
enum cds_err cds_client_new(struct cds_client **out,
			    const struct cds_client_options *opt,
			    struct cds_error *err) CDS_MUST_CHECK;

/* Wipe secrets (token, OPRF outputs in memory), close the cache, free.
 * Accepts NULL. */
void cds_client_free(struct cds_client *c);

/* Library version, e.g. "0.1.0". */
const char *cds_client_version(void);

/* ---- Handles and contacts ------------------------------------------- */

/*
 * Normalise one raw address-book entry to a canonical handle: anything with
 * an '@' is an e-mail address ("mailto:" + lower case), anything else a phone
 * number ("tel:+" + E.164, using region when it has no country code; NULL
 * region = from the locale, else "US").  Canonical input is accepted as is;
 * a "mailto:" or "tel:" prefix on raw input is dropped before normalising.
 * out must hold CDS_CLIENT_HANDLE_BYTES.  CDS_ERR_INVALID quoting raw.
 */
enum cds_err cds_client_normalize(char out[CDS_CLIENT_HANDLE_BYTES],
				  const char *raw, const char *region,
				  struct cds_error *err) CDS_MUST_CHECK;

/*
 * Add a contact.  *id in: 0 = let the library choose, else the caller's
 * choice (CDS_ERR_EXISTS if taken); out: the contact's id.  raw[0..n_raw)
 * are raw phone numbers or e-mail addresses normalised as by
 * cds_client_normalize() (duplicates collapse).  If any entry cannot be
 * normalised nothing is added: CDS_ERR_INVALID quoting it, err->index = its
 * position.  name may be NULL ("").
 */
enum cds_err cds_client_contact_add(struct cds_client *c, uint64_t *id,
				    const char *name,
				    const char *const *raw, size_t n_raw,
				    const char *region,
				    struct cds_error *err) CDS_MUST_CHECK;

/* Replace the name and entries of contact id (rules of contact_add).
 * CDS_ERR_NOT_FOUND if there is no such contact. */
enum cds_err cds_client_contact_update(struct cds_client *c, uint64_t id,
				       const char *name,
				       const char *const *raw, size_t n_raw,
				       const char *region,
				       struct cds_error *err) CDS_MUST_CHECK;

/* Remove contact id.  CDS_ERR_NOT_FOUND if there is no such contact. */
enum cds_err cds_client_contact_remove(struct cds_client *c, uint64_t id,
				       struct cds_error *err) CDS_MUST_CHECK;

/* Remove every contact (results of the last operation stay readable). */
void cds_client_contacts_clear(struct cds_client *c);

/*
 * Add the contacts of an address book: vCard 2.1/3.0/4.0 (.vcf, .vcard) or
 * CSV, path "-" = standard input, format from the extension or the content.
 * Entries that cannot be normalised are kept as problems of their contact
 * (cds_contact_info.problems) rather than failing the load.  *added (may be
 * NULL) gets the number of contacts added.  CDS_ERR_NOT_FOUND / CDS_ERR_IO
 * for an unreadable file, CDS_ERR_INVALID naming the line of a malformed
 * one, CDS_ERR_TOO_LARGE over the size limits.
 */
enum cds_err cds_client_load_addressbook(struct cds_client *c,
					 const char *path, const char *region,
					 size_t *added,
					 struct cds_error *err) CDS_MUST_CHECK;

/* The same from memory; data[0..len) need not be NUL-terminated. */
enum cds_err cds_client_load_addressbook_mem(struct cds_client *c,
					     const char *data, size_t len,
					     const char *region, size_t *added,
					     struct cds_error *err)
					     CDS_MUST_CHECK;

/* A contact as the library holds it. */
struct cds_contact_info {
	uint64_t id;
	const char *name;
	const char *const *handles; /* canonical */
	size_t n_handles;
	const char *const *problems; /* entries that could not be normalised */
	size_t n_problems;
};

size_t cds_client_contact_count(const struct cds_client *c);

/* Contact number i (0 <= i < count), in the order added.  Returns 0, or -1
 * (and leaves out alone) if i is out of range. */
int cds_client_contact_at(const struct cds_client *c, size_t i,
			  struct cds_contact_info *out);

/* ---- Operations ----------------------------------------------------- */

/* Flags of cds_client_discover(). */
#define CDS_DISCOVER_PLAIN 0x1u /* plain lookup: the server sees, and may
				   log, every handle */

/*
 * Discover which handles of the current contacts are registered.
 *
 * Private (default): GET /v1/params, blind, POST /v1/discover in batches,
 * verify the batched proof against the published key, finalise, fetch the
 * buckets (plus `decoys` random ones) and decrypt the matching entries.  No
 * cache is read or written.
 *
 * CDS_DISCOVER_PLAIN: POST /v1/lookup, only if the server's params say it
 * offers plain lookup (else CDS_ERR_DISABLED).
 *
 * Errors: CDS_ERR_NET (unreachable), CDS_ERR_AUTH (token refused),
 * CDS_ERR_RATE (err->msg and stats.retry_after_s say when to retry),
 * CDS_ERR_EPOCH (the key changed twice during the call), CDS_ERR_CRYPTO (the
 * server's proof did not verify, or a bucket entry that matches a handle's
 * fingerprint does not decrypt: results are refused), CDS_ERR_PROTO (a
 * malformed reply), CDS_ERR_BUSY, CDS_ERR_TOO_LARGE.  On failure no results
 * are available.
 */
enum cds_err cds_client_discover(struct cds_client *c, unsigned flags,
				 struct cds_error *err) CDS_MUST_CHECK;

/*
 * Private discovery with the cache (required: CDS_ERR_USAGE without one).
 * Handles never evaluated, or evaluated in an epoch other than the server's
 * current one, get an OPRF evaluation; every other handle only revalidates
 * its cached bucket (POST /v1/buckets with "etags": "not_modified" and no
 * entries when unchanged).  Each result carries
 * its change since the previous sync.  The contacts, OPRF outputs, results
 * and buckets are saved in transactions, so an interrupted sync leaves the
 * cache as the last completed step left it.  A cache that was filled from a
 * different server URL, or whose key epoch the server now presents with a
 * different public key (or an older epoch), starts afresh
 * (stats.cache_reset = 1).  Handles no longer on any contact are forgotten.
 * Errors as cds_client_discover(), plus CDS_ERR_STORE for the cache.
 */
enum cds_err cds_client_sync(struct cds_client *c,
			     struct cds_error *err) CDS_MUST_CHECK;

/* What a sync found changed for one handle since the previous sync. */
enum cds_change {
	CDS_CHANGE_UNCHANGED = 0,
	CDS_CHANGE_NEW = 1,  /* registered now, not before (or first check) */
	CDS_CHANGE_GONE = 2, /* registered before, not now */
	CDS_CHANGE_KEY = 3,  /* still registered, but to another identity
				key or account: verify before trusting */
};

/* "unchanged", "new", "gone", "key_changed". */
const char *cds_change_name(enum cds_change change);

/* One (contact, handle) pair of the last operation, in contact order. */
struct cds_result {
	uint64_t contact_id;
	const char *name;
	const char *handle;
	int registered; /* 1 or 0 */
	uint8_t account[CDS_CLIENT_ACCOUNT_BYTES];         /* zero if not */
	char account_hex[CDS_CLIENT_ACCOUNT_HEX_BYTES];    /* "" if not */
	uint8_t identity_key[CDS_CLIENT_IDENTITY_KEY_BYTES]; /* zero if not */
	enum cds_change change; /* sync only; UNCHANGED after discover */
	/* sync, change KEY: what the previous sync saw */
	char previous_account_hex[CDS_CLIENT_ACCOUNT_HEX_BYTES];
	uint8_t previous_identity_key[CDS_CLIENT_IDENTITY_KEY_BYTES];
};

size_t cds_client_result_count(const struct cds_client *c);

/* Result i of the last successful operation, NULL if out of range. */
const struct cds_result *cds_client_result_at(const struct cds_client *c,
					      size_t i);

/* Figures of the last operation (successful or not). */
struct cds_client_stats {
	uint32_t epoch;                /* key epoch used, 0 if none */
	unsigned prefix_bits;
	size_t contacts;
	size_t handles;                /* distinct handles asked about */
	size_t registered;             /* of those, registered */
	size_t problems;               /* entries that were not normalised */
	size_t changes;                /* sync: results not unchanged */
	uint64_t oprf_evaluations;     /* elements the server evaluated */
	uint64_t plain_lookups;        /* handles sent in the clear */
	uint64_t buckets_fetched;      /* bucket bodies received (200) */
	uint64_t buckets_not_modified; /* answered not modified */
	uint64_t decoys;               /* of the buckets asked for, decoys */
	uint64_t requests;             /* HTTP requests made */
	uint64_t bytes_down;           /* headers and bodies received */
	uint64_t bytes_up;             /* headers and bodies sent */
	long retry_after_s;            /* after CDS_ERR_RATE / BUSY: the
					  server's Retry-After, else 0 */
	uint64_t waits;                /* 429/503 answers waited out */
	int64_t waited_ms;             /* time spent waiting them out */
	int cache_reset;               /* sync started the cache afresh */
	uint64_t entry_bytes;          /* bucket entries received (binary) */
	uint64_t proof_bytes;          /* inclusion proofs checked (binary) */
	uint64_t transparency_bytes;   /* bodies of signed heads and
					  consistency proofs received */
	int64_t wall_us;               /* duration of the operation */
};

void cds_client_get_stats(const struct cds_client *c,
			  struct cds_client_stats *out);

/* The server's discovery parameters (GET /v1/params). */
struct cds_server_params {
	uint32_t epoch;
	uint8_t public_key[CDS_CLIENT_PUBLIC_KEY_BYTES];
	unsigned prefix_bits;
	size_t max_batch;
	int plain_lookup; /* the server offers /v1/lookup */
};

/* Fetch and check GET /v1/params (CDS_ERR_PROTO if the server does not
 * speak protocol v1 as DESIGN.md pins it). */
enum cds_err cds_client_server_params(struct cds_client *c,
				      struct cds_server_params *out,
				      struct cds_error *err) CDS_MUST_CHECK;

/* ---- Monitoring the account's own handles ----------------------------- */

enum cds_monitor_kind {
	CDS_MONITOR_BOUND = 1,   /* the handle's entry opens to this account
				    and a key it set: informational */
	CDS_MONITOR_REMOVED = 2, /* the handle left the directory while the
				    account holds it */
	CDS_MONITOR_TAKEN = 3,   /* the entry opens to another account, or to
				    a key this account never set */
};

/* One finding of cds_client_monitor(). */
struct cds_monitor_event {
	const char *handle;
	uint64_t version;          /* the directory version it appeared in */
	enum cds_monitor_kind kind;
	int has_owner;             /* bound, taken: whom the entry opens to */
	uint8_t account[CDS_CLIENT_ACCOUNT_BYTES];
	char account_hex[CDS_CLIENT_ACCOUNT_HEX_BYTES];
	uint8_t identity_key[CDS_CLIENT_IDENTITY_KEY_BYTES];
};

/*
 * Check every directory version since the last run for the account's own
 * handles (needs the token and the cache).  Reads the account's record
 * (GET /v1/accounts/me: its handles and identity key, which joins the keys
 * the cache remembers it set), evaluates each handle once per key epoch
 * (charged like a discovery), follows the history of each handle's bucket
 * (GET /v1/transparency/buckets/P/history) from the last version checked,
 * and checks the current buckets against the signed heads like a sync.
 * The findings are read with cds_client_monitor_count/_at; any
 * CDS_MONITOR_TAKEN means the directory bound a handle of this account to
 * someone else.  Run it once right after registering: a key the account
 * set before the first run is not known to the cache.  Errors as
 * cds_client_sync(); on failure nothing is saved.
 */
enum cds_err cds_client_monitor(struct cds_client *c,
				struct cds_error *err) CDS_MUST_CHECK;

size_t cds_client_monitor_count(const struct cds_client *c);
/* Finding i of the last monitor run, in version order; NULL if none. */
const struct cds_monitor_event *cds_client_monitor_at(const struct cds_client *c,
						      size_t i);
/* "bound", "removed", "taken". */
const char *cds_monitor_kind_name(enum cds_monitor_kind kind);

#ifdef __cplusplus
}
#endif

#endif
