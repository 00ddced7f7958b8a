/*
 * gwkeys.c: reading, creating and rotating the gateway key file
 * (gwkeys.h, which gives the format and the invariants).
 */
#include "crypto/gwkeys.h"

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
#include "core/os.h"
#include "core/timeutil.h"

#define MAGIC "cds-ohttp-keys v1\n"
#define LINE_MAX_BYTES 160
#define FILE_MAX CDS_GWKEYS_TEXT_MAX
_Static_assert(CDS_GWKEYS_TEXT_MAX >= sizeof(MAGIC) + CDS_GWKEYS_MAX * LINE_MAX_BYTES,
	       "room for a full key set");

enum cds_err cds_gwkeys_path(char *out, const char *datadir,
			     struct cds_error *err)
{
	int n = snprintf(out, PATH_MAX, "%s/keys/ohttp-gateway.keys", datadir);

	if (n < 0 || n >= PATH_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"data directory path too long: '%s'", datadir);
	return CDS_OK;
}

/* One "key ..." line into k; false if it is malformed. */
static bool parse_line(struct cds_gwkey *k, const char *line)
{
	char hex[2 * CDS_HPKE_SK_BYTES + 2];
	unsigned id;
	long long created, retired;
	int used = 0;
	bool ok;

	ok = sscanf(line, "key %u %lld %lld %65s%n", &id, &created, &retired,
		    hex, &used) == 4 &&
	     line[used] == '\0' && id <= 255 && created > 0 && retired >= 0 &&
	     cds_hex_decode_exact(k->key.sk, CDS_HPKE_SK_BYTES, hex,
				  strlen(hex), "secret", NULL) == CDS_OK;
	sodium_memzero(hex, sizeof(hex));
	if (!ok)
		return false;
	k->key.id = (uint8_t)id;
	k->created_us = created;
	k->retired_us = retired;
	crypto_scalarmult_base(k->key.pk, k->key.sk);
	return true;
}

/* Parse the whole text: every key, exactly one current, distinct ids. */
static const char *parse_text(char *text, struct cds_gwkey *keys, size_t *n)
{
	char *save = NULL, *line;
	size_t current = 0;

	*n = 0;
	if (strncmp(text, MAGIC, sizeof(MAGIC) - 1))
		return "first line is not 'cds-ohttp-keys v1'";
	for (line = strtok_r(text + sizeof(MAGIC) - 1, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (*n == CDS_GWKEYS_MAX)
			return "too many keys";
		if (!parse_line(&keys[*n], line))
			return "a 'key' line is malformed";
		for (size_t i = 0; i < *n; i++)
			if (keys[i].key.id == keys[*n].key.id)
				return "two keys share a key id";
		current += keys[*n].retired_us == 0;
		(*n)++;
	}
	return current == 1 ? NULL : "not exactly one current key";
}

/* Read the file (type, mode and size checked) into text. */
static enum cds_err read_file(const char *path, char *text, size_t cap,
			      struct cds_error *err)
{
	struct stat st;
	enum cds_err rc = CDS_OK;
	ssize_t got = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND : CDS_ERR_IO,
				"cannot open gateway key file '%s': %s", path,
				strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_mode & 077)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "gateway key file '%s' must be a regular file of mode 0600",
			      path);
	else if ((size_t)st.st_size >= cap)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "gateway key file '%s' is too long", path);
	else if ((got = read(fd, text, cap - 1)) < 0)
		rc = cds_fail(err, CDS_ERR_IO, "cannot read '%s': %s", path,
			      strerror(errno));
	text[got > 0 ? got : 0] = '\0';
	close(fd);
	return rc;
}

static bool expired(const struct cds_gwkey *k, int64_t now_us)
{
	return k->retired_us && now_us - k->retired_us > CDS_GWKEYS_GRACE_US;
}

enum cds_err cds_gwkeys_parse(char *text, int64_t now_us,
			      struct cds_gwkey keys[CDS_GWKEYS_MAX], size_t *n,
			      const char *where, struct cds_error *err)
{
	struct cds_gwkey all[CDS_GWKEYS_MAX];
	size_t m = 0;
	const char *what = parse_text(text, all, &m);

	*n = 0;
	if (what) {
		sodium_memzero(all, sizeof(all));
		return cds_fail(err, CDS_ERR_INVALID, "%s is malformed: %s", where,
				what);
	}
	for (size_t i = 0; i < m; i++)
		if (all[i].retired_us == 0)
			keys[(*n)++] = all[i];
	for (size_t i = 0; i < m; i++)
		if (all[i].retired_us && !expired(&all[i], now_us))
			keys[(*n)++] = all[i];
	sodium_memzero(all, sizeof(all));
	return CDS_OK;
}

enum cds_err cds_gwkeys_load(const char *datadir, int64_t now_us,
			     struct cds_gwkey keys[CDS_GWKEYS_MAX], size_t *n,
			     struct cds_error *err)
{
	char path[PATH_MAX], text[FILE_MAX], where[PATH_MAX + 32];
	enum cds_err rc;

	*n = 0;
	rc = cds_gwkeys_path(path, datadir, err);
	if (!rc)
		rc = read_file(path, text, sizeof(text), err);
	if (!rc) {
		snprintf(where, sizeof(where), "gateway key file '%s'", path);
		rc = cds_gwkeys_parse(text, now_us, keys, n, where, err);
	}
	sodium_memzero(text, sizeof(text));
	return rc;
}
