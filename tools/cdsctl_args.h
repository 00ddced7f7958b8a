/*
 * cdsctl_args.h: arguments that mix options with values and positional
 * operands (account add, import), and unsigned numbers.  Header-only
 * (static inline), like progress.h.  cdsctl_opt.h covers commands that take
 * options only.
 */
#ifndef CDS_TOOLS_CDSCTL_ARGS_H
#define CDS_TOOLS_CDSCTL_ARGS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * If argv[*i] is option `name` ("--name VALUE" or "--name=VALUE"), store
 * the value, advance *i past it and return 1.  Return 0 if it is another
 * argument, or -1 after printing a usage error (value missing, or the option
 * given twice).
 */
static inline int args_option(int argc, char **argv, int *i, const char *name,
			      const char **value)
{
	size_t n = strlen(name);
	const char *a = argv[*i], *v;

	if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
		return 0;
	if (*value) {
		cli_usage("%s given more than once", name);
		return -1;
	}
	if (a[n] == '=') {
		v = a + n + 1;
	} else if (*i + 1 < argc) {
		v = argv[++*i];
	} else {
		cli_usage("%s needs a value", name);
		return -1;
	}
	*value = v;
	return 1;
}

/* Parse a decimal in [min, max] for option `opt`; 0, or -1 after a usage
 * error quoting s. */
static inline int args_u64(uint64_t *out, const char *s, uint64_t min,
			   uint64_t max, const char *opt)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] < '0' || s[0] > '9' || v < min ||
	    v > max) {
		cli_usage("%s: '%s' is not a whole number from %llu to %llu", opt,
			  s, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

#endif
