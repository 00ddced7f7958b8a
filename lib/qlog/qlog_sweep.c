/*
 * qlog_sweep.c: retention.  Deletes whole day files of the query log once
 * the day ended more than retention_days ago, with their -wal, -shm and
 * -journal files (a WAL file holds records too).
 *
 * Invariants:
 *  1. A day D (its file holds records from D 00:00 to D+1 00:00) is
 *     deleted when now - (D + 1 day) > retention days, so after a sweep no
 *     record older than retention + 1 day exists in the data directory.
 *     Retention 0 means "keep no log": every day file goes, today's too.
 *  2. Only names of the exact form YYYY-MM-DD.sqlite3[-wal|-shm|-journal]
 *     with a valid date are touched; anything else in the directory is left
 *     alone.  Leftover -wal/-shm/-journal files of a day whose database
 *     file is already gone are deleted too.
 *  3. Each deletion is logged to stderr with the day and its record count
 *     (counted before the files go; -1 if the file could not be read).
 */
#include "qlog/qlog_sqlite.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"

static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
#define N_SUFFIXES (sizeof(suffixes) / sizeof(suffixes[0]))

/* Day of a day file or one of its side files; false for other names. */
static bool side_name_parse(const char *name, int64_t *day)
{
	char base[19];
	size_t len = strlen(name);

	if (len < 18)
		return false;
	for (size_t i = 0; i < N_SUFFIXES; i++)
		if (len == 18 + strlen(suffixes[i]) &&
		    strcmp(name + 18, suffixes[i]) == 0) {
			memcpy(base, name, 18);
			base[18] = '\0';
			return qlog_day_name_parse(base, day);
		}
	return false;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The distinct expired days found in dir, sorted (*days malloc'd).
 * A missing directory is an empty list.
 */
static enum cds_err expired_days(const char *dir, int retention_days,
				 int64_t now_us, int64_t **days, size_t *n,
				 struct cds_error *err)
{
	size_t cap = 0, m = 0;
	struct dirent *de;
	int64_t day, *p;
	DIR *d;

	*days = NULL;
	*n = 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? CDS_OK
				       : cds_fail(err, CDS_ERR_IO,
						  "query log: cannot read %s: %s",
						  dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (!side_name_parse(de->d_name, &day) ||
		    !qlog_day_expired(day, retention_days, now_us))
			continue;
		if (m == cap) {
			cap = cap ? cap * 2 : 16;
			p = realloc(*days, cap * sizeof(*p));
			if (!p) {
				closedir(d);
				free(*days);
				*days = NULL;
				return cds_fail(err, CDS_ERR_NOMEM,
						"query log: out of memory");
			}
			*days = p;
		}
		(*days)[m++] = day;
	}
	closedir(d);
	if (m)
		qsort(*days, m, sizeof(**days), cmp_i64);
	for (size_t i = 0; i < m; i++) /* unique */
		if (*n == 0 || (*days)[*n - 1] != (*days)[i])
			(*days)[(*n)++] = (*days)[i];
	return CDS_OK;
}

/* Records in a day file, or -1 if it cannot be read. */
static int64_t count_records(const char *path)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;
	sqlite3 *db;

	if (access(path, F_OK) != 0 || qlog_day_open_ro(&db, path, NULL))
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM records", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Unlink the database file of day and its side files. */
static enum cds_err unlink_day(const char *path, struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	char side[4096];

	for (size_t i = 0; i < N_SUFFIXES; i++) {
		if ((size_t)snprintf(side, sizeof(side), "%s%s", path,
				     suffixes[i]) >= sizeof(side))
			return cds_fail(err, CDS_ERR_IO, "query log: path too long");
		if (unlink(side) != 0 && errno != ENOENT && !rc)
			rc = cds_fail(err, CDS_ERR_IO,
				      "query log: cannot delete %s: %s", side,
				      strerror(errno));
	}
	return rc;
}

/* Delete one day; log it and tell fn. */
static enum cds_err sweep_day(const char *datadir, int64_t day,
			      const struct qlog_sweep_hook *hook,
			      cds_qlog_swept_fn fn, void *fn_ctx,
			      struct cds_error *err)
{
	char *path = qlog_day_path(datadir, day), name[11];
	enum cds_err rc;
	int64_t records;

	if (!path)
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	records = count_records(path);
	if (hook)
		hook->begin(hook->ctx, day);
	rc = unlink_day(path, err);
	if (hook)
		hook->end(hook->ctx);
	free(path);
	if (rc)
		return rc;
	cds_time_day(name, day);
	if (records < 0)
		cds_log_info("query log: deleted day %s (record count unknown)",
			     name);
	else
		cds_log_info("query log: deleted day %s (%lld records)", name,
			     (long long)records);
	if (fn)
		fn(fn_ctx, name, records, true);
	return CDS_OK;
}

enum cds_err qlog_sqlite_sweep(const struct qlog_place *p, int retention_days,
			       int64_t now_us, const struct qlog_sweep_hook *hook,
			       cds_qlog_swept_fn fn, void *fn_ctx,
			       uint64_t *files_deleted, struct cds_error *err)
{
	const char *datadir = p->datadir;
	enum cds_err rc, first = CDS_OK;
	int64_t *days = NULL;
	char *dir = NULL;
	size_t n = 0;

	if (files_deleted)
		*files_deleted = 0;
	dir = qlog_dir_path(datadir);
	if (!dir)
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	first = expired_days(dir, retention_days, now_us, &days, &n, err);
	if (first)
		goto out;
	for (size_t i = 0; i < n; i++) {
		/* Keep going past one failure; report the first. */
		rc = sweep_day(datadir, days[i], hook, fn, fn_ctx,
			       first ? NULL : err);
		if (rc && !first)
			first = rc;
		else if (!rc && files_deleted)
			(*files_deleted)++;
	}
out:
	free(days);
	free(dir);
	return first;
}
