/*
 * cds_audit.c: `cds audit`: follow every version of the server's
 * transparency log since the state file's, and check it (cds/audit.h).
 * Exit 0 if everything checked out, 3 on any mismatch (naming the
 * version), 1 on another failure (network, state file), 2 on misuse.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cds.h"
#include "cds/audit.h"
#include "cli.h"

static const char usage[] =
	"usage: cds --server URL audit --state FILE [--json]\n"
	"\n"
	"Follow every version the server sealed since FILE's last (all of them\n"
	"the first time): fetch its signed head and its changes, rebuild every\n"
	"bucket, recompute the bucket tree's root and the log of versions, check\n"
	"the signature under the transparency key pinned in FILE on the first\n"
	"run, and the server's consistency proof from the last audited head.\n"
	"The auditor learns no handle.  FILE (SQLite, mode 0600) keeps the\n"
	"entries of every bucket (104 bytes per registered handle), the last\n"
	"head and the log's right edge; each version is saved once checked.\n"
	"\n"
	"  --state FILE  the auditor's state (created if missing)\n"
	"  --json        print {\"ok\",\"first_version\",\"last_version\",\n"
	"                \"versions\",\"changes\",\"entries\",\"bytes\",\"wall_ms\",\n"
	"                \"version\"?,\"error\"?} instead of a line of text\n"
	"\n"
	"Exit 0 if every version checked out, 3 if one did not (the message\n"
	"names it), 1 on another failure.\n";

#define EXIT_MISMATCH 3

static int parse(const char **state, bool *json, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			*json = true;
		} else if (!strcmp(argv[i], "--state")) {
			if (++i >= argc)
				return cli_usage("--state needs a value");
			*state = argv[i];
		} else {
			return cli_usage("audit: unknown argument '%s' (try --help)",
					 argv[i]);
		}
	}
	if (!*state)
		return cli_usage("audit: --state FILE is required");
	if (!cds_opts.server)
		return cli_usage("--server URL is required (or set $CDS_SERVER)");
	return CLI_OK;
}

static void print_json(const struct cds_audit_result *r,
		       const struct cds_error *err, enum cds_err rc)
{
	json_t *o = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ok", rc == CDS_OK,
			      "first_version", (json_int_t)r->first_version,
			      "last_version", (json_int_t)r->last_version,
			      "versions", (json_int_t)r->versions,
			      "changes", (json_int_t)r->changes,
			      "entries", (json_int_t)r->entries,
			      "bytes", (json_int_t)r->bytes_down,
			      "wall_ms", (json_int_t)(r->wall_us / 1000));

	if (rc && r->bad_version)
		json_object_set_new(o, "version", json_integer((json_int_t)r->bad_version));
	if (rc)
		json_object_set_new(o, "error", json_string(err->msg));
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(o);
}

int cds_cmd_audit(int argc, char **argv)
{
	struct cds_client_options opt;
	struct cds_audit_result res;
	struct cds_error err;
	const char *state = NULL;
	bool json = false;
	enum cds_err rc;
	int r;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	r = parse(&state, &json, argc, argv);
	if (r)
		return r;
	cds_client_options_init(&opt);
	opt.server_url = cds_opts.server;
	opt.relay_url = cds_opts.relay;
	opt.ca_file = cds_opts.cacert;
	rc = cds_audit_run(&opt, state, &res, &err);
	if (json)
		print_json(&res, &err, rc);
	if (rc == CDS_ERR_CRYPTO) {
		fprintf(stderr, "cds: audit failed: %s\n", err.msg);
		return EXIT_MISMATCH;
	}
	if (rc)
		return cli_error(&err);
	if (!json)
		printf("audited versions %" PRIu64 " to %" PRIu64
		       " (%" PRIu64 " new, %" PRIu64 " bucket changes, %" PRIu64
		       " entries held, %" PRIu64 " bytes received)\n",
		       res.first_version ? res.first_version : res.last_version,
		       res.last_version, res.versions, res.changes, res.entries,
		       res.bytes_down);
	return CLI_OK;
}
