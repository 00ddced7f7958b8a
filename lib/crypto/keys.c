/*
 * keys.c: OPRF key epochs on disk (keys.h).
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
#include "crypto/keys.h"

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

#define MAGIC "cds-oprf-key v1"
#define FILE_MAX 512 /* a key file is about 130 bytes */

static enum cds_err path_of(char out[PATH_MAX], const char *datadir,
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

/*
 * The epochs present in DIR/keys, newest first, in a new array (*n may be
 * 0).  CDS_ERR_NOT_FOUND if DIR/keys does not exist.
 */
static enum cds_err list_epochs(const char *datadir, uint32_t **out, size_t *n,
				struct cds_error *err)
{
	char dir[PATH_MAX];
	uint32_t *v = NULL, e;
	size_t cap = 0;
	struct dirent *d;
	DIR *dh;

	*out = NULL;
	*n = 0;
	if (path_of(dir, datadir, 0, err))
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
			uint32_t *p = realloc(v, (cap = cap ? 2 * cap : 8) * sizeof(*v));
			if (!p) {
				closedir(dh);
				free(v);
				*n = 0;
				return cds_fail(err, CDS_ERR_NOMEM, "out of memory listing keys");
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

static enum cds_err write_sync(int fd, const char *path, const char *p,
			       size_t n, struct cds_error *err)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return cds_fail(err, errno == ENOSPC ? CDS_ERR_FULL : CDS_ERR_IO,
					"cannot write '%s': %s", path, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	if (fsync(fd) != 0)
		return cds_fail(err, CDS_ERR_IO, "cannot sync '%s': %s", path,
				strerror(errno));
	return CDS_OK;
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
	rc = write_sync(fd, tmp, text, len, err);
	if (close(fd) != 0 && !rc)
		rc = cds_fail(err, CDS_ERR_IO, "cannot close '%s': %s", tmp,
			      strerror(errno));
	if (!rc && link(tmp, path) != 0)
		rc = cds_fail(err, errno == EEXIST ? CDS_ERR_EXISTS : CDS_ERR_IO,
			      "cannot create '%s': %s", path, strerror(errno));
	unlink(tmp);
	return rc;
}

/* Draw a new secret and write it as the key of `epoch`. */
static enum cds_err write_key(const char *datadir, uint32_t epoch,
			      struct cds_error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32], text[256];
	char hex[2 * CDS_OPRF_SCALAR_BYTES + 1];
	uint8_t sk[CDS_OPRF_SCALAR_BYTES];
	enum cds_err rc;
	int n;

	rc = path_of(path, datadir, epoch, err);
	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
	crypto_core_ristretto255_scalar_random(sk); /* never zero */
	cds_hex_encode(hex, sk, sizeof(sk));
	n = snprintf(text, sizeof(text),
		     MAGIC "\nepoch %" PRIu32 "\ncreated_us %" PRId64 "\nsecret %s\n",
		     epoch, cds_now_us(), hex);
	rc = publish(tmp, path, text, (size_t)n, err);
	if (!rc) {
		path_of(path, datadir, 0, NULL);
		sync_dir(path);
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(text, sizeof(text));
	return rc;
}

enum cds_err cds_keys_init(const char *datadir, struct cds_error *err)
{
	char dir[PATH_MAX];
	uint32_t *epochs = NULL;
	size_t n = 0;
	enum cds_err rc;

	rc = path_of(dir, datadir, 0, err);
	if (rc)
		return rc;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", dir,
				strerror(errno));
	/* An existing directory may have been made by hand: tighten it. */
	if (chmod(dir, 0700) != 0)
		return cds_fail(err, CDS_ERR_IO, "cannot chmod '%s': %s", dir,
				strerror(errno));
	rc = list_epochs(datadir, &epochs, &n, err);
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

	rc = list_epochs(datadir, &epochs, &n, err);
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

/*
 * Match one line "name value\n" at *p; on success *p moves past it and
 * val/len give the value.  0 if the line is not there or malformed.
 */
static int field(const char **p, const char *name, const char **val,
		 size_t *len)
{
	size_t n = strlen(name);
	const char *nl;

	if (strncmp(*p, name, n) != 0 || (*p)[n] != ' ')
		return 0;
	*val = *p + n + 1;
	nl = strchr(*val, '\n');
	if (!nl || nl == *val)
		return 0;
	*len = (size_t)(nl - *val);
	*p = nl + 1;
	return 1;
}

static int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return 0;
	*out = v;
	return 1;
}

/* The scalar must be reduced (< group order) and non-zero. */
static int scalar_ok(const uint8_t sk[static CDS_OPRF_SCALAR_BYTES])
{
	uint8_t wide[64] = {0}, red[CDS_OPRF_SCALAR_BYTES];
	int ok;

	memcpy(wide, sk, CDS_OPRF_SCALAR_BYTES);
	crypto_core_ristretto255_scalar_reduce(red, wide);
	ok = sodium_memcmp(red, sk, sizeof(red)) == 0 &&
	     !sodium_is_zero(sk, CDS_OPRF_SCALAR_BYTES);
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(red, sizeof(red));
	return ok;
}

static enum cds_err parse_key(struct cds_epoch_key *k, const char *text,
			      const char *path, uint32_t want,
			      struct cds_error *err)
{
	const char *p = text, *v;
	const char *what = NULL;
	uint64_t epoch = 0, created = 0;
	size_t len = 0;

	if (strncmp(p, MAGIC "\n", sizeof(MAGIC)) != 0)
		what = "first line is not '" MAGIC "'";
	else if (p += sizeof(MAGIC), !field(&p, "epoch", &v, &len) ||
		 !parse_u64(v, len, UINT32_MAX, &epoch))
		what = "no valid 'epoch' line";
	else if (epoch != want)
		what = "its epoch line does not match its file name";
	else if (!field(&p, "created_us", &v, &len) ||
		 !parse_u64(v, len, INT64_MAX, &created))
		what = "no valid 'created_us' line";
	else if (!field(&p, "secret", &v, &len) ||
		 cds_hex_decode_exact(k->sk, sizeof(k->sk), v, len, "secret",
				      NULL) != CDS_OK)
		what = "no valid 'secret' line (64 hex digits)";
	else if (*p != '\0')
		what = "text after the 'secret' line";
	else if (!scalar_ok(k->sk) ||
		 crypto_scalarmult_ristretto255_base(k->pk, k->sk) != 0)
		what = "the secret is not a valid non-zero scalar";
	if (what) {
		sodium_memzero(k, sizeof(*k));
		return cds_fail(err, CDS_ERR_INVALID, "key file '%s' is malformed: %s",
				path, what);
	}
	k->epoch = (uint32_t)epoch;
	k->created_us = (int64_t)created;
	return CDS_OK;
}

/* Read a key file into text (NUL-terminated), checking type and mode. */
static enum cds_err read_key_file(const char *path, char text[FILE_MAX + 1],
				  struct cds_error *err)
{
	struct stat st;
	enum cds_err rc = CDS_OK;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cds_fail(err, errno == ENOENT   ? CDS_ERR_NOT_FOUND
				     : errno == ELOOP ? CDS_ERR_INVALID
						      : CDS_ERR_IO,
				"cannot open key file '%s': %s", path,
				errno == ELOOP ? "it is a symbolic link"
					       : strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "key file '%s' is not a regular file", path);
	else if (st.st_mode & 077)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "key file '%s' has mode %04o; it must be readable by "
			      "its owner only (chmod 600)",
			      path, (unsigned)(st.st_mode & 07777));
	else if (st.st_size > FILE_MAX)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "key file '%s' is malformed: %lld bytes is too long",
			      path, (long long)st.st_size);
	if (!rc) {
		n = read(fd, text, FILE_MAX);
		if (n < 0)
			rc = cds_fail(err, CDS_ERR_IO, "cannot read '%s': %s", path,
				      strerror(errno));
		else
			text[n] = '\0';
	}
	close(fd);
	return rc;
}

static enum cds_err load_one(const char *datadir, uint32_t epoch,
			     struct cds_epoch_key *k, struct cds_error *err)
{
	char path[PATH_MAX], text[FILE_MAX + 1];
	enum cds_err rc;

	rc = path_of(path, datadir, epoch, err);
	if (!rc)
		rc = read_key_file(path, text, err);
	if (!rc && strlen(text) == 0)
		rc = cds_fail(err, CDS_ERR_INVALID, "key file '%s' is empty", path);
	if (!rc)
		rc = parse_key(k, text, path, epoch, err);
	sodium_memzero(text, sizeof(text));
	return rc;
}

void cds_keys_free(struct cds_epoch_key *keys, size_t n)
{
	if (!keys)
		return;
	sodium_memzero(keys, n * sizeof(*keys));
	free(keys);
}

enum cds_err cds_keys_load(const char *datadir, struct cds_epoch_key **keys,
			   size_t *n, struct cds_error *err)
{
	struct cds_epoch_key *k = NULL;
	uint32_t *epochs = NULL;
	size_t count = 0;
	enum cds_err rc;

	*keys = NULL;
	*n = 0;
	rc = list_epochs(datadir, &epochs, &count, err);
	if (!rc && count == 0)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND,
			      "no OPRF key in '%s/keys' (run 'cdsctl init')", datadir);
	if (!rc && !(k = calloc(count, sizeof(*k))))
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory loading keys");
	for (size_t i = 0; !rc && i < count; i++)
		rc = load_one(datadir, epochs[i], &k[i], err);
	free(epochs);
	if (rc) {
		cds_keys_free(k, count);
		return rc;
	}
	*keys = k;
	*n = count;
	return CDS_OK;
}

/* Overwrite the file's bytes with zeros and push them to the disk. */
static enum cds_err overwrite(const char *path, struct cds_error *err)
{
	char zeros[FILE_MAX] = {0};
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
		rc = write_sync(fd, path, zeros,
				st.st_size < FILE_MAX ? (size_t)st.st_size : FILE_MAX,
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

	rc = list_epochs(datadir, &epochs, &n, err);
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
		rc = path_of(path, datadir, epoch, err);
	if (!rc)
		rc = overwrite(path, err);
	if (!rc && unlink(path) != 0)
		rc = cds_fail(err, CDS_ERR_IO, "cannot remove '%s': %s", path,
			      strerror(errno));
	if (!rc) {
		path_of(path, datadir, 0, NULL);
		sync_dir(path);
	}
	return rc;
}
