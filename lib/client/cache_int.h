/*
 * cache_int.h: what cache.c and cache_rows.c share (lib/client internal).
 */
#ifndef CDS_CLIENT_CACHE_INT_H
#define CDS_CLIENT_CACHE_INT_H

#include <sqlite3.h>

#include "client/cache.h"

struct cds_cache {
	sqlite3 *db;
	char *path;
	bool in_tx;
};

/* Turn the database's last error into CDS_ERR_STORE (CDS_ERR_FULL for a
 * full disk) with a message naming the cache file and the step. */
enum cds_err cds_cache_fail(struct cds_cache *c, struct cds_error *err,
			    const char *step);

/* Prepare sql; on failure a message via cds_cache_fail. */
enum cds_err cds_cache_prepare(struct cds_cache *c, sqlite3_stmt **st,
			       const char *sql,
			       struct cds_error *err) CDS_MUST_CHECK;

/* Run a statement without results (finalises it). */
enum cds_err cds_cache_exec(struct cds_cache *c, const char *sql,
			    struct cds_error *err) CDS_MUST_CHECK;

/* Step a statement that returns no rows, then reset it for reuse. */
enum cds_err cds_cache_step_done(struct cds_cache *c, sqlite3_stmt *st,
				 const char *what,
				 struct cds_error *err) CDS_MUST_CHECK;

/* meta[key] as a blob into a fresh malloc'd, NUL-terminated *val (NULL
 * if absent; caller frees), and meta[key] = val[0..len). */
enum cds_err cds_cache_meta_get(struct cds_cache *c, const char *key,
				char **val, size_t *len,
				struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_cache_meta_put(struct cds_cache *c, const char *key,
				const void *val, size_t len,
				struct cds_error *err) CDS_MUST_CHECK;

/* meta "next_contact_id" (the contact list's next_id). */
enum cds_err cds_cache_meta_next_id(struct cds_cache *c, uint64_t *next,
				    bool *found,
				    struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_cache_meta_set_next_id(struct cds_cache *c, uint64_t next,
					struct cds_error *err) CDS_MUST_CHECK;

#endif
