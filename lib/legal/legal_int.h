/*
 * legal_int.h: the export document as legal.c gathers it and
 * legal_format.c writes it (not a public interface).
 *
 * Invariants: every string in a doc is ASCII (records hold hex accounts,
 * canonical handles, IP text and endpoint names; order IDs are checked
 * printable ASCII), so both formats can write them without transcoding.
 */
#ifndef CDS_LEGAL_LEGAL_INT_H
#define CDS_LEGAL_LEGAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/handle.h"
#include "legal/legal.h"

/* One matching record; strings malloc'd, NULL where the log holds none. */
struct legal_rec {
	int64_t time_us;
	int64_t items;
	int ip_bits;
	int status;
	char *ip;
	char *account;
	char *endpoint;
	char *handles;  /* '\n'-joined; for a target search only the target */
	char *via;      /* NULL: direct; "ohttp": through the gateway */
};

/* A config row of a day file: the modes stated at a time. */
struct legal_cfg {
	int64_t time_us;
	int plain_lookup;
	int retention_days;
	char ip_policy[16];
};

/* A period of the window with one set of modes (plain -1: unknown). */
struct legal_mode {
	int64_t from, until;
	int plain_lookup;
	char ip_policy[16]; /* "" when unknown */
};

struct legal_doc {
	const struct cds_legal_request *req;
	char value[CDS_HANDLE_MAX_BYTES + 1]; /* scope value, normalised */
	int64_t generated_us;
	int64_t window_from, window_until;   /* effective, for the modes */
	int retention_days;                  /* -1: no config recorded */
	struct legal_rec *recs;
	size_t n_recs, cap_recs;
	struct legal_cfg *cfgs;
	size_t n_cfgs, cap_cfgs;
	struct legal_mode *modes;
	size_t n_modes;
	char note[1024];
};

void legal_doc_fini(struct legal_doc *d);

/*
 * The scope value normalised into out (CDS_HANDLE_MAX_BYTES + 1): account
 * in lower-case hex, the handle as given, an IP address in its canonical
 * text (IPv4-mapped IPv6 as IPv4).  CDS_ERR_USAGE naming the option.
 */
enum cds_err legal_scope_value(const struct cds_legal_request *r, char *out,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * After records and config rows are gathered: sort the config rows, work
 * out the retention in force, the mode periods of the window and the
 * note (legal_doc.c).
 */
enum cds_err legal_doc_finish(struct legal_doc *d,
			      struct cds_error *err) CDS_MUST_CHECK;

/* "SINCE/UNTIL" with ".." for an open end (ledger and headers). */
void legal_window_text(char *out, size_t cap, int64_t since, int64_t until);

/* Render (legal_format.c); appended to out. */
enum cds_err legal_format_json(const struct legal_doc *d, struct cds_buf *out,
			       struct cds_error *err) CDS_MUST_CHECK;
enum cds_err legal_format_csv(const struct legal_doc *d, struct cds_buf *out,
			      struct cds_error *err) CDS_MUST_CHECK;

/* A ledger head as a transparency report publishes it. */
struct legal_signed_head {
	struct cds_ledger_head head;
	uint8_t sig[CDS_LEDGER_SIG_BYTES];
	uint8_t pk[CDS_LEDGER_PK_BYTES];
};

/*
 * report_head.c: verify the ledger (cds_legal_verify) and sign its
 * head with the ledger key (made on first use) into out; then the report's
 * "ledger_head" object, or its Markdown paragraph (appended to o).
 */
enum cds_err legal_head_sign(const char *datadir, struct legal_signed_head *out,
			     struct cds_error *err) CDS_MUST_CHECK;
json_t *legal_head_json(const struct legal_signed_head *h);
enum cds_err legal_head_md(const struct legal_signed_head *h,
			   struct cds_buf *o) CDS_MUST_CHECK;

#endif
