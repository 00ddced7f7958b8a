/*
 * cdsctl_synth.c: `cdsctl synth`: a synthetic directory for tests, demos
 * and benchmarks.
 *
 *   cdsctl --data DIR synth --count N [--seed S] [--out FILE]
 *
 * Registers N accounts, each with one phone handle and an identity key that
 * are functions of (S, account number) (lib/store/synth.h), so the same
 * seed gives the same handles on every machine.  FILE gets the registered
 * handles, one a line, in registration (ascending) order: a ready-made list
 * of numbers that are in the directory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cdsctl.h"
#include "cdsctl_args.h"
#include "cdsctl_opt.h"
#include "cli.h"
#include "progress.h"
#include "store/synth.h"

#define DEFAULT_SEED 1

static const char usage[] =
	"usage: cdsctl --data DIR synth --count N [--seed S] [--out FILE]\n"
	"\n"
	"Register N synthetic accounts, each with one US phone handle and an\n"
	"identity key derived from the seed S (default 1): the same S gives the\n"
	"same handles.  FILE (if given) gets the registered handles, one a line.\n"
	"If a handle of this seed is already registered, nothing is written.\n";

struct ctx {
	FILE *out;
	struct progress bar;
};

static void on_progress(void *vctx, uint64_t done, uint64_t total)
{
	struct ctx *c = vctx;

	progress_update(&c->bar, done, total);
}

static int on_created(void *vctx, const char *handle,
		      const struct cds_new_account *a)
{
	struct ctx *c = vctx;

	(void)a;
	return c->out && (fputs(handle, c->out) < 0 || putc('\n', c->out) < 0);
}

static int parse(int argc, char **argv, struct cds_synth_opts *o,
		 const char **out)
{
	struct cdsctl_opt opts[] = {{"--count", NULL}, {"--seed", NULL},
				    {"--out", NULL}, {NULL, NULL}};
	const char *count, *seed;

	if (cdsctl_opt_parse(opts, argc, argv, 1))
		return -1;
	count = cdsctl_opt_get(opts, "--count");
	seed = cdsctl_opt_get(opts, "--seed");
	*out = cdsctl_opt_get(opts, "--out");
	if (!count) {
		cli_usage("--count N is required");
		return -1;
	}
	if (args_u64(&o->count, count, 1, CDS_SYNTH_MAX, "--count"))
		return -1;
	o->seed = DEFAULT_SEED;
	if (seed && args_u64(&o->seed, seed, 0, UINT64_MAX, "--seed"))
		return -1;
	return 0;
}

static int run(struct ctx *c, struct cds_synth_opts *o, uint64_t *done)
{
	struct cds_store *s = NULL;
	struct cds_error err;
	enum cds_err rc;

	cds_error_clear(&err);
	rc = cds_store_open(&s, cdsctl_datadir, &err);
	if (!rc) {
		progress_start(&c->bar, "registering", "accounts");
		rc = cds_synth_run(s, o, done, &err);
		progress_end(&c->bar, *done, o->count);
	}
	cds_store_close(s);
	if (rc && *done)
		fprintf(stderr, "%s: %llu accounts were registered before the error\n",
			cli_prog, (unsigned long long)*done);
	return rc ? cli_error(&err) : CLI_OK;
}

/*
 * FILE is written under a temporary name and renamed when done, so that a
 * failed run leaves any earlier FILE as it was.
 */
int cdsctl_synth(int argc, char **argv)
{
	struct cds_synth_opts o = {0};
	struct ctx c = {0};
	const char *out = NULL;
	char tmp[4096];
	uint64_t done = 0;
	int rc;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (parse(argc, argv, &o, &out))
		return CLI_USAGE;
	if (out && snprintf(tmp, sizeof(tmp), "%s.tmp", out) >= (int)sizeof(tmp))
		return cli_usage("--out: path too long");
	if (out && !(c.out = fopen(tmp, "w")))
		return cli_fail("cannot create '%s': %s", tmp, strerror(errno));
	o.progress = on_progress;
	o.created = on_created;
	o.ctx = &c;
	rc = run(&c, &o, &done);
	if (c.out && fclose(c.out) != 0 && !rc)
		rc = cli_fail("cannot write '%s': %s", tmp, strerror(errno));
	if (c.out && done == 0)
		remove(tmp);
	else if (c.out && rename(tmp, out) != 0 && !rc)
		rc = cli_fail("cannot rename '%s' to '%s': %s", tmp, out,
			      strerror(errno));
	if (!rc)
		printf("registered %llu synthetic accounts (seed %llu)%s%s\n",
		       (unsigned long long)done, (unsigned long long)o.seed,
		       out ? "; handles in " : "", out ? out : "");
	return rc;
}
