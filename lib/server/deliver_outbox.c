/*
 * deliver_outbox.c: the development channel: each message becomes the file
 * DIR/<verification>.json, mode 0600, holding exactly
 * {"to":H,"code":C,"verification":ID} (DESIGN.md, cdsd --verify-outbox).
 *
 * Invariant: a reader never sees a partial file: it is written under a
 * dot-name, synced, then renamed into place.
 */
#include "server/deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/os.h"

static enum cds_err write_file(const char *tmp, const char *path,
			       const char *text, struct cds_error *err)
{
	enum cds_err rc;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return cds_fail(err, CDS_ERR_IO, "outbox: cannot create '%s': %s",
				tmp, strerror(errno));
	rc = cds_write_all_sync(fd, tmp, text, strlen(text), err);
	close(fd);
	if (!rc && rename(tmp, path))
		rc = cds_fail(err, CDS_ERR_IO, "outbox: cannot rename to '%s': %s",
			      path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

enum cds_err cds_deliver_outbox(const char *dir, const struct cds_message *m,
				struct cds_error *err)
{
	char path[4096], tmp[4096];
	json_t *doc = json_pack("{s:s, s:s, s:s}", "to", m->to, "code", m->code,
				"verification", m->verification);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	enum cds_err rc;

	json_decref(doc);
	if (!text)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	if (snprintf(path, sizeof(path), "%s/%s.json", dir, m->verification) >=
		    (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, m->verification) >=
		    (int)sizeof(tmp))
		rc = cds_fail(err, CDS_ERR_INVALID, "outbox path too long: '%s'",
			      dir);
	else
		rc = write_file(tmp, path, text, err);
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}
