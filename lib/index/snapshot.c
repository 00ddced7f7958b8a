/*
 * snapshot.c: save and map index snapshots (layout in snapshot.h).
 *
 * Invariants:
 *  1. A file at the final name is complete: it is written under a
 *     temporary name, fsynced, renamed, and the directory fsynced.
 *  2. Nothing from a file is used before its size, checksum, offsets and
 *     entry order are checked; a bad file is reported, never trusted.
 *  3. Saving reads the index in one visit under its read lock, so the file
 *     is one consistent state: entries first (hashed as they are written),
 *     offsets collected on the way and written last.
 */
#include "index/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/os.h"

#define MAGIC "CDSINDEX"
#define FORMAT_VERSION 1
#define OFF_VERSION 8
#define OFF_EPOCH 12
#define OFF_PK 16
#define OFF_BITS 48
#define OFF_COUNT 56
#define OFF_SEQ 64
#define OFF_SALT 72
#define OFF_CHECKSUM 88
#define CHECKSUM_BYTES 32
#define WBUF_BYTES ((size_t)1 << 20)

static bool little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

enum cds_err cds_snapshot_path(char *out, size_t cap, const char *datadir,
			       uint32_t epoch, struct cds_error *err)
{
	int n = snprintf(out, cap, "%s/index/epoch-%" PRIu32 ".snap", datadir,
			 epoch);

	if (n < 0 || (size_t)n >= cap)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"data directory path too long: '%s'", datadir);
	return CDS_OK;
}

/* ---- saving ---- */

struct writer {
	int fd;
	const char *path;
	uint8_t *buf;
	size_t used;
	crypto_generichash_state hash;
	uint32_t *off;
	uint64_t at;
	enum cds_err rc;
	struct cds_error *err;
};

static enum cds_err write_all(int fd, const uint8_t *p, size_t n,
			      const char *path, struct cds_error *err)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return cds_fail(err, errno == ENOSPC ? CDS_ERR_FULL :
					CDS_ERR_IO, "cannot write '%s': %s",
					path, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return CDS_OK;
}

static enum cds_err wflush(struct writer *w)
{
	enum cds_err rc = write_all(w->fd, w->buf, w->used, w->path, w->err);

	w->used = 0;
	return rc;
}

/* Buffered write that also feeds the checksum. */
static enum cds_err wput(struct writer *w, const uint8_t *p, size_t n)
{
	crypto_generichash_update(&w->hash, p, n);
	while (n > 0) {
		size_t k = WBUF_BYTES - w->used < n ? WBUF_BYTES - w->used : n;

		memcpy(w->buf + w->used, p, k);
		w->used += k;
		p += k;
		n -= k;
		if (w->used == WBUF_BYTES) {
			enum cds_err rc = wflush(w);

			if (rc)
				return rc;
		}
	}
	return CDS_OK;
}

static int write_bucket(void *ctx, uint32_t b, const uint8_t *e, size_t n)
{
	struct writer *w = ctx;

	w->off[b] = (uint32_t)w->at;
	w->at += n;
	w->rc = wput(w, e, n * CDS_ENTRY_BYTES);
	return w->rc ? 1 : 0;
}

static void header_fill(uint8_t h[CDS_SNAPSHOT_HEADER_BYTES],
			struct cds_index *ix, const uint8_t *pk,
			uint64_t count, uint64_t seq, const uint8_t *salt)
{
	memset(h, 0, CDS_SNAPSHOT_HEADER_BYTES);
	memcpy(h, MAGIC, 8);
	put32(h + OFF_VERSION, FORMAT_VERSION);
	put32(h + OFF_EPOCH, cds_index_epoch(ix));
	memcpy(h + OFF_PK, pk, CDS_OPRF_ELEMENT_BYTES);
	put32(h + OFF_BITS, cds_index_prefix_bits(ix));
	put64(h + OFF_COUNT, count);
	put64(h + OFF_SEQ, seq);
	memcpy(h + OFF_SALT, salt, CDS_INDEX_SALT_BYTES);
}

/*
 * Entries are visited before the header is known (its count and seq come
 * from the same visit), so the header is hashed last: the checksum is
 * BLAKE2b-256(entries || offsets || header with zero checksum), which the
 * loader computes the same way.
 */
static enum cds_err write_body(struct writer *w, struct cds_index *ix,
			       const uint8_t *pk)
{
	uint8_t h[CDS_SNAPSHOT_HEADER_BYTES], salt[CDS_INDEX_SALT_BYTES];
	static const uint8_t zero[CDS_INDEX_SALT_BYTES];
	uint32_t nb = cds_index_nbuckets(cds_index_prefix_bits(ix));
	uint64_t seq, count;
	enum cds_err rc;

	memset(h, 0, sizeof(h));
	rc = write_all(w->fd, h, sizeof(h), w->path, w->err);
	if (rc)
		return rc;
	if (cds_index_visit(ix, write_bucket, w, salt, &seq, &count))
		return w->rc;
	w->off[nb] = (uint32_t)w->at;
	for (uint32_t i = 0; i <= nb; i++)
		put32((uint8_t *)&w->off[i], w->off[i]);
	rc = wput(w, (const uint8_t *)w->off, ((size_t)nb + 1) * 4);
	if (!rc)
		rc = wflush(w);
	if (rc)
		return rc;
	/* Overlay buckets were written: these bytes are a new base. */
	if (sodium_memcmp(salt, zero, sizeof(salt)) == 0)
		randombytes_buf(salt, sizeof(salt));
	header_fill(h, ix, pk, count, seq, salt);
	crypto_generichash_update(&w->hash, h, sizeof(h));
	crypto_generichash_final(&w->hash, h + OFF_CHECKSUM, CHECKSUM_BYTES);
	if (pwrite(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return cds_fail(w->err, CDS_ERR_IO, "cannot write '%s': %s",
				w->path, strerror(errno));
	if (fsync(w->fd))
		return cds_fail(w->err, CDS_ERR_IO, "cannot sync '%s': %s",
				w->path, strerror(errno));
	return CDS_OK;
}

static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Close the finished temporary file and move it to its final name. */
static enum cds_err publish(struct writer *w, const char *tmp,
			    const char *path, struct cds_error *err)
{
	int fd = w->fd;

	w->fd = -1;
	if (close(fd))
		return cds_fail(err, CDS_ERR_IO, "cannot close '%s': %s", tmp,
				strerror(errno));
	if (rename(tmp, path))
		return cds_fail(err, CDS_ERR_IO,
				"cannot rename '%s' to '%s': %s", tmp, path,
				strerror(errno));
	sync_dir(path);
	return CDS_OK;
}

enum cds_err cds_snapshot_save(struct cds_index *ix, const char *path,
			       const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
			       struct cds_error *err)
{
	uint32_t nb = cds_index_nbuckets(cds_index_prefix_bits(ix));
	struct writer w = { .fd = -1, .path = path, .err = err };
	char tmp[4096];
	enum cds_err rc = CDS_OK;

	if (!little_endian())
		return cds_fail(err, CDS_ERR_INVALID,
				"index snapshots need a little-endian host");
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"snapshot path too long: '%s'", path);
	w.buf = malloc(WBUF_BYTES);
	w.off = malloc(((size_t)nb + 1) * sizeof(uint32_t));
	if (!w.buf || !w.off) {
		rc = cds_fail(err, CDS_ERR_NOMEM, "cannot buffer snapshot '%s'",
			      path);
		goto out;
	}
	crypto_generichash_init(&w.hash, NULL, 0, CHECKSUM_BYTES);
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w.fd < 0) {
		rc = cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", tmp,
			      strerror(errno));
		goto out;
	}
	w.path = tmp;
	rc = write_body(&w, ix, pk);
	if (!rc)
		rc = publish(&w, tmp, path, err);
out:
	if (w.fd >= 0)
		close(w.fd);
	if (rc)
		unlink(tmp);
	free(w.buf);
	free(w.off);
	return rc;
}

/* ---- loading ---- */

struct mapped {
	const uint8_t *p;
	size_t len;
	uint64_t count;
	uint32_t nb;
	const uint32_t *off;
	const uint8_t *entries;
};

static enum cds_err check_header(struct mapped *m, const char *path,
				 uint32_t epoch, const uint8_t *pk,
				 unsigned bits, struct cds_error *err)
{
	const uint8_t *h = m->p;

	if (m->len < CDS_SNAPSHOT_HEADER_BYTES || memcmp(h, MAGIC, 8))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' is not an index snapshot", path);
	if (get32(h + OFF_VERSION) != FORMAT_VERSION)
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': unknown snapshot format %" PRIu32, path,
				get32(h + OFF_VERSION));
	if (get32(h + OFF_EPOCH) != epoch ||
	    memcmp(h + OFF_PK, pk, CDS_OPRF_ELEMENT_BYTES))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' was made with another key than epoch %"
				PRIu32 "'s", path, epoch);
	if (get32(h + OFF_BITS) != bits)
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' has %" PRIu32 " prefix bits, the store %u",
				path, get32(h + OFF_BITS), bits);
	m->count = get64(h + OFF_COUNT);
	m->nb = cds_index_nbuckets(bits);
	if (m->count > UINT32_MAX ||
	    m->len != CDS_SNAPSHOT_HEADER_BYTES + m->count * CDS_ENTRY_BYTES +
			      ((uint64_t)m->nb + 1) * 4)
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' is truncated or has trailing bytes (%zu "
				"bytes for %" PRIu64 " entries)", path, m->len,
				m->count);
	m->entries = h + CDS_SNAPSHOT_HEADER_BYTES;
	m->off = (const uint32_t *)(m->entries + m->count * CDS_ENTRY_BYTES);
	return CDS_OK;
}

static enum cds_err check_checksum(const struct mapped *m, const char *path,
				   struct cds_error *err)
{
	crypto_generichash_state st;
	uint8_t h[CDS_SNAPSHOT_HEADER_BYTES], sum[CHECKSUM_BYTES];

	memcpy(h, m->p, sizeof(h));
	memset(h + OFF_CHECKSUM, 0, CHECKSUM_BYTES);
	crypto_generichash_init(&st, NULL, 0, CHECKSUM_BYTES);
	crypto_generichash_update(&st, m->entries,
				  m->len - CDS_SNAPSHOT_HEADER_BYTES);
	crypto_generichash_update(&st, h, sizeof(h));
	crypto_generichash_final(&st, sum, sizeof(sum));
	if (sodium_memcmp(sum, m->p + OFF_CHECKSUM, CHECKSUM_BYTES))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': checksum mismatch (corrupt snapshot)",
				path);
	return CDS_OK;
}

/* Offsets cover the entries exactly; each bucket is strictly sorted. */
static enum cds_err check_layout(const struct mapped *m, const char *path,
				 struct cds_error *err)
{
	if (m->off[0] != 0 || m->off[m->nb] != m->count)
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': bucket offsets do not span %" PRIu64
				" entries", path, m->count);
	for (uint32_t b = 0; b < m->nb; b++) {
		if (m->off[b + 1] < m->off[b])
			return cds_fail(err, CDS_ERR_INVALID,
					"'%s': bucket %" PRIu32
					" has a negative size", path, b);
		for (uint32_t i = m->off[b] + 1; i < m->off[b + 1]; i++) {
			const uint8_t *e = m->entries +
					   (size_t)i * CDS_ENTRY_BYTES;

			if (memcmp(e - CDS_ENTRY_BYTES, e, CDS_FP_BYTES) >= 0)
				return cds_fail(err, CDS_ERR_INVALID,
						"'%s': bucket %" PRIu32
						" is not sorted", path, b);
		}
	}
	return CDS_OK;
}

static enum cds_err map_file(struct mapped *m, const char *path,
			     struct cds_error *err)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND :
				CDS_ERR_IO, "cannot open '%s': %s", path,
				strerror(errno));
	if (fstat(fd, &st) || st.st_size <= 0) {
		close(fd);
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' is empty or unreadable", path);
	}
	m->len = (size_t)st.st_size;
	p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return cds_fail(err, CDS_ERR_IO, "cannot map '%s': %s", path,
				strerror(errno));
	m->p = p;
	return CDS_OK;
}

enum cds_err cds_snapshot_load(struct cds_index **out, const char *path,
			       uint32_t epoch,
			       const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
			       unsigned prefix_bits, struct cds_error *err)
{
	struct mapped m = { 0 };
	enum cds_err rc;

	*out = NULL;
	if (!little_endian())
		return cds_fail(err, CDS_ERR_INVALID,
				"index snapshots need a little-endian host");
	if (prefix_bits > CDS_PREFIX_BITS_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"prefix bits %u out of range", prefix_bits);
	rc = map_file(&m, path, err);
	if (rc)
		return rc;
	rc = check_header(&m, path, epoch, pk, prefix_bits, err);
	if (!rc)
		rc = check_checksum(&m, path, err);
	if (!rc)
		rc = check_layout(&m, path, err);
	if (rc) {
		munmap((void *)m.p, m.len);
		return rc;
	}
	return cds_index_new(out, epoch, prefix_bits, (void *)m.p, m.len,
			     m.off, m.entries, m.p + OFF_SALT,
			     get64(m.p + OFF_SEQ), err);
}

enum cds_err cds_snapshot_seq(const char *path, uint32_t epoch, uint64_t *seq,
			      struct cds_error *err)
{
	uint8_t h[CDS_SNAPSHOT_HEADER_BYTES];
	enum cds_err rc;
	size_t n;

	*seq = 0;
	if ((rc = cds_read_head(path, h, sizeof(h), &n, err)))
		return rc;
	if (n != sizeof(h) || memcmp(h, MAGIC, 8) ||
	    get32(h + OFF_VERSION) != FORMAT_VERSION ||
	    get32(h + OFF_EPOCH) != epoch)
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' is not a snapshot of epoch %" PRIu32, path,
				epoch);
	*seq = get64(h + OFF_SEQ);
	return CDS_OK;
}
