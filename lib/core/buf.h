/*
 * buf.h: a growable byte buffer, caller-owned (cds_buf_init/cds_buf_fini).
 *
 * Invariant: data[len] == '\0' whenever data != NULL, so a buffer filled with
 * text is always a C string as well.
 */
#ifndef CDS_CORE_BUF_H
#define CDS_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct cds_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void cds_buf_init(struct cds_buf *b);
void cds_buf_fini(struct cds_buf *b); /* frees; accepts a zeroed buffer */
void cds_buf_reset(struct cds_buf *b); /* len = 0, keeps memory */

/* Make room for n more bytes.  CDS_ERR_NOMEM on failure. */
enum cds_err cds_buf_reserve(struct cds_buf *b, size_t n) CDS_MUST_CHECK;
enum cds_err cds_buf_append(struct cds_buf *b, const void *p,
			    size_t n) CDS_MUST_CHECK;
enum cds_err cds_buf_appendf(struct cds_buf *b, const char *fmt, ...)
	CDS_MUST_CHECK __attribute__((format(printf, 2, 3)));

/* Hand the bytes to the caller (who frees them with free()); b is reset. */
uint8_t *cds_buf_steal(struct cds_buf *b, size_t *len);

#endif
