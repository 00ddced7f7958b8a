/*
 * legal.c: legal export (DESIGN.md "Legal process"): check the order and
 * its scope, gather the matching records and the configuration rows from
 * the day files, and disclose them with a ledger entry.
 *
 * Invariants:
 *  1. Nothing is written (no file, no ledger entry, no directory) unless
 *     the whole request is valid: cds_legal_check runs first and reports
 *     CDS_ERR_USAGE naming the option.
 *  2. A target search matches a handle exactly: the '\n'-joined list is
 *     searched for "\n" target "\n" with newlines added at both ends.
 *  3. An IP search applies each record's own policy: a full record
 *     (ip_bits 32/128) matches the address, a truncated one (24/48) matches
 *     when the address lies in its network, a `none` record never.
 *  4. The exported bytes are hashed exactly as written; the ledger entry is
 *     committed before a file appears under its name or bytes reach stdout.
 */
#include "legal/legal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/handle.h"
#include "core/timeutil.h"
#include "legal/legal_int.h"
#include "qlog/qlog_int.h"

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
	char trunc[QLOG_IP_TEXT_BYTES];
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
		if (qlog_ip_forms(r->value, out, &b1, trunc, &b2, NULL))
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

static char *dup_col(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *p = sqlite3_column_text(st, i);
	char *s;

	if (!p)
		return NULL;
	s = strdup((const char *)p);
	if (!s)
		*oom = true;
	return s;
}

static enum cds_err add_rec(struct legal_doc *d, sqlite3_stmt *st,
			    struct cds_error *err)
{
	struct legal_rec *r;
	bool oom = false;

	if (d->n_recs == d->cap_recs) {
		size_t nc = d->cap_recs ? d->cap_recs * 2 : 64;
		void *p = realloc(d->recs, nc * sizeof(*d->recs));

		if (!p)
			return cds_fail(err, CDS_ERR_NOMEM, "export: out of memory");
		d->recs = p;
		d->cap_recs = nc;
	}
	r = &d->recs[d->n_recs++];
	memset(r, 0, sizeof(*r));
	r->time_us = sqlite3_column_int64(st, 0);
	r->ip = dup_col(st, 1, &oom);
	r->ip_bits = sqlite3_column_int(st, 2);
	r->account = dup_col(st, 3, &oom);
	r->endpoint = dup_col(st, 4, &oom);
	r->items = sqlite3_column_int64(st, 5);
	r->status = sqlite3_column_int(st, 6);
	if (d->req->scope == CDS_LEGAL_TARGET) {
		/* Only the target: the rest of the lookup is out of scope. */
		r->handles = strdup(d->value);
		oom = oom || !r->handles;
	} else {
		r->handles = dup_col(st, 7, &oom);
	}
	r->via = dup_col(st, 8, &oom);
	return oom ? cds_fail(err, CDS_ERR_NOMEM, "export: out of memory")
		   : CDS_OK;
}

/* %s: the via column, or NULL in a schema 1 file that has none. */
static const char rec_sql[] =
	"SELECT time_us, ip, ip_bits, account, endpoint, items, status, handles,"
	" %s FROM records WHERE time_us >= ?1 AND time_us < ?2 AND ";

/* Bind the scope condition's parameters (?3...). */
static void bind_scope(sqlite3_stmt *st, const struct legal_doc *d)
{
	char full[QLOG_IP_TEXT_BYTES], trunc[QLOG_IP_TEXT_BYTES], *needle;
	uint8_t fb = 0, tb = 0;

	switch (d->req->scope) {
	case CDS_LEGAL_REQUESTER:
		sqlite3_bind_text(st, 3, d->value, -1, SQLITE_TRANSIENT);
		break;
	case CDS_LEGAL_TARGET:
		if (asprintf(&needle, "\n%s\n", d->value) >= 0)
			sqlite3_bind_text(st, 3, needle, -1, free);
		break;
	case CDS_LEGAL_IP:
		if (qlog_ip_forms(d->value, full, &fb, trunc, &tb, NULL))
			break;
		sqlite3_bind_text(st, 3, full, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 4, fb);
		sqlite3_bind_text(st, 5, trunc, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 6, tb);
		break;
	}
}

static enum cds_err read_recs(sqlite3 *db, struct legal_doc *d,
			      const char *path, struct cds_error *err)
{
	static const char *const cond[] = {
		[CDS_LEGAL_REQUESTER] = "account = ?3",
		[CDS_LEGAL_TARGET] = "handles IS NOT NULL AND "
				     "instr(char(10) || handles || char(10), ?3) > 0",
		[CDS_LEGAL_IP] = "((ip = ?3 AND ip_bits = ?4) OR "
				 "(ip = ?5 AND ip_bits = ?6))",
	};
	enum cds_err rc = CDS_OK;
	sqlite3_stmt *st = NULL;
	char *sql = NULL, *sql2;
	int src;

	if (asprintf(&sql, rec_sql, qlog_day_version(db) >= 2 ? "via" : "NULL") < 0)
		return cds_fail(err, CDS_ERR_NOMEM, "export: out of memory");
	if (asprintf(&sql2, "%s%s ORDER BY time_us, id", sql,
		     cond[d->req->scope]) < 0)
		sql2 = NULL;
	free(sql);
	sql = sql2;
	if (!sql)
		return cds_fail(err, CDS_ERR_NOMEM, "export: out of memory");
	src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	free(sql);
	if (src != SQLITE_OK)
		return qlog_sqlite_err(err, db, src, "search", path);
	sqlite3_bind_int64(st, 1, d->req->since_us);
	sqlite3_bind_int64(st, 2, d->req->until_us);
	bind_scope(st, d);
	while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = add_rec(d, st, err);
	if (!rc && src != SQLITE_DONE)
		rc = qlog_sqlite_err(err, db, src, "search", path);
	sqlite3_finalize(st);
	return rc;
}

static enum cds_err read_cfgs(sqlite3 *db, struct legal_doc *d,
			      const char *path, struct cds_error *err)
{
	sqlite3_stmt *st = NULL;
	struct legal_cfg *c;
	int src;

	src = sqlite3_prepare_v2(db,
				 "SELECT time_us, plain_lookup, ip_policy,"
				 " retention_days FROM config", -1, &st, NULL);
	if (src != SQLITE_OK)
		return qlog_sqlite_err(err, db, src, "read config", path);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (d->n_cfgs == d->cap_cfgs) {
			size_t nc = d->cap_cfgs ? d->cap_cfgs * 2 : 16;
			void *p = realloc(d->cfgs, nc * sizeof(*d->cfgs));

			if (!p) {
				sqlite3_finalize(st);
				return cds_fail(err, CDS_ERR_NOMEM,
						"export: out of memory");
			}
			d->cfgs = p;
			d->cap_cfgs = nc;
		}
		c = &d->cfgs[d->n_cfgs++];
		c->time_us = sqlite3_column_int64(st, 0);
		c->plain_lookup = sqlite3_column_int(st, 1) != 0;
		snprintf(c->ip_policy, sizeof(c->ip_policy), "%s",
			 sqlite3_column_text(st, 2)
				 ? (const char *)sqlite3_column_text(st, 2) : "");
		c->retention_days = sqlite3_column_int(st, 3);
	}
	sqlite3_finalize(st);
	if (src != SQLITE_DONE)
		return qlog_sqlite_err(err, db, src, "read config", path);
	return CDS_OK;
}

/* Config rows of every day file; records of the days in the window. */
static enum cds_err gather(const char *datadir, struct legal_doc *d,
			   struct cds_error *err)
{
	int64_t *days = NULL;
	enum cds_err rc;
	sqlite3 *db;
	size_t n = 0;
	char *path;

	rc = qlog_day_list(datadir, INT64_MIN, INT64_MAX, &days, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		path = qlog_day_path(datadir, days[i]);
		if (!path) {
			rc = cds_fail(err, CDS_ERR_NOMEM, "export: out of memory");
			break;
		}
		rc = qlog_day_open_ro(&db, path, err);
		if (!rc) {
			rc = read_cfgs(db, d, path, err);
			if (!rc && days[i] < d->req->until_us &&
			    days[i] + CDS_USEC_PER_DAY > d->req->since_us)
				rc = read_recs(db, d, path, err);
			sqlite3_close(db);
		}
		free(path);
	}
	free(days);
	return rc;
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
