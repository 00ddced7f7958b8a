/*
 * err.h: the one error type of cds.
 *
 * The enum, struct cds_error, cds_strerror and cds_error_clear are public and
 * live in include/cds/err.h (the client library's users need them); this
 * header adds the helpers that fill a struct cds_error.
 *
 * Every fallible function returns an enum cds_err and, when it fails, fills a
 * caller-owned struct cds_error with a one-line message that names the bad
 * input.  Values are explicit and never reused: they are part of the client
 * library's ABI and appear in logs.
 */
#ifndef CDS_CORE_ERR_H
#define CDS_CORE_ERR_H

#include <stddef.h>

#include "cds/err.h"

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

#endif
