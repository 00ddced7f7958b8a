/*
 * storepool.h: a few store connections shared by the HTTP worker threads.
 *
 * A struct cds_store is one connection and must not be used by two threads
 * at once (store.h).  The accounts API and the admin check borrow one from
 * this pool and give it back; connections are opened on first need, up to
 * the pool's size, and a borrower waits when all are out.
 */
#ifndef CDS_SERVER_STOREPOOL_H
#define CDS_SERVER_STOREPOOL_H

#include <stddef.h>

#include "core/err.h"
#include "store/store.h"

struct cds_storepool;

/* size >= 1 connections on datadir (none opened yet). */
enum cds_err cds_storepool_new(struct cds_storepool **out,
			       const char *datadir, size_t size,
			       struct cds_error *err) CDS_MUST_CHECK;

/* Close every connection.  No connection may be out.  Accepts NULL. */
void cds_storepool_free(struct cds_storepool *p);

/* Borrow a connection (opening one if needed); give it back with _put. */
enum cds_err cds_storepool_get(struct cds_storepool *p, struct cds_store **s,
			       struct cds_error *err) CDS_MUST_CHECK;
void cds_storepool_put(struct cds_storepool *p, struct cds_store *s);

#endif
