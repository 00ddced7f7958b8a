/*
 * cdsctl_index.c: `cdsctl index seed`: start a replica's index from
 * another replica's snapshot.
 *
 *   cdsctl --data DIR index seed FILE
 *
 * FILE is a copy of another replica's DIR/index/epoch-N.snap (of the same
 * store).  After the checks of cds_snapshot_seed (index/snapshot.h) it
 * becomes DIR/index/epoch-N.snap, and cdsd on DIR starts from it: it maps
 * the file and evaluates the OPRF only for the handles changed since,
 * instead of for every handle.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cdsctl.h"
#include "cli.h"
#include "index/snapshot.h"
#include "store/keysrc.h"

static const char usage_head[] =
	"usage: cdsctl --data DIR index COMMAND\n"
	"\n"
	"The discovery index of DIR's cdsd.";

static const char seed_usage[] =
	"usage: cdsctl --data DIR index seed FILE\n"
	"\n"
	"Start DIR's index from FILE, another replica's index snapshot\n"
	"(its DIR/index/epoch-N.snap, copied by any means).  FILE must be an\n"
	"intact snapshot of an epoch the store serves, and not older than the\n"
	"store's change log; it is copied to DIR/index, and cdsd on DIR then\n"
	"replays the changes made since instead of evaluating every handle.\n"
	"Run it before starting cdsd on DIR.\n";

static int seed(int argc, char **argv)
{
	struct cds_epoch_key *keys = NULL;
	struct cds_keysrc ks;
	struct cds_error err;
	uint64_t seq = 0, count = 0;
	uint32_t epoch = 0;
	size_t n = 0;
	enum cds_err rc;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(seed_usage, stdout);
		return CLI_OK;
	}
	if (argc != 2)
		return cli_usage("index seed needs one FILE (try --help)");
	rc = cds_keysrc_open(&ks, cdsctl_datadir, &err);
	if (!rc && !ks.store)
		rc = cds_store_open(&ks.store, cdsctl_datadir, &err);
	if (!rc)
		rc = cds_keysrc_epochs_load(&ks, &keys, &n, &err);
	if (!rc)
		rc = cds_snapshot_seed(cdsctl_datadir, argv[1], keys, n, ks.store,
				       &epoch, &seq, &count, &err);
	cds_keys_free(keys, n);
	if (!ks.owns_store)
		cds_store_close(ks.store);
	cds_keysrc_fini(&ks);
	if (rc)
		return cli_error(&err);
	printf("seeded the index of epoch %" PRIu32 ": %" PRIu64 " handles at "
	       "change %" PRIu64 "; cdsd replays the changes since\n", epoch,
	       count, seq);
	return CLI_OK;
}

static const struct cli_cmd commands[] = {
	{"seed", seed, "start the index from another replica's snapshot"},
	{NULL, NULL, NULL},
};

int cdsctl_index(int argc, char **argv)
{
	return cli_dispatch(commands, argc - 1, argv + 1, usage_head);
}
