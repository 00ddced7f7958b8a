/*
 * err.c: error names and the message helpers of err.h.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {
	[CDS_OK] = "ok",
	[CDS_ERR_NOMEM] = "out_of_memory",
	[CDS_ERR_INVALID] = "invalid",
	[CDS_ERR_IO] = "io",
	[CDS_ERR_STORE] = "store",
	[CDS_ERR_NOT_FOUND] = "not_found",
	[CDS_ERR_EXISTS] = "exists",
	[CDS_ERR_CRYPTO] = "crypto",
	[CDS_ERR_EPOCH] = "epoch",
	[CDS_ERR_AUTH] = "unauthorized",
	[CDS_ERR_RATE] = "rate_limited",
	[CDS_ERR_TOO_LARGE] = "too_large",
	[CDS_ERR_NET] = "network",
	[CDS_ERR_PROTO] = "protocol",
	[CDS_ERR_BUSY] = "busy",
	[CDS_ERR_FULL] = "disk_full",
	[CDS_ERR_INTERNAL] = "internal",
	[CDS_ERR_USAGE] = "usage",
	[CDS_ERR_DISABLED] = "disabled",
};

const char *cds_strerror(enum cds_err code)
{
	if ((unsigned)code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	return "unknown";
}

void cds_error_clear(struct cds_error *err)
{
	if (!err)
		return;
	err->code = CDS_OK;
	err->index = -1;
	err->msg[0] = '\0';
}

static enum cds_err vfail(struct cds_error *err, enum cds_err code, long index,
			  const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	err->index = index;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

enum cds_err cds_fail(struct cds_error *err, enum cds_err code,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, code, -1, fmt, ap);
	va_end(ap);
	return code;
}

enum cds_err cds_fail_at(struct cds_error *err, enum cds_err code, long index,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, code, index, fmt, ap);
	va_end(ap);
	return code;
}
