/*
 * cds_common.c: what the discover and sync subcommands share: their common
 * options, creating the client from the global options, loading the
 * address book.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cds.h"
#include "cli.h"

static int check_region(const char *r)
{
	if (strlen(r) != 2 || !isalpha((unsigned char)r[0]) ||
	    !isalpha((unsigned char)r[1])) {
		cli_usage("--region: '%s' is not a two-letter country code (e.g. US)",
			  r);
		return -1;
	}
	return 0;
}

int cds_parse_common(struct cds_run_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	long v;

	if (!strcmp(a, "--json")) {
		o->json = true;
		(*i)++;
		return 1;
	}
	if (strcmp(a, "--region") && strcmp(a, "--decoys") &&
	    strcmp(a, "--max-wait"))
		return 0;
	if (*i + 1 >= argc) {
		cli_usage("%s needs a value", a);
		return -1;
	}
	*i += 2;
	if (!strcmp(a, "--region")) {
		o->region = argv[*i - 1];
		return check_region(o->region) ? -1 : 1;
	}
	if (!strcmp(a, "--max-wait"))
		return cli_parse_long(&o->max_wait_s, argv[*i - 1], 0, 86400,
				      "--max-wait") ? -1 : 1;
	if (cli_parse_long(&v, argv[*i - 1], 0, 1L << 24, "--decoys"))
		return -1;
	o->decoys = (unsigned)v;
	return 1;
}

int cds_open_client(struct cds_client **out, const struct cds_run_opts *o,
		    bool with_cache)
{
	struct cds_client_options opt;
	struct cds_error err;

	if (!cds_opts.server)
		return cli_usage("--server URL is required (or set $CDS_SERVER)");
	if (with_cache && !cds_opts.cache)
		return cli_usage("sync needs --cache FILE (given before the command)");
	cds_client_options_init(&opt);
	opt.server_url = cds_opts.server;
	opt.token = cds_opts.token;
	opt.relay_url = cds_opts.relay;
	opt.ca_file = cds_opts.cacert;
	opt.cache_path = with_cache ? cds_opts.cache : NULL;
	opt.region = o->region;
	opt.decoys = o->decoys;
	opt.insecure_http = cds_opts.insecure_http;
	if (o->max_wait_s >= 0)
		opt.max_wait_ms = o->max_wait_s * 1000;
	cds_events_init(&cds_events);
	opt.on_event = cds_events_cb;
	opt.event_ctx = &cds_events;
	cds_error_clear(&err);
	if (cds_client_new(out, &opt, &err)) {
		/* Bad options given on the command line are usage errors. */
		if (err.code == CDS_ERR_INVALID)
			err.code = CDS_ERR_USAGE;
		return cli_error(&err);
	}
	return CLI_OK;
}

int cds_load_book(struct cds_client *c, const struct cds_run_opts *o)
{
	struct cds_error err;

	cds_error_clear(&err);
	if (cds_client_load_addressbook(c, o->file, o->region, NULL, &err))
		return cli_error(&err);
	cds_print_problems(c);
	return CLI_OK;
}
