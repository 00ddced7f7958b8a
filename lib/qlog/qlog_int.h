/*
 * qlog_int.h: what the query-log files share inside lib/store (not a public
 * interface): the queued record, the day-file layer and the sweeper's hook.
 *
 * Invariants:
 *  1. A struct qlog_rec holds the client address only as already reduced
 *     under the IP policy (qlog_record.c); nothing downstream sees more.
 *  2. A day file DIR/querylog/YYYY-MM-DD.sqlite3 holds only records whose
 *     own time lies in that UTC day, and a config row for every time the
 *     modes in force were stated (file created, server started).
 *  3. Files are created 0600 in a 0700 directory; SQLite gives the -wal,
 *     -shm and -journal files the mode of the database file.
 */
#ifndef CDS_QLOG_QLOG_INT_H
#define CDS_QLOG_QLOG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "qlog/qlog.h"

#define QLOG_IP_TEXT_BYTES 46   /* INET6_ADDRSTRLEN */
#define QLOG_DIR "querylog"
#define QLOG_SCHEMA_VERSION 2   /* 2: records.via */

/* Result slot of a sync submitter, on its stack until the writer is done. */
struct qlog_waiter {
	bool done;
	enum cds_err rc;
};

/* One queued record. handles: '\n'-joined, malloc'd, owned by the record. */
struct qlog_rec {
	int64_t time_us;
	char *handles;
	struct qlog_waiter *waiter; /* NULL in batch mode */
	uint32_t items;
	uint16_t status;
	uint8_t endpoint;
	uint8_t ip_bits;            /* 0 = no address kept */
	uint8_t via;                /* enum cds_qlog_via */
	bool has_account;
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	char ip[QLOG_IP_TEXT_BYTES];
};

/* qlog_record.c */

/*
 * Reduce a peer address under the policy into text (""/0 bits when nothing
 * is kept: policy none, NULL peer, or a family other than IPv4/IPv6).
 * IPv4-mapped IPv6 addresses are treated as the IPv4 address they carry.
 */
void qlog_ip_reduce(char out[QLOG_IP_TEXT_BYTES], uint8_t *bits,
		    const struct sockaddr *peer, enum cds_qlog_ip_policy policy);

/*
 * Parse a textual IPv4/IPv6 address (as given to `legal export --ip`) into
 * its full and truncated texts, as records under each policy hold them.
 * CDS_ERR_INVALID quoting the input.
 */
enum cds_err qlog_ip_forms(const char *ip, char full[QLOG_IP_TEXT_BYTES],
			   uint8_t *full_bits,
			   char trunc[QLOG_IP_TEXT_BYTES], uint8_t *trunc_bits,
			   struct cds_error *err) CDS_MUST_CHECK;

const char *qlog_ip_policy_name(enum cds_qlog_ip_policy p);
const char *qlog_durability_name(enum cds_qlog_durability d);

/* Fill rec from req under the policy; handles are joined and copied. */
enum cds_err qlog_rec_build(struct qlog_rec *rec,
			    const struct cds_qlog_request *req,
			    enum cds_qlog_ip_policy policy,
			    const char *const *handles, size_t n,
			    struct cds_error *err) CDS_MUST_CHECK;

/* qlog_day.c */

/* "DIR/querylog" and "DIR/querylog/YYYY-MM-DD.sqlite3" (malloc'd). */
char *qlog_dir_path(const char *datadir);
char *qlog_day_path(const char *datadir, int64_t day_start_us);

/* If name is "YYYY-MM-DD.sqlite3", set *day_start and return true. */
bool qlog_day_name_parse(const char *name, int64_t *day_start);

/* The modes to state in a config row. */
struct qlog_modes {
	bool plain_lookup;
	enum cds_qlog_ip_policy ip_policy;
	int retention_days;
	enum cds_qlog_durability durability;
};

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

/* qlog_sweep.c */

/*
 * Called by the sweep around the deletion of one day's files, so that a
 * running writer can let go of that day first (qlog.c).  begin may close a
 * connection; end releases whatever begin took.
 */
struct qlog_sweep_hook {
	void (*begin)(void *ctx, int64_t day_start);
	void (*end)(void *ctx);
	void *ctx;
};

enum cds_err qlog_sweep_run(const char *datadir, int retention_days,
			    int64_t now_us, const struct qlog_sweep_hook *hook,
			    cds_qlog_swept_fn fn, void *fn_ctx,
			    uint64_t *files_deleted,
			    struct cds_error *err) CDS_MUST_CHECK;

#endif
