/*
 * cds_sync.c: `cds sync`: discovery with the local cache, once or, with
 * --watch, every --interval seconds (+-10% jitter, so that many clients do
 * not hit the server in step) until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cds.h"
#include "cli.h"

static const char usage[] =
	"usage: cds --server URL --token TOKEN --cache FILE sync [--region CC]\n"
	"           [--json] [--decoys N] [--max-wait SECONDS]\n"
	"           [--watch [--interval SECONDS]] FILE|-\n"
	"\n"
	"Like discover, with a local cache: OPRF evaluations are spent only on\n"
	"contacts not yet evaluated in the server's current key epoch; everyone\n"
	"else is re-checked by revalidating cached buckets, 256 to a request (a\n"
	"few bytes each when nothing changed).\n"
	"Changes since the last sync (newly registered, gone, identity key\n"
	"changed) are reported on stderr; books of more than 300 handles show\n"
	"progress on a terminal.\n"
	"\n"
	"  --region CC         country for numbers without a country code\n"
	"  --json              print JSON instead of a table\n"
	"  --decoys N          also fetch N random buckets\n"
	"  --max-wait SECONDS  wait out 429/503 Retry-After up to this long in\n"
	"                      all (default 300; 0 = fail at once)\n"
	"  --watch             repeat until interrupted (re-reading FILE)\n"
	"  --interval SECONDS  time between syncs with --watch (default 3600)\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct sync_opts {
	struct cds_run_opts o;
	bool watch;
	long interval;
	bool interval_set;
};

static int parse(struct sync_opts *s, int argc, char **argv)
{
	int i = 1, r;

	while (i < argc) {
		if (!strcmp(argv[i], "--watch")) {
			s->watch = true;
			i++;
			continue;
		}
		if (!strcmp(argv[i], "--interval")) {
			if (i + 1 >= argc)
				return cli_usage("--interval needs a value");
			if (cli_parse_long(&s->interval, argv[i + 1], 1, 86400 * 7,
					   "--interval"))
				return CLI_USAGE;
			s->interval_set = true;
			i += 2;
			continue;
		}
		r = cds_parse_common(&s->o, argc, argv, &i);
		if (r < 0)
			return CLI_USAGE;
		if (r > 0)
			continue;
		if (argv[i][0] == '-' && strcmp(argv[i], "-"))
			return cli_usage("sync: unknown option '%s' (try --help)", argv[i]);
		if (s->o.file)
			return cli_usage("sync: one address book only ('%s' and '%s')",
					 s->o.file, argv[i]);
		s->o.file = argv[i++];
	}
	if (!s->o.file)
		return cli_usage("sync: no address book given (FILE or -)");
	if (s->interval_set && !s->watch)
		return cli_usage("sync: --interval only makes sense with --watch");
	if (s->watch && !strcmp(s->o.file, "-"))
		return cli_usage("sync: --watch re-reads the address book, so it needs a FILE, not -");
	return CLI_OK;
}

/* One sync: (re)load the book, sync, print.  Returns the exit code. */
static int once(struct cds_client *c, const struct sync_opts *s)
{
	struct cds_error err;
	int rc;

	cds_client_contacts_clear(c);
	rc = cds_load_book(c, &s->o);
	if (rc)
		return rc;
	cds_error_clear(&err);
	rc = cds_client_sync(c, &err);
	cds_events_end(&cds_events);
	if (rc)
		return cli_error(&err);
	cds_print_results(c, s->o.json, true);
	cds_print_changes(c);
	cds_print_summary(c, "sync");
	return CLI_OK;
}

/* Sleep about `seconds` (+-10%), returning early on a signal. */
static void nap(long seconds)
{
	double f = 0.9 + 0.2 * (randombytes_uniform(10001) / 10000.0);
	double left = (double)seconds * f;
	struct timespec ts;

	while (!stop && left > 0) {
		double step = left < 0.2 ? left : 0.2;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)(step * 1e9);
		nanosleep(&ts, NULL);
		left -= step;
	}
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* --watch: a failed round (server down, rate limited, a refused proof)
 * is reported and tried again at the next interval, or after the server's
 * Retry-After if that is later; only a usage error stops the loop. */
static int watch(struct cds_client *c, const struct sync_opts *s)
{
	struct cds_client_stats st;
	long wait;
	int rc;

	catch_signals();
	while (!stop) {
		rc = once(c, s);
		fflush(stdout);
		if (rc == CLI_USAGE)
			return rc;
		wait = s->interval;
		if (rc) {
			cds_client_get_stats(c, &st);
			if (st.retry_after_s > wait)
				wait = st.retry_after_s;
			fprintf(stderr, "cds: trying again in about %ld s\n", wait);
		}
		nap(wait);
	}
	return CLI_OK;
}

int cds_cmd_sync(int argc, char **argv)
{
	struct sync_opts s;
	struct cds_client *c = NULL;
	int rc;

	memset(&s, 0, sizeof(s));
	s.interval = 3600;
	s.o.max_wait_s = -1;
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	rc = parse(&s, argc, argv);
	if (!rc)
		rc = cds_open_client(&c, &s.o, true);
	if (!rc)
		rc = s.watch ? watch(c, &s) : once(c, &s);
	cds_client_free(c);
	return rc;
}
