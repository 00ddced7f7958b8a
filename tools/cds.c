/*
 * cds.c: the client program.  Parses the global options (server, token,
 * cache), then runs one subcommand from the table.  Exit 0 on success,
 * 1 on a runtime failure, 2 on a usage error; monitor and audit exit 3
 * when the directory broke its promises (DESIGN.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cds.h"
#include "cli.h"

struct cds_globals cds_opts;

static const struct cli_cmd commands[] = {
	{"discover", cds_cmd_discover, "which contacts are registered (private by default)"},
	{"sync", cds_cmd_sync, "re-check contacts with the local cache; report changes"},
	{"monitor", cds_cmd_monitor, "check that no version bound your handles to another key"},
	{"audit", cds_cmd_audit, "check every version of the directory's transparency log"},
	{NULL, NULL, NULL},
};

static const char usage_head[] =
	"usage: cds --server URL [--relay RELAY_URL]\n"
	"           (--token TOKEN | --token-file FILE) [--cache FILE]\n"
	"           [--cacert FILE] [--insecure-http] COMMAND [ARGS...]\n"
	"\n"
	"The cds client: finds which of your contacts have an account without\n"
	"showing the server who they are.  $CDS_SERVER and $CDS_TOKEN stand in\n"
	"for --server and --token (a token on the command line is visible to\n"
	"other users of this machine; prefer --token-file or $CDS_TOKEN).\n"
	"The token is never sent over plain http:// to a host that is not\n"
	"loopback unless --insecure-http is given.\n"
	"--relay sends every request through an Oblivious HTTP relay (RFC 9458)\n"
	"to the server's gateway: the server never sees this machine's address.\n"
	"--cacert trusts the certificate authorities in FILE (PEM) for https://\n"
	"instead of the system's: for a server with a private or self-signed\n"
	"certificate (then FILE is that certificate).";

static char token_buf[1024];

/* Read the first line of FILE as the token. */
static int read_token_file(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : NULL;
	size_t n;

	if (!f)
		return cli_fail("cannot read token file '%s': %s", path,
				strcmp(path, "-") ? strerror(errno)
						  : "stdin holds the address book");
	if (!fgets(token_buf, sizeof(token_buf), f)) {
		fclose(f);
		return cli_fail("token file '%s' is empty", path);
	}
	fclose(f);
	n = strcspn(token_buf, "\r\n");
	token_buf[n] = '\0';
	cds_opts.token = token_buf;
	return 0;
}

/* One global option at argv[*i]: 1 consumed, 0 not a global option, or
 * minus the exit code after printing an error. */
static int parse_global(int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char **slot;

	if (!strcmp(a, "--insecure-http")) {
		cds_opts.insecure_http = true;
		*i += 1;
		return 1;
	}
	slot = !strcmp(a, "--server") ? &cds_opts.server
	     : !strcmp(a, "--token") ? &cds_opts.token
	     : !strcmp(a, "--cache") ? &cds_opts.cache
	     : !strcmp(a, "--relay") ? &cds_opts.relay
	     : !strcmp(a, "--cacert") ? &cds_opts.cacert : NULL;

	if (!slot && strcmp(a, "--token-file"))
		return 0;
	if (*i + 1 >= argc)
		return -cli_usage("%s needs a value", a);
	*i += 2;
	if (!slot)
		return read_token_file(argv[*i - 1]) ? -CLI_FAIL : 1;
	*slot = argv[*i - 1];
	return 1;
}

int main(int argc, char **argv)
{
	int i = 1, r;

	cli_prog = "cds";
	cds_opts.server = getenv("CDS_SERVER");
	cds_opts.token = getenv("CDS_TOKEN");
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return cli_dispatch(commands, 1, &argv[i], usage_head);
		r = parse_global(argc, argv, &i);
		if (r < 0)
			return -r;
		if (r == 0)
			return cli_usage("unknown option '%s' (try --help)", argv[i]);
	}
	if (i >= argc)
		return cli_dispatch(commands, 0, NULL, usage_head);
	return cli_dispatch(commands, argc - i, argv + i, usage_head);
}
