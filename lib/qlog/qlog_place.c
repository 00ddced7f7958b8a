/*
 * qlog_place.c: where a data directory's query log lives, the public
 * entry points that only pick the backend (sweep, read), and the rules
 * both backends share (when a day expires, how a new day is stated, how a
 * read's scope value is checked).
 *
 * The log follows the directory store: a data directory whose
 * DIR/store.conf names PostgreSQL keeps its log in that database; one
 * without keeps SQLite day files under DIR/querylog.  Nothing else is
 * configured, so `cdsd`, `cdsctl log` and `cdsctl legal` always agree on
 * where the log is.
 */
#include "qlog/qlog_backend.h"

#include <string.h>

#include "core/codec.h"
#include "core/timeutil.h"
#include "store/store_impl.h" /* cds_store_conf_read */

enum cds_err qlog_place_get(struct qlog_place *p, const char *datadir,
			    const struct qlog_backend **be,
			    struct cds_error *err)
{
	enum cds_err rc;

	memset(p, 0, sizeof(*p));
	p->datadir = datadir;
	*be = &qlog_sqlite_backend;
	/* No store.conf (or no directory: the writer reports that later). */
	if (!cds_store_conf_exists(datadir))
		return CDS_OK;
	rc = cds_store_conf_read(datadir, p->url, err);
	if (rc)
		return rc;
	*be = &qlog_pg_backend;
	return CDS_OK;
}

void qlog_new_day_event(const struct qlog_sink_cfg *cfg, int64_t day,
			int64_t *time_us, const char **event)
{
	bool later = day > cds_time_day_start(cfg->start_us);

	*time_us = later ? day : cfg->start_us;
	*event = later ? "new_day" : "start";
}

bool qlog_day_expired(int64_t day, int retention_days, int64_t now_us)
{
	if (retention_days == 0)
		return true;
	return now_us - (day + CDS_USEC_PER_DAY) >
	       (int64_t)retention_days * CDS_USEC_PER_DAY;
}

enum cds_err cds_qlog_sweep_each(const char *datadir, int retention_days,
				 int64_t now_us, cds_qlog_swept_fn fn,
				 void *ctx, uint64_t *files_deleted,
				 struct cds_error *err)
{
	const struct qlog_backend *be;
	struct qlog_place p;
	enum cds_err rc;

	if (files_deleted)
		*files_deleted = 0;
	if (!datadir || retention_days < 0)
		return cds_fail(err, CDS_ERR_INVALID,
				"query log sweep: retention %d days is negative",
				retention_days);
	rc = qlog_place_get(&p, datadir, &be, err);
	if (!rc)
		rc = be->sweep(&p, retention_days, now_us, NULL, fn, ctx,
			       files_deleted, err);
	return rc;
}

enum cds_err cds_qlog_sweep(const char *datadir, int retention_days,
			    int64_t now_us, uint64_t *files_deleted,
			    struct cds_error *err)
{
	return cds_qlog_sweep_each(datadir, retention_days, now_us, NULL, NULL,
				   files_deleted, err);
}

/* Check f's value and work out what the backends compare with. */
static enum cds_err match_prepare(struct qlog_match *m,
				  const struct cds_qlog_filter *f,
				  struct cds_error *err)
{
	uint8_t id[CDS_ACCOUNT_ID_BYTES];
	size_t len = f->value ? strlen(f->value) : 0;

	memset(m, 0, sizeof(*m));
	m->f = f;
	switch (f->match) {
	case CDS_QLOG_MATCH_ALL:
		return CDS_OK;
	case CDS_QLOG_MATCH_ACCOUNT:
		if (len != 2 * CDS_ACCOUNT_ID_BYTES ||
		    cds_hex_decode_exact(id, sizeof(id), f->value, len, "account",
					 NULL))
			break;
		return CDS_OK;
	case CDS_QLOG_MATCH_HANDLE:
		if (!f->value || cds_handle_check(f->value, len, NULL, NULL))
			break;
		m->needle[0] = '\n';
		memcpy(m->needle + 1, f->value, len);
		m->needle[len + 1] = '\n';
		return CDS_OK;
	case CDS_QLOG_MATCH_IP:
		if (!f->value)
			break;
		return cds_qlog_ip_forms(f->value, m->full, &m->full_bits,
					 m->trunc, &m->trunc_bits, err);
	}
	return cds_fail(err, CDS_ERR_INVALID,
			"query log: '%.60s' is not a value to match records by",
			f->value ? f->value : "");
}

enum cds_err cds_qlog_read(const char *datadir, const struct cds_qlog_filter *f,
			   cds_qlog_row_fn fn, void *ctx, struct cds_error *err)
{
	const struct qlog_backend *be;
	struct qlog_place p;
	struct qlog_match m;
	enum cds_err rc;

	rc = match_prepare(&m, f, err);
	if (!rc)
		rc = qlog_place_get(&p, datadir, &be, err);
	if (!rc)
		rc = be->read(&p, &m, fn, ctx, err);
	return rc;
}

enum cds_err cds_qlog_read_config(const char *datadir, cds_qlog_config_fn fn,
				  void *ctx, struct cds_error *err)
{
	const struct qlog_backend *be;
	struct qlog_place p;
	enum cds_err rc;

	rc = qlog_place_get(&p, datadir, &be, err);
	if (!rc)
		rc = be->read_config(&p, fn, ctx, err);
	return rc;
}
