/*
 * qlog_backend.h: what a query-log storage backend implements (internal to
 * lib/qlog), like store_impl.h for the directory store.
 *
 * qlog.c owns everything that does not depend on where records go: the
 * bounded queue, grouping, durability, the writer and sweeper threads,
 * stats.  A backend stores days: it inserts a group of one UTC day in one
 * transaction, removes whole days past retention, and reads records and
 * config rows back.  There are two: SQLite day files under DIR/querylog
 * (qlog_sqlite.c, qlog_day.c, qlog_sweep.c) and one PostgreSQL table
 * partitioned by day (qlog_pg*.c).  DIR/store.conf says which one a data
 * directory uses (qlog_place.c); no caller knows.
 *
 * Invariants every backend keeps:
 *  1. The storage of day D holds only records whose own time lies in D,
 *     and the first write of a day states the modes in force
 *     (qlog_new_day_event: "new_day" at D's start for a day after the
 *     server's start, else "start" at the start).
 *  2. insert is all or nothing, and reports CDS_ERR_FULL / CDS_ERR_IO /
 *     CDS_ERR_STORE with the cause; a sink survives a failure and tries
 *     again on the next insert (the disk, or the database, may recover).
 *  3. Removing a day removes its records and its config rows together.
 */
#ifndef CDS_QLOG_QLOG_BACKEND_H
#define CDS_QLOG_QLOG_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/handle.h"
#include "qlog/qlog_int.h"
#include "store/store.h" /* CDS_STORE_URL_MAX */

/* The modes to state in a config row. */
struct qlog_modes {
	bool plain_lookup;
	enum cds_qlog_ip_policy ip_policy;
	int retention_days;
	enum cds_qlog_durability durability;
};

/* Where the log of a data directory lives. */
struct qlog_place {
	const char *datadir;
	char url[CDS_STORE_URL_MAX]; /* "" for SQLite day files in datadir */
};

/* What a writer's sink is opened with. */
struct qlog_sink_cfg {
	struct qlog_modes modes;
	int64_t start_us; /* the server's start */
};

/*
 * The config row that opens day `day` for a writer started at
 * cfg->start_us: "new_day" at the day's start for a day after the start,
 * "start" at the start time otherwise.
 */
void qlog_new_day_event(const struct qlog_sink_cfg *cfg, int64_t day,
			int64_t *time_us, const char **event);

/*
 * Called by a sweep around the removal of one day, so that a running
 * writer can let go of that day first (qlog.c).  begin may close a
 * connection; end releases whatever begin took.
 */
struct qlog_sweep_hook {
	void (*begin)(void *ctx, int64_t day_start);
	void (*end)(void *ctx);
	void *ctx;
};

/* True if day (its records span [day, day + 1 day)) is past retention. */
bool qlog_day_expired(int64_t day, int retention_days, int64_t now_us);

/* A read's filter with the scope value worked out once (qlog_place.c). */
struct qlog_match {
	const struct cds_qlog_filter *f;
	char needle[CDS_HANDLE_MAX_BYTES + 3];       /* "\n" handle "\n" */
	char full[QLOG_IP_TEXT_BYTES], trunc[QLOG_IP_TEXT_BYTES];
	uint8_t full_bits, trunc_bits;
};

struct qlog_sink; /* a backend's writer state: open files, a connection */

struct qlog_backend {
	const char *name;
	/*
	 * The writer's sink.  An unreachable database does not make open
	 * fail (inserts fail and count until it is back); a schema newer than
	 * this program does, with CDS_ERR_STORE.
	 */
	enum cds_err (*sink_open)(struct qlog_sink **out,
				  const struct qlog_place *p,
				  const struct qlog_sink_cfg *cfg,
				  struct cds_error *err);
	void (*sink_close)(struct qlog_sink *s);
	/* State the modes at start-up in the storage of the start's day. */
	enum cds_err (*start)(struct qlog_sink *s, struct cds_error *err);
	/* Insert recs[idx[0..n)], all of UTC day `day`, in one transaction. */
	enum cds_err (*insert)(struct qlog_sink *s, int64_t day,
			       const struct qlog_rec *recs, const size_t *idx,
			       size_t n, struct cds_error *err);
	/* Let go of day: a sweep is about to remove it. */
	void (*forget)(struct qlog_sink *s, int64_t day);
	/* Remove the days past retention (qlog.h cds_qlog_sweep_each). */
	enum cds_err (*sweep)(const struct qlog_place *p, int retention_days,
			      int64_t now_us, const struct qlog_sweep_hook *hook,
			      cds_qlog_swept_fn fn, void *fn_ctx,
			      uint64_t *deleted, struct cds_error *err);
	/* qlog.h cds_qlog_read, cds_qlog_read_config. */
	enum cds_err (*read)(const struct qlog_place *p,
			     const struct qlog_match *m, cds_qlog_row_fn fn,
			     void *ctx, struct cds_error *err);
	enum cds_err (*read_config)(const struct qlog_place *p,
				    cds_qlog_config_fn fn, void *ctx,
				    struct cds_error *err);
};

extern const struct qlog_backend qlog_sqlite_backend;
extern const struct qlog_backend qlog_pg_backend;

/*
 * qlog_place.c: where datadir's log lives and which backend serves it.
 * CDS_ERR_STORE if DIR/store.conf is malformed.
 */
enum cds_err qlog_place_get(struct qlog_place *p, const char *datadir,
			    const struct qlog_backend **be,
			    struct cds_error *err) CDS_MUST_CHECK;

#endif
