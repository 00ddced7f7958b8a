/*
 * protocol_tlog.h: the client's codecs for the directory transparency
 * routes (DESIGN.md "Directory transparency", API table) and for GET
 * /v1/accounts/me, which `cds monitor` reads (lib/client internal).
 *
 * Same rules as protocol.h: every field used must be present with the
 * right type, range and length; base64 canonical; CDS_ERR_PROTO naming the
 * route and the field otherwise; fields not used are ignored.  In addition
 * change lists are canonical: prefixes strictly ascending and below 2^K,
 * removed fingerprints strictly ascending, added entries whole and in
 * strict fingerprint order, so that what a client replays is what a server
 * following tstore.h invariant 3 wrote.
 */
#ifndef CDS_CLIENT_PROTOCOL_TLOG_H
#define CDS_CLIENT_PROTOCOL_TLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/entry.h"
#include "crypto/mlog.h"
#include "crypto/thead.h"

/* Largest page of GET /v1/transparency/versions/V the client asks for. */
#define CDS_TLOG_PAGE_MAX 256

/*
 * GET /v1/transparency/head[?version=V]: want_version 0 takes the latest,
 * otherwise the head must be of that version.  Versions start at 1.
 */
enum cds_err cds_proto_parse_thead(struct cds_thead *h, uint64_t want_version,
				   const char *body, size_t len,
				   struct cds_error *err) CDS_MUST_CHECK;

/* GET /v1/transparency/consistency?from=N&to=M: the same from and to, at
 * most CDS_MLOG_PROOF_MAX hashes into proof, *n of them. */
enum cds_err cds_proto_parse_consistency(uint8_t proof[][CDS_HASH_BYTES],
					 size_t *n, uint64_t from, uint64_t to,
					 const char *body, size_t len,
					 struct cds_error *err) CDS_MUST_CHECK;

/* One bucket's change in one version; arrays malloc'd. */
struct cds_proto_tchange {
	uint64_t version;   /* bucket histories: the version of this change */
	uint32_t prefix;
	uint8_t *removed;   /* n_removed * CDS_FP_BYTES, ascending */
	size_t n_removed;
	uint8_t *added;     /* n_added * CDS_ENTRY_BYTES, fp order */
	size_t n_added;
};

/* One page of GET /v1/transparency/versions/V?from=P. */
struct cds_proto_tversion {
	uint32_t epoch;
	uint64_t version;
	uint64_t time_ms;
	uint8_t root[CDS_HASH_BYTES];
	struct cds_proto_tchange *ch; /* prefixes >= from, ascending */
	size_t n;
	bool more;      /* "next" given: the page after starts at next */
	uint32_t next;  /* > every prefix of this page */
};

/*
 * The page must be of version `version`, its prefixes at least from_prefix
 * and below 2^prefix_bits.  Free with cds_proto_tversion_fini (also after
 * a failure).
 */
enum cds_err cds_proto_parse_tversion(struct cds_proto_tversion *out,
				      uint64_t version, unsigned prefix_bits,
				      uint32_t from_prefix,
				      const char *body, size_t len,
				      struct cds_error *err) CDS_MUST_CHECK;
void cds_proto_tversion_fini(struct cds_proto_tversion *v);

/* GET /v1/transparency/buckets/P/history?epoch=E&since=V: one answer
 * (the server may cut a long history; "next" then names the version to
 * ask `since` next, the last one listed). */
struct cds_proto_thistory {
	struct cds_proto_tchange *ch; /* versions > since, ascending */
	size_t n;
	bool more;
	uint64_t next;
};

enum cds_err cds_proto_parse_thistory(struct cds_proto_thistory *out,
				      uint32_t epoch, uint32_t prefix,
				      uint64_t since,
				      const char *body, size_t len,
				      struct cds_error *err) CDS_MUST_CHECK;
void cds_proto_thistory_fini(struct cds_proto_thistory *h);

/* GET /v1/accounts/me: {"account":HEX,"identity_key":B64,"handles":[H...]}. */
struct cds_proto_me {
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	uint8_t identity_key[CDS_IDENTITY_KEY_BYTES];
	char **handles; /* malloc'd strings */
	size_t n;
};

enum cds_err cds_proto_parse_me(struct cds_proto_me *out, const char *body,
				size_t len,
				struct cds_error *err) CDS_MUST_CHECK;
void cds_proto_me_fini(struct cds_proto_me *m);

#endif
