/*
 * err.h: the one error type of cds.
 *
 * Every fallible function returns an enum cds_err and, when it fails, fills a
 * caller-owned struct cds_error with a one-line message that names the bad
 * input.  Values are explicit and never reused: they are part of the client
 * library's ABI and appear in logs.
 */
#ifndef CDS_CORE_ERR_H
#define CDS_CORE_ERR_H

#include <stddef.h>

enum cds_err {
	CDS_OK = 0,
	CDS_ERR_NOMEM = 1,      /* allocation failed */
	CDS_ERR_INVALID = 2,    /* malformed or non-canonical input */
	CDS_ERR_IO = 3,         /* file system or socket failure */
	CDS_ERR_STORE = 4,      /* database failure */
	CDS_ERR_NOT_FOUND = 5,  /* no such account, handle, file, epoch... */
	CDS_ERR_EXISTS = 6,     /* already there (duplicate handle, file) */
	CDS_ERR_CRYPTO = 7,     /* proof or authentication tag did not verify */
	CDS_ERR_EPOCH = 8,      /* key epoch not served */
	CDS_ERR_AUTH = 9,       /* missing or wrong token */
	CDS_ERR_RATE = 10,      /* rate limit reached */
	CDS_ERR_TOO_LARGE = 11, /* body, batch or line over its limit */
	CDS_ERR_NET = 12,       /* could not reach the peer */
	CDS_ERR_PROTO = 13,     /* the peer answered something we cannot use */
	CDS_ERR_BUSY = 14,      /* overloaded; try again later */
	CDS_ERR_FULL = 15,      /* disk full */
	CDS_ERR_INTERNAL = 16,  /* a bug: an invariant did not hold */
	CDS_ERR_USAGE = 17,     /* bad command-line usage */
	CDS_ERR_DISABLED = 18,  /* feature switched off (plain lookup) */
};

#define CDS_ERROR_MSG_BYTES 256

/* Caller-owned; zero-initialise or call cds_error_clear() before use. */
struct cds_error {
	enum cds_err code;
	long index;                     /* offending item in a batch, or -1 */
	char msg[CDS_ERROR_MSG_BYTES];
};

/* Short stable name of an error code, e.g. "invalid". Never NULL. */
const char *cds_strerror(enum cds_err code);

void cds_error_clear(struct cds_error *err);

/*
 * Record a failure and return its code, so that callers can write
 *     return cds_fail(err, CDS_ERR_INVALID, "bad handle '%s'", h);
 * err may be NULL (the message is then dropped).
 */
enum cds_err cds_fail(struct cds_error *err, enum cds_err code,
		      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like cds_fail, also naming the index of the offending batch item. */
enum cds_err cds_fail_at(struct cds_error *err, enum cds_err code, long index,
			 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define CDS_MUST_CHECK __attribute__((warn_unused_result))

#endif
