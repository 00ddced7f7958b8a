/*
 * qlog_pg.h: the PostgreSQL backend of the query log (qlog_backend.h), in
 * the database DIR/store.conf names, schema "cds" beside the store.
 *
 *   qlog_pg.c       connection, schema and its version, the writer's sink
 *                   (day partitions made ahead, binary COPY per group)
 *   qlog_pg_keep.c  retention (dropping whole partitions) and reading
 *
 * Schema (version QLOG_PG_SCHEMA_VERSION, in qlog_version):
 *
 *   qlog_records(time_us, id, ip, ip_bits, account, endpoint, items,
 *                status, handles, via)   PARTITION BY RANGE (time_us),
 *                one partition per UTC day, qlog_records_YYYYMMDD, holding
 *                [day, day + 1 day); the same columns as a SQLite day file
 *                (qlog_day.c); id from a sequence orders the records of
 *                one microsecond
 *   qlog_config(time_us, event, plain_lookup, ip_policy, retention_days,
 *               durability)              the modes stated, as in SQLite
 *
 * Invariants:
 *  1. A partition is created together with its day's first config row, in
 *     one transaction under an advisory lock, so two replicas making the
 *     same day at once neither fail nor state it twice; the next day's
 *     partition is made ahead in the same transaction (without a config
 *     row until that day is first written).
 *  2. A group of records (all of one day) is one COPY into that day's
 *     partition: all of it is committed or none.
 *  3. A day is removed by dropping its partition and deleting its config
 *     rows in one transaction: no DELETE of records, no VACUUM, whatever
 *     the day's size.
 *  4. Nothing here holds a password: the URL was checked (store_conf.c).
 */
#ifndef CDS_QLOG_QLOG_PG_H
#define CDS_QLOG_QLOG_PG_H

#include <libpq-fe.h>

#include "qlog/qlog_backend.h"

#define QLOG_PG_SCHEMA_VERSION 1
#define QLOG_PG_LOCK "cds.qlog" /* advisory lock key (hashtext) */

/*
 * Connect to p->url; if the log's tables exist, check their version
 * (*exists false if they do not); with create, make them first.
 * CDS_ERR_STORE for a version newer than this program or a failure;
 * *reached (may be NULL) says whether the server answered at all.
 */
enum cds_err qlog_pg_connect(PGconn **out, const struct qlog_place *p,
			     bool create, bool *exists, bool *reached,
			     struct cds_error *err) CDS_MUST_CHECK;

/* Map a failed result (or, res NULL, the connection's error) to err. */
enum cds_err qlog_pg_fail(PGconn *conn, const PGresult *res, const char *what,
			  struct cds_error *err);

/* "qlog_records_YYYYMMDD" of a day; parse one back (false if not one). */
void qlog_pg_part_name(char out[32], int64_t day);
bool qlog_pg_part_parse(const char *name, int64_t *day);

/* qlog_pg_keep.c: the backend's sweep and read ops. */
enum cds_err qlog_pg_sweep(const struct qlog_place *p, int retention_days,
			   int64_t now_us, const struct qlog_sweep_hook *hook,
			   cds_qlog_swept_fn fn, void *fn_ctx, uint64_t *deleted,
			   struct cds_error *err) CDS_MUST_CHECK;
enum cds_err qlog_pg_read(const struct qlog_place *p,
			  const struct qlog_match *m, cds_qlog_row_fn fn,
			  void *ctx, struct cds_error *err) CDS_MUST_CHECK;
enum cds_err qlog_pg_read_config(const struct qlog_place *p,
				 cds_qlog_config_fn fn, void *ctx,
				 struct cds_error *err) CDS_MUST_CHECK;

#endif
