/*
 * cdsctl_legal.c: legal process (DESIGN.md "Legal process").
 *
 *   cdsctl --data DIR legal export --order ID (--requester ACCOUNT |
 *          --target HANDLE | --ip IP) [--since T] [--until T]
 *          [--format json|csv] [--out FILE]
 *   cdsctl --data DIR legal verify [--head HEX]
 *   cdsctl --data DIR legal transparency [--since T] [--until T]
 *          [--format json|md]
 *
 * Arguments are parsed and checked here; the work is in lib/legal
 * (legal.h, ledger.h).  Any bad option exits 2 before anything is written.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cdsctl.h"
#include "cdsctl_opt.h"
#include "cli.h"
#include "core/codec.h"
#include "core/timeutil.h"
#include "legal/legal.h"
#include "legal/ledger.h"

static const char export_usage[] =
	"usage: cdsctl --data DIR legal export --order ID\n"
	"         (--requester ACCOUNT | --target HANDLE | --ip IP)\n"
	"         [--since RFC3339] [--until RFC3339] [--format json|csv]\n"
	"         [--out FILE]\n"
	"\n"
	"Write the query-log records matching exactly one scope within the\n"
	"window (default: all retained records) to FILE (mode 0600, must not\n"
	"exist or be empty) or stdout, and append an entry to the disclosure\n"
	"ledger (DIR/legal/ledger.sqlite3, or in the PostgreSQL database of\n"
	"DIR/store.conf).  ACCOUNT is 32 hex digits, HANDLE a\n"
	"canonical handle (tel:+15551234567, mailto:a@example.org), IP an IPv4\n"
	"or IPv6 address.  A target search finds only plain lookups: private\n"
	"discoveries record no targets.\n";

static const char verify_usage[] =
	"usage: cdsctl --data DIR legal verify [--head HEX]\n"
	"\n"
	"Recompute the ledger's hash chain and check that the ledger extends\n"
	"the head the store recorded after the last export.  Exit 0 and print\n"
	"\"ledger ok: N entries\" and the current head if all holds; exit 1\n"
	"naming the first broken entry if an entry was altered, removed or\n"
	"reordered, or if the ledger is missing or emptied although exports\n"
	"were made.\n"
	"\n"
	"  --head HEX   a head published in an earlier transparency report:\n"
	"               the ledger must extend it.  HEX is \"head\" (80 hex\n"
	"               digits: entry count, u64 big-endian, then the last\n"
	"               entry hash) or \"signed_head\" (208: the head, then\n"
	"               its Ed25519 signature, checked with the ledger key)\n";

static const char transparency_usage[] =
	"usage: cdsctl --data DIR legal transparency [--since RFC3339]\n"
	"         [--until RFC3339] [--format json|md]\n"
	"\n"
	"Count orders, exports and records disclosed, by scope type, per\n"
	"calendar month (or for the window, if --since or --until is given),\n"
	"from a ledger that verifies.  The report ends with the ledger head,\n"
	"signed with the ledger key (DIR/keys/ledger.key, or sealed in the\n"
	"database on PostgreSQL with sealed keys; made on first use): publish\n"
	"it, and 'legal verify --head' shows later that no entry was removed\n"
	"or rewritten since.\n";

static int datadir_ok(void)
{
	struct stat sb;

	if (stat(cdsctl_datadir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return cli_usage("--data: '%s' is not a directory", cdsctl_datadir);
	return 0;
}

/* --since/--until into [*since, *until); open ends stay INT64_MIN/MAX. */
static int parse_window(const struct cdsctl_opt *opts, int64_t *since,
			int64_t *until)
{
	const char *s = cdsctl_opt_get(opts, "--since");
	const char *u = cdsctl_opt_get(opts, "--until");
	struct cds_error err;

	cds_error_clear(&err);
	*since = INT64_MIN;
	*until = INT64_MAX;
	if (s && cds_time_parse(since, s, &err))
		return cli_usage("--since: %s", err.msg);
	if (u && cds_time_parse(until, u, &err))
		return cli_usage("--until: %s", err.msg);
	if (*since >= *until)
		return cli_usage("--since '%s' is not before --until '%s'", s, u);
	return 0;
}

/* The one scope option given; usage error unless exactly one. */
static int parse_scope(const struct cdsctl_opt *opts,
		       struct cds_legal_request *r)
{
	static const struct {
		const char *opt;
		enum cds_legal_scope scope;
	} scopes[] = {{"--requester", CDS_LEGAL_REQUESTER},
		      {"--target", CDS_LEGAL_TARGET},
		      {"--ip", CDS_LEGAL_IP}};
	int found = 0;

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		const char *v = cdsctl_opt_get(opts, scopes[i].opt);

		if (v) {
			found++;
			r->scope = scopes[i].scope;
			r->value = v;
		}
	}
	if (found != 1)
		return cli_usage("give exactly one of --requester, --target, --ip "
				 "(%d given)", found);
	return 0;
}

static int parse_export(struct cdsctl_opt *opts, int argc, char **argv,
			struct cds_legal_request *r)
{
	const char *fmt;

	if (cdsctl_opt_parse(opts, argc, argv, 1))
		return CLI_USAGE;
	r->order_id = cdsctl_opt_get(opts, "--order");
	if (!r->order_id)
		return cli_usage("--order ID is required");
	if (parse_scope(opts, r) || parse_window(opts, &r->since_us, &r->until_us))
		return CLI_USAGE;
	fmt = cdsctl_opt_get(opts, "--format");
	if (!fmt || !strcmp(fmt, "json"))
		r->format = CDS_LEGAL_JSON;
	else if (!strcmp(fmt, "csv"))
		r->format = CDS_LEGAL_CSV;
	else
		return cli_usage("--format: '%s' is not json or csv", fmt);
	return datadir_ok();
}

static int export_cmd(int argc, char **argv)
{
	struct cdsctl_opt opts[] = {
		{"--order", NULL}, {"--requester", NULL}, {"--target", NULL},
		{"--ip", NULL},    {"--since", NULL},     {"--until", NULL},
		{"--format", NULL}, {"--out", NULL},      {NULL, NULL}};
	struct cds_legal_request r = {0};
	struct cds_legal_result res;
	struct cds_error err;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(export_usage, stdout);
		return CLI_OK;
	}
	if (parse_export(opts, argc, argv, &r))
		return CLI_USAGE;
	if (cds_legal_disclose(cdsctl_datadir, &r, cdsctl_opt_get(opts, "--out"),
			       stdout, cds_now_us(), &res, &err))
		return cli_error(&err);
	fprintf(stderr,
		"cdsctl: exported %llu record(s) for order '%s'; ledger entry %llu, "
		"export sha256 %s, entry hash %s\n",
		(unsigned long long)res.records, r.order_id,
		(unsigned long long)res.seq, res.export_sha256, res.entry_hash);
	return CLI_OK;
}

/* "ledger ok" and the head to note down (80 hex digits). */
static void print_ok(const struct cds_ledger_head *cur,
		     const struct cds_ledger_head *published)
{
	uint8_t b[CDS_LEDGER_HEAD_BYTES];
	char hex[2 * CDS_LEDGER_HEAD_BYTES + 1];

	if (cur->entries == 0)
		printf("ledger ok: 0 entries (no disclosures recorded)\n");
	else
		printf("ledger ok: %llu entries\n",
		       (unsigned long long)cur->entries);
	if (published)
		printf("extends the published head of %llu entries\n",
		       (unsigned long long)published->entries);
	cds_ledger_head_encode(b, cur);
	cds_hex_encode(hex, b, sizeof(b));
	printf("head: %s\n", hex);
}

static int verify_cmd(int argc, char **argv)
{
	struct cdsctl_opt opts[] = {{"--head", NULL}, {NULL, NULL}};
	uint8_t sig[CDS_LEDGER_SIG_BYTES];
	struct cds_ledger_head cur, pub;
	struct cds_error err;
	const char *hex;
	bool has_sig = false;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(verify_usage, stdout);
		return CLI_OK;
	}
	if (cdsctl_opt_parse(opts, argc, argv, 1))
		return CLI_USAGE;
	hex = cdsctl_opt_get(opts, "--head");
	if (hex && cds_ledger_head_parse(&pub, sig, &has_sig, hex, &err))
		return cli_error(&err);
	if (datadir_ok())
		return CLI_USAGE;
	if (cds_legal_verify(cdsctl_datadir, hex ? &pub : NULL,
			     has_sig ? sig : NULL, &cur, &err))
		return cli_error(&err);
	print_ok(&cur, hex ? &pub : NULL);
	return CLI_OK;
}

static int transparency_cmd(int argc, char **argv)
{
	struct cdsctl_opt opts[] = {{"--since", NULL}, {"--until", NULL},
				    {"--format", NULL}, {NULL, NULL}};
	enum cds_legal_report_format format = CDS_REPORT_JSON;
	int64_t since, until;
	struct cds_error err;
	struct cds_buf out;
	const char *fmt;
	int ret;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(transparency_usage, stdout);
		return CLI_OK;
	}
	if (cdsctl_opt_parse(opts, argc, argv, 1) ||
	    parse_window(opts, &since, &until))
		return CLI_USAGE;
	fmt = cdsctl_opt_get(opts, "--format");
	if (fmt && !strcmp(fmt, "md"))
		format = CDS_REPORT_MD;
	else if (fmt && strcmp(fmt, "json") != 0)
		return cli_usage("--format: '%s' is not json or md", fmt);
	if (datadir_ok())
		return CLI_USAGE;
	cds_buf_init(&out);
	if (cds_legal_transparency(cdsctl_datadir, since, until, cds_now_us(),
				   format, &out, &err)) {
		ret = cli_error(&err);
	} else {
		fwrite(out.data, 1, out.len, stdout);
		ret = fflush(stdout) ? cli_fail("cannot write the report") : CLI_OK;
	}
	cds_buf_fini(&out);
	return ret;
}

static const struct cli_cmd legal_cmds[] = {
	{"export", export_cmd, "export records under an order, with a ledger entry"},
	{"verify", verify_cmd, "check the ledger's hash chain and published heads"},
	{"transparency", transparency_cmd, "orders and records disclosed per period"},
	{NULL, NULL, NULL},
};

int cdsctl_legal(int argc, char **argv)
{
	return cli_dispatch(legal_cmds, argc - 1, argv + 1,
			    "usage: cdsctl --data DIR legal COMMAND [OPTIONS]\n\n"
			    "Legal process: scoped exports, the disclosure ledger, "
			    "transparency reports.");
}
