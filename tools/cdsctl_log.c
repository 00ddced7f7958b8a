/*
 * cdsctl_log.c: `cdsctl log sweep`: apply the query log's retention now.
 *
 *   cdsctl --data DIR log sweep [--now RFC3339] [--retention-days N]
 *
 * Deletes the days of the query log that ended more than N days (default
 * 30) before --now (default: the current time): the day files of
 * DIR/querylog with their -wal, -shm and -journal files, or the day
 * partitions when DIR/store.conf names PostgreSQL; prints one line per day
 * removed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cdsctl.h"
#include "cdsctl_opt.h"
#include "cli.h"
#include "core/timeutil.h"
#include "qlog/qlog.h"

#define DEFAULT_RETENTION_DAYS 30
#define MAX_RETENTION_DAYS 36500

static const char sweep_usage[] =
	"usage: cdsctl --data DIR log sweep [--now RFC3339] [--retention-days N]\n"
	"\n"
	"Delete query-log days that ended more than N days before --now\n"
	"(default: now): day files with their -wal/-shm/-journal files, or day\n"
	"partitions when the store is in PostgreSQL.  N defaults to 30; 0\n"
	"deletes every day.  Prints each day removed.\n";

static void print_removed(void *ctx, const char *day, int64_t records,
			  bool exact)
{
	(void)ctx;
	if (records < 0)
		printf("removed %s (record count unknown)\n", day);
	else
		printf("removed %s (%s%lld records)\n", day, exact ? "" : "about ",
		       (long long)records);
}

static int datadir_ok(void)
{
	struct stat sb;

	if (stat(cdsctl_datadir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return cli_usage("--data: '%s' is not a directory", cdsctl_datadir);
	return 0;
}

static int sweep(int argc, char **argv)
{
	struct cdsctl_opt opts[] = {{"--now", NULL}, {"--retention-days", NULL},
				    {NULL, NULL}};
	const char *now_s, *ret_s;
	long retention = DEFAULT_RETENTION_DAYS;
	int64_t now = cds_now_us();
	struct cds_error err;
	uint64_t n = 0;

	cds_error_clear(&err);
	if (cli_wants_help(argc, argv)) {
		fputs(sweep_usage, stdout);
		return CLI_OK;
	}
	if (cdsctl_opt_parse(opts, argc, argv, 1))
		return CLI_USAGE;
	now_s = cdsctl_opt_get(opts, "--now");
	ret_s = cdsctl_opt_get(opts, "--retention-days");
	if (now_s && cds_time_parse(&now, now_s, &err))
		return cli_usage("--now: %s", err.msg);
	if (ret_s && cli_parse_long(&retention, ret_s, 0, MAX_RETENTION_DAYS,
				    "--retention-days"))
		return CLI_USAGE;
	if (datadir_ok())
		return CLI_USAGE;
	if (cds_qlog_sweep_each(cdsctl_datadir, (int)retention, now,
				print_removed, NULL, &n, &err))
		return cli_error(&err);
	printf("swept %llu day file(s)\n", (unsigned long long)n);
	return CLI_OK;
}

static const struct cli_cmd log_cmds[] = {
	{"sweep", sweep, "delete query-log days past retention"},
	{NULL, NULL, NULL},
};

int cdsctl_log(int argc, char **argv)
{
	return cli_dispatch(log_cmds, argc - 1, argv + 1,
			    "usage: cdsctl --data DIR log sweep [OPTIONS]\n\n"
			    "Query log maintenance.");
}
