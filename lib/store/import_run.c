/*
 * import_run.c: cds_import_file, a bulk import in three threads.
 *
 * The check (import_check.c) reads the whole file on a thread of its own;
 * the feed (import_feed.c) parses it again, one transaction's worth of
 * lines at a time, on another; this thread writes each chunk in one
 * transaction.  Before, the two passes ran one after the other and in
 * series with the store's writes; now the store (PostgreSQL's COPY, or
 * SQLite's B-trees) is busy while the client parses.
 *
 * The contract of import.h is kept by where this thread waits for the
 * check's verdict:
 *  - the first transaction commits only once the check has passed (the
 *    store calls ready() before its COMMIT; a bad file rolls it back), so
 *    a bad file still leaves nothing behind;
 *  - when the store has handles the check looks each one up: on
 *    opts->lookup, a connection of its own, while this thread writes on
 *    the other (the first COMMIT waiting as above, the check sees none of
 *    the import's rows); without one, the store is the check's alone
 *    until its verdict;
 *  - a failure the check would explain (a line the feed cannot parse, a
 *    handle the store refuses as taken) waits for the verdict, and a bad
 *    file is then reported as such, line by line, as it always was; any
 *    other failure stops the check and the feed, which are joined before
 *    cds_import_file returns.
 *
 * Invariants: the progress and created callbacks run on the caller's
 * thread only; tokens are wiped as soon as created() has seen them.
 */
#include "store/import_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/timeutil.h"

/* How often the caller hears of the check's progress while it waits. */
#define PROGRESS_US 200000

struct run {
	struct cds_store *s;
	const char *name;
	const struct cds_import_opts *o;
	struct cds_import_report *rep;
	uint64_t size; /* bytes in the file, for progress */
	struct cds_import_check check;
	pthread_t check_thread;
	bool check_joined;
	pthread_mutex_t mu; /* guards the three below */
	pthread_cond_t cv;
	bool check_over;
	enum cds_err check_rc;
	struct cds_error check_err;
	struct cds_import_feed feed;
};

static void progress(struct run *r, enum cds_import_phase ph, uint64_t done,
		     uint64_t total)
{
	if (r->o->progress)
		r->o->progress(r->o->ctx, ph, done, total);
}

static void *check_main(void *arg)
{
	struct run *r = arg;
	struct cds_error e;
	enum cds_err rc;

	cds_error_clear(&e);
	rc = cds_import_check_run(&r->check, &e);
	pthread_mutex_lock(&r->mu);
	r->check_over = true;
	r->check_rc = rc;
	r->check_err = e;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static enum cds_err check_start(struct run *r, int fd, struct cds_error *err)
{
	uint64_t handles = 0;
	enum cds_err rc;

	r->check.s = r->o->lookup ? r->o->lookup : r->s;
	r->check.rep = r->rep;
	cds_import_lines_init(&r->check.rd, fd, r->name);
	rc = cds_store_count(r->s, NULL, &handles, err);
	r->check.lookup = handles > 0;
	if (!rc && pthread_create(&r->check_thread, NULL, check_main, r) != 0)
		rc = cds_fail(err, CDS_ERR_INTERNAL,
			      "cannot start a thread to check '%s'", r->name);
	r->check_joined = rc != CDS_OK;
	return rc;
}

/* Whether the check is over, telling the caller how far it got meanwhile. */
static bool check_over(struct run *r)
{
	struct timespec until;
	int64_t t = cds_now_us() + PROGRESS_US;
	bool over;

	until.tv_sec = (time_t)(t / 1000000);
	until.tv_nsec = (long)(t % 1000000) * 1000;
	pthread_mutex_lock(&r->mu);
	if (!r->check_over)
		pthread_cond_timedwait(&r->cv, &r->mu, &until);
	over = r->check_over;
	pthread_mutex_unlock(&r->mu);
	if (!over)
		progress(r, CDS_IMPORT_CHECKING, atomic_load(&r->check.checked),
			 r->size);
	return over;
}

static void check_join(struct run *r)
{
	if (!r->check_joined)
		pthread_join(r->check_thread, NULL);
	r->check_joined = true;
	cds_import_lines_fini(&r->check.rd);
}

/* Wait for the check's verdict: CDS_OK if the file is good. */
static enum cds_err check_wait(struct run *r, struct cds_error *err)
{
	if (!r->check_joined) {
		while (!check_over(r))
			continue;
		check_join(r);
		if (!r->check_rc)
			progress(r, CDS_IMPORT_CHECKING, r->size, r->size);
	}
	return r->check_rc ? cds_fail(err, r->check_rc, "%s", r->check_err.msg)
			   : CDS_OK;
}

/* The store's last word before the first COMMIT: the check's verdict. */
static enum cds_err ready(void *ctx, struct cds_error *err)
{
	return check_wait(ctx, err);
}

/* Stop a check whose verdict no longer matters, and forget its findings. */
static void check_stop(struct run *r)
{
	if (r->check_joined)
		return; /* its verdict was had: keep its report */
	atomic_store(&r->check.stop, true);
	check_join(r);
	r->rep->bad = 0;
	r->rep->n_messages = 0;
}

/* Hand each token of a committed chunk to created(). */
static enum cds_err hand_out(struct run *r, const struct cds_import_chunk *c,
			     struct cds_error *err)
{
	for (size_t i = 0; i < c->n; i++)
		if (r->o->created &&
		    r->o->created(r->o->ctx, c->lines[i], &c->accts[i]) != 0)
			return cds_fail(err, CDS_ERR_IO,
					"could not record the token of line %llu",
					(unsigned long long)c->lines[i]);
	return CDS_OK;
}

/* Write one chunk in one transaction, committed once the check passed. */
static enum cds_err write_chunk(struct run *r, struct cds_import_chunk *c,
				struct cds_error *err)
{
	struct cds_error e;
	enum cds_err rc = CDS_OK;

	cds_error_clear(&e);
	if (r->check.lookup && r->check.s == r->s)
		rc = check_wait(r, err); /* the check still needs the store */
	if (rc)
		return rc;
	rc = cds_store_accounts_create_if(r->s, c->accts, c->n, ready, r, &e);
	if (rc == CDS_ERR_EXISTS && e.index >= 0 && (size_t)e.index < c->n)
		return cds_fail_at(err, rc, e.index,
				   "'%s' line %llu: %.120s (registered by another "
				   "process during the import; %llu accounts were "
				   "imported before)",
				   r->name, (unsigned long long)c->lines[e.index],
				   e.msg, (unsigned long long)r->rep->imported);
	if (rc)
		return cds_fail(err, rc, "%s", e.msg);
	r->rep->imported += c->n;
	rc = hand_out(r, c, err);
	progress(r, CDS_IMPORT_WRITING, r->rep->imported, r->rep->lines);
	return rc;
}

static enum cds_err write_all(struct run *r, size_t batch,
			      struct cds_error *err)
{
	struct cds_import_chunk *c;
	enum cds_err rc;

	rc = cds_import_feed_start(&r->feed, r->check.rd.fd, r->name, batch, err);
	while (!rc && !(rc = cds_import_feed_next(&r->feed, &c, err)) && c) {
		rc = write_chunk(r, c, err);
		cds_import_feed_release(&r->feed, c);
	}
	cds_import_feed_stop(&r->feed);
	return rc;
}

/*
 * After the writes: the check's verdict decides, if the failure is one a
 * bad file would cause; else the check is stopped.
 */
static enum cds_err conclude(struct run *r, enum cds_err rc,
			     struct cds_error *err)
{
	struct cds_error e;
	bool explained = rc == CDS_ERR_EXISTS ||
			 (rc == CDS_ERR_INVALID && r->feed.bad_line);

	cds_error_clear(&e);
	if (rc && !explained) {
		check_stop(r);
		return rc;
	}
	if (check_wait(r, &e) != CDS_OK)
		return cds_fail(err, r->check_rc, "%s", e.msg);
	if (rc == CDS_ERR_INVALID)
		return cds_fail(err, CDS_ERR_IO,
				"'%s' changed while it was being imported "
				"(line %llu)", r->name,
				(unsigned long long)r->feed.bad_line);
	return rc;
}

enum cds_err cds_import_file(struct cds_store *s, FILE *f, const char *name,
			     const struct cds_import_opts *opts,
			     struct cds_import_report *rep,
			     struct cds_error *err)
{
	static const struct cds_import_opts defaults;
	struct run r = {.s = s, .name = name, .rep = rep,
			.mu = PTHREAD_MUTEX_INITIALIZER,
			.cv = PTHREAD_COND_INITIALIZER};
	struct stat st;
	enum cds_err rc;

	memset(rep, 0, sizeof(*rep));
	r.o = opts ? opts : &defaults;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' is not a regular file (import reads it twice)",
				name);
	r.size = (uint64_t)st.st_size;
	rc = check_start(&r, fileno(f), err);
	if (rc) {
		cds_import_lines_fini(&r.check.rd);
		return rc;
	}
	rc = write_all(&r, r.o->batch ? r.o->batch : CDS_IMPORT_BATCH, err);
	return conclude(&r, rc, err);
}
