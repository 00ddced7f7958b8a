/*
 * reply.h: one HTTP reply under construction.  Handlers fill a struct
 * cds_reply; daemon.c logs it, counts it and hands it to libmicrohttpd.
 *
 * Invariants:
 *  1. A reply always has a status and, unless it is 204/304 or HEAD, a body.
 *  2. Every error body has the one shape of DESIGN.md:
 *     {"error":{"code":"...","message":"...","index":I?}} (plus "epoch" for
 *     409 epoch errors), with Content-Type application/json.
 *  3. Messages for 5xx errors never carry internal details to the client:
 *     those go to the daemon's stderr.
 */
#ifndef CDS_SERVER_REPLY_H
#define CDS_SERVER_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

#define CDS_REPLY_MAX_HEADERS 6
#define CDS_REPLY_HEADER_BYTES 128

struct cds_reply_header {
	const char *name;                 /* static string */
	char value[CDS_REPLY_HEADER_BYTES];
	char *big;                        /* malloc'd, owned; NULL: value */
};

struct cds_reply {
	unsigned status;
	const char *content_type;         /* static string */
	char *body;                       /* malloc'd, owned */
	size_t len;
	struct cds_reply_header hdr[CDS_REPLY_MAX_HEADERS];
	size_t n_hdr;
	bool secret;                      /* wipe the body when sent (tokens) */
};

void cds_reply_init(struct cds_reply *r);
void cds_reply_fini(struct cds_reply *r);  /* frees the body; accepts zeroed */

/* Hand the body to the caller (MHD frees it); the reply keeps no body. */
char *cds_reply_take_body(struct cds_reply *r, size_t *len);

/* Add a header (the value is copied, truncated to fit). */
void cds_reply_header(struct cds_reply *r, const char *name, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/*
 * Add a header whose value may be long (an inclusion proof in base64:
 * 1,024 characters at 24 prefix bits), copied whole; on allocation failure
 * the reply becomes a 503.
 */
void cds_reply_header_long(struct cds_reply *r, const char *name,
			   const char *value);

/* A header's value, whichever way it was added. */
const char *cds_reply_header_value(const struct cds_reply_header *h);

/*
 * Serialise `doc` (reference stolen, may be NULL after a failed build) as
 * the body with the given status.  On allocation failure the reply becomes
 * a 503.
 */
void cds_reply_json(struct cds_reply *r, unsigned status, json_t *doc);

/* Take over a malloc'd body of another type (e.g. octet-stream). */
void cds_reply_raw(struct cds_reply *r, unsigned status, const char *ctype,
		   uint8_t *body, size_t len);

/*
 * An error reply: status, stable code, message, and index >= 0 for the
 * offending batch item (-1 for none).
 */
void cds_reply_error(struct cds_reply *r, unsigned status, const char *code,
		     long index, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* 409 epoch: the message names the current epoch, "epoch" field too. */
void cds_reply_epoch(struct cds_reply *r, uint32_t asked, uint32_t current);

/*
 * Map a library error to its status and code (table in reply.c) and reply
 * with err's message and index.  5xx errors are logged with their detail
 * and answered with a generic message.
 */
void cds_reply_from_err(struct cds_reply *r, const struct cds_error *err);

/* Status for a library error code (400 for invalid, 409 for exists...). */
unsigned cds_reply_status_of(enum cds_err code);

#endif
