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
#define CONF_MAX_BYTES 4096
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

/* The URL of one "store=" line (line[0..len), without its newline). */
static enum cds_err parse_line(const char *line, size_t len, int lineno,
			       char *url, bool *got, struct cds_error *err)
{
	size_t key = strlen(KEY);

	if (len == 0 || line[0] == '#')
		return CDS_OK;
	if (len < key || memcmp(line, KEY, key) != 0 || *got)
		return cds_fail(err, CDS_ERR_STORE,
				"line %d: expected one line 'store=URI'", lineno);
	if (len - key >= CDS_STORE_URL_MAX || memchr(line, '\0', len))
		return cds_fail(err, CDS_ERR_STORE,
				"line %d: URI too long or holding a NUL byte",
				lineno);
	memcpy(url, line + key, len - key);
	url[len - key] = '\0';
	*got = true;
	return CDS_OK;
}

enum cds_err cds_store_conf_parse(const char *text, size_t len,
				  char url[static CDS_STORE_URL_MAX],
				  struct cds_error *err)
{
	struct cds_error e;
	enum cds_err rc = CDS_OK;
	bool got = false;
	int lineno = 0;

	while (!rc && len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		rc = parse_line(text, n && text[n - 1] == '\r' ? n - 1 : n,
				++lineno, url, &got, err);
		text += nl ? n + 1 : n;
		len -= nl ? n + 1 : n;
	}
	if (!rc && !got)
		rc = cds_fail(err, CDS_ERR_STORE, "no 'store=' line");
	if (!rc && cds_store_url_check(url, &e) != CDS_OK)
		rc = cds_fail(err, CDS_ERR_STORE, "%s", e.msg);
	return rc;
}

enum cds_err cds_store_conf_read(const char *datadir,
				 char url[static CDS_STORE_URL_MAX],
				 struct cds_error *err)
{
	char path[PATH_MAX], text[CONF_MAX_BYTES + 1];
	struct cds_error e;
	enum cds_err rc;
	size_t n;
	FILE *f;

	rc = conf_path(path, sizeof(path), datadir, CONF_FILE, err);
	if (rc)
		return rc;
	f = fopen(path, "re");
	if (!f)
		return cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND : CDS_ERR_IO,
				"cannot read '%s': %s", path, strerror(errno));
	n = fread(text, 1, sizeof(text), f);
	if (ferror(f))
		rc = cds_fail(err, CDS_ERR_IO, "cannot read '%s'", path);
	else if (n > CONF_MAX_BYTES)
		rc = cds_fail(err, CDS_ERR_STORE, "%s: larger than %d bytes", path,
			      CONF_MAX_BYTES);
	fclose(f);
	if (!rc && (rc = cds_store_conf_parse(text, n, url, &e)))
		cds_fail(err, rc, "%s: %s", path, e.msg);
	return rc;
}
