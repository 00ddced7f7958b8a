/*
 * import_impl.h: the parts of a bulk import (internal to lib/store).
 *
 * cds_import_file (import_run.c) runs three threads over one open file:
 *  - the check (import_check.c): pass 1 over the whole file, every line
 *    parsed, looked up and compared with the others, the bad ones reported;
 *  - the feed (import_feed.c): pass 2, parsing the lines again into chunks
 *    of one transaction each, two chunks at most, so that the next one is
 *    parsed while the current one is written;
 *  - the caller's thread, writing each chunk in one transaction; the first
 *    commits only once the check has passed (cds_store_accounts_create_if),
 *    so a bad file still leaves nothing behind.
 * Each pass reads the file through its own cds_import_lines (pread), so
 * neither moves the other's position.
 */
#ifndef CDS_STORE_IMPORT_IMPL_H
#define CDS_STORE_IMPORT_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <sodium.h>

#include "store/import.h"

/* ---- import_lines.c: the account lines of the file ---- */

struct cds_import_lines {
	int fd;
	const char *name;
	char *buf;       /* buf[start..end) holds bytes not yet returned */
	size_t cap, start, end;
	uint64_t pos;    /* file offset of buf[end] */
	bool eof;
	uint64_t lineno; /* number of the line last returned, from 1 */
	uint64_t off;    /* its offset in the file */
};

/* Read the file open on fd from its start; _fini frees the buffer. */
void cds_import_lines_init(struct cds_import_lines *l, int fd, const char *name);
void cds_import_lines_fini(struct cds_import_lines *l);

/*
 * The next account line (blank lines and a first-line header skipped),
 * without its '\n': 1 and *line, *len (valid until the next call); 0 at the
 * end of the file; -1 with CDS_ERR_IO in err if the file cannot be read.
 */
int cds_import_lines_next(struct cds_import_lines *l, const char **line,
			  size_t *len, struct cds_error *err);

/*
 * Parse the line that starts at offset off again (it parsed before):
 * CDS_ERR_IO if it cannot be read or no longer parses.
 */
enum cds_err cds_import_lines_reparse(const struct cds_import_lines *l,
				      uint64_t off,
				      struct cds_import_record *rec,
				      struct cds_error *err) CDS_MUST_CHECK;

/* ---- import_check.c: pass 1 ---- */

struct cds_import_seen;
struct cds_import_pending;

struct cds_import_check {
	struct cds_store *s;    /* looked up only if lookup */
	bool lookup;            /* the store has handles: look each one up */
	struct cds_import_lines rd;
	struct cds_import_report *rep; /* lines, bad and the messages */
	atomic_bool stop;       /* set by another thread: give up soon */
	atomic_uint_fast64_t checked; /* bytes of the file checked so far */
	/* private to import_check.c: */
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct cds_import_seen *seen;
	size_t n_seen, cap_seen;
	struct cds_import_pending *pend;
	size_t n_pend;
	bool only_exists;
};

/*
 * Check the whole file (c->s, c->lookup, c->rep set; c->rd initialised):
 * CDS_OK if every line is good; CDS_ERR_INVALID, or CDS_ERR_EXISTS when
 * the only problems are taken or repeated handles, with rep filled and a
 * message "'FILE' has N bad lines; nothing was imported"; CDS_ERR_IO,
 * CDS_ERR_NOMEM or the store's error if the check itself failed;
 * CDS_ERR_INTERNAL if c->stop was set.  Frees what it allocated.
 */
enum cds_err cds_import_check_run(struct cds_import_check *c,
				  struct cds_error *err) CDS_MUST_CHECK;

/* ---- import_feed.c: pass 2, parsed on a thread of its own ---- */

/*
 * One transaction's worth of parsed lines, ready for the store.  The
 * handles sit end to end in one arena (a record's 262-byte array each
 * would double the memory, and page faults are much of a parse's cost).
 */
struct cds_import_chunk {
	struct cds_new_account *accts; /* handles point into hp */
	const char **hp;               /* into names, once the chunk is full */
	size_t *name_at;               /* offset of each handle in names */
	uint64_t *lines;               /* line number of each account */
	size_t n;
	char *names;
	size_t names_len, names_cap;
	int state;                     /* import_feed.c's */
};

#define CDS_IMPORT_CHUNKS 2

struct cds_import_feed {
	struct cds_import_lines rd;
	size_t cap;                    /* lines per chunk */
	struct cds_import_chunk chunk[CDS_IMPORT_CHUNKS];
	size_t next_fill, next_take;   /* chunk indexes, round robin */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;                     /* the writer gave up */
	bool done;                     /* the feed read the whole file */
	enum cds_err rc;               /* or failed, with err */
	struct cds_error err;
	uint64_t bad_line;             /* the line that failed to parse, or 0 */
	pthread_t thread;
	bool started;
};

/*
 * Start parsing the file open on fd into chunks of `cap` lines:
 * CDS_ERR_NOMEM or CDS_ERR_INTERNAL if the chunks or the thread cannot be
 * had.  cds_import_feed_stop must follow, whatever happens.
 */
enum cds_err cds_import_feed_start(struct cds_import_feed *f, int fd,
				   const char *name, size_t cap,
				   struct cds_error *err) CDS_MUST_CHECK;

/*
 * The next chunk in file order (*out), waiting for it; *out NULL at the
 * end of the file.  CDS_ERR_INVALID if a line failed to parse (its
 * number in f->bad_line), CDS_ERR_IO if the file could not be read.
 * Give each chunk back with cds_import_feed_release once written.
 */
enum cds_err cds_import_feed_next(struct cds_import_feed *f,
				  struct cds_import_chunk **out,
				  struct cds_error *err) CDS_MUST_CHECK;
void cds_import_feed_release(struct cds_import_feed *f,
			     struct cds_import_chunk *c);

/* Stop the thread, join it, wipe and free the chunks.  Safe after any
 * failure of _start, and twice. */
void cds_import_feed_stop(struct cds_import_feed *f);

#endif
