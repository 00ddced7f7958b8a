/*
 * qlog_sqlite.c: the SQLite backend's writer sink and its ops table
 * (qlog_backend.h): the day files a writer holds open.
 *
 * Invariants:
 *  1. At most two day files are open (slot[]): the current and the
 *     previous day.  qlog.c calls every sink op under its sink lock, and a
 *     sweep first has the slot holding a day closed (forget), so nothing
 *     writes into an unlinked file.
 *  2. A slot whose file was deleted or replaced behind us (an operator's
 *     `cdsctl log sweep` while the server runs) is reopened, not written.
 *  3. A file created by the sink gets its config row (qlog_new_day_event)
 *     before any record.
 */
#include "qlog/qlog_sqlite.h"

#include <stdlib.h>

#include "core/timeutil.h"

struct qlog_sink {
	const char *datadir; /* the place's, which outlives the sink */
	struct qlog_sink_cfg cfg;
	struct qlog_day slot[2];
};

static enum cds_err sq_sink_open(struct qlog_sink **out,
				 const struct qlog_place *p,
				 const struct qlog_sink_cfg *cfg,
				 struct cds_error *err)
{
	struct qlog_sink *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	s->datadir = p->datadir;
	s->cfg = *cfg;
	*out = s;
	return CDS_OK;
}

static void sq_sink_close(struct qlog_sink *s)
{
	if (!s)
		return;
	qlog_day_close(&s->slot[0]);
	qlog_day_close(&s->slot[1]);
	free(s);
}

/*
 * The slot holding day (opening it, and evicting the older day if both
 * are taken).  A file created here gets its config row (invariant 3).
 */
static enum cds_err slot_get(struct qlog_sink *s, int64_t day,
			     struct qlog_day **out, bool *created,
			     struct cds_error *err)
{
	struct qlog_day *d;
	const char *event;
	enum cds_err rc;
	int64_t at;

	*created = false;
	for (int i = 0; i < 2; i++) {
		if (!s->slot[i].db || s->slot[i].day_start != day)
			continue;
		if (!qlog_day_stale(&s->slot[i], s->datadir)) {
			*out = &s->slot[i];
			return CDS_OK;
		}
		qlog_day_close(&s->slot[i]); /* deleted behind us: start anew */
	}
	d = !s->slot[0].db ? &s->slot[0] : !s->slot[1].db ? &s->slot[1]
	    : s->slot[0].day_start < s->slot[1].day_start ? &s->slot[0]
							  : &s->slot[1];
	qlog_day_close(d);
	rc = qlog_day_open(d, s->datadir, day, s->cfg.modes.durability, created,
			   err);
	if (rc)
		return rc;
	if (*created) {
		qlog_new_day_event(&s->cfg, day, &at, &event);
		rc = qlog_day_config(d, at, event, &s->cfg.modes, err);
		if (rc) {
			qlog_day_close(d);
			return rc;
		}
	}
	*out = d;
	return CDS_OK;
}

static enum cds_err sq_start(struct qlog_sink *s, struct cds_error *err)
{
	struct qlog_day *d;
	enum cds_err rc;
	bool created;

	rc = slot_get(s, cds_time_day_start(s->cfg.start_us), &d, &created, err);
	if (!rc && !created)
		rc = qlog_day_config(d, s->cfg.start_us, "start", &s->cfg.modes,
				     err);
	return rc;
}

static enum cds_err sq_insert(struct qlog_sink *s, int64_t day,
			      const struct qlog_rec *recs, const size_t *idx,
			      size_t n, struct cds_error *err)
{
	struct qlog_day *d;
	enum cds_err rc;
	bool created;

	rc = slot_get(s, day, &d, &created, err);
	if (!rc) {
		rc = qlog_day_insert(d, recs, idx, n, err);
		if (rc)
			qlog_day_close(d); /* reopen next time: the disk may recover */
	}
	return rc;
}

static void sq_forget(struct qlog_sink *s, int64_t day)
{
	for (int i = 0; i < 2; i++)
		if (s->slot[i].db && s->slot[i].day_start == day)
			qlog_day_close(&s->slot[i]);
}

const struct qlog_backend qlog_sqlite_backend = {
	.name = "sqlite",
	.sink_open = sq_sink_open,
	.sink_close = sq_sink_close,
	.start = sq_start,
	.insert = sq_insert,
	.forget = sq_forget,
	.sweep = qlog_sqlite_sweep,
	.read = qlog_sqlite_read,
	.read_config = qlog_sqlite_read_config,
};
