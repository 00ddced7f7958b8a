/*
 * qlog_sqlite.h: the SQLite backend of the query log (qlog_backend.h):
 * one database file per UTC day, DIR/querylog/YYYY-MM-DD.sqlite3.
 *
 *   qlog_day.c          one day file: create, schema, insert, list
 *   qlog_sqlite.c       the writer's sink (the open day files) and the ops
 *   qlog_sqlite_read.c  reading records and config rows back
 *   qlog_sweep.c        retention: deleting whole day files
 *
 * Invariants:
 *  1. A day file holds only records whose own time lies in that UTC day,
 *     and a config row for every time the modes in force were stated
 *     (file created, server started).
 *  2. Files are created 0600 in a 0700 directory; SQLite gives the -wal,
 *     -shm and -journal files the mode of the database file.
 */
#ifndef CDS_QLOG_QLOG_SQLITE_H
#define CDS_QLOG_QLOG_SQLITE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "qlog/qlog_backend.h"

#define QLOG_DIR "querylog"
#define QLOG_SCHEMA_VERSION 2   /* 2: records.via */

/* qlog_day.c */

/* "DIR/querylog" and "DIR/querylog/YYYY-MM-DD.sqlite3" (malloc'd). */
char *qlog_dir_path(const char *datadir);
char *qlog_day_path(const char *datadir, int64_t day_start_us);

/* If name is "YYYY-MM-DD.sqlite3", set *day_start and return true. */
bool qlog_day_name_parse(const char *name, int64_t *day_start);

/* An open day file of the writer, with its prepared INSERT. */
struct qlog_day {
	int64_t day_start;  /* 0 with db == NULL: slot empty */
	dev_t dev;          /* identity of the file opened, so that a file */
	ino_t ino;          /* deleted or replaced behind us is noticed   */
	sqlite3 *db;
	sqlite3_stmt *ins;
	sqlite3_stmt *ins_cfg;
};

/*
 * Open (creating directory, file and schema if needed) the day file of
 * day_start for writing.  *created tells whether the file is new.  On
 * failure the slot is left empty and the SQLite/errno cause is in err
 * (CDS_ERR_FULL for a full disk, CDS_ERR_IO or CDS_ERR_STORE otherwise).
 */
enum cds_err qlog_day_open(struct qlog_day *d, const char *datadir,
			   int64_t day_start, enum cds_qlog_durability dur,
			   bool *created, struct cds_error *err) CDS_MUST_CHECK;
void qlog_day_close(struct qlog_day *d);

/*
 * True if the file d was opened on is gone or replaced (an operator's
 * `cdsctl log sweep` while the server runs): writing on would go to an
 * unlinked file, so the caller reopens.  One stat() per group.
 */
bool qlog_day_stale(const struct qlog_day *d, const char *datadir);

/* Insert a config row (inside or outside a transaction). */
enum cds_err qlog_day_config(struct qlog_day *d, int64_t time_us,
			     const char *event, const struct qlog_modes *m,
			     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Insert recs[i] for every i in idx[0..n) in one transaction.  All or
 * nothing: on failure the transaction is rolled back.
 */
enum cds_err qlog_day_insert(struct qlog_day *d, const struct qlog_rec *recs,
			     const size_t *idx, size_t n,
			     struct cds_error *err) CDS_MUST_CHECK;

/* Map a SQLite result code to a cds error (FULL, IO or STORE). */
enum cds_err qlog_sqlite_err(struct cds_error *err, sqlite3 *db, int rc,
			     const char *what, const char *path);

/* The schema version of an open day file (1 has no records.via). */
int qlog_day_version(sqlite3 *db);

/*
 * Open an existing day file read-only (legal export, sweep counting).
 * CDS_ERR_STORE naming the file if it cannot be opened or has no schema.
 */
enum cds_err qlog_day_open_ro(sqlite3 **db, const char *path,
			      struct cds_error *err) CDS_MUST_CHECK;

/*
 * List the day files of datadir whose day overlaps [from, until), sorted
 * by day.  *days is malloc'd (caller frees); a missing directory is an
 * empty list.
 */
enum cds_err qlog_day_list(const char *datadir, int64_t from, int64_t until,
			   int64_t **days, size_t *n,
			   struct cds_error *err) CDS_MUST_CHECK;

/* qlog_sweep.c: the sqlite backend's sweep op. */
enum cds_err qlog_sqlite_sweep(const struct qlog_place *p, int retention_days,
			       int64_t now_us, const struct qlog_sweep_hook *hook,
			       cds_qlog_swept_fn fn, void *fn_ctx,
			       uint64_t *files_deleted,
			       struct cds_error *err) CDS_MUST_CHECK;

/* qlog_sqlite_read.c: the sqlite backend's read ops. */
enum cds_err qlog_sqlite_read(const struct qlog_place *p,
			      const struct qlog_match *m, cds_qlog_row_fn fn,
			      void *ctx, struct cds_error *err) CDS_MUST_CHECK;
enum cds_err qlog_sqlite_read_config(const struct qlog_place *p,
				     cds_qlog_config_fn fn, void *ctx,
				     struct cds_error *err) CDS_MUST_CHECK;

#endif
