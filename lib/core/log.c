/*
 * log.c: timestamped diagnostics to stderr.  Each line is written with one
 * write() so that lines from several threads do not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "timeutil.h"

static const char *program = "cds";
static int level = 1;

void cds_log_set_program(const char *name)
{
	program = name;
}

void cds_log_set_level(int l)
{
	level = l;
}

static void vlog(const char *tag, const char *fmt, va_list ap)
{
	char line[1024], ts[CDS_RFC3339_BYTES];
	int n, m;

	cds_time_format(ts, cds_now_us());
	n = snprintf(line, sizeof(line), "%s %s: %s", ts, program, tag);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void cds_log_info(const char *fmt, ...)
{
	va_list ap;

	if (level < 1)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void cds_log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void cds_log_debug(const char *fmt, ...)
{
	va_list ap;

	if (level < 2)
		return;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap);
	va_end(ap);
}
