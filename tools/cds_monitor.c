/*
 * cds_monitor.c: `cds monitor`: check every directory version since the
 * last run for the account's own handles (cds_client_monitor).  Exit 0 if
 * none was taken, 3 if a version bound one to another account or to a key
 * the account never set, 1 on another failure, 2 on misuse.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cds.h"
#include "cli.h"

static const char usage[] =
	"usage: cds --server URL --token TOKEN --cache FILE monitor [--json]\n"
	"\n"
	"Check every directory version since the last run for this account's\n"
	"own handles (those its record holds, and every one watched before):\n"
	"each handle is evaluated once per key epoch, its bucket's history is\n"
	"followed, and the current buckets are checked against the signed heads.\n"
	"Findings, in version order:\n"
	"  bound    the handle opens to this account and a key it set\n"
	"  removed  the handle left the directory while the account holds it\n"
	"  taken    the handle opens to another account, or to a key this\n"
	"           account never set\n"
	"Run it once right after registering, so that the cache knows the key.\n"
	"\n"
	"  --json  print [{\"handle\",\"version\",\"event\",\"account\"?,\n"
	"          \"identity_key\"?}] instead of a table\n"
	"\n"
	"Exit 3 if any handle was taken, 0 if not, 1 on another failure.\n";

#define EXIT_TAKEN 3

static void print_json(const struct cds_client *c)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < cds_client_monitor_count(c); i++) {
		const struct cds_monitor_event *e = cds_client_monitor_at(c, i);
		json_t *o = json_pack("{s:s,s:I,s:s}", "handle", e->handle,
				      "version", (json_int_t)e->version, "event",
				      cds_monitor_kind_name(e->kind));
		char key[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

		if (e->has_owner) {
			sodium_bin2base64(key, sizeof(key), e->identity_key, 32,
					  sodium_base64_VARIANT_ORIGINAL);
			json_object_set_new(o, "account", json_string(e->account_hex));
			json_object_set_new(o, "identity_key", json_string(key));
		}
		json_array_append_new(arr, o);
	}
	json_dumpf(arr, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(arr);
}

static void print_table(const struct cds_client *c)
{
	for (size_t i = 0; i < cds_client_monitor_count(c); i++) {
		const struct cds_monitor_event *e = cds_client_monitor_at(c, i);

		printf("%-8s %-40s version %" PRIu64 "%s%s\n",
		       cds_monitor_kind_name(e->kind), e->handle, e->version,
		       e->has_owner ? " account " : "",
		       e->has_owner ? e->account_hex : "");
	}
}

static int taken(const struct cds_client *c)
{
	for (size_t i = 0; i < cds_client_monitor_count(c); i++)
		if (cds_client_monitor_at(c, i)->kind == CDS_MONITOR_TAKEN)
			return 1;
	return 0;
}

int cds_cmd_monitor(int argc, char **argv)
{
	struct cds_run_opts o = {NULL, NULL, false, 0, -1};
	struct cds_client *c = NULL;
	struct cds_error err;
	int rc;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json"))
			return cli_usage("monitor: unknown argument '%s' (try --help)",
					 argv[i]);
		o.json = true;
	}
	if (!cds_opts.cache)
		return cli_usage("monitor needs --cache FILE (given before the command)");
	rc = cds_open_client(&c, &o, true);
	if (rc)
		return rc;
	cds_error_clear(&err);
	if (cds_client_monitor(c, &err)) {
		rc = cli_error(&err);
		goto out;
	}
	if (o.json)
		print_json(c);
	else
		print_table(c);
	if (taken(c)) {
		fprintf(stderr, "cds: a handle of this account was bound to someone else (see 'taken' above)\n");
		rc = EXIT_TAKEN;
	}
out:
	cds_client_free(c);
	return rc;
}
