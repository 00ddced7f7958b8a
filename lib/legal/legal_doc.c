/*
 * legal_doc.c: what an export says about itself: the retention in force,
 * the modes (plain lookup on/off, IP policy) over the window, and the note
 * stating what the log cannot hold.
 *
 * The modes come from the config rows of the day files: each row states
 * the modes from its time until the next row.  Before the first row that
 * still exists nothing is known (no log was kept, or it passed retention):
 * such a period is reported with plain_lookup and ip_policy unknown rather
 * than guessed.  Adjacent periods with the same modes are merged (a server
 * restart with the same flags states them again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "legal/legal_int.h"

void legal_doc_fini(struct legal_doc *d)
{
	for (size_t i = 0; i < d->n_recs; i++) {
		free(d->recs[i].ip);
		free(d->recs[i].account);
		free(d->recs[i].endpoint);
		free(d->recs[i].handles);
		free(d->recs[i].via);
	}
	free(d->recs);
	free(d->cfgs);
	free(d->modes);
	memset(d, 0, sizeof(*d));
}

void legal_window_text(char *out, size_t cap, int64_t since, int64_t until)
{
	char a[CDS_RFC3339_BYTES] = "..", b[CDS_RFC3339_BYTES] = "..";

	if (since != INT64_MIN)
		cds_time_format(a, since);
	if (until != INT64_MAX)
		cds_time_format(b, until);
	snprintf(out, cap, "%s/%s", a, b);
}

static int cmp_cfg(const void *x, const void *y)
{
	const struct legal_cfg *a = x, *b = y;

	return (a->time_us > b->time_us) - (a->time_us < b->time_us);
}

/* Append a period, merging it into the previous one if the modes match. */
static void add_mode(struct legal_doc *d, int64_t from, int64_t until,
		     const struct legal_cfg *c)
{
	struct legal_mode *prev = d->n_modes ? &d->modes[d->n_modes - 1] : NULL;
	int plain = c ? c->plain_lookup : -1;
	const char *ip = c ? c->ip_policy : "";

	if (from >= until)
		return;
	if (prev && prev->until == from && prev->plain_lookup == plain &&
	    strcmp(prev->ip_policy, ip) == 0) {
		prev->until = until;
		return;
	}
	d->modes[d->n_modes].from = from;
	d->modes[d->n_modes].until = until;
	d->modes[d->n_modes].plain_lookup = plain;
	snprintf(d->modes[d->n_modes].ip_policy,
		 sizeof(d->modes[0].ip_policy), "%s", ip);
	d->n_modes++;
}

/* The effective window: open ends become the oldest statement and now. */
static void effective_window(struct legal_doc *d)
{
	int64_t from = d->req->since_us, until = d->req->until_us;

	if (from == INT64_MIN) {
		from = d->n_cfgs ? d->cfgs[0].time_us : d->generated_us;
		if (d->n_recs && d->recs[0].time_us < from)
			from = d->recs[0].time_us;
	}
	if (until == INT64_MAX)
		until = d->generated_us > from ? d->generated_us : from + 1;
	d->window_from = from;
	d->window_until = until;
}

static enum cds_err build_modes(struct legal_doc *d, struct cds_error *err)
{
	int64_t from = d->window_from, until = d->window_until, end;
	size_t first = 0;

	d->modes = calloc(d->n_cfgs + 1, sizeof(*d->modes));
	if (!d->modes)
		return cds_fail(err, CDS_ERR_NOMEM, "export: out of memory");
	while (first + 1 < d->n_cfgs && d->cfgs[first + 1].time_us <= from)
		first++;
	if (d->n_cfgs == 0 || d->cfgs[0].time_us > from)
		add_mode(d, from,
			 d->n_cfgs && d->cfgs[0].time_us < until
				 ? d->cfgs[0].time_us : until, NULL);
	for (size_t i = first; i < d->n_cfgs; i++) {
		end = i + 1 < d->n_cfgs ? d->cfgs[i + 1].time_us : until;
		add_mode(d, d->cfgs[i].time_us > from ? d->cfgs[i].time_us : from,
			 end < until ? end : until, &d->cfgs[i]);
	}
	return CDS_OK;
}

/* Append a sentence to the note (truncating, never overflowing). */
static void say(struct legal_doc *d, const char *s)
{
	size_t len = strlen(d->note);

	snprintf(d->note + len, sizeof(d->note) - len, "%s%s", len ? " " : "", s);
}

static void build_note(struct legal_doc *d)
{
	char s[256];
	int64_t keep;

	say(d, "Private discoveries record no target: no handle, bucket or "
	       "OPRF element is logged for them, so a search by target handle "
	       "can only find plain lookups, made while plain lookup was "
	       "enabled (see modes_in_window).");
	if (d->req->scope == CDS_LEGAL_TARGET)
		say(d, "Each record found lists only the target handle, not "
		       "the other handles asked for in the same lookup.");
	if (d->req->scope == CDS_LEGAL_IP)
		say(d, "Records logged under the 'truncated' IP policy hold only "
		       "the /24 (IPv4) or /48 (IPv6) network and match any "
		       "address in it; records logged under 'none' hold no "
		       "address and cannot match.");
	if (d->retention_days < 0) {
		say(d, "The query log holds no statement of its configuration: "
		       "no log was kept, or all of it has passed retention, so "
		       "no record of this window exists.");
		return;
	}
	keep = d->generated_us - (int64_t)(d->retention_days + 1) * CDS_USEC_PER_DAY;
	if (d->req->since_us < keep) {
		snprintf(s, sizeof(s),
			 "The window reaches past the retention period of %d "
			 "days: records older than that were deleted on schedule "
			 "and no longer exist.", d->retention_days);
		say(d, s);
	}
}

enum cds_err legal_doc_finish(struct legal_doc *d, struct cds_error *err)
{
	if (d->n_cfgs)
		qsort(d->cfgs, d->n_cfgs, sizeof(*d->cfgs), cmp_cfg);
	d->retention_days = -1;
	for (size_t i = 0; i < d->n_cfgs; i++)
		if (d->cfgs[i].time_us <= d->generated_us)
			d->retention_days = d->cfgs[i].retention_days;
	if (d->retention_days < 0 && d->n_cfgs)
		d->retention_days = d->cfgs[d->n_cfgs - 1].retention_days;
	effective_window(d);
	build_note(d);
	return build_modes(d, err);
}
