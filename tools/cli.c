/*
 * cli.c: shared command-line plumbing.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_prog = "cds";

static void vprint(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", cli_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	return CLI_USAGE;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	return CLI_FAIL;
}

int cli_error(const struct cds_error *err)
{
	fprintf(stderr, "%s: %s\n", cli_prog,
		err->msg[0] ? err->msg : cds_strerror(err->code));
	return err->code == CDS_ERR_USAGE ? CLI_USAGE : CLI_FAIL;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

static void list(const struct cli_cmd *cmds, const char *usage_head, FILE *f)
{
	fprintf(f, "%s\n\nCommands:\n", usage_head);
	for (const struct cli_cmd *c = cmds; c->name; c++)
		fprintf(f, "  %-14s %s\n", c->name, c->help);
	/* "usage: cdsctl --data DIR key COMMAND" -> "cdsctl --data DIR key " */
	const char *u = strncmp(usage_head, "usage: ", 7) ? NULL : usage_head + 7;
	const char *cmd = u ? strstr(u, "COMMAND") : NULL;

	if (cmd && !memchr(u, '\n', (size_t)(cmd - u)))
		fprintf(f, "\nRun '%.*sCOMMAND --help' for a command's options.\n",
			(int)(cmd - u), u);
	else
		fprintf(f, "\nRun '%s COMMAND --help' for a command's options.\n",
			cli_prog);
}

int cli_dispatch(const struct cli_cmd *cmds, int argc, char **argv,
		 const char *usage_head)
{
	if (argc < 1) {
		list(cmds, usage_head, stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "help")) {
		list(cmds, usage_head, stdout);
		return CLI_OK;
	}
	for (const struct cli_cmd *c = cmds; c->name; c++)
		if (!strcmp(c->name, argv[0]))
			return c->fn(argc, argv);
	return cli_usage("unknown command '%s' (try --help)", argv[0]);
}

int cli_parse_long(long *out, const char *s, long min, long max,
		   const char *opt)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		cli_usage("%s: '%s' is not a whole number from %ld to %ld", opt,
			  s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}
