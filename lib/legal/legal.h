/*
 * legal.h: legal process over the query log (DESIGN.md "Legal process").
 *
 * An export is scoped by exactly one of: the requesting account, a target
 * handle, or a client IP address, and by a time window.  It holds a header
 * (order, scope, window, generation time, record count, retention, the
 * modes in force in the window, and a note saying what the log cannot
 * hold) and the matching records, as JSON or CSV.  Every export appends a
 * ledger entry (ledger.h) with the SHA-256 of the exact bytes disclosed.
 *
 * What an export can contain is bounded by what the log holds: private
 * discoveries record no target, so a target search finds only plain
 * lookups; records logged under the `truncated` IP policy hold only a /24
 * or /48 network and match any address in it; under `none` no address.
 * A record found by a target search lists only that target, not the other
 * handles asked for in the same lookup: they are outside the order's scope.
 */
#ifndef CDS_LEGAL_LEGAL_H
#define CDS_LEGAL_LEGAL_H

#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"
#include "legal/ledger.h"

#define CDS_LEGAL_ORDER_MAX_BYTES 128

enum cds_legal_scope {
	CDS_LEGAL_REQUESTER = 1, /* account id, 32 hex digits */
	CDS_LEGAL_TARGET = 2,    /* canonical handle */
	CDS_LEGAL_IP = 3,        /* IPv4 or IPv6 address */
};

enum cds_legal_format { CDS_LEGAL_JSON = 0, CDS_LEGAL_CSV = 1 };

struct cds_legal_request {
	const char *order_id;        /* 1..128 printable ASCII characters */
	enum cds_legal_scope scope;
	const char *value;           /* as given by the operator */
	int64_t since_us;            /* INT64_MIN: open */
	int64_t until_us;            /* INT64_MAX: open (= now) */
	enum cds_legal_format format;
};

/* What a disclosure produced. */
struct cds_legal_result {
	uint64_t records;
	uint64_t seq;                /* ledger entry */
	char export_sha256[CDS_LEDGER_HASH_HEX_BYTES];
	char entry_hash[CDS_LEDGER_HASH_HEX_BYTES];
};

const char *cds_legal_scope_name(enum cds_legal_scope s);

/*
 * Check a request: CDS_ERR_USAGE with a message naming the bad option
 * (--order, --requester, --target, --ip, --since/--until) and quoting it.
 */
enum cds_err cds_legal_check(const struct cds_legal_request *r,
			     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Build the export document of r from DIR/querylog into out (appended;
 * caller-owned).  Reads only; *records gets the record count.
 */
enum cds_err cds_legal_export(const char *datadir,
			      const struct cds_legal_request *r, int64_t now_us,
			      struct cds_buf *out, uint64_t *records,
			      struct cds_error *err) CDS_MUST_CHECK;

/*
 * The whole disclosure: check r (CDS_ERR_USAGE, nothing written), build
 * the export, append the ledger entry and write the export to out_path
 * (mode 0600; a non-empty existing file is refused with CDS_ERR_USAGE) or,
 * if out_path is NULL, to fp.  A file appears only with its ledger entry:
 * it is written to a temporary name first and renamed once the entry is
 * committed; on stdout the entry is committed before the bytes go out, so
 * no disclosure escapes the ledger.
 */
enum cds_err cds_legal_disclose(const char *datadir,
				const struct cds_legal_request *r,
				const char *out_path, FILE *fp, int64_t now_us,
				struct cds_legal_result *res,
				struct cds_error *err) CDS_MUST_CHECK;

/*
 * Whether the ledger can be trusted (legal_verify.c): its hash chain holds,
 * it extends the head the store recorded after the last export, and, when
 * `published` is given, that head too (whose signature, when sig is not
 * NULL, must verify with the ledger key).  A missing or emptied ledger is a
 * failure unless the store records that no export was ever made.  cur gets
 * the ledger's head (0 entries if there is no ledger).  CDS_ERR_CRYPTO
 * naming the first broken entry or the head it fails to extend.
 */
enum cds_err cds_legal_verify(const char *datadir,
			      const struct cds_ledger_head *published,
			      const uint8_t *sig, struct cds_ledger_head *cur,
			      struct cds_error *err) CDS_MUST_CHECK;

enum cds_legal_report_format { CDS_REPORT_JSON = 0, CDS_REPORT_MD = 1 };

/*
 * Transparency report from the ledger (report.c): per calendar month
 * (or one period = the window, when since or until is given) the number of
 * orders, exports and records disclosed, in total and by scope type.
 * CDS_ERR_CRYPTO if the ledger does not verify.  A missing ledger is an
 * empty one.  Appends to out.
 */
enum cds_err cds_legal_transparency(const char *datadir, int64_t since_us,
				    int64_t until_us, int64_t now_us,
				    enum cds_legal_report_format format,
				    struct cds_buf *out,
				    struct cds_error *err) CDS_MUST_CHECK;

#endif
