/*
 * qlog.h: the query log (DESIGN.md "Query log").
 *
 * One record per API request.  The request path builds a record and submits
 * it to a bounded queue; one writer thread commits records in groups to the
 * storage of the record's own UTC day: one SQLite file per day,
 * DIR/querylog/YYYY-MM-DD.sqlite3, or, when DIR/store.conf names
 * PostgreSQL, one partition per day of one table in that database
 * (qlog_backend.h).  Durability `batch`: a group is committed at least every
 * 100 ms; `sync`: cds_qlog_submit returns only after the record's group has
 * committed.  When the queue is full, submit waits briefly, then fails with
 * CDS_ERR_BUSY (the server answers 503), so no record is dropped silently.
 *
 * What a record can hold is fixed by this type: there is no field for a
 * bucket, an OPRF element or a handle, except the handle list that only the
 * plain-lookup submit function fills.  A private discovery therefore cannot
 * log its targets: there is nowhere to put them.
 *
 * The client address is reduced under the IP policy inside
 * cds_qlog_submit*, before the record enters the queue: a full address under
 * `truncated` or `none` never reaches memory the writer sees, nor disk.
 */
#ifndef CDS_QLOG_QLOG_H
#define CDS_QLOG_QLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"
#include "crypto/entry.h"

#define CDS_QLOG_IP_TEXT_BYTES 46   /* INET6_ADDRSTRLEN */

enum cds_qlog_durability { CDS_QLOG_BATCH = 0, CDS_QLOG_SYNC = 1 };
enum cds_qlog_ip_policy {
	CDS_QLOG_IP_FULL = 0,
	CDS_QLOG_IP_TRUNCATED = 1, /* IPv4 /24, IPv6 /48 */
	CDS_QLOG_IP_NONE = 2,
};

/* Endpoints, as stored (text) in the log. */
enum cds_endpoint {
	CDS_EP_OTHER = 0,
	CDS_EP_HEALTH,
	CDS_EP_PARAMS,
	CDS_EP_DISCOVER,
	CDS_EP_BUCKET_GET,
	CDS_EP_BUCKETS_POST,
	CDS_EP_LOOKUP,
	CDS_EP_ACCOUNT_CREATE,
	CDS_EP_HANDLES_UPDATE,
	CDS_EP_IDENTITY_KEY,
	CDS_EP_ACCOUNT_DELETE,
	CDS_EP_METRICS,
	CDS_EP_VERIFY,
	CDS_EP_REGISTER,
	CDS_EP_HANDLE_BIND,
	CDS_EP_OHTTP,           /* a gateway request that never reached a route */
	CDS_EP_OHTTP_KEYS,
	CDS_EP_ACCOUNT_GET,
	CDS_EP_THEAD,           /* directory transparency (no target logged) */
	CDS_EP_TCONSISTENCY,
	CDS_EP_TVERSION,
	CDS_EP_THISTORY,
	CDS_EP__COUNT
};
const char *cds_endpoint_name(enum cds_endpoint ep);

struct cds_qlog_config {
	const char *datadir;
	int retention_days;            /* 0 = keep no log, write nothing */
	enum cds_qlog_durability durability;
	enum cds_qlog_ip_policy ip_policy;
	size_t queue_capacity;         /* records; 0 = default (65536) */
	bool plain_lookup;             /* recorded as the mode in force */
};

/*
 * How a request reached the server: directly, or encapsulated through the
 * Oblivious HTTP gateway (its peer is then the relay, whose address is
 * worthless and never recorded).
 */
enum cds_qlog_via { CDS_QLOG_VIA_DIRECT = 0, CDS_QLOG_VIA_OHTTP = 1 };

/* What the request path knows about one request. */
struct cds_qlog_request {
	const struct sockaddr *peer;   /* may be NULL; ignored via the gateway */
	const uint8_t *account;        /* CDS_ACCOUNT_ID_BYTES or NULL */
	enum cds_endpoint endpoint;
	uint32_t items;                /* elements, handles, prefixes... */
	uint16_t status;               /* HTTP status sent */
	int64_t time_us;               /* 0 = now (tests pass their own) */
	enum cds_qlog_via via;         /* last: positional initialisers */
};

struct cds_qlog_stats {
	uint64_t written;       /* records committed */
	uint64_t groups;        /* commits */
	uint64_t queue_depth;   /* now */
	uint64_t refused;       /* submits that failed with CDS_ERR_BUSY */
	uint64_t write_errors;  /* records lost to I/O errors (disk full) */
	uint64_t swept_files;   /* day files deleted by the sweeper */
};

struct cds_qlog;

/*
 * Start the writer and the sweeper (at start-up and hourly).  Records the
 * configuration in force (plain lookup on/off, IP policy, retention) in the
 * current day file, so that legal exports can say which modes a window had.
 * With retention_days == 0 no thread writes anything and no file or
 * directory is created; the sweeper still removes day files left by an
 * earlier run, since the policy is then to keep none.  An unwritable data
 * directory, or a PostgreSQL server that does not answer, does not make
 * this fail: the writer counts write_errors and logs to stderr, and the
 * service keeps running.  CDS_ERR_INVALID for a NULL datadir or a
 * negative retention; CDS_ERR_STORE for a malformed DIR/store.conf or a
 * PostgreSQL log whose schema is newer than this program.
 */
enum cds_err cds_qlog_open(struct cds_qlog **out,
			   const struct cds_qlog_config *cfg,
			   struct cds_error *err) CDS_MUST_CHECK;

/* Drain the queue, commit, stop the threads. Accepts NULL. */
void cds_qlog_close(struct cds_qlog *q);

/* Log a request that targets nobody in particular (everything but lookup). */
enum cds_err cds_qlog_submit(struct cds_qlog *q,
			     const struct cds_qlog_request *req,
			     struct cds_error *err) CDS_MUST_CHECK;

/*
 * Submit returns CDS_OK once the record is queued (batch) or committed
 * (sync); CDS_ERR_BUSY if the queue stayed full for ~50 ms or the log is
 * closing; in sync mode CDS_ERR_IO / CDS_ERR_FULL if the record's group
 * could not be committed (it is then counted in write_errors).
 */

/*
 * Log a plain lookup with every handle asked for (copied).  The handles
 * must be canonical (the server checks them before answering): a
 * non-canonical one fails with CDS_ERR_INVALID and err->index, and nothing
 * is queued, so log a rejected request with cds_qlog_submit instead.
 */
enum cds_err cds_qlog_submit_lookup(struct cds_qlog *q,
				    const struct cds_qlog_request *req,
				    const char *const *handles, size_t n,
				    struct cds_error *err) CDS_MUST_CHECK;

/*
 * Wait until every record submitted before the call is written (or failed),
 * at most timeout_us.  For a process about to die; normal shutdown is
 * cds_qlog_close.  CDS_ERR_BUSY if the time ran out.
 */
enum cds_err cds_qlog_flush(struct cds_qlog *q, int64_t timeout_us);

void cds_qlog_get_stats(struct cds_qlog *q, struct cds_qlog_stats *out);

/*
 * Delete whole days older than the retention period as of now_us: day D
 * goes once now_us - (D + 1 day) > retention_days, so no record older than
 * retention + 1 day survives a sweep; retention 0 deletes every day.  On
 * SQLite a day is its file with its -wal/-shm/-journal files; on
 * PostgreSQL its partition (dropped) and its config rows.  Logs each
 * deletion (day, records) to stderr.  Creates nothing; a missing directory
 * or table is no error.  CDS_ERR_INVALID for a negative retention,
 * CDS_ERR_IO (SQLite) or CDS_ERR_STORE (PostgreSQL) if a day cannot be
 * deleted (the others still are).  Used by the sweeper thread and by
 * `cdsctl log sweep`.
 */
enum cds_err cds_qlog_sweep(const char *datadir, int retention_days,
			    int64_t now_us, uint64_t *files_deleted,
			    struct cds_error *err) CDS_MUST_CHECK;

/*
 * The same, calling fn (if not NULL) for each day removed, so that a tool
 * can print it.  records is -1 when the day could not be counted; exact is
 * false when it is PostgreSQL's estimate (its statistics of the partition:
 * counting a large day row by row would cost what dropping it saves).
 */
typedef void (*cds_qlog_swept_fn)(void *ctx, const char *day, int64_t records,
				  bool exact);
enum cds_err cds_qlog_sweep_each(const char *datadir, int retention_days,
				 int64_t now_us, cds_qlog_swept_fn fn,
				 void *ctx, uint64_t *files_deleted,
				 struct cds_error *err) CDS_MUST_CHECK;

/* ---- reading (the legal process, tests) ------------------------------ */

/* Which records a read returns, besides the time window. */
enum cds_qlog_match {
	CDS_QLOG_MATCH_ALL = 0,
	CDS_QLOG_MATCH_ACCOUNT = 1, /* value: account id, 32 lower-case hex */
	CDS_QLOG_MATCH_HANDLE = 2,  /* value: a canonical handle, matched
				     * exactly in a plain lookup's list */
	CDS_QLOG_MATCH_IP = 3,      /* value: an IPv4/IPv6 address; a record
				     * matches under its own policy (full:
				     * the address, truncated: its network,
				     * none: never) */
};

struct cds_qlog_filter {
	int64_t since_us, until_us; /* [since, until); INT64_MIN/MAX: open */
	enum cds_qlog_match match;
	const char *value;
};

/* One record as read; strings are NULL where the log holds none. */
struct cds_qlog_row {
	int64_t time_us;
	const char *ip;
	int ip_bits;
	const char *account;   /* 32 hex digits */
	const char *endpoint;
	int64_t items;
	int status;
	const char *handles;   /* '\n'-joined; only plain lookups have any */
	const char *via;       /* NULL: direct; "ohttp": through the gateway */
};

/* A statement of the modes in force (log created, day begun, server start). */
struct cds_qlog_config_row {
	int64_t time_us;
	const char *event;     /* "start", "new_day" */
	bool plain_lookup;
	const char *ip_policy;
	int retention_days;
	const char *durability;
};

/* Callbacks get rows valid only during the call; non-zero stops the read. */
typedef int (*cds_qlog_row_fn)(void *ctx, const struct cds_qlog_row *r);
typedef int (*cds_qlog_config_fn)(void *ctx,
				  const struct cds_qlog_config_row *c);

/*
 * Visit the records of DIR's log in f's window that match f, in time
 * order (records of one microsecond in the order written).  Reads only;
 * a log that does not exist has no records.  CDS_ERR_INVALID for a value
 * that is not of its kind, CDS_ERR_STORE naming the day file or database
 * that cannot be read.
 */
enum cds_err cds_qlog_read(const char *datadir, const struct cds_qlog_filter *f,
			   cds_qlog_row_fn fn, void *ctx,
			   struct cds_error *err) CDS_MUST_CHECK;

/* Visit every config row still in the log (any order). */
enum cds_err cds_qlog_read_config(const char *datadir, cds_qlog_config_fn fn,
				  void *ctx, struct cds_error *err) CDS_MUST_CHECK;

/*
 * Parse a textual IPv4/IPv6 address (as given to `legal export --ip`) into
 * its full and truncated texts, as records under each policy hold them.
 * CDS_ERR_INVALID quoting the input.
 */
enum cds_err cds_qlog_ip_forms(const char *ip,
			       char full[CDS_QLOG_IP_TEXT_BYTES],
			       uint8_t *full_bits,
			       char trunc[CDS_QLOG_IP_TEXT_BYTES],
			       uint8_t *trunc_bits,
			       struct cds_error *err) CDS_MUST_CHECK;

#endif
