/*
 * store_conf.c: DIR/store.conf, which records that the store of a data
 * directory lives in PostgreSQL, and the check of the URL it holds.
 *
 * A data directory without store.conf has its store in DIR/cds.sqlite3 (as
 * every directory made before PostgreSQL existed).  With it, the file
 * holds one line "store=<libpq URI>", and comment lines starting with '#'.
 *
 * Invariants:
 *  1. No password is ever written to DIR: a URL holding one (in the user
 *     part or as a password= parameter) is refused at init, and a
 *     store.conf edited to hold one is refused at open.  libpq takes the
 *     password from its usual places: PGPASSFILE (~/.pgpass), a service
 *     file, PGPASSWORD.
 *  2. Messages never quote a URL that failed the check: it may hold the
 *     password that made it fail.
 *  3. The file is written to a temporary name and renamed, so a reader
 *     sees the whole file or none.
 */
#include "store/store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/os.h"

#define CONF_FILE "store.conf"
#define KEY "store="

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool holds_password(const PQconninfoOption *opts)
{
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0])
			return true;
	return false;
}

enum cds_err cds_store_url_check(const char *url, struct cds_error *err)
{
	PQconninfoOption *opts;
	char *msg = NULL;
	enum cds_err rc = CDS_OK;

	if (!has_prefix(url, "postgresql://") && !has_prefix(url, "postgres://"))
		return cds_fail(err, CDS_ERR_INVALID,
				"unknown store: give 'sqlite' or a libpq URI "
				"'postgresql://[user@]host[:port]/dbname'");
	if (strlen(url) >= CDS_STORE_URL_MAX)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"store URI longer than %d bytes",
				CDS_STORE_URL_MAX - 1);
	opts = PQconninfoParse(url, &msg);
	if (!opts) {
		rc = cds_fail(err, CDS_ERR_INVALID, "store URI is not valid: %.*s",
			      msg ? (int)strcspn(msg, "\n") : 14,
			      msg ? msg : "out of memory");
		PQfreemem(msg);
		return rc;
	}
	if (holds_password(opts))
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "store URI contains a password, which cds will not "
			      "write to disk: remove it and give it to libpq in "
			      "PGPASSFILE (~/.pgpass), a service file or PGPASSWORD");
	PQconninfoFree(opts);
	return rc;
}

static enum cds_err conf_path(char *out, size_t cap, const char *datadir,
			      const char *name, struct cds_error *err)
{
	if (snprintf(out, cap, "%s/%s", datadir, name) >= (int)cap)
		return cds_fail(err, CDS_ERR_INVALID,
				"data directory path too long: '%s'", datadir);
	return CDS_OK;
}

bool cds_store_conf_exists(const char *datadir)
{
	char path[PATH_MAX];

	return conf_path(path, sizeof(path), datadir, CONF_FILE, NULL) == CDS_OK &&
	       access(path, F_OK) == 0;
}

enum cds_err cds_store_conf_write(const char *datadir, const char *url,
				  struct cds_error *err)
{
	char tmp[PATH_MAX], path[PATH_MAX], text[CDS_STORE_URL_MAX + 256];
	enum cds_err rc;
	int fd, n;

	rc = cds_store_url_check(url, err);
	if (!rc)
		rc = conf_path(tmp, sizeof(tmp), datadir, ".store.conf.tmp", err);
	if (!rc)
		rc = conf_path(path, sizeof(path), datadir, CONF_FILE, err);
	if (rc)
		return rc;
	n = snprintf(text, sizeof(text),
		     "# The store of this data directory (cdsctl init --store).\n"
		     "# No password here: libpq reads it from PGPASSFILE, a "
		     "service file or PGPASSWORD.\n" KEY "%s\n", url);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", tmp,
				strerror(errno));
	rc = cds_write_all_sync(fd, tmp, text, (size_t)n, err);
	close(fd);
	if (!rc && rename(tmp, path) != 0)
		rc = cds_fail(err, CDS_ERR_IO, "cannot rename '%s' to '%s': %s", tmp,
			      path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

/* The URL of one "store=" line (line, without its newline). */
static enum cds_err parse_line(const char *line, const char *path, int lineno,
			       char *url, bool *got, struct cds_error *err)
{
	if (line[0] == '#' || line[0] == '\0')
		return CDS_OK;
	size_t n = strlen(line);

	if (!has_prefix(line, KEY) || *got)
		return cds_fail(err, CDS_ERR_STORE,
				"%s line %d: expected one line 'store=URI'", path,
				lineno);
	n -= strlen(KEY);
	if (n >= CDS_STORE_URL_MAX)
		return cds_fail(err, CDS_ERR_STORE, "%s line %d: URI too long", path,
				lineno);
	memcpy(url, line + strlen(KEY), n + 1);
	*got = true;
	return CDS_OK;
}

enum cds_err cds_store_conf_read(const char *datadir,
				 char url[static CDS_STORE_URL_MAX],
				 struct cds_error *err)
{
	char path[PATH_MAX], line[CDS_STORE_URL_MAX + 16];
	struct cds_error e;
	enum cds_err rc;
	bool got = false;
	int lineno = 0;
	FILE *f;

	rc = conf_path(path, sizeof(path), datadir, CONF_FILE, err);
	if (rc)
		return rc;
	f = fopen(path, "re");
	if (!f)
		return cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND : CDS_ERR_IO,
				"cannot read '%s': %s", path, strerror(errno));
	while (!rc && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		rc = parse_line(line, path, ++lineno, url, &got, err);
	}
	fclose(f);
	if (!rc && !got)
		rc = cds_fail(err, CDS_ERR_STORE, "%s has no 'store=' line", path);
	if (!rc && cds_store_url_check(url, &e) != CDS_OK)
		rc = cds_fail(err, CDS_ERR_STORE, "%s: %s", path, e.msg);
	return rc;
}
