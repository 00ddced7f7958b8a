/*
 * import_feed.c: pass 2 of a bulk import, parsing on a thread of its own.
 *
 * The feed thread parses the file into chunks of one transaction each
 * while the writer stores the chunk before (on PostgreSQL the server's COPY
 * and this parsing then overlap; on SQLite the B-tree work and this).  Two
 * chunks take turns: FREE (the feed may fill it), FULL (waiting for the
 * writer), TAKEN (being written); so at most one chunk waits while one is
 * written, and memory stays at two transactions' worth of lines.
 *
 * Invariants: chunks are handed out in file order; a failure (a line that
 * no longer parses, a read error) is handed out as soon as it happens,
 * before any chunk still waiting, so nothing after it is written; after
 * stop the thread touches nothing of the feed but returns; tokens in a
 * chunk are wiped when it is given back and when the feed stops.
 */
#include "store/import_impl.h"

#include <stdlib.h>
#include <string.h>

enum { FREE, FULL, TAKEN };

static void chunk_free(struct cds_import_chunk *c, size_t cap)
{
	if (c->accts)
		sodium_memzero(c->accts, cap * sizeof(*c->accts));
	free(c->accts);
	free(c->hp);
	free(c->name_at);
	free(c->lines);
	free(c->names);
	*c = (struct cds_import_chunk){.state = FREE};
}

static enum cds_err chunk_alloc(struct cds_import_chunk *c, size_t cap,
				struct cds_error *err)
{
	/* Room for phone numbers; longer handles grow it. */
	c->names_cap = cap * 16;
	c->accts = calloc(cap, sizeof(*c->accts));
	c->hp = calloc(cap, sizeof(*c->hp));
	c->name_at = calloc(cap, sizeof(*c->name_at));
	c->lines = calloc(cap, sizeof(*c->lines));
	c->names = malloc(c->names_cap);
	c->n = c->names_len = 0;
	c->state = FREE;
	if (!c->accts || !c->hp || !c->name_at || !c->lines || !c->names)
		return cds_fail(err, CDS_ERR_NOMEM,
				"out of memory for an import batch of %zu", cap);
	return CDS_OK;
}

/* Copy a handle into the chunk's arena, growing it if need be. */
static enum cds_err name_add(struct cds_import_chunk *c,
			     const struct cds_import_record *r,
			     struct cds_error *err)
{
	size_t need = c->names_len + r->handle_len + 1;
	char *p;

	if (need > c->names_cap) {
		p = realloc(c->names, 2 * need);
		if (!p)
			return cds_fail(err, CDS_ERR_NOMEM,
					"out of memory for an import batch");
		c->names = p;
		c->names_cap = 2 * need;
	}
	memcpy(c->names + c->names_len, r->handle, r->handle_len + 1);
	c->name_at[c->n] = c->names_len;
	c->names_len = need;
	return CDS_OK;
}

/* Add the parsed line to the chunk as an account of one handle. */
static enum cds_err chunk_add(struct cds_import_feed *f,
			      struct cds_import_chunk *c, const char *line,
			      size_t len, struct cds_error *err)
{
	struct cds_new_account *a = &c->accts[c->n];
	struct cds_import_record r;
	struct cds_error e;

	cds_error_clear(&e);
	if (cds_import_parse_line(&r, line, len, &e) != CDS_OK) {
		f->bad_line = f->rd.lineno;
		return cds_fail(err, CDS_ERR_INVALID, "'%s' line %llu: %s",
				f->rd.name, (unsigned long long)f->rd.lineno, e.msg);
	}
	if (name_add(c, &r, err) != CDS_OK)
		return CDS_ERR_NOMEM;
	a->handles = &c->hp[c->n];
	a->n_handles = 1;
	memcpy(a->identity_key, r.identity_key, CDS_IDENTITY_KEY_BYTES);
	c->lines[c->n++] = f->rd.lineno;
	return CDS_OK;
}

/* Parse up to f->cap lines into c; *more false once the file is read. */
static enum cds_err chunk_fill(struct cds_import_feed *f,
			       struct cds_import_chunk *c, bool *more,
			       struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	const char *line;
	size_t len;
	int got = 1;

	c->n = c->names_len = 0;
	while (!rc && c->n < f->cap &&
	       (got = cds_import_lines_next(&f->rd, &line, &len, err)) > 0)
		rc = chunk_add(f, c, line, len, err);
	if (!rc && got < 0)
		rc = CDS_ERR_IO;
	for (size_t i = 0; i < c->n && !rc; i++) /* the arena moves no more */
		c->hp[i] = c->names + c->name_at[i];
	*more = got > 0;
	return rc;
}

/* Wait until chunk c is FREE, or the writer stopped: false then. */
static bool wait_free(struct cds_import_feed *f, struct cds_import_chunk *c)
{
	bool go;

	pthread_mutex_lock(&f->mu);
	while (c->state != FREE && !f->stop)
		pthread_cond_wait(&f->cv, &f->mu);
	go = !f->stop;
	pthread_mutex_unlock(&f->mu);
	return go;
}

/* Hand a filled chunk (if it holds lines), the end, or a failure over. */
static void publish(struct cds_import_feed *f, struct cds_import_chunk *c,
		    bool more, enum cds_err rc, const struct cds_error *e)
{
	pthread_mutex_lock(&f->mu);
	if (rc) {
		f->rc = rc;
		f->err = *e;
	} else if (c->n) {
		c->state = FULL;
		f->next_fill = (f->next_fill + 1) % CDS_IMPORT_CHUNKS;
	}
	f->done = rc || !more;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void *feed_main(void *arg)
{
	struct cds_import_feed *f = arg;
	enum cds_err rc = CDS_OK;
	struct cds_error e;
	bool more = true;

	while (!rc && more) {
		struct cds_import_chunk *c = &f->chunk[f->next_fill];

		if (!wait_free(f, c))
			break;
		cds_error_clear(&e);
		rc = chunk_fill(f, c, &more, &e);
		publish(f, c, more, rc, &e);
	}
	return NULL;
}

enum cds_err cds_import_feed_start(struct cds_import_feed *f, int fd,
				   const char *name, size_t cap,
				   struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	*f = (struct cds_import_feed){.cap = cap,
				      .mu = PTHREAD_MUTEX_INITIALIZER,
				      .cv = PTHREAD_COND_INITIALIZER};
	cds_import_lines_init(&f->rd, fd, name);
	for (size_t i = 0; i < CDS_IMPORT_CHUNKS && !rc; i++)
		rc = chunk_alloc(&f->chunk[i], cap, err);
	if (!rc && pthread_create(&f->thread, NULL, feed_main, f) != 0)
		rc = cds_fail(err, CDS_ERR_INTERNAL,
			      "cannot start a thread to read '%s'", name);
	f->started = !rc;
	return rc;
}

enum cds_err cds_import_feed_next(struct cds_import_feed *f,
				  struct cds_import_chunk **out,
				  struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	*out = NULL;
	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct cds_import_chunk *c = &f->chunk[f->next_take];

		if (f->rc) {
			rc = cds_fail(err, f->rc, "%s", f->err.msg);
			break;
		}
		if (c->state == FULL) {
			c->state = TAKEN;
			f->next_take = (f->next_take + 1) % CDS_IMPORT_CHUNKS;
			*out = c;
			break;
		}
		if (f->done)
			break;
		pthread_cond_wait(&f->cv, &f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

void cds_import_feed_release(struct cds_import_feed *f,
			     struct cds_import_chunk *c)
{
	sodium_memzero(c->accts, c->n * sizeof(*c->accts));
	pthread_mutex_lock(&f->mu);
	c->n = 0;
	c->state = FREE;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void cds_import_feed_stop(struct cds_import_feed *f)
{
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (f->started)
		pthread_join(f->thread, NULL);
	f->started = false;
	for (size_t i = 0; i < CDS_IMPORT_CHUNKS; i++)
		chunk_free(&f->chunk[i], f->cap);
	cds_import_lines_fini(&f->rd);
}
