/*
 * timeutil.h: time in cds is int64 microseconds since the Unix epoch, UTC.
 */
#ifndef CDS_CORE_TIMEUTIL_H
#define CDS_CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define CDS_USEC_PER_SEC INT64_C(1000000)
#define CDS_USEC_PER_DAY (INT64_C(86400) * CDS_USEC_PER_SEC)
#define CDS_RFC3339_BYTES 32 /* "2026-11-27T22:33:56.123456Z" + NUL */

int64_t cds_now_us(void);          /* wall clock (CLOCK_REALTIME) */
int64_t cds_monotonic_us(void);    /* for intervals (CLOCK_MONOTONIC) */

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */
void cds_time_format(char out[CDS_RFC3339_BYTES], int64_t us);

/* "YYYY-MM-DD" of the UTC day holding us; out holds 11 bytes. */
void cds_time_day(char out[11], int64_t us);

/* Start (00:00:00.000000 UTC) of the day holding us. */
int64_t cds_time_day_start(int64_t us);

/*
 * Parse RFC 3339: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" or a bare
 * date "YYYY-MM-DD" (midnight UTC).  CDS_ERR_INVALID quoting the input.
 */
enum cds_err cds_time_parse(int64_t *us, const char *s,
			    struct cds_error *err) CDS_MUST_CHECK;

/* Parse "YYYY-MM-DD" into the start of that UTC day. */
enum cds_err cds_time_parse_day(int64_t *us, const char *s,
				struct cds_error *err) CDS_MUST_CHECK;

#endif
