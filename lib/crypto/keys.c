/*
 * keys.c: OPRF key epochs on disk (keys.h): the directory, and writing,
 * rotating and destroying keys.  Reading them is keys_load.c.
 *
 * DIR/keys (0700) holds one file per epoch, epoch-<N>.key (0600):
 *
 *     cds-oprf-key v1
 *     epoch <N>
 *     created_us <microseconds since the Unix epoch>
 *     secret <64 lower-case hex digits: the scalar, little-endian>
 *
 * Invariants:
 *  1. A key file appears complete or not at all: it is written to a
 *     temporary name, fsynced, then link()ed to its final name (link, unlike
 *     rename, fails if the name exists, so two rotations cannot both claim
 *     one epoch), and the directory is fsynced.
 *  2. Epoch numbers only grow: a new epoch is newest + 1, and the newest key
 *     cannot be destroyed (its number would be handed out again).
 *  3. A key file is loaded only if it is a regular file (not a symlink), no
 *     one but its owner may read it, its epoch line matches its name and its
 *     secret is a canonical non-zero scalar.  Anything else is refused with
 *     a message naming the file.
 *  4. Every buffer that held a secret is wiped on every path.
 */
#include "core/os.h"
#include "crypto/keys_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/timeutil.h"

enum cds_err cds_keys_path(char out[PATH_MAX], const char *datadir,
			   uint32_t epoch, struct cds_error *err)
{
	int n = epoch ? snprintf(out, PATH_MAX, "%s/keys/epoch-%" PRIu32 ".key",
				 datadir, epoch)
		      : snprintf(out, PATH_MAX, "%s/keys", datadir);

	if (n < 0 || n >= PATH_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"data directory path too long: '%s'", datadir);
	return CDS_OK;
}

/* The epoch named by a directory entry "epoch-<N>.key", or 0. */
static uint32_t epoch_of_name(const char *name)
{
	const char *p = name + 6;
	uint64_t v = 0;
	size_t digits = 0;

	if (strncmp(name, "epoch-", 6) != 0 || *p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9' && digits < 11; p++, digits++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (strcmp(p, ".key") != 0 || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

static int epoch_desc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

enum cds_err cds_keys_list(const char *datadir, uint32_t **out, size_t *n,
			   struct cds_error *err)
{
	char dir[PATH_MAX];
	uint32_t *v = NULL, e;
	size_t cap = 0;
	struct dirent *d;
	DIR *dh;

	*out = NULL;
	*n = 0;
	if (cds_keys_path(dir, datadir, 0, err))
		return CDS_ERR_INVALID;
	dh = opendir(dir);
	if (!dh)
		return cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND : CDS_ERR_IO,
				"cannot open key directory '%s': %s%s", dir,
				strerror(errno),
				errno == ENOENT ? " (run 'cdsctl init')" : "");
	while ((d = readdir(dh)) != NULL) {
		if (!(e = epoch_of_name(d->d_name)))
			continue;
		if (*n == cap) {
			uint32_t *p;

			cap = cap ? 2 * cap : 8;
			p = realloc(v, cap * sizeof(*v));
			if (!p) {
				closedir(dh);
				free(v);
				*n = 0;
				return cds_fail(err, CDS_ERR_NOMEM,
						"out of memory listing keys");
			}
			v = p;
		}
		v[(*n)++] = e;
	}
	closedir(dh);
	if (*n)
		qsort(v, *n, sizeof(*v), epoch_desc);
	*out = v;
	return CDS_OK;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Write text to tmp (0600), then publish it as path without overwriting. */
static enum cds_err publish(const char *tmp, const char *path,
			    const char *text, size_t len,
			    struct cds_error *err)
{
	enum cds_err rc;
	int fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", tmp,
				strerror(errno));
	rc = cds_write_all_sync(fd, tmp, text, len, err);
	if (close(fd) != 0 && !rc)
		rc = cds_fail(err, CDS_ERR_IO, "cannot close '%s': %s", tmp,
			      strerror(errno));
	if (!rc && link(tmp, path) != 0)
		rc = cds_fail(err, errno == EEXIST ? CDS_ERR_EXISTS : CDS_ERR_IO,
			      "cannot create '%s': %s", path, strerror(errno));
	unlink(tmp);
	return rc;
}

void cds_keys_text_new(char text[static CDS_KEYS_TEXT_MAX], size_t *len,
		       uint32_t epoch, int64_t created_us)
{
	char hex[2 * CDS_OPRF_SCALAR_BYTES + 1];
	uint8_t sk[CDS_OPRF_SCALAR_BYTES];
	int n;

	crypto_core_ristretto255_scalar_random(sk); /* never zero */
	cds_hex_encode(hex, sk, sizeof(sk));
	n = snprintf(text, CDS_KEYS_TEXT_MAX,
		     CDS_KEYS_MAGIC "\nepoch %" PRIu32 "\ncreated_us %" PRId64
				    "\nsecret %s\n",
		     epoch, created_us, hex);
	*len = (size_t)n;
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(hex, sizeof(hex));
}

/* Draw a new secret and write it as the key of `epoch`. */
static enum cds_err write_key(const char *datadir, uint32_t epoch,
			      struct cds_error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32], text[CDS_KEYS_TEXT_MAX];
	enum cds_err rc;
	size_t n = 0;

	rc = cds_keys_path(path, datadir, epoch, err);
	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
	cds_keys_text_new(text, &n, epoch, cds_now_us());
	rc = publish(tmp, path, text, n, err);
	if (!rc) {
		cds_keys_path(path, datadir, 0, NULL);
		sync_dir(path);
	}
	sodium_memzero(text, sizeof(text));
	return rc;
}

enum cds_err cds_keys_init(const char *datadir, struct cds_error *err)
{
	char dir[PATH_MAX];
	uint32_t *epochs = NULL;
	size_t n = 0;
	enum cds_err rc;

	rc = cds_keys_path(dir, datadir, 0, err);
	if (rc)
		return rc;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", dir,
				strerror(errno));
	/* An existing directory may have been made by hand: tighten it. */
	if (chmod(dir, 0700) != 0)
		return cds_fail(err, CDS_ERR_IO, "cannot chmod '%s': %s", dir,
				strerror(errno));
	rc = cds_keys_list(datadir, &epochs, &n, err);
	if (!rc && n)
		rc = cds_fail(err, CDS_ERR_EXISTS,
			      "'%s' already holds OPRF keys (newest epoch %" PRIu32 ")",
			      dir, epochs[0]);
	free(epochs);
	if (!rc)
		rc = write_key(datadir, 1, err);
	return rc;
}

enum cds_err cds_keys_rotate(const char *datadir, uint32_t *epoch,
			     struct cds_error *err)
{
	uint32_t *epochs = NULL;
	size_t n = 0;
	enum cds_err rc;

	rc = cds_keys_list(datadir, &epochs, &n, err);
	if (!rc && n == 0)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND,
			      "no OPRF key in '%s/keys' to rotate (run 'cdsctl init')",
			      datadir);
	if (!rc && epochs[0] == UINT32_MAX)
		rc = cds_fail(err, CDS_ERR_INVALID, "epoch numbers are exhausted");
	if (!rc) {
		*epoch = epochs[0] + 1;
		rc = write_key(datadir, *epoch, err);
	}
	free(epochs);
	return rc;
}

/* Overwrite the file's bytes with zeros and push them to the disk. */
static enum cds_err overwrite(const char *path, struct cds_error *err)
{
	char zeros[CDS_KEYS_FILE_MAX] = {0};
	struct stat st;
	enum cds_err rc;
	int fd;

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND : CDS_ERR_IO,
				"cannot open key file '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "key file '%s' is not a regular file", path);
	else
		rc = cds_write_all_sync(fd, path, zeros,
				st.st_size < CDS_KEYS_FILE_MAX ? (size_t)st.st_size
							       : CDS_KEYS_FILE_MAX,
				err);
	close(fd);
	return rc;
}

enum cds_err cds_keys_destroy(const char *datadir, uint32_t epoch,
			      struct cds_error *err)
{
	char path[PATH_MAX];
	uint32_t *epochs = NULL;
	size_t n = 0, i;
	enum cds_err rc;

	rc = cds_keys_list(datadir, &epochs, &n, err);
	for (i = 0; !rc && i < n && epochs[i] != epoch; i++)
		;
	if (!rc && i == n)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND, "no key of epoch %" PRIu32
			      " in '%s/keys'", epoch, datadir);
	else if (!rc && i == 0)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "epoch %" PRIu32 " is the newest key and cannot be "
			      "destroyed (rotate first)", epoch);
	free(epochs);
	if (!rc)
		rc = cds_keys_path(path, datadir, epoch, err);
	if (!rc)
		rc = overwrite(path, err);
	if (!rc && unlink(path) != 0)
		rc = cds_fail(err, CDS_ERR_IO, "cannot remove '%s': %s", path,
			      strerror(errno));
	if (!rc) {
		cds_keys_path(path, datadir, 0, NULL);
		sync_dir(path);
	}
	return rc;
}
