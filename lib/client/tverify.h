/*
 * tverify.h: checking bucket answers against the directory's signed heads
 * (DESIGN.md "Directory transparency", "What clients check"; lib/client
 * internal).
 *
 * One struct cds_tverify lives for one operation.  It fetches the head of
 * each version a bucket names once (GET /v1/transparency/head?version=V),
 * checks its signature under the key it was given (pinned by the cache, or
 * the params' for a cache-less discover), and keeps every head it admits
 * consistent with the newest one it knows (`kept`, from the cache at the
 * start): an older or newer head is admitted only with an RFC 9162
 * consistency proof between the two, and a head of the kept version must
 * be byte for byte the kept one.
 *
 * Invariants:
 *   1. A bucket is accepted only if leaf(epoch, prefix, entries) and its
 *      proof lead to the root of an admitted head of the same epoch.
 *   2. Two different signed heads for one version are a hard error
 *      (CDS_ERR_CRYPTO) whose message holds both, as evidence.
 *   3. Every failure names the version (and the bucket for a bucket).
 *   4. `kept` only moves forward, and only to an admitted head.
 */
#ifndef CDS_CLIENT_TVERIFY_H
#define CDS_CLIENT_TVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/thead.h"

#include "core/buf.h"

/*
 * How the verifier reaches the server: GET path into body, CDS_OK only for
 * a 200 (anything else an error naming `what`).  The client's goes through
 * cds_client_request (direct or relay); tests serve crafted replies.
 */
struct cds_tfetch {
	enum cds_err (*get)(void *ctx, const char *path, const char *what,
			    struct cds_buf *body, struct cds_error *err);
	void *ctx;
	uint64_t bytes; /* bodies received through it */
};

/* A head as the cache keeps it: its signed bytes then its signature. */
#define CDS_THEAD_WIRE_BYTES (CDS_THEAD_SIGNED_BYTES + CDS_THEAD_SIG_BYTES)

struct cds_tverify {
	struct cds_tfetch *fetch;
	uint8_t key[CDS_TKEY_PUBLIC_BYTES];
	struct cds_thead *heads;        /* admitted in this operation */
	size_t n, cap;
	bool have_kept;
	struct cds_thead kept;          /* newest admitted head */
	bool kept_moved;                /* differs from the one given */
};

/* kept NULL: no head known yet (a first run, or no cache). */
void cds_tverify_init(struct cds_tverify *tv, struct cds_tfetch *fetch,
		      const uint8_t key[static CDS_TKEY_PUBLIC_BYTES],
		      const struct cds_thead *kept);
void cds_tverify_fini(struct cds_tverify *tv);

/*
 * The admitted head of version v (a pointer into tv, valid until the next
 * call): fetched, signature-checked and checked consistent with `kept` on
 * first use.  CDS_ERR_CRYPTO for a bad signature, an inconsistent log or a
 * split view; request and parse errors as usual.
 */
enum cds_err cds_tverify_head(struct cds_tverify *tv, uint64_t v,
			      const struct cds_thead **out,
			      struct cds_error *err) CDS_MUST_CHECK;

/*
 * Admit an already fetched head h (GET /v1/transparency/head): signature,
 * then consistency with `kept` as for cds_tverify_head.
 */
enum cds_err cds_tverify_admit(struct cds_tverify *tv,
			       const struct cds_thead *h,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Invariant 1 for bucket `prefix` of `epoch` (tree depth k): entries
 * (n * CDS_ENTRY_BYTES) as served in version `version` with proof (32 k
 * bytes).  CDS_ERR_CRYPTO naming the bucket and the version if it does
 * not match.
 */
enum cds_err cds_tverify_bucket(struct cds_tverify *tv, uint32_t epoch,
				unsigned k, uint32_t prefix,
				const uint8_t *entries, size_t n,
				uint64_t version, const uint8_t *proof,
				struct cds_error *err) CDS_MUST_CHECK;

/* A head to and from its CDS_THEAD_WIRE_BYTES form (the cache's). */
void cds_thead_wire(uint8_t out[static CDS_THEAD_WIRE_BYTES],
		    const struct cds_thead *h);
/* CDS_ERR_INVALID if the bytes do not start with the head label. */
enum cds_err cds_thead_unwire(struct cds_thead *h,
			      const uint8_t in[static CDS_THEAD_WIRE_BYTES],
			      struct cds_error *err) CDS_MUST_CHECK;

/*
 * The consistency of two signed heads, a older than b, by their log roots,
 * fetching the proof (GET /v1/transparency/consistency?from=a&to=b).
 * CDS_ERR_CRYPTO naming both versions if the log of b does not extend that
 * of a.
 */
enum cds_err cds_tverify_consistent(struct cds_tfetch *f,
				    const struct cds_thead *a,
				    const struct cds_thead *b,
				    struct cds_error *err) CDS_MUST_CHECK;

/* Fetch, parse and signature-check the head of version v (0: the latest). */
enum cds_err cds_tverify_fetch_head(struct cds_tfetch *f, uint64_t v,
				    const uint8_t key[static CDS_TKEY_PUBLIC_BYTES],
				    struct cds_thead *h,
				    struct cds_error *err) CDS_MUST_CHECK;

#endif
