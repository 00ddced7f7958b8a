/*
 * cds_discover.c: `cds discover`: one private (or, when asked, plain)
 * discovery of an address book, printed as a table or JSON.
 */
#include <stdio.h>
#include <string.h>

#include "cds.h"
#include "cli.h"

static const char usage[] =
	"usage: cds --server URL --token TOKEN discover [--plain] [--region CC]\n"
	"           [--json] [--decoys N] [--max-wait SECONDS] FILE|-\n"
	"\n"
	"Read a vCard (.vcf) or CSV address book (- = stdin) and find which of its\n"
	"phone numbers and e-mail addresses have an account, privately: the\n"
	"server evaluates blinded values and never sees a handle.  Books of more\n"
	"than 300 handles show progress on a terminal.\n"
	"\n"
	"  --plain       plain lookup instead (only if the server offers it): the\n"
	"                server sees, and may log, every handle\n"
	"  --region CC   country for numbers without a country code (default\n"
	"                from the locale, else US)\n"
	"  --json        print [{\"name\",\"handle\",\"registered\",\"account\"?,\n"
	"                \"identity_key\"?}] instead of a table\n"
	"  --decoys N    also fetch N random buckets to hide which are yours\n"
	"  --max-wait SECONDS\n"
	"                when the server says 429 or 503 with Retry-After, wait\n"
	"                and try again, up to this long in all (default 300;\n"
	"                0 = fail at once).  A spent account allowance is not\n"
	"                waited for: cds says when it refills and stops\n";

static int parse(struct cds_run_opts *o, bool *plain, int argc, char **argv)
{
	int i = 1, r;

	while (i < argc) {
		if (!strcmp(argv[i], "--plain")) {
			*plain = true;
			i++;
			continue;
		}
		r = cds_parse_common(o, argc, argv, &i);
		if (r < 0)
			return CLI_USAGE;
		if (r > 0)
			continue;
		if (argv[i][0] == '-' && strcmp(argv[i], "-"))
			return cli_usage("discover: unknown option '%s' (try --help)",
					 argv[i]);
		if (o->file)
			return cli_usage("discover: one address book only ('%s' and '%s')",
					 o->file, argv[i]);
		o->file = argv[i++];
	}
	if (!o->file)
		return cli_usage("discover: no address book given (FILE or -)");
	return CLI_OK;
}

int cds_cmd_discover(int argc, char **argv)
{
	struct cds_run_opts o = {NULL, NULL, false, 0, -1};
	struct cds_client *c = NULL;
	struct cds_error err;
	bool plain = false;
	int rc;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	rc = parse(&o, &plain, argc, argv);
	if (!rc)
		rc = cds_open_client(&c, &o, false);
	if (!rc)
		rc = cds_load_book(c, &o);
	if (rc)
		goto out;
	if (plain)
		fprintf(stderr, "cds: warning: plain lookup: the server sees, and may "
			"log, every handle in this address book\n");
	cds_error_clear(&err);
	rc = cds_client_discover(c, plain ? CDS_DISCOVER_PLAIN : 0, &err);
	cds_events_end(&cds_events);
	if (rc) {
		rc = cli_error(&err);
		goto out;
	}
	cds_print_results(c, o.json, false);
	cds_print_summary(c, plain ? "plain lookup" : "private discovery");
out:
	cds_client_free(c);
	return rc;
}
