/*
 * gwkeys_write.c: creating and rotating the gateway key file (gwkeys.h).
 * The file is replaced whole: written to a temporary name in the same
 * directory, fsynced, renamed over the old one, and the directory fsynced.
 */
#include "crypto/gwkeys.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/os.h"
#include "core/timeutil.h"

enum cds_err cds_gwkeys_format(struct cds_buf *b, const struct cds_gwkey *k,
			       size_t n)
{
	char hex[2 * CDS_HPKE_SK_BYTES + 1];
	enum cds_err rc = cds_buf_appendf(b, "cds-ohttp-keys v1\n");

	for (size_t i = 0; !rc && i < n; i++) {
		cds_hex_encode(hex, k[i].key.sk, CDS_HPKE_SK_BYTES);
		rc = cds_buf_appendf(b, "key %u %" PRId64 " %" PRId64 " %s\n",
				     k[i].key.id, k[i].created_us,
				     k[i].retired_us, hex);
	}
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

static void sync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Replace the key file with keys[0..n). */
static enum cds_err write_keys(const char *datadir, const struct cds_gwkey *k,
			       size_t n, bool must_be_new,
			       struct cds_error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	struct cds_buf b;
	enum cds_err rc;
	int fd;

	rc = cds_gwkeys_path(path, datadir, err);
	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
	cds_buf_init(&b);
	if (cds_gwkeys_format(&b, k, n)) {
		cds_buf_fini(&b);
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		rc = cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND : CDS_ERR_IO,
			      "cannot create '%s': %s", tmp, strerror(errno));
	else {
		rc = cds_write_all_sync(fd, tmp, b.data, b.len, err);
		close(fd);
	}
	/* link() refuses an existing name: two first creations cannot race */
	if (!rc && must_be_new && link(tmp, path) != 0)
		rc = cds_fail(err, errno == EEXIST ? CDS_ERR_EXISTS : CDS_ERR_IO,
			      "cannot create '%s': %s", path, strerror(errno));
	else if (!rc && !must_be_new && rename(tmp, path) != 0)
		rc = cds_fail(err, CDS_ERR_IO, "cannot replace '%s': %s", path,
			      strerror(errno));
	if (fd >= 0)
		unlink(tmp);
	if (!rc)
		sync_parent(path);
	sodium_memzero(b.data, b.len);
	cds_buf_fini(&b);
	return rc;
}

void cds_gwkeys_first(struct cds_gwkey *k, int64_t now_us)
{
	memset(k, 0, sizeof(*k));
	k->key.id = 1;
	k->created_us = now_us;
	cds_hpke_generate_keypair(k->key.sk, k->key.pk);
}

static void new_key(struct cds_gwkey *k, uint8_t id, int64_t now_us)
{
	memset(k, 0, sizeof(*k));
	k->key.id = id;
	k->created_us = now_us;
	cds_hpke_generate_keypair(k->key.sk, k->key.pk);
}

enum cds_err cds_gwkeys_create(const char *datadir, struct cds_error *err)
{
	struct cds_gwkey k;
	enum cds_err rc;

	cds_gwkeys_first(&k, cds_now_us());
	rc = write_keys(datadir, &k, 1, true, err);
	sodium_memzero(&k, sizeof(k));
	return rc;
}

/* The next id after `after` that no key in k[0..n) holds. */
static uint8_t next_id(const struct cds_gwkey *k, size_t n, uint8_t after)
{
	for (unsigned step = 1; step < 256; step++) {
		uint8_t id = (uint8_t)(after + step);
		bool taken = false;

		for (size_t i = 0; i < n; i++)
			taken |= k[i].key.id == id;
		if (!taken)
			return id;
	}
	return after; /* unreachable: at most CDS_GWKEYS_MAX keys */
}

void cds_gwkeys_next(struct cds_gwkey *k, size_t *n, int64_t now_us,
		     uint8_t *id)
{
	if (*n == CDS_GWKEYS_MAX)
		(*n)--;    /* the oldest retired key goes first */
	k[0].retired_us = now_us;
	new_key(&k[*n], next_id(k, *n, k[0].key.id), now_us);
	*id = k[*n].key.id;
	(*n)++;
}

enum cds_err cds_gwkeys_rotate(const char *datadir, int64_t now_us,
			       uint8_t *id, struct cds_error *err)
{
	struct cds_gwkey k[CDS_GWKEYS_MAX + 1];
	size_t n = 0;
	enum cds_err rc;

	/* load() keeps the keys still in their grace period, current first */
	rc = cds_gwkeys_load(datadir, now_us, k, &n, err);
	if (rc)
		goto out;
	cds_gwkeys_next(k, &n, now_us, id);
	rc = write_keys(datadir, k, n, false, err);
out:
	sodium_memzero(k, sizeof(k));
	return rc;
}
