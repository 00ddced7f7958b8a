/*
 * cdsctl.c: the operator's tool.  Parses the global options, then hands the
 * rest of argv to one subcommand from the table.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cdsctl.h"
#include "cli.h"
#include "core/log.h"

const char *cdsctl_datadir;

static const struct cli_cmd commands[] = {
	{"init", cdsctl_init, "create the store and OPRF key epoch 1"},
	{"join", cdsctl_join, "a replica's data directory for an existing store"},
	{"account", cdsctl_account, "add or remove an account"},
	{"import", cdsctl_import, "bulk-import accounts from CSV"},
	{"synth", cdsctl_synth, "register synthetic accounts"},
	{"key", cdsctl_key, "rotate the OPRF key (new epoch)"},
	{"log", cdsctl_log, "query log maintenance (sweep)"},
	{"legal", cdsctl_legal, "legal export, ledger verify, transparency"},
	{NULL, NULL, NULL},
};

static const char usage_head[] =
	"usage: cdsctl --data DIR COMMAND [ARGS...]\n"
	"\n"
	"The operator's tool for a cds directory server.";

int main(int argc, char **argv)
{
	int i = 1;

	cli_prog = "cdsctl";
	cds_log_set_program("cdsctl");
	if (sodium_init() < 0)
		return cli_fail("libsodium failed to initialise");
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--data") && i + 1 < argc) {
			cdsctl_datadir = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--data=", 7)) {
			cdsctl_datadir = argv[i] + 7;
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			return cli_dispatch(commands, 1, &argv[i], usage_head);
		} else {
			return cli_usage("unknown option '%s' (try --help)", argv[i]);
		}
	}
	if (i >= argc)
		return cli_dispatch(commands, 0, NULL, usage_head);
	if (!cdsctl_datadir && !cli_wants_help(argc - i, argv + i))
		return cli_usage("--data DIR is required");
	return cli_dispatch(commands, argc - i, argv + i, usage_head);
}
