/*
 * cdsctl_opt.h: long options with values for cdsctl subcommands
 * ("--name VALUE" or "--name=VALUE").  Every option takes a value; each
 * may be given once.  Anything else is a usage error that quotes the bad
 * argument.
 */
#ifndef CDS_TOOLS_CDSCTL_OPT_H
#define CDS_TOOLS_CDSCTL_OPT_H

struct cdsctl_opt {
	const char *name;   /* "--order" */
	const char *value;  /* out: NULL if not given */
};

/*
 * Parse argv[first..argc) into opts (terminated by a NULL name).  Returns
 * 0, or CLI_USAGE after printing one line naming the problem.
 */
int cdsctl_opt_parse(struct cdsctl_opt *opts, int argc, char **argv,
		     int first);

/* The value of option `name`, or NULL. */
const char *cdsctl_opt_get(const struct cdsctl_opt *opts, const char *name);

#endif
