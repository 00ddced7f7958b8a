/*
 * cdsctl_opt.c: option parsing shared by the log and legal subcommands.
 */
#include "cdsctl_opt.h"

#include <string.h>

#include "cli.h"

/* The option of opts that arg names (with "=value" or not), or NULL. */
static struct cdsctl_opt *find(struct cdsctl_opt *opts, const char *arg,
			       const char **inline_value)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	for (struct cdsctl_opt *o = opts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, arg, len)) {
			*inline_value = eq ? eq + 1 : NULL;
			return o;
		}
	return NULL;
}

int cdsctl_opt_parse(struct cdsctl_opt *opts, int argc, char **argv,
		     int first)
{
	for (struct cdsctl_opt *o = opts; o->name; o++)
		o->value = NULL;
	for (int i = first; i < argc; i++) {
		const char *v = NULL;
		struct cdsctl_opt *o;

		if (strncmp(argv[i], "--", 2) != 0)
			return cli_usage("unexpected argument '%s'", argv[i]);
		o = find(opts, argv[i], &v);
		if (!o)
			return cli_usage("unknown option '%s' (try --help)", argv[i]);
		if (!v) {
			/* "--order --ip X" forgot the order, not ordered "--ip". */
			if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
				return cli_usage("%s needs a value", o->name);
			v = argv[++i];
		}
		if (o->value)
			return cli_usage("%s given more than once", o->name);
		o->value = v;
	}
	return 0;
}

const char *cdsctl_opt_get(const struct cdsctl_opt *opts, const char *name)
{
	for (const struct cdsctl_opt *o = opts; o->name; o++)
		if (!strcmp(o->name, name))
			return o->value;
	return NULL;
}
