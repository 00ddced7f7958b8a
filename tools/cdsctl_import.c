/*
 * cdsctl_import.c: `cdsctl import`: bulk accounts from CSV.
 *
 *   cdsctl --data DIR import FILE.csv [--tokens OUT]
 *
 * One account per line, "handle,identity_key_b64" (lib/store/import.h has
 * the exact format).  The whole file is checked first; if any line is bad,
 * up to 20 are reported with their numbers and nothing is written.  Then
 * accounts go in by transactions of 10,000, with progress on stderr.
 * --tokens writes "account,token" lines to a new file (0600): without it the
 * tokens are discarded, as the store keeps only their hashes.  OUT must not
 * exist, so that a second import never overwrites the first one's tokens.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cdsctl.h"
#include "cdsctl_args.h"
#include "cli.h"
#include "core/codec.h"
#include "progress.h"
#include "store/import.h"

static const char usage[] =
	"usage: cdsctl --data DIR import FILE.csv [--tokens OUT]\n"
	"\n"
	"Register one account per line of FILE.csv: 'handle,identity_key_b64'\n"
	"(canonical handle, 32-byte key in padded base64; blank lines and a\n"
	"'handle,identity_key' header are skipped).  The whole file is checked\n"
	"first: if a line is bad, or a handle repeats or is already registered,\n"
	"the first 20 such lines are reported and nothing is imported.\n"
	"\n"
	"  --tokens OUT   write 'account,token' per account to OUT (a new file,\n"
	"                 mode 0600); otherwise the tokens are not kept\n";

struct ctx {
	FILE *tokens;
	char tokens_buf[BUFSIZ]; /* stdio buffer: holds tokens, wiped at the end */
	struct progress bar;
	enum cds_import_phase phase;
};

static void on_progress(void *vctx, enum cds_import_phase ph, uint64_t done,
			uint64_t total)
{
	struct ctx *c = vctx;

	if (ph != c->phase) {
		if (c->phase)
			progress_end(&c->bar, total, total);
		progress_start(&c->bar,
			       ph == CDS_IMPORT_CHECKING ? "checking" : "importing",
			       ph == CDS_IMPORT_CHECKING ? "bytes" : "accounts");
		c->phase = ph;
	}
	progress_update(&c->bar, done, total);
}

static int on_created(void *vctx, uint64_t line, const struct cds_new_account *a)
{
	struct ctx *c = vctx;
	char hex[2 * CDS_ACCOUNT_ID_BYTES + 1];

	(void)line;
	if (!c->tokens)
		return 0;
	cds_hex_encode(hex, a->id, sizeof(a->id));
	return fprintf(c->tokens, "%s,%s\n", hex, a->token) < 0;
}

static int open_tokens(struct ctx *c, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST)
		return cli_fail("'%s' already exists; --tokens writes a new file "
				"(so no earlier tokens are overwritten)", path);
	if (fd < 0 || !(c->tokens = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return cli_fail("cannot create '%s': %s", path, strerror(errno));
	}
	setvbuf(c->tokens, c->tokens_buf, _IOFBF, sizeof(c->tokens_buf));
	return CLI_OK;
}

/*
 * Flush the tokens to disk.  A failed import that created no account
 * leaves no file behind.
 */
static int close_tokens(struct ctx *c, const char *path, int keep,
			uint64_t imported)
{
	int bad = 0;

	if (!c->tokens)
		return CLI_OK;
	bad = fflush(c->tokens) != 0 || fsync(fileno(c->tokens)) != 0;
	bad |= fclose(c->tokens) != 0;
	c->tokens = NULL;
	sodium_memzero(c->tokens_buf, sizeof(c->tokens_buf));
	if (!keep)
		unlink(path);
	if (bad && imported)
		return cli_fail("could not write all tokens to '%s': %s", path,
				strerror(errno));
	return CLI_OK;
}

static void print_bad_lines(const char *file, const struct cds_import_report *r)
{
	for (size_t i = 0; i < r->n_messages; i++)
		fprintf(stderr, "%s: %s: %s\n", cli_prog, file, r->messages[i]);
	if (r->bad > r->n_messages)
		fprintf(stderr, "%s: %s: ... and %llu more bad lines\n", cli_prog,
			file, (unsigned long long)(r->bad - r->n_messages));
}

static int parse(int argc, char **argv, const char **file, const char **out)
{
	int r;

	for (int i = 1; i < argc; i++) {
		r = args_option(argc, argv, &i, "--tokens", out);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			cli_usage("unknown option '%s' (try --help)", argv[i]);
			return -1;
		}
		if (*file) {
			cli_usage("unexpected argument '%s': import takes one FILE",
				  argv[i]);
			return -1;
		}
		*file = argv[i];
	}
	if (!*file) {
		cli_usage("give the FILE.csv to import (try --help)");
		return -1;
	}
	return 0;
}

static int run(struct ctx *c, FILE *f, const char *file,
	       struct cds_import_report *rep)
{
	struct cds_import_opts opts = {.progress = on_progress,
				       .created = on_created, .ctx = c};
	struct cds_store *s = NULL;
	struct cds_error err;
	enum cds_err rc;

	cds_error_clear(&err);
	rc = cds_store_open(&s, cdsctl_datadir, &err);
	/* A second connection for the check's lookups, so that the writes
	 * need not wait for them (import.h). */
	if (!rc)
		rc = cds_store_open(&opts.lookup, cdsctl_datadir, &err);
	if (!rc)
		rc = cds_import_file(s, f, file, &opts, rep, &err);
	if (c->phase)
		progress_end(&c->bar, rep->imported, rep->lines);
	cds_store_close(opts.lookup);
	cds_store_close(s);
	if (rc == CDS_ERR_INVALID || rc == CDS_ERR_EXISTS)
		print_bad_lines(file, rep);
	return rc ? cli_error(&err) : CLI_OK;
}

int cdsctl_import(int argc, char **argv)
{
	const char *file = NULL, *out = NULL;
	struct cds_import_report *rep;
	struct ctx c = {0};
	FILE *f;
	int rc, rc2;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (parse(argc, argv, &file, &out))
		return CLI_USAGE;
	f = fopen(file, "r");
	if (!f)
		return cli_fail("cannot open '%s': %s", file, strerror(errno));
	rep = calloc(1, sizeof(*rep));
	rc = rep ? CLI_OK : cli_fail("out of memory");
	if (!rc && out)
		rc = open_tokens(&c, out);
	if (!rc)
		rc = run(&c, f, file, rep);
	rc2 = close_tokens(&c, out, rc == CLI_OK || (rep && rep->imported),
			   rep ? rep->imported : 0);
	if (!rc)
		rc = rc2;
	if (!rc)
		printf("imported %llu accounts from %s%s%s\n",
		       (unsigned long long)rep->imported, file,
		       out ? "; tokens in " : "", out ? out : "");
	fclose(f);
	free(rep);
	return rc;
}
