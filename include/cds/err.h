/*
 * cds/err.h: the one error type of cds, public so that programs using the
 * client library (cds/client.h) can read it.  lib/core/err.h includes this
 * file and adds the helpers the library uses to fill it.
 *
 * Every fallible function returns an enum cds_err and, when it fails, fills a
 * caller-owned struct cds_error with a one-line message that names the bad
 * input.  Values are explicit and never reused: they are part of the client
 * library's ABI and appear in logs.
 */
#ifndef CDS_ERR_H
#define CDS_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

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

/* Room for two signed heads in base64 (a split view's evidence). */
#define CDS_ERROR_MSG_BYTES 1024

/* On a fallible function: the compiler warns when its result is ignored. */
#if defined(__GNUC__) || defined(__clang__)
#define CDS_MUST_CHECK __attribute__((warn_unused_result))
#else
#define CDS_MUST_CHECK
#endif

/* Caller-owned; zero-initialise or call cds_error_clear() before use. */
struct cds_error {
	enum cds_err code;
	long index;                     /* offending item in a batch, or -1 */
	char msg[CDS_ERROR_MSG_BYTES];
};

/* Short stable name of an error code, e.g. "invalid". Never NULL. */
const char *cds_strerror(enum cds_err code);

/* Reset err to CDS_OK, index -1, empty message.  Accepts NULL. */
void cds_error_clear(struct cds_error *err);

#ifdef __cplusplus
}
#endif

#endif
