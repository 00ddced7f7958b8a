/*
 * legal.c: legal export (DESIGN.md "Legal process"): check the order and
 * its scope, gather the matching records and the configuration rows
 * through the query log's read interface (qlog.h, on whichever backend the
 * data directory uses), and build the export document.
 *
 * Invariants:
 *  1. Nothing is written (no file, no ledger entry, no directory) unless
 *     the whole request is valid: cds_legal_check runs first and reports
 *     CDS_ERR_USAGE naming the option.
 *  2. A target search matches a handle exactly, an IP search applies each
 *     record's own policy (qlog.h cds_qlog_read); a record found by a
 *     target search lists only the target.
 *  4. The exported bytes are hashed exactly as written; the ledger entry is
 *     committed before a file appears under its name or bytes reach stdout.
 */
#include "legal/legal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/handle.h"
#include "core/timeutil.h"
#include "legal/legal_int.h"
#include "qlog/qlog.h"

const char *cds_legal_scope_name(enum cds_legal_scope s)
{
	switch (s) {
	case CDS_LEGAL_REQUESTER: return "requester";
	case CDS_LEGAL_TARGET: return "target";
	case CDS_LEGAL_IP: return "ip";
	}
	return "unknown";
}

static enum cds_err check_order(const char *o, struct cds_error *err)
{
	size_t len = o ? strlen(o) : 0;
	bool blank = true;

	if (len == 0)
		return cds_fail(err, CDS_ERR_USAGE, "--order: an order ID is required");
	if (len > CDS_LEGAL_ORDER_MAX_BYTES)
		return cds_fail(err, CDS_ERR_USAGE,
				"--order: '%.40s...' is longer than %d characters",
				o, CDS_LEGAL_ORDER_MAX_BYTES);
	for (size_t i = 0; i < len; i++) {
		if (o[i] < 0x20 || o[i] > 0x7e)
			return cds_fail(err, CDS_ERR_USAGE,
					"--order: character %zu of the order ID is "
					"not printable ASCII", i + 1);
		blank = blank && o[i] == ' ';
	}
	if (blank)
		return cds_fail(err, CDS_ERR_USAGE, "--order: the order ID is blank");
	return CDS_OK;
}

static enum cds_err norm_requester(char *out, const char *v,
				   struct cds_error *err)
{
	uint8_t id[CDS_ACCOUNT_ID_BYTES];

	if (strlen(v) != 2 * CDS_ACCOUNT_ID_BYTES ||
	    cds_hex_decode_exact(id, sizeof(id), v, strlen(v), "account", NULL))
		return cds_fail(err, CDS_ERR_USAGE,
				"--requester: '%.60s' is not an account ID "
				"(32 hex digits)", v);
	cds_hex_encode(out, id, sizeof(id));
	return CDS_OK;
}

enum cds_err legal_scope_value(const struct cds_legal_request *r, char *out,
			       struct cds_error *err)
{
	char trunc[CDS_QLOG_IP_TEXT_BYTES];
	uint8_t b1, b2;

	if (!r->value)
		return cds_fail(err, CDS_ERR_USAGE, "no scope value");
	switch (r->scope) {
	case CDS_LEGAL_REQUESTER:
		return norm_requester(out, r->value, err);
	case CDS_LEGAL_TARGET:
		if (cds_handle_check(r->value, strlen(r->value), NULL, NULL))
			return cds_fail(err, CDS_ERR_USAGE,
					"--target: '%.60s' is not a canonical handle "
					"(tel:+E164 or mailto:address)", r->value);
		strcpy(out, r->value); /* checked: at most CDS_HANDLE_MAX_BYTES */
		return CDS_OK;
	case CDS_LEGAL_IP:
		if (cds_qlog_ip_forms(r->value, out, &b1, trunc, &b2, NULL))
			return cds_fail(err, CDS_ERR_USAGE,
					"--ip: '%.60s' is not an IPv4 or IPv6 address",
					r->value);
		return CDS_OK;
	}
	return cds_fail(err, CDS_ERR_USAGE,
			"exactly one of --requester, --target, --ip is required");
}

enum cds_err cds_legal_check(const struct cds_legal_request *r,
			     struct cds_error *err)
{
	char value[CDS_HANDLE_MAX_BYTES + 1];
	enum cds_err rc;

	rc = check_order(r->order_id, err);
	if (!rc)
		rc = legal_scope_value(r, value, err);
	if (!rc && r->since_us >= r->until_us)
		rc = cds_fail(err, CDS_ERR_USAGE,
			      "--since must be before --until");
	if (!rc && r->format != CDS_LEGAL_JSON && r->format != CDS_LEGAL_CSV)
		rc = cds_fail(err, CDS_ERR_USAGE, "--format: unknown format");
	return rc;
}

/* ---- gathering ------------------------------------------------------ */

/* A copy of s (NULL stays NULL); *oom set if it cannot be made. */
static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* Gathering state: the doc, and the first failure of a callback. */
struct gather {
	struct legal_doc *d;
	enum cds_err rc;
	struct cds_error *err;
};

static int add_rec(void *ctx, const struct cds_qlog_row *row)
{
	struct gather *g = ctx;
	struct legal_doc *d = g->d;
	struct legal_rec *r;
	bool oom = false;

	if (d->n_recs == d->cap_recs) {
		size_t nc = d->cap_recs ? d->cap_recs * 2 : 64;
		void *p = realloc(d->recs, nc * sizeof(*d->recs));

		if (!p)
			goto oom;
		d->recs = p;
		d->cap_recs = nc;
	}
	r = &d->recs[d->n_recs++];
	memset(r, 0, sizeof(*r));
	r->time_us = row->time_us;
	r->ip = dup_or_null(row->ip, &oom);
	r->ip_bits = row->ip_bits;
	r->account = dup_or_null(row->account, &oom);
	r->endpoint = dup_or_null(row->endpoint, &oom);
	r->items = row->items;
	r->status = row->status;
	/* A target search: only the target, the rest is out of scope. */
	r->handles = dup_or_null(d->req->scope == CDS_LEGAL_TARGET ? d->value
								  : row->handles,
				 &oom);
	r->via = dup_or_null(row->via, &oom);
	if (!oom)
		return 0;
oom:
	g->rc = cds_fail(g->err, CDS_ERR_NOMEM, "export: out of memory");
	return 1;
}

static int add_cfg(void *ctx, const struct cds_qlog_config_row *row)
{
	struct gather *g = ctx;
	struct legal_doc *d = g->d;
	struct legal_cfg *c;

	if (d->n_cfgs == d->cap_cfgs) {
		size_t nc = d->cap_cfgs ? d->cap_cfgs * 2 : 16;
		void *p = realloc(d->cfgs, nc * sizeof(*d->cfgs));

		if (!p) {
			g->rc = cds_fail(g->err, CDS_ERR_NOMEM,
					 "export: out of memory");
			return 1;
		}
		d->cfgs = p;
		d->cap_cfgs = nc;
	}
	c = &d->cfgs[d->n_cfgs++];
	c->time_us = row->time_us;
	c->plain_lookup = row->plain_lookup;
	snprintf(c->ip_policy, sizeof(c->ip_policy), "%s",
		 row->ip_policy ? row->ip_policy : "");
	c->retention_days = row->retention_days;
	return 0;
}

/* The config rows of the whole log; the matching records of the window. */
static enum cds_err gather(const char *datadir, struct legal_doc *d,
			   struct cds_error *err)
{
	static const enum cds_qlog_match match[] = {
		[CDS_LEGAL_REQUESTER] = CDS_QLOG_MATCH_ACCOUNT,
		[CDS_LEGAL_TARGET] = CDS_QLOG_MATCH_HANDLE,
		[CDS_LEGAL_IP] = CDS_QLOG_MATCH_IP,
	};
	struct cds_qlog_filter f = {d->req->since_us, d->req->until_us,
				    match[d->req->scope], d->value};
	struct gather g = {d, CDS_OK, err};
	enum cds_err rc;

	rc = cds_qlog_read_config(datadir, add_cfg, &g, err);
	if (!rc)
		rc = g.rc;
	if (!rc)
		rc = cds_qlog_read(datadir, &f, add_rec, &g, err);
	return rc ? rc : g.rc;
}

enum cds_err cds_legal_export(const char *datadir,
			      const struct cds_legal_request *r, int64_t now_us,
			      struct cds_buf *out, uint64_t *records,
			      struct cds_error *err)
{
	struct legal_doc d;
	enum cds_err rc;

	memset(&d, 0, sizeof(d));
	*records = 0;
	rc = cds_legal_check(r, err);
	if (rc)
		return rc;
	d.req = r;
	d.generated_us = now_us;
	rc = legal_scope_value(r, d.value, err);
	if (!rc)
		rc = gather(datadir, &d, err);
	if (!rc)
		rc = legal_doc_finish(&d, err);
	if (!rc)
		rc = r->format == CDS_LEGAL_CSV ? legal_format_csv(&d, out, err)
						: legal_format_json(&d, out, err);
	if (!rc)
		*records = d.n_recs;
	legal_doc_fini(&d);
	return rc;
}
