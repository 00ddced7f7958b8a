/*
 * metrics_token.c: create and read DIR/metrics.token (metrics_token.h).
 */
#include "store/metrics_token.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/os.h"
#include "store/store_impl.h"

#define PREFIX "metrics."

/* Write a fresh token under a temporary name and link it to `final`. */
static enum cds_err create(const char *datadir, const char *final,
			   struct cds_error *err)
{
	char tmp[PATH_MAX], token[CDS_TOKEN_MAX_BYTES];
	enum cds_err rc;

	if (snprintf(tmp, sizeof(tmp), "%s/.metrics.token.%ld", datadir,
		     (long)getpid()) >= (int)sizeof(tmp))
		return cds_fail(err, CDS_ERR_INVALID, "data directory path too long");
	cds_token_new_metrics(token);
	rc = cds_token_write_file(tmp, token, err);
	sodium_memzero(token, sizeof(token));
	if (rc)
		return rc;
	/* link fails with EEXIST if someone else made it first: keep theirs. */
	if (link(tmp, final) != 0 && errno != EEXIST)
		rc = cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", final,
			      strerror(errno));
	unlink(tmp);
	return rc;
}

/* Read the token line of path into token (NUL-terminated, no newline). */
static enum cds_err read_token(const char *path,
			       char token[static CDS_TOKEN_MAX_BYTES],
			       struct cds_error *err)
{
	enum cds_err rc;
	size_t n;

	if ((rc = cds_read_head(path, token, CDS_TOKEN_MAX_BYTES - 1, &n, err)))
		return rc;
	token[n] = '\0';
	token[strcspn(token, "\r\n")] = '\0';
	if (strncmp(token, PREFIX, strlen(PREFIX)) != 0 ||
	    strlen(token) <= strlen(PREFIX))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' does not hold a metrics token", path);
	return CDS_OK;
}

enum cds_err cds_metrics_token_load(const char *datadir,
				    uint8_t hash[static CDS_TOKEN_HASH_BYTES],
				    bool *created, struct cds_error *err)
{
	char path[PATH_MAX], token[CDS_TOKEN_MAX_BYTES];
	enum cds_err rc;

	*created = false;
	if (snprintf(path, sizeof(path), "%s/metrics.token", datadir) >=
	    (int)sizeof(path))
		return cds_fail(err, CDS_ERR_INVALID, "data directory path too long");
	rc = read_token(path, token, err);
	if (rc == CDS_ERR_NOT_FOUND) {
		if ((rc = create(datadir, path, err)))
			goto out;
		*created = true;
		rc = read_token(path, token, err);
	}
	if (!rc)
		cds_token_hash(hash, token);
out:
	sodium_memzero(token, sizeof(token));
	return rc;
}
