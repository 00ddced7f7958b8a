/*
 * audit.h: what audit.c and audit_state.c share (lib/client internal):
 * the auditor's state file and the right edge of the version log.
 *
 * The state file is SQLite (application_id 'cdsa', schema 1, mode 0600):
 *   meta     server_url, transparency_key (pinned on the first run), head
 *            (the last audited head, CDS_THEAD_WIRE_BYTES), frontier
 *   epochs   per epoch audited: its tree depth K
 *   buckets  per (epoch, prefix): the entries of every non-empty bucket
 * Writers group a version's changes in one transaction (begin/commit).
 */
#ifndef CDS_CLIENT_AUDIT_H
#define CDS_CLIENT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/mlog.h"
#include "crypto/thead.h"

/*
 * The log's right edge: for each set bit `level` of size, the hash of the
 * perfect subtree of 2^level leaves that ends the log there.  That is all
 * RFC 9162 needs to append a leaf and compute the root (mlog.h's node
 * source serves these subtrees to cds_mlog_root).
 */
struct cds_afrontier {
	uint64_t size;
	uint8_t h[64][CDS_HASH_BYTES];
};

void cds_afrontier_append(struct cds_afrontier *f,
			  const uint8_t leaf[CDS_HASH_BYTES]);
enum cds_err cds_afrontier_root(const struct cds_afrontier *f,
				uint8_t out[CDS_HASH_BYTES],
				struct cds_error *err) CDS_MUST_CHECK;

struct cds_astate;

/* Open or create the state file (0600).  CDS_ERR_STORE if it is not an
 * audit state. */
enum cds_err cds_astate_open(struct cds_astate **out, const char *path,
			     struct cds_error *err) CDS_MUST_CHECK;
void cds_astate_close(struct cds_astate *s); /* rolls back; accepts NULL */
enum cds_err cds_astate_begin(struct cds_astate *s,
			      struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_astate_commit(struct cds_astate *s,
			       struct cds_error *err) CDS_MUST_CHECK;
void cds_astate_rollback(struct cds_astate *s);

/*
 * Bind the state to url and pin key on first use.  Another URL is
 * CDS_ERR_INVALID; another key CDS_ERR_CRYPTO.
 */
enum cds_err cds_astate_server(struct cds_astate *s, const char *url,
			       const uint8_t key[static CDS_TKEY_PUBLIC_BYTES],
			       struct cds_error *err) CDS_MUST_CHECK;

enum cds_err cds_astate_head_get(struct cds_astate *s, struct cds_thead *h,
				 bool *found,
				 struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_astate_head_put(struct cds_astate *s,
				 const struct cds_thead *h,
				 struct cds_error *err) CDS_MUST_CHECK;
/* An empty frontier if none was saved. */
enum cds_err cds_astate_frontier_get(struct cds_astate *s,
				     struct cds_afrontier *f,
				     struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_astate_frontier_put(struct cds_astate *s,
				     const struct cds_afrontier *f,
				     struct cds_error *err) CDS_MUST_CHECK;

/* Tree depth of epoch (*found false: not audited yet). */
enum cds_err cds_astate_epoch_get(struct cds_astate *s, uint32_t epoch,
				  unsigned *k, bool *found,
				  struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_astate_epoch_put(struct cds_astate *s, uint32_t epoch,
				  unsigned k,
				  struct cds_error *err) CDS_MUST_CHECK;

/* Bucket entries (malloc'd, caller frees; NULL and 0 for an empty one). */
enum cds_err cds_astate_bucket_get(struct cds_astate *s, uint32_t epoch,
				   uint32_t prefix, uint8_t **entries,
				   size_t *n,
				   struct cds_error *err) CDS_MUST_CHECK;
/* n = 0 deletes the row. */
enum cds_err cds_astate_bucket_put(struct cds_astate *s, uint32_t epoch,
				   uint32_t prefix, const uint8_t *entries,
				   size_t n,
				   struct cds_error *err) CDS_MUST_CHECK;
/* Every stored bucket of epoch through fn (prefix order). */
typedef void (*cds_astate_bucket_fn)(void *ctx, uint32_t prefix,
				     const uint8_t *entries, size_t n);
enum cds_err cds_astate_buckets(struct cds_astate *s, uint32_t epoch,
				cds_astate_bucket_fn fn, void *ctx,
				uint64_t *entries,
				struct cds_error *err) CDS_MUST_CHECK;

#endif
