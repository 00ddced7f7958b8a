/*
 * keys_load.c: reading OPRF key files back (keys.h, format in keys.c).
 *
 * Invariant: a key is loaded only if its file is a regular file (not a
 * symlink) that only its owner can read, its epoch line matches its name
 * and its secret is a canonical non-zero scalar; anything else is refused
 * with a message naming the file.  Buffers that held a secret are wiped.
 */
#include "crypto/keys_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/secrets.h"
#include "crypto/dleq.h"

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
	return cds_scalar_is_canonical(sk) &&
	       !sodium_is_zero(sk, CDS_OPRF_SCALAR_BYTES);
}

enum cds_err cds_keys_parse(struct cds_epoch_key *k, const char *text,
			    const char *where, uint32_t want,
			    struct cds_error *err)
{
	const char *p = text, *v;
	const char *what = NULL;
	uint64_t epoch = 0, created = 0;
	size_t len = 0;

	if (strncmp(p, CDS_KEYS_MAGIC "\n", sizeof(CDS_KEYS_MAGIC)) != 0)
		what = "first line is not '" CDS_KEYS_MAGIC "'";
	else if (p += sizeof(CDS_KEYS_MAGIC), !field(&p, "epoch", &v, &len) ||
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
		return cds_fail(err, CDS_ERR_INVALID, "%s is malformed: %s",
				where, what);
	}
	k->epoch = (uint32_t)epoch;
	k->created_us = (int64_t)created;
	return CDS_OK;
}

/* Read a key file into text (NUL-terminated), checking type and mode. */
static enum cds_err read_key_file(const char *path,
				  char text[CDS_KEYS_FILE_MAX + 1],
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
	else if (st.st_size > CDS_KEYS_FILE_MAX)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "key file '%s' is malformed: %lld bytes is too long",
			      path, (long long)st.st_size);
	if (!rc) {
		n = read(fd, text, CDS_KEYS_FILE_MAX);
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
	char path[PATH_MAX], text[CDS_KEYS_FILE_MAX + 1];
	char where[PATH_MAX + 16];
	enum cds_err rc;

	rc = cds_keys_path(path, datadir, epoch, err);
	snprintf(where, sizeof(where), "key file '%s'", path);
	if (!rc)
		rc = read_key_file(path, text, err);
	if (!rc && strlen(text) == 0)
		rc = cds_fail(err, CDS_ERR_INVALID, "key file '%s' is empty", path);
	if (!rc)
		rc = cds_keys_parse(k, text, where, epoch, err);
	sodium_memzero(text, sizeof(text));
	return rc;
}

void cds_keys_free(struct cds_epoch_key *keys, size_t n)
{
	if (!keys)
		return;
	cds_secret_free(keys, n * sizeof(*keys)); /* wipes */
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
	rc = cds_keys_list(datadir, &epochs, &count, err);
	if (!rc && count == 0)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND,
			      "no OPRF key in '%s/keys' (run 'cdsctl init')", datadir);
	/* Locked memory: these are the OPRF secret keys (core/secrets.h). */
	if (!rc && count > SIZE_MAX / sizeof(*k))
		rc = cds_fail(err, CDS_ERR_NOMEM, "too many key files");
	if (!rc && !(k = cds_secret_alloc(count * sizeof(*k))))
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
