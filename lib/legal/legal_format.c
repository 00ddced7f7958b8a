/*
 * legal_format.c: an export document as JSON (jansson) or CSV.
 *
 * JSON: one object, keys in this order: order, scope {type, value},
 * window {since, until} (null = open), generated, record_count,
 * retention_days (null = unknown), modes_in_window [{from, until,
 * plain_lookup, ip_policy}] (null = unknown), note, records [{time,
 * time_us, ip, ip_bits, account, endpoint, items, status, via, handles?}]
 * (via: "direct", or "ohttp" through the Oblivious HTTP gateway).
 *
 * CSV: the same header as "# key: value" comment lines, then a header row
 * and one row per record; a record's handles are space-separated in one
 * field.  Fields are quoted (RFC 4180) when they hold a comma, quote or
 * line break; none of the logged values does, but the format must not
 * depend on it.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/timeutil.h"
#include "legal/legal_int.h"

/* Set o[k] = v; counts a failure (v NULL or no memory) in *bad. */
static void put(json_t *o, const char *k, json_t *v, int *bad)
{
	if (!v || json_object_set_new(o, k, v) != 0)
		(*bad)++;
}

static json_t *time_or_null(int64_t us, int64_t open)
{
	char t[CDS_RFC3339_BYTES];

	if (us == open)
		return json_null();
	cds_time_format(t, us);
	return json_string(t);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Split '\n'-joined handles into a JSON array. */
static json_t *handles_json(const char *h)
{
	json_t *a = json_array();
	const char *nl;

	while (a && h && *h) {
		nl = strchr(h, '\n');
		if (json_array_append_new(a, json_stringn(h, nl ? (size_t)(nl - h)
								 : strlen(h))))
			return json_decref(a), NULL;
		h = nl ? nl + 1 : h + strlen(h);
	}
	return a;
}

static json_t *record_json(const struct legal_rec *r)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	put(o, "time", time_or_null(r->time_us, INT64_MIN), &bad);
	put(o, "time_us", json_integer(r->time_us), &bad);
	put(o, "ip", str_or_null(r->ip), &bad);
	put(o, "ip_bits", json_integer(r->ip_bits), &bad);
	put(o, "account", str_or_null(r->account), &bad);
	put(o, "endpoint", str_or_null(r->endpoint), &bad);
	put(o, "items", json_integer(r->items), &bad);
	put(o, "status", json_integer(r->status), &bad);
	put(o, "via", json_string(r->via ? r->via : "direct"), &bad);
	if (r->handles)
		put(o, "handles", handles_json(r->handles), &bad);
	if (bad)
		return json_decref(o), NULL;
	return o;
}

static json_t *mode_json(const struct legal_mode *m)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	put(o, "from", time_or_null(m->from, INT64_MIN), &bad);
	put(o, "until", time_or_null(m->until, INT64_MIN), &bad);
	put(o, "plain_lookup", m->plain_lookup < 0 ? json_null()
			       : json_boolean(m->plain_lookup), &bad);
	put(o, "ip_policy", m->ip_policy[0] ? json_string(m->ip_policy)
					    : json_null(), &bad);
	if (bad)
		return json_decref(o), NULL;
	return o;
}

static void put_header(json_t *o, const struct legal_doc *d, int *bad)
{
	json_t *scope = json_object(), *win = json_object();

	put(scope, "type", json_string(cds_legal_scope_name(d->req->scope)), bad);
	put(scope, "value", json_string(d->value), bad);
	put(win, "since", time_or_null(d->req->since_us, INT64_MIN), bad);
	put(win, "until", time_or_null(d->req->until_us, INT64_MAX), bad);
	put(o, "order", json_string(d->req->order_id), bad);
	put(o, "scope", scope, bad);
	put(o, "window", win, bad);
	put(o, "generated", time_or_null(d->generated_us, INT64_MIN), bad);
	put(o, "record_count", json_integer((json_int_t)d->n_recs), bad);
	put(o, "retention_days", d->retention_days < 0 ? json_null()
				 : json_integer(d->retention_days), bad);
}

enum cds_err legal_format_json(const struct legal_doc *d, struct cds_buf *out,
			       struct cds_error *err)
{
	json_t *o = json_object(), *modes = json_array(), *recs = json_array();
	enum cds_err rc = CDS_OK;
	char *text = NULL;
	int bad = !o || !modes || !recs;

	for (size_t i = 0; !bad && i < d->n_modes; i++)
		bad += json_array_append_new(modes, mode_json(&d->modes[i])) != 0;
	for (size_t i = 0; !bad && i < d->n_recs; i++)
		bad += json_array_append_new(recs, record_json(&d->recs[i])) != 0;
	if (!bad) {
		put_header(o, d, &bad);
		put(o, "modes_in_window", modes, &bad);
		put(o, "note", json_string(d->note), &bad);
		put(o, "records", recs, &bad);
		modes = recs = NULL; /* owned by o now */
	}
	if (!bad)
		text = json_dumps(o, JSON_INDENT(2));
	if (!text || cds_buf_appendf(out, "%s\n", text) != CDS_OK)
		rc = cds_fail(err, CDS_ERR_NOMEM, "export: cannot build the JSON");
	free(text);
	json_decref(modes);
	json_decref(recs);
	json_decref(o);
	return rc;
}

/* Append one CSV field (quoted if needed) and the separator after it. */
static enum cds_err csv_field(struct cds_buf *b, const char *s, char sep)
{
	enum cds_err rc = CDS_OK;

	if (!s)
		s = "";
	if (!strpbrk(s, ",\"\r\n"))
		return cds_buf_appendf(b, "%s%c", s, sep);
	rc = cds_buf_append(b, "\"", 1);
	for (; !rc && *s; s++)
		rc = *s == '"' ? cds_buf_append(b, "\"\"", 2)
			       : cds_buf_append(b, s, 1);
	return rc ? rc : cds_buf_appendf(b, "\"%c", sep);
}

static enum cds_err csv_record(struct cds_buf *b, const struct legal_rec *r)
{
	char t[CDS_RFC3339_BYTES], num[64], *h = NULL;
	enum cds_err rc;

	cds_time_format(t, r->time_us);
	rc = csv_field(b, t, ',');
	snprintf(num, sizeof(num), "%lld", (long long)r->time_us);
	rc = rc ? rc : csv_field(b, num, ',');
	rc = rc ? rc : csv_field(b, r->ip, ',');
	snprintf(num, sizeof(num), "%d", r->ip_bits);
	rc = rc ? rc : csv_field(b, num, ',');
	rc = rc ? rc : csv_field(b, r->account, ',');
	rc = rc ? rc : csv_field(b, r->endpoint, ',');
	snprintf(num, sizeof(num), "%lld", (long long)r->items);
	rc = rc ? rc : csv_field(b, num, ',');
	snprintf(num, sizeof(num), "%d", r->status);
	rc = rc ? rc : csv_field(b, num, ',');
	if (!rc && r->handles && !(h = strdup(r->handles)))
		rc = CDS_ERR_NOMEM;
	for (char *p = h; p && *p; p++)
		if (*p == '\n')
			*p = ' ';
	rc = rc ? rc : csv_field(b, h, ',');
	rc = rc ? rc : csv_field(b, r->via ? r->via : "direct", '\n');
	free(h);
	return rc;
}

static enum cds_err csv_modes(struct cds_buf *b, const struct legal_doc *d)
{
	char f[CDS_RFC3339_BYTES], u[CDS_RFC3339_BYTES];
	enum cds_err rc = cds_buf_appendf(b, "# modes_in_window:");

	for (size_t i = 0; !rc && i < d->n_modes; i++) {
		const struct legal_mode *m = &d->modes[i];

		cds_time_format(f, m->from);
		cds_time_format(u, m->until);
		rc = cds_buf_appendf(b, "%s %s/%s plain_lookup=%s ip_policy=%s",
				     i ? ";" : "", f, u,
				     m->plain_lookup < 0 ? "unknown"
				     : m->plain_lookup ? "on" : "off",
				     m->ip_policy[0] ? m->ip_policy : "unknown");
	}
	return rc ? rc : cds_buf_append(b, "\n", 1);
}

enum cds_err legal_format_csv(const struct legal_doc *d, struct cds_buf *out,
			      struct cds_error *err)
{
	char win[80], gen[CDS_RFC3339_BYTES], ret[32];
	enum cds_err rc;

	legal_window_text(win, sizeof(win), d->req->since_us, d->req->until_us);
	cds_time_format(gen, d->generated_us);
	if (d->retention_days < 0)
		snprintf(ret, sizeof(ret), "unknown");
	else
		snprintf(ret, sizeof(ret), "%d", d->retention_days);
	rc = cds_buf_appendf(out,
			     "# cds legal export\n# order: %s\n# scope: %s %s\n"
			     "# window: %s\n# generated: %s\n# record_count: %zu\n"
			     "# retention_days: %s\n",
			     d->req->order_id, cds_legal_scope_name(d->req->scope),
			     d->value, win, gen, d->n_recs, ret);
	rc = rc ? rc : csv_modes(out, d);
	rc = rc ? rc : cds_buf_appendf(out, "# note: %s\n", d->note);
	rc = rc ? rc : cds_buf_appendf(out, "time,time_us,ip,ip_bits,account,"
					    "endpoint,items,status,handles,via\n");
	for (size_t i = 0; !rc && i < d->n_recs; i++)
		rc = csv_record(out, &d->recs[i]);
	if (rc)
		return cds_fail(err, CDS_ERR_NOMEM, "export: out of memory");
	return CDS_OK;
}
