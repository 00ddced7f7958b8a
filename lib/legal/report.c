/*
 * report.c: the transparency report, counted from the ledger.
 *
 * The ledger, not the query log, is the source: it outlives retention and
 * records every disclosure.  Per period (each calendar month from the
 * first entry to now, or one period = the window when --since or --until
 * is given): orders (distinct order IDs), exports (ledger entries) and
 * records disclosed, in total and by scope type.
 *
 * Invariants:
 *  1. The report is built only from a ledger whose hash chain verifies;
 *     a broken ledger is an error (CDS_ERR_CRYPTO), never a quiet report.
 *  2. Months with no disclosure between the first entry and now are
 *     listed with zeros: a gap in a transparency report means something.
 *  3. Distinct orders are counted with a quadratic scan; a ledger holds
 *     hundreds or thousands of entries, not millions.
 *  4. The report carries the ledger head it was counted from, signed with
 *     the ledger key (report_head.c): publishing it anchors the
 *     ledger against a later rewrite.
 */
#include "legal/legal_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/timeutil.h"

#define N_SCOPES 4 /* index 0 = all scopes, then enum cds_legal_scope */

struct tr_entry {
	int64_t time_us;
	char *order;
	int scope;
	uint64_t records;
};

struct tr_counts {
	uint64_t orders, exports, records;
};

struct tr_period {
	char name[16];
	int64_t from, until;
	struct tr_counts c[N_SCOPES];
};

struct tr {
	struct legal_signed_head head;
	struct tr_entry *e;
	size_t n, cap;
	struct tr_period *p;
	size_t np;
	bool oom;
};

static int scope_index(const char *s)
{
	for (int i = 1; i < N_SCOPES; i++)
		if (!strcmp(s, cds_legal_scope_name((enum cds_legal_scope)i)))
			return i;
	return 0;
}

static int load_entry(void *ctx, const struct cds_ledger_entry *le)
{
	struct tr *t = ctx;
	struct tr_entry *e;

	if (le->seq > t->head.head.entries)
		return 1; /* appended since the head was signed */
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		void *p = realloc(t->e, nc * sizeof(*t->e));

		if (!p)
			return t->oom = true, 1;
		t->e = p;
		t->cap = nc;
	}
	e = &t->e[t->n];
	e->time_us = le->time_us;
	e->scope = scope_index(le->scope_type);
	e->records = le->record_count;
	e->order = strdup(le->order_id);
	if (!e->order)
		return t->oom = true, 1;
	t->n++;
	return 0;
}

/*
 * Verify the ledger and sign its head, then load its entries up to that
 * head.  No ledger is an empty one only when the store agrees that no
 * export was ever made (legal_verify.c).
 */
static enum cds_err load(const char *datadir, struct tr *t,
			 struct cds_error *err)
{
	struct cds_ledger *l = NULL;
	enum cds_err rc;

	rc = legal_head_sign(datadir, &t->head, err);
	if (rc || t->head.head.entries == 0)
		return rc;
	rc = cds_ledger_open(&l, datadir, false, err);
	if (!rc)
		rc = cds_ledger_scan(l, load_entry, t, err);
	if (!rc && t->oom)
		rc = cds_fail(err, CDS_ERR_NOMEM, "transparency: out of memory");
	cds_ledger_close(l);
	return rc;
}

/* Start of the month holding us, and of the month after it. */
static void month_bounds(int64_t us, int64_t *from, int64_t *next,
			 char name[16])
{
	char day[11], buf[32];
	unsigned y, m;

	cds_time_day(day, us); /* "YYYY-MM-DD", years clamped to 0..9999 */
	y = (unsigned)atoi(day) % 10000u;
	m = (unsigned)atoi(day + 5) % 13u;
	snprintf(name, 16, "%04u-%02u", y, m);
	snprintf(buf, sizeof(buf), "%04u-%02u-01", y, m);
	if (cds_time_parse_day(from, buf, NULL))
		*from = cds_time_day_start(us);
	y += m == 12;
	m = m == 12 ? 1 : m + 1;
	snprintf(buf, sizeof(buf), "%04u-%02u-01", y, m);
	if (cds_time_parse_day(next, buf, NULL))
		*next = *from + 31 * CDS_USEC_PER_DAY;
}

static enum cds_err make_periods(struct tr *t, int64_t since, int64_t until,
				 int64_t now, struct cds_error *err)
{
	int64_t at, end = now, f, nx;
	size_t cap = 1;
	char nm[16];

	if (since != INT64_MIN || until != INT64_MAX) {
		t->p = calloc(1, sizeof(*t->p));
		if (!t->p)
			return cds_fail(err, CDS_ERR_NOMEM, "transparency: out of memory");
		snprintf(t->p[0].name, sizeof(t->p[0].name), "window");
		t->p[0].from = since;
		t->p[0].until = until;
		t->np = 1;
		return CDS_OK;
	}
	if (t->n == 0)
		return CDS_OK;
	for (size_t i = 0; i < t->n; i++)
		end = t->e[i].time_us > end ? t->e[i].time_us : end;
	for (at = t->e[0].time_us; at <= end; at = nx, cap++) /* months */
		month_bounds(at, &f, &nx, nm);
	t->p = calloc(cap, sizeof(*t->p));
	if (!t->p)
		return cds_fail(err, CDS_ERR_NOMEM, "transparency: out of memory");
	for (at = t->e[0].time_us; at <= end && t->np < cap; t->np++) {
		struct tr_period *p = &t->p[t->np];

		month_bounds(at, &p->from, &p->until, p->name);
		at = p->until;
	}
	return CDS_OK;
}

/* True if entry i's order already appeared in p (in scope s, 0 = any). */
static bool seen_order(const struct tr *t, const struct tr_period *p,
		       size_t i, int s)
{
	for (size_t j = 0; j < i; j++)
		if (t->e[j].time_us >= p->from && t->e[j].time_us < p->until &&
		    (s == 0 || t->e[j].scope == s) &&
		    !strcmp(t->e[j].order, t->e[i].order))
			return true;
	return false;
}

static void count(struct tr *t)
{
	for (size_t k = 0; k < t->np; k++) {
		struct tr_period *p = &t->p[k];

		for (size_t i = 0; i < t->n; i++) {
			const struct tr_entry *e = &t->e[i];
			int idx[2] = {0, e->scope};

			if (e->time_us < p->from || e->time_us >= p->until)
				continue;
			for (int j = 0; j < (e->scope ? 2 : 1); j++) {
				struct tr_counts *c = &p->c[idx[j]];

				c->exports++;
				c->records += e->records;
				c->orders += !seen_order(t, p, i, idx[j]);
			}
		}
	}
}

static json_t *counts_json(const struct tr_counts *c)
{
	return json_pack("{s:I,s:I,s:I}", "orders", (json_int_t)c->orders,
			 "exports", (json_int_t)c->exports, "records",
			 (json_int_t)c->records);
}

static json_t *time_json(int64_t us, int64_t open)
{
	char t[CDS_RFC3339_BYTES];

	if (us == open)
		return json_null();
	cds_time_format(t, us);
	return json_string(t);
}

static enum cds_err render_json(const struct tr *t, int64_t now,
				struct cds_buf *out, struct cds_error *err)
{
	json_t *periods = json_array(), *root;
	enum cds_err rc = CDS_OK;
	char *text = NULL;

	for (size_t k = 0; periods && k < t->np; k++) {
		const struct tr_period *p = &t->p[k];
		json_t *o = json_pack(
			"{s:s,s:o,s:o,s:I,s:I,s:I,s:{s:o,s:o,s:o}}", "period",
			p->name, "from", time_json(p->from, INT64_MIN), "until",
			time_json(p->until, INT64_MAX), "orders",
			(json_int_t)p->c[0].orders, "exports",
			(json_int_t)p->c[0].exports, "records",
			(json_int_t)p->c[0].records, "by_scope", "requester",
			counts_json(&p->c[CDS_LEGAL_REQUESTER]), "target",
			counts_json(&p->c[CDS_LEGAL_TARGET]), "ip",
			counts_json(&p->c[CDS_LEGAL_IP]));

		if (json_array_append_new(periods, o) != 0) {
			json_decref(periods);
			periods = NULL;
		}
	}
	root = json_pack("{s:o,s:s,s:I,s:b,s:o,s:o}", "generated",
			 time_json(now, INT64_MIN), "source", "legal ledger",
			 "ledger_entries", (json_int_t)t->n, "ledger_verified", 1,
			 "ledger_head", legal_head_json(&t->head),
			 "periods", periods);
	if (root)
		text = json_dumps(root, JSON_INDENT(2));
	if (!text || cds_buf_appendf(out, "%s\n", text) != CDS_OK)
		rc = cds_fail(err, CDS_ERR_NOMEM, "transparency: cannot build JSON");
	free(text);
	json_decref(root);
	return rc;
}

static enum cds_err render_md(const struct tr *t, int64_t now,
			      struct cds_buf *out, struct cds_error *err)
{
	char gen[CDS_RFC3339_BYTES];
	enum cds_err rc;

	cds_time_format(gen, now);
	rc = cds_buf_appendf(out,
			     "# Transparency report\n\nGenerated %s from the "
			     "disclosure ledger (%zu entries, hash chain "
			     "verified).  Orders are distinct order IDs; each "
			     "export is one ledger entry.\n\n"
			     "| period | orders | exports | records | by requester "
			     "(orders/exports/records) | by target | by IP |\n"
			     "|---|---:|---:|---:|---:|---:|---:|\n", gen, t->n);
	for (size_t k = 0; !rc && k < t->np; k++) {
		const struct tr_counts *c = t->p[k].c;

		rc = cds_buf_appendf(
			out, "| %s | %llu | %llu | %llu | %llu/%llu/%llu | "
			     "%llu/%llu/%llu | %llu/%llu/%llu |\n",
			t->p[k].name, (unsigned long long)c[0].orders,
			(unsigned long long)c[0].exports,
			(unsigned long long)c[0].records,
			(unsigned long long)c[1].orders,
			(unsigned long long)c[1].exports,
			(unsigned long long)c[1].records,
			(unsigned long long)c[2].orders,
			(unsigned long long)c[2].exports,
			(unsigned long long)c[2].records,
			(unsigned long long)c[3].orders,
			(unsigned long long)c[3].exports,
			(unsigned long long)c[3].records);
	}
	if (!rc && t->np == 0)
		rc = cds_buf_appendf(out, "\nNo disclosures recorded.\n");
	if (!rc)
		rc = legal_head_md(&t->head, out);
	if (rc)
		return cds_fail(err, CDS_ERR_NOMEM, "transparency: out of memory");
	return CDS_OK;
}

enum cds_err cds_legal_transparency(const char *datadir, int64_t since_us,
				    int64_t until_us, int64_t now_us,
				    enum cds_legal_report_format format,
				    struct cds_buf *out, struct cds_error *err)
{
	struct tr t;
	enum cds_err rc;

	memset(&t, 0, sizeof(t));
	if (since_us >= until_us)
		return cds_fail(err, CDS_ERR_USAGE, "--since must be before --until");
	rc = load(datadir, &t, err);
	if (!rc)
		rc = make_periods(&t, since_us, until_us, now_us, err);
	if (!rc) {
		count(&t);
		rc = format == CDS_REPORT_MD ? render_md(&t, now_us, out, err)
					     : render_json(&t, now_us, out, err);
	}
	for (size_t i = 0; i < t.n; i++)
		free(t.e[i].order);
	free(t.e);
	free(t.p);
	return rc;
}
