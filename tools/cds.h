/*
 * cds.h: what the files of the `cds` client program share.  The program is
 * a thin shell over the public client library (include/cds/client.h):
 * cds.c parses the global options and dispatches, cds_discover.c and
 * cds_sync.c run one subcommand each, cds_print.c prints results.
 *
 * Invariant: these files include only include/cds/, this directory's
 * headers (cli.h, progress.h), libc, libsodium and jansson; the build gives
 * the program no other include path (meson.build), as curl's tool sees
 * only libcurl's public headers.
 */
#ifndef CDS_TOOLS_CDS_H
#define CDS_TOOLS_CDS_H

#include <stdbool.h>
#include <stdint.h>

#include "cds/client.h"

/* Global options (before the command). */
struct cds_globals {
	const char *server; /* --server, else $CDS_SERVER */
	const char *token;  /* --token, --token-file, else $CDS_TOKEN */
	const char *cache;  /* --cache */
	bool insecure_http; /* --insecure-http */
	const char *relay;  /* --relay: Oblivious HTTP relay URL, or NULL */
	const char *cacert; /* --cacert: PEM file of CAs to trust, or NULL */
};

extern struct cds_globals cds_opts;

/* Options both subcommands share. */
struct cds_run_opts {
	const char *file;   /* address book, "-" = stdin */
	const char *region; /* --region, NULL = locale */
	bool json;
	unsigned decoys;
	long max_wait_s;    /* --max-wait; -1 = the library's default */
};

/* Operations of more handles than this show progress on a terminal. */
#define CDS_PROGRESS_MIN 300

/* cds_events.c: waits and progress on stderr (the client's callback). */
struct cds_events {
	int tty;
	int drawn;                    /* a progress line is open */
	int pending;                  /* `last` not drawn yet */
	int64_t last_us;
	struct cds_client_event last;
};

extern struct cds_events cds_events;

void cds_events_init(struct cds_events *e);
void cds_events_cb(void *ctx, const struct cds_client_event *ev);
/* Draw the final progress and end its line (before printing results). */
void cds_events_end(struct cds_events *e);

int cds_cmd_discover(int argc, char **argv);
int cds_cmd_sync(int argc, char **argv);
int cds_cmd_audit(int argc, char **argv);
int cds_cmd_monitor(int argc, char **argv);

/*
 * Parse one shared option at argv[*i] (--region, --json, --decoys,
 * --max-wait).
 * Returns 1 if consumed (advancing *i past its value), 0 if not one of
 * them, -1 after printing a usage error.
 */
int cds_parse_common(struct cds_run_opts *o, int argc, char **argv, int *i);

/* Create a client from the globals and o; prints the error on failure and
 * returns the exit code, or 0 with *out set. */
int cds_open_client(struct cds_client **out, const struct cds_run_opts *o,
		    bool with_cache);

/* Load the address book o->file into c; prints problems; exit code. */
int cds_load_book(struct cds_client *c, const struct cds_run_opts *o);

/* cds_print.c */
void cds_print_results(const struct cds_client *c, bool json, bool changes);
void cds_print_problems(const struct cds_client *c);
void cds_print_summary(const struct cds_client *c, const char *what);
void cds_print_changes(const struct cds_client *c);

#endif
