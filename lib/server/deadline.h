/*
 * deadline.h: a total deadline for receiving each request (headers and
 * body), on top of libmicrohttpd's inactivity timeout.
 *
 * An inactivity timeout alone lets a client that sends one header byte
 * every few seconds hold a connection (and its memory) for hours.  Every
 * connection is therefore "armed" from the moment the server waits for a
 * request on it (connection opened, or the previous request finished) until
 * that request has been received whole; a watchdog thread shuts down the
 * socket of any connection armed for longer than the limit, which makes
 * libmicrohttpd see end of input and close it.
 *
 * Invariants:
 *  1. A connection's socket is shut down only while it is registered: the
 *     watchdog holds the registry lock, and libmicrohttpd reports a
 *     connection closed (MHD_CONNECTION_NOTIFY_CLOSED, which unregisters
 *     it) before it closes the descriptor, so a reused descriptor number is
 *     never touched.
 *  2. A request being answered or a reply being sent is never cut: the
 *     deadline covers receiving only.
 */
#ifndef CDS_SERVER_DEADLINE_H
#define CDS_SERVER_DEADLINE_H

#include <stdint.h>

#include "core/err.h"

struct cds_deadline;
struct cds_deadline_conn;

/* A watchdog cutting requests not received within limit_us. */
enum cds_err cds_deadline_new(struct cds_deadline **out, int64_t limit_us,
			      struct cds_error *err) CDS_MUST_CHECK;
/* Stops the watchdog and frees what is left.  Call after the HTTP daemon
 * has stopped.  NULL ok. */
void cds_deadline_free(struct cds_deadline *d);

/* A new connection on socket fd, armed; NULL if out of memory (then the
 * connection simply has no deadline beyond the inactivity timeout). */
struct cds_deadline_conn *cds_deadline_open(struct cds_deadline *d, int fd);
/* The connection is closed: unregister and free.  NULL ok. */
void cds_deadline_close(struct cds_deadline *d, struct cds_deadline_conn *c);

/* The current request has been received whole. NULL ok. */
void cds_deadline_disarm(struct cds_deadline *d, struct cds_deadline_conn *c);
/* The server waits for the next request on this connection. NULL ok. */
void cds_deadline_rearm(struct cds_deadline *d, struct cds_deadline_conn *c);

/* Connections cut so far (for /metrics). */
uint64_t cds_deadline_cuts(struct cds_deadline *d);

#endif
