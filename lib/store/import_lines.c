/*
 * import_lines.c: the account lines of an import file, read with pread.
 *
 * The check pass and the feed thread read the same open file at the same
 * time; pread gives each its own position where a FILE's or a descriptor's
 * would be shared.
 *
 * Invariants: a line is returned whole however long it is (the buffer
 * grows, as getline's does; the parser then rejects it by its length);
 * lineno counts every line of the file, blank or header included, so
 * messages name the line an editor shows; off is where the returned line
 * starts.
 */
#include "store/import_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BYTES (256u << 10)

void cds_import_lines_init(struct cds_import_lines *l, int fd, const char *name)
{
	*l = (struct cds_import_lines){.fd = fd, .name = name};
}

void cds_import_lines_fini(struct cds_import_lines *l)
{
	free(l->buf);
	l->buf = NULL;
}

/* Make room for READ_BYTES more after buf[end]: move the rest down, or grow. */
static int room(struct cds_import_lines *l)
{
	size_t keep = l->end - l->start;
	char *p;

	if (keep && l->start)
		memmove(l->buf, l->buf + l->start, keep);
	l->start = 0;
	l->end = keep;
	if (l->cap - keep >= READ_BYTES)
		return 0;
	p = realloc(l->buf, keep + READ_BYTES);
	if (!p)
		return -1;
	l->buf = p;
	l->cap = keep + READ_BYTES;
	return 0;
}

/* Read more of the file after buf[end]: 0 (eof set at the end), or -1. */
static int fill(struct cds_import_lines *l, struct cds_error *err)
{
	ssize_t n;

	if (room(l) != 0) {
		cds_fail(err, CDS_ERR_NOMEM, "out of memory reading '%s'", l->name);
		return -1;
	}
	do
		n = pread(l->fd, l->buf + l->end, l->cap - l->end, (off_t)l->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		cds_fail(err, CDS_ERR_IO, "cannot read '%s': %s", l->name,
			 strerror(errno));
		return -1;
	}
	l->end += (size_t)n;
	l->pos += (uint64_t)n;
	l->eof = n == 0;
	return 0;
}

/* The next '\n' in the buffer, if any (none before the first fill). */
static char *next_newline(const struct cds_import_lines *l)
{
	if (l->end == l->start)
		return NULL;
	return memchr(l->buf + l->start, '\n', l->end - l->start);
}

/* The next line of the file, any line: 1, 0 at the end, -1 on error. */
static int raw_line(struct cds_import_lines *l, const char **line, size_t *len,
		    struct cds_error *err)
{
	char *nl;

	while (!(nl = next_newline(l))) {
		if (l->eof && l->start == l->end)
			return 0;
		if (l->eof)
			break; /* the last line has no '\n' */
		if (fill(l, err) != 0)
			return -1;
	}
	*line = l->buf + l->start;
	*len = nl ? (size_t)(nl - *line) : l->end - l->start;
	l->off = l->pos - (l->end - l->start);
	l->start += *len + (nl != NULL);
	l->lineno++;
	return 1;
}

static bool is_header(const char *s, size_t n)
{
	static const char *const headers[] = {"handle,identity_key",
					      "handle,identity_key_b64"};

	if (n && s[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (n == strlen(headers[i]) && memcmp(s, headers[i], n) == 0)
			return true;
	return false;
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

int cds_import_lines_next(struct cds_import_lines *l, const char **line,
			  size_t *len, struct cds_error *err)
{
	int got;

	while ((got = raw_line(l, line, len, err)) > 0)
		if (!is_blank(*line, *len) &&
		    !(l->lineno == 1 && is_header(*line, *len)))
			break;
	return got;
}

enum cds_err cds_import_lines_reparse(const struct cds_import_lines *l,
				      uint64_t off,
				      struct cds_import_record *rec,
				      struct cds_error *err)
{
	/* A line that parsed has at most CDS_IMPORT_LINE_MAX bytes and "\r\n". */
	char buf[CDS_IMPORT_LINE_MAX + 2];
	ssize_t n;
	char *nl;

	do
		n = pread(l->fd, buf, sizeof(buf), (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cds_fail(err, CDS_ERR_IO, "cannot re-read '%s': %s", l->name,
				strerror(errno));
	nl = memchr(buf, '\n', (size_t)n);
	if (nl)
		n = nl - buf;
	if (cds_import_parse_line(rec, buf, (size_t)n, NULL) != CDS_OK)
		return cds_fail(err, CDS_ERR_IO,
				"'%s' changed while it was being imported", l->name);
	return CDS_OK;
}
