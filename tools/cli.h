/*
 * cli.h: what the three programs share: exit codes, error printing and a
 * subcommand table (wireguard-tools style).
 *
 * Exit codes (DESIGN.md): 0 success, 1 runtime failure, 2 usage error.  Every
 * failure prints one line on stderr: "<prog>: <what was wrong>".
 */
#ifndef CDS_TOOLS_CLI_H
#define CDS_TOOLS_CLI_H

#include "cds/err.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv); /* argv[0] is the command name */
	const char *help;                 /* one line for the command list */
};

extern const char *cli_prog; /* "cdsctl", "cdsd", "cds" */

/* Print "<prog>: message" and return CLI_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "<prog>: message" from err and return CLI_USAGE for CDS_ERR_USAGE,
 * CLI_FAIL otherwise. */
int cli_error(const struct cds_error *err);

/* Print "<prog>: message" and return CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True if argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);

/*
 * Find argv[0] in the table and run it; prints the list on --help or an
 * unknown command (exit 2).
 */
int cli_dispatch(const struct cli_cmd *cmds, int argc, char **argv,
		 const char *usage_head);

/* Parse a decimal in [min, max] for option `opt`; 0 on success. */
int cli_parse_long(long *out, const char *s, long min, long max,
		   const char *opt);

#endif
