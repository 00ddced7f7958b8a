/*
 * cds_events.c: what `cds` shows while an operation runs: a line on stderr
 * for every wait on a refusing server (always: the user should know why
 * nothing happens), and, on a terminal, one progress line redrawn in place
 * (handles blinded, evaluated, buckets fetched) for operations of more than
 * CDS_PROGRESS_MIN handles, as the operator's tools do (progress.h).
 *
 * The library serialises the callback, so this state needs no lock.
 */
#include <stdio.h>
#include <unistd.h>

#include "cds.h"
#include "cli.h"
#include "progress.h"

struct cds_events cds_events;

void cds_events_init(struct cds_events *e)
{
	e->tty = isatty(STDERR_FILENO);
	e->drawn = 0;
	e->pending = 0;
	e->last_us = 0;
}

/* End a progress line before anything else is printed. */
static void end_line(struct cds_events *e)
{
	if (e->drawn)
		fputc('\n', stderr);
	e->drawn = 0;
}

static void on_wait(struct cds_events *e, const struct cds_client_event *ev)
{
	end_line(e);
	fprintf(stderr,
		"cds: the server refused %s for now (HTTP %ld); waiting %.1f s and trying again (%.1f s of at most %.0f s waited)\n",
		ev->request, ev->status, (double)ev->wait_ms / 1e3,
		(double)ev->waited_ms / 1e3, (double)ev->max_wait_ms / 1e3);
	fflush(stderr);
}

static bool large(const struct cds_client_event *ev)
{
	for (int i = 0; i < CDS_PHASE__COUNT; i++)
		if (ev->total[i] > CDS_PROGRESS_MIN)
			return true;
	return false;
}

static void draw(struct cds_events *e, const struct cds_client_event *ev)
{
	fprintf(stderr,
		"\rcds: blinded %llu/%llu, evaluated %llu/%llu, buckets %llu/%llu ",
		(unsigned long long)ev->done[CDS_PHASE_BLINDED],
		(unsigned long long)ev->total[CDS_PHASE_BLINDED],
		(unsigned long long)ev->done[CDS_PHASE_EVALUATED],
		(unsigned long long)ev->total[CDS_PHASE_EVALUATED],
		(unsigned long long)ev->done[CDS_PHASE_BUCKETS],
		(unsigned long long)ev->total[CDS_PHASE_BUCKETS]);
	fflush(stderr);
	e->drawn = 1;
}

static void on_progress(struct cds_events *e,
			const struct cds_client_event *ev)
{
	int64_t now = progress_now_us();

	if (!e->tty || !large(ev))
		return;
	e->last = *ev;
	e->pending = 1;
	if (now - e->last_us < PROGRESS_TTY_US)
		return;
	e->last_us = now;
	e->pending = 0;
	draw(e, ev);
}

void cds_events_cb(void *ctx, const struct cds_client_event *ev)
{
	struct cds_events *e = ctx;

	if (ev->kind == CDS_EVENT_WAIT)
		on_wait(e, ev);
	else if (ev->kind == CDS_EVENT_PROGRESS)
		on_progress(e, ev);
}

void cds_events_end(struct cds_events *e)
{
	if (e->pending)
		draw(e, &e->last);
	e->pending = 0;
	end_line(e);
}
