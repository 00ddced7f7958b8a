/*
 * progress.h: progress of long cdsctl jobs (import, synth) on stderr.
 *
 * On a terminal: one bar redrawn in place at most ten times a second.
 * Otherwise (a log file, a pipe): a plain line every few seconds, so that
 * logs stay readable.  Header-only (static inline) so that each command
 * file that reports progress can include it without a build change.
 */
#ifndef CDS_TOOLS_PROGRESS_H
#define CDS_TOOLS_PROGRESS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define PROGRESS_TTY_US (100 * 1000)
#define PROGRESS_LOG_US (5 * 1000 * 1000)

/* Microseconds on the monotonic clock.  The clock straight from libc: the
 * `cds` tool sees only the public headers (include/cds/), not lib/core. */
static inline int64_t progress_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct progress {
	const char *what;  /* "importing", "checking"... */
	const char *unit;  /* "accounts", "bytes" */
	int tty;
	int drawn;         /* a bar is on the terminal's current line */
	int64_t start_us;
	int64_t last_us;
};

static inline void progress_start(struct progress *p, const char *what,
				  const char *unit)
{
	p->what = what;
	p->unit = unit;
	p->tty = isatty(STDERR_FILENO);
	p->drawn = 0;
	p->start_us = p->last_us = progress_now_us();
}

static inline void progress_print(struct progress *p, uint64_t done,
				  uint64_t total, int64_t now)
{
	double secs = (double)(now - p->start_us) / 1e6;
	double rate = secs > 0 ? (double)done / secs : 0;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
	char bar[31];

	if (p->tty) {
		for (unsigned i = 0; i < 30; i++)
			bar[i] = i < pct * 30 / 100 ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r%s [%s] %3u%% %llu/%llu %s, %.0f/s ", p->what,
			bar, pct, (unsigned long long)done,
			(unsigned long long)total, p->unit, rate);
		p->drawn = 1;
	} else {
		fprintf(stderr, "%s: %s: %llu of %llu %s (%u%%), %.0f/s\n", cli_prog,
			p->what, (unsigned long long)done, (unsigned long long)total,
			p->unit, pct, rate);
	}
	fflush(stderr);
}

static inline void progress_update(struct progress *p, uint64_t done,
				   uint64_t total)
{
	int64_t now = progress_now_us();

	if (now - p->last_us < (p->tty ? PROGRESS_TTY_US : PROGRESS_LOG_US))
		return;
	p->last_us = now;
	progress_print(p, done, total, now);
}

/* Final state; ends the bar's line. */
static inline void progress_end(struct progress *p, uint64_t done,
				uint64_t total)
{
	int64_t now = progress_now_us();

	if (p->tty || now - p->start_us >= PROGRESS_LOG_US)
		progress_print(p, done, total, now);
	if (p->drawn)
		fputc('\n', stderr);
	p->drawn = 0;
}

#endif
