/*
 * os.h: small POSIX helpers that several layers need in the same form.
 */
#ifndef CDS_CORE_OS_H
#define CDS_CORE_OS_H

#include <pthread.h>
#include <stddef.h>

#include "err.h"

/*
 * Write all of p[0..n) to fd (retrying short writes and EINTR), then fsync.
 * CDS_ERR_FULL when the disk is full, CDS_ERR_IO otherwise; the message
 * names path.
 */
enum cds_err cds_write_all_sync(int fd, const char *path, const void *p,
				size_t n, struct cds_error *err) CDS_MUST_CHECK;

/*
 * Read the first bytes of the file at path into buf (at most cap) with
 * one read; *n gets how many.  CDS_ERR_NOT_FOUND if there is no such file,
 * CDS_ERR_IO otherwise; the message names path.  For small files read
 * whole (tokens, keys) or a fixed header.
 */
enum cds_err cds_read_head(const char *path, void *buf, size_t cap, size_t *n,
			   struct cds_error *err) CDS_MUST_CHECK;

/*
 * Initialise a rwlock that prefers writers, so that one updater is not
 * starved by a steady stream of readers.  0 on success, -1 on failure.
 */
int cds_rwlock_init_writer_pref(pthread_rwlock_t *lock);

#endif
