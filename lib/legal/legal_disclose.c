/*
 * legal_disclose.c: one disclosure = export + ledger entry + output.
 *
 * Invariants:
 *  1. Every check that can fail on the operator's input (the request, the
 *     data directory, the output path) runs before anything is created, so
 *     a usage error leaves no file and no ledger entry behind.
 *  2. No exported byte leaves without its ledger entry: a file is written
 *     under a temporary name (0600), the entry is committed, and only then
 *     is the file renamed into place; on stdout the entry is committed
 *     before the write.  If the ledger cannot be written the temporary file
 *     is removed and nothing is disclosed.
 *  3. After each entry the store's ledger mark moves to the new head, so
 *     that a deleted or truncated ledger is noticed (legal_verify.c).
 */
#include "legal/legal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/codec.h"
#include "legal/legal_int.h"
#include "store/store.h"

static enum cds_err check_datadir(const char *datadir, struct cds_error *err)
{
	struct stat sb;

	if (!datadir || !datadir[0] || stat(datadir, &sb) != 0 ||
	    !S_ISDIR(sb.st_mode))
		return cds_fail(err, CDS_ERR_USAGE,
				"--data: '%.200s' is not a directory",
				datadir ? datadir : "");
	return CDS_OK;
}

/* --out must name a new (or empty) regular file in an existing directory. */
static enum cds_err check_out(const char *path, struct cds_error *err)
{
	char *copy, *dir;
	struct stat sb;
	bool dir_ok;

	if (!path[0])
		return cds_fail(err, CDS_ERR_USAGE, "--out: empty file name");
	if (stat(path, &sb) == 0) {
		if (!S_ISREG(sb.st_mode))
			return cds_fail(err, CDS_ERR_USAGE,
					"--out: '%.200s' is not a regular file", path);
		if (sb.st_size > 0)
			return cds_fail(err, CDS_ERR_USAGE,
					"--out: '%.200s' exists and is not empty; "
					"refusing to overwrite an export", path);
	}
	copy = strdup(path);
	if (!copy)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	dir = dirname(copy);
	dir_ok = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
	free(copy);
	if (!dir_ok)
		return cds_fail(err, CDS_ERR_USAGE,
				"--out: the directory of '%.200s' does not exist",
				path);
	return CDS_OK;
}

/* Write all of buf to a new temporary file next to path (*tmp malloc'd). */
static enum cds_err write_tmp(const char *path, const struct cds_buf *buf,
			      char **tmp, struct cds_error *err)
{
	enum cds_err rc;
	size_t off = 0;
	ssize_t w;
	int fd;

	if (asprintf(tmp, "%s.tmp.XXXXXX", path) < 0) {
		*tmp = NULL;
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	fd = mkstemp(*tmp); /* mode 0600 */
	if (fd < 0)
		goto fail;
	while (off < buf->len) {
		w = write(fd, buf->data + off, buf->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail_fd;
		off += (size_t)w;
	}
	if (fchmod(fd, 0600) != 0 || fsync(fd) != 0)
		goto fail_fd;
	if (close(fd) != 0)
		goto fail;
	return CDS_OK;
fail_fd:
	off = (size_t)errno; /* close() must not hide the cause */
	close(fd);
	errno = (int)off;
fail:
	rc = cds_fail(err, errno == ENOSPC ? CDS_ERR_FULL : CDS_ERR_IO,
		      "cannot write '%.200s': %s", path, strerror(errno));
	if (fd >= 0)
		unlink(*tmp);
	free(*tmp);
	*tmp = NULL;
	return rc;
}

/*
 * Note the new head in the store (legal_verify.c anchor 2).  After the
 * append: a crash in between leaves the mark one entry behind, which the
 * ledger still extends.
 */
static enum cds_err mark(const char *datadir, const struct cds_ledger_entry *e,
			 struct cds_error *err)
{
	struct cds_ledger_head h = {.entries = e->seq};
	struct cds_store *st = NULL;
	enum cds_err rc;

	if (cds_hex_decode_exact(h.hash, sizeof(h.hash), e->entry_hash,
				 strlen(e->entry_hash), "entry hash", err))
		return CDS_ERR_INTERNAL;
	rc = cds_store_open(&st, datadir, err);
	if (!rc)
		rc = cds_store_ledger_mark_set(st, &h, err);
	cds_store_close(st);
	return rc;
}

/* Append the ledger entry of this export. */
static enum cds_err record(const char *datadir,
			   const struct cds_legal_request *r, int64_t now_us,
			   struct cds_legal_result *res, struct cds_error *err)
{
	struct cds_ledger_entry e;
	struct cds_ledger *l = NULL;
	char window[80], value[CDS_HANDLE_MAX_BYTES + 1];
	enum cds_err rc;

	memset(&e, 0, sizeof(e));
	legal_window_text(window, sizeof(window), r->since_us, r->until_us);
	rc = legal_scope_value(r, value, err);
	if (!rc)
		rc = cds_ledger_open(&l, datadir, true, err);
	if (rc)
		return rc;
	e.time_us = now_us;
	e.order_id = r->order_id;
	e.scope_type = cds_legal_scope_name(r->scope);
	e.scope_value = value;
	e.window = window;
	e.record_count = res->records;
	memcpy(e.export_sha256, res->export_sha256, sizeof(e.export_sha256));
	rc = cds_ledger_append(l, &e, err);
	if (!rc)
		rc = mark(datadir, &e, err);
	if (!rc) {
		res->seq = e.seq;
		memcpy(res->entry_hash, e.entry_hash, sizeof(res->entry_hash));
	}
	cds_ledger_close(l);
	return rc;
}

/* Output: file via temporary name, or fp after the ledger entry. */
static enum cds_err emit(const char *datadir, const struct cds_legal_request *r,
			 const char *out_path, FILE *fp, int64_t now_us,
			 const struct cds_buf *buf, struct cds_legal_result *res,
			 struct cds_error *err)
{
	char *tmp = NULL;
	enum cds_err rc;

	if (out_path) {
		rc = write_tmp(out_path, buf, &tmp, err);
		if (!rc)
			rc = record(datadir, r, now_us, res, err);
		if (!rc && rename(tmp, out_path) != 0)
			rc = cds_fail(err, CDS_ERR_IO,
				      "cannot move the export to '%.200s': %s "
				      "(ledger entry %llu was written)",
				      out_path, strerror(errno),
				      (unsigned long long)res->seq);
		if (rc && tmp)
			unlink(tmp);
		free(tmp);
		return rc;
	}
	rc = record(datadir, r, now_us, res, err);
	if (!rc && (fwrite(buf->data, 1, buf->len, fp) != buf->len ||
		    fflush(fp) != 0))
		rc = cds_fail(err, CDS_ERR_IO,
			      "cannot write the export: %s (ledger entry %llu "
			      "was written)", strerror(errno),
			      (unsigned long long)res->seq);
	return rc;
}

enum cds_err cds_legal_disclose(const char *datadir,
				const struct cds_legal_request *r,
				const char *out_path, FILE *fp, int64_t now_us,
				struct cds_legal_result *res,
				struct cds_error *err)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	struct cds_buf buf;
	enum cds_err rc;

	memset(res, 0, sizeof(*res));
	cds_buf_init(&buf);
	rc = cds_legal_check(r, err);
	if (!rc)
		rc = check_datadir(datadir, err);
	if (!rc && out_path)
		rc = check_out(out_path, err);
	if (!rc && !out_path && !fp)
		rc = cds_fail(err, CDS_ERR_USAGE, "no output");
	if (!rc)
		rc = cds_legal_export(datadir, r, now_us, &buf, &res->records, err);
	if (rc)
		goto out;
	crypto_hash_sha256(h, buf.data, buf.len);
	cds_hex_encode(res->export_sha256, h, sizeof(h));
	rc = emit(datadir, r, out_path, fp, now_us, &buf, res, err);
out:
	cds_buf_fini(&buf);
	return rc;
}
