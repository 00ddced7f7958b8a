/*
 * buf.c: growable byte buffer.
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cds_buf_init(struct cds_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void cds_buf_fini(struct cds_buf *b)
{
	if (!b)
		return;
	free(b->data);
	cds_buf_init(b);
}

void cds_buf_reset(struct cds_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

enum cds_err cds_buf_reserve(struct cds_buf *b, size_t n)
{
	size_t want, cap;
	uint8_t *p;

	if (n > SIZE_MAX / 2 - b->len)
		return CDS_ERR_NOMEM;
	want = b->len + n + 1;
	if (want <= b->cap)
		return CDS_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return CDS_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return CDS_OK;
}

enum cds_err cds_buf_append(struct cds_buf *b, const void *p, size_t n)
{
	if (cds_buf_reserve(b, n) != CDS_OK)
		return CDS_ERR_NOMEM;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return CDS_OK;
}

enum cds_err cds_buf_appendf(struct cds_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || cds_buf_reserve(b, (size_t)n) != CDS_OK)
		return CDS_ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return CDS_OK;
}

uint8_t *cds_buf_steal(struct cds_buf *b, size_t *len)
{
	uint8_t *p = b->data;

	if (len)
		*len = b->len;
	cds_buf_init(b);
	return p;
}
