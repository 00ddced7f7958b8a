/*
 * timeutil.c: UTC time formatting and RFC 3339 parsing without locale or TZ.
 */
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t cds_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * CDS_USEC_PER_SEC + ts.tv_nsec / 1000;
}

int64_t cds_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * CDS_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* Floor division, so that times before 1970 land in the right day. */
static int64_t floordiv(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = floordiv(y, 400);
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = floordiv(z, 146097);
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void cds_time_format(char out[CDS_RFC3339_BYTES], int64_t us)
{
	int64_t days = floordiv(us, CDS_USEC_PER_DAY);
	int64_t rem = us - days * CDS_USEC_PER_DAY;
	int64_t secs = rem / CDS_USEC_PER_SEC;
	unsigned m, d;
	int y;

	civil_from_days(days, &y, &m, &d);
	snprintf(out, CDS_RFC3339_BYTES, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", y,
		 m, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
		 (int)(rem % CDS_USEC_PER_SEC));
}

void cds_time_day(char out[11], int64_t us)
{
	unsigned m, d;
	int y;

	civil_from_days(floordiv(us, CDS_USEC_PER_DAY), &y, &m, &d);
	/* Years outside 0000..9999 do not occur in logs; clamp for the format. */
	y = y < 0 ? 0 : y > 9999 ? 9999 : y;
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, m % 13u,
		 d % 32u);
}

int64_t cds_time_day_start(int64_t us)
{
	return floordiv(us, CDS_USEC_PER_DAY) * CDS_USEC_PER_DAY;
}

/* Read exactly n digits; -1 if any is not a digit. */
static long digits(const char *s, int n)
{
	long v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(long y, long m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : dm[m - 1];
}

/* Parse "YYYY-MM-DD" at s; returns days since epoch or INT64_MIN. */
static int64_t parse_date(const char *s)
{
	long y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);

	if (y < 0 || m < 1 || m > 12 || d < 1 || s[4] != '-' || s[7] != '-' ||
	    d > days_in_month(y, m))
		return INT64_MIN;
	return days_from_civil(y, (unsigned)m, (unsigned)d);
}

enum cds_err cds_time_parse_day(int64_t *us, const char *s,
				struct cds_error *err)
{
	int64_t days;

	if (strlen(s) != 10 || (days = parse_date(s)) == INT64_MIN)
		return cds_fail(err, CDS_ERR_INVALID,
				"'%.40s' is not a date (YYYY-MM-DD)", s);
	*us = days * CDS_USEC_PER_DAY;
	return CDS_OK;
}

/* Parse "[.frac](Z|+hh:mm|-hh:mm)" after the seconds; 0 on success. */
static int parse_tail(const char *p, int64_t *frac_us, int64_t *offset_us)
{
	int64_t scale = 100000;
	long hh, mm;

	*frac_us = 0;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			*frac_us += (*p - '0') * scale;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*offset_us = 0;
		return 0;
	}
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':')
		return -1;
	hh = digits(p + 1, 2);
	mm = digits(p + 4, 2);
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
		return -1;
	*offset_us = (hh * 3600 + mm * 60) * CDS_USEC_PER_SEC * (*p == '-' ? -1 : 1);
	return 0;
}

enum cds_err cds_time_parse(int64_t *us, const char *s, struct cds_error *err)
{
	int64_t days, frac, off;
	long hh, mi, ss;

	if (strlen(s) == 10)
		return cds_time_parse_day(us, s, err);
	if (strlen(s) < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		goto bad;
	days = parse_date(s);
	hh = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	ss = digits(s + 17, 2);
	if (days == INT64_MIN || s[13] != ':' || s[16] != ':' || hh < 0 ||
	    hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 60 ||
	    parse_tail(s + 19, &frac, &off) != 0)
		goto bad;
	*us = days * CDS_USEC_PER_DAY + (hh * 3600 + mi * 60 + ss) * CDS_USEC_PER_SEC +
	      frac - off;
	return CDS_OK;
bad:
	return cds_fail(err, CDS_ERR_INVALID,
			"'%.40s' is not an RFC 3339 time (e.g. 2026-11-27T12:00:00Z)", s);
}
