/*
 * snapshot_seed.c: a data directory's index started from another
 * replica's snapshot (snapshot.h, cds_snapshot_seed).
 *
 * Invariants:
 *  1. Nothing is written unless src is a snapshot the mirror would load:
 *     of an epoch the store serves, its public key and prefix size, intact
 *     (checksum, offsets, order), and not older than the change log's
 *     floor (mirror_epochs.c makes the same checks at start).
 *  2. The copy appears whole or not at all (temporary name, fsync,
 *     rename), mode 0600 in DIR/index (0700).
 */
#include "index/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/os.h"
#include "crypto/keys.h"
#include "store/store.h"

#define PATH_BYTES 4096
#define CHUNK_BYTES ((size_t)1 << 20)

/* The key of src's epoch among keys[0..n), and the mapped, checked index. */
static enum cds_err check_src(const char *src, const struct cds_epoch_key *keys,
			      size_t n, unsigned bits, struct cds_index **ix,
			      uint32_t *epoch, struct cds_error *err)
{
	struct cds_error e;
	uint64_t seq;

	for (size_t i = 0; i < n; i++) {
		if (cds_snapshot_seq(src, keys[i].epoch, &seq, &e) != CDS_OK)
			continue;
		*epoch = keys[i].epoch;
		return cds_snapshot_load(ix, src, keys[i].epoch, keys[i].pk, bits,
					 err);
	}
	if (access(src, R_OK) != 0)
		return cds_fail(err, CDS_ERR_NOT_FOUND, "cannot read '%s': %s", src,
				strerror(errno));
	return cds_fail(err, CDS_ERR_INVALID,
			"'%s' is not an index snapshot of an epoch this store "
			"serves (newest epoch %" PRIu32 ")", src,
			n ? keys[0].epoch : 0);
}

/* The store must still hold every change after seq. */
static enum cds_err check_floor(struct cds_store *s, const char *src,
				uint64_t seq, struct cds_error *err)
{
	uint64_t floor = 0;
	enum cds_err rc = cds_store_changes_floor(s, &floor, err);

	if (!rc && floor && seq + 1 < floor)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "'%s' reflects change %" PRIu64 ", but the change log "
			      "now starts at %" PRIu64 " (pruned): take a newer "
			      "snapshot", src, seq, floor);
	return rc;
}

static enum cds_err copy_fd(int in, int out, const char *path,
			    struct cds_error *err)
{
	char *buf = malloc(CHUNK_BYTES);
	enum cds_err rc = CDS_OK;
	ssize_t got = 0;

	if (!buf)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	while (!rc && (got = read(in, buf, CHUNK_BYTES)) > 0)
		rc = cds_write_all_sync(out, path, buf, (size_t)got, err);
	if (!rc && got < 0)
		rc = cds_fail(err, CDS_ERR_IO, "cannot read the snapshot: %s",
			      strerror(errno));
	free(buf);
	return rc;
}

/* Copy src to dst through a temporary name in dst's directory. */
static enum cds_err copy_file(const char *src, const char *dst,
			      struct cds_error *err)
{
	char tmp[PATH_BYTES + 16];
	enum cds_err rc;
	int in, out;

	snprintf(tmp, sizeof(tmp), "%s.seed-tmp", dst);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return cds_fail(err, CDS_ERR_IO, "cannot open '%s': %s", src,
				strerror(errno));
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		   0600);
	if (out < 0) {
		close(in);
		return cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", tmp,
				strerror(errno));
	}
	rc = copy_fd(in, out, tmp, err);
	close(in);
	close(out);
	if (!rc && rename(tmp, dst) != 0)
		rc = cds_fail(err, CDS_ERR_IO, "cannot rename '%s': %s", tmp,
			      strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

enum cds_err cds_snapshot_seed(const char *datadir, const char *src,
			       const struct cds_epoch_key *keys, size_t n,
			       struct cds_store *s, uint32_t *epoch,
			       uint64_t *seq, uint64_t *count,
			       struct cds_error *err)
{
	char dst[PATH_BYTES];
	struct cds_index *ix = NULL;
	unsigned bits = 0;
	enum cds_err rc;

	*epoch = 0;
	*seq = *count = 0;
	rc = cds_store_prefix_bits(s, &bits, err);
	if (!rc)
		rc = check_src(src, keys, n, bits, &ix, epoch, err);
	if (!rc) {
		*seq = cds_index_seq(ix);
		*count = cds_index_count(ix);
		rc = check_floor(s, src, *seq, err);
	}
	cds_index_free(ix);
	if (!rc && snprintf(dst, sizeof(dst), "%s/index", datadir) >=
			   (int)sizeof(dst))
		rc = cds_fail(err, CDS_ERR_INVALID, "data directory path too long");
	if (!rc && mkdir(dst, 0700) != 0 && errno != EEXIST)
		rc = cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", dst,
			      strerror(errno));
	if (!rc)
		rc = cds_snapshot_path(dst, sizeof(dst), datadir, *epoch, err);
	if (!rc)
		rc = copy_file(src, dst, err);
	return rc;
}
