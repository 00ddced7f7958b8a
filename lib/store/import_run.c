/*
 * import_run.c: cds_import_file, the two passes of a bulk import.
 *
 * Pass 1 (check) reads the whole file: every line must parse, its handle must
 * not be registered already (looked up CHECK_BATCH lines at a time through
 * cds_store_handles_taken, one query on PostgreSQL; skipped when the store
 * has no handles) and must not appear twice in the file.  Repeats are found
 * without holding the file in memory: each line leaves a 64-bit keyed hash of
 * its handle with its offset and number; after sorting, lines with equal
 * hashes are re-read and compared, so a hash collision is never reported as
 * a repeat.  Pass 2 (write) re-reads the file and creates the accounts in
 * transactions of opts->batch.
 *
 * Invariants: pass 2 runs only if pass 1 found nothing wrong; tokens are
 * wiped as soon as the created() callback has seen them; pass 1 reports bad
 * lines in line order (a batch's parse errors wait with its lookups).
 */
#include "store/import.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

struct seen {
	uint64_t hash;
	uint64_t off;  /* where the line starts */
	uint64_t line; /* its number, from 1 */
};

struct reader {
	FILE *f;
	const char *name;
	char *buf;
	size_t cap;
	uint64_t lineno;
	uint64_t off;  /* offset of the line last returned */
	uint64_t next; /* offset of the line after it */
};

/* Lines checked per lookup of their handles. */
#define CHECK_BATCH 2048

/* A line of pass 1 waiting for its batch's lookup. */
struct pending {
	uint64_t line, off;
	bool bad; /* did not parse: msg says why */
	char msg[CDS_ERROR_MSG_BYTES];
	struct cds_import_record rec;
};

struct run {
	struct cds_store *s;
	struct reader rd;
	const struct cds_import_opts *o;
	struct cds_import_report *rep;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct seen *seen;
	size_t n_seen, cap_seen;
	struct pending *pend; /* [CHECK_BATCH] */
	size_t n_pend;
	bool lookup;      /* the store has handles: look each one up */
	bool only_exists; /* every bad line so far is a taken/repeated handle */
	uint64_t size;    /* bytes in the file, for progress */
	size_t batch;
};

static bool is_header(const char *s, size_t n)
{
	static const char *const headers[] = {"handle,identity_key",
					      "handle,identity_key_b64"};

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (n == strlen(headers[i]) && memcmp(s, headers[i], n) == 0)
			return true;
	return false;
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/*
 * Next account line (skipping blank lines and a header), without its '\n'.
 * 1 = a line, 0 = end of file; CDS_ERR_IO is reported through err as -1.
 */
static int next_line(struct reader *rd, const char **line, size_t *len,
		     struct cds_error *err)
{
	for (;;) {
		ssize_t n = getline(&rd->buf, &rd->cap, rd->f);

		if (n < 0) {
			if (ferror(rd->f)) {
				cds_fail(err, CDS_ERR_IO, "cannot read '%s': %s",
					 rd->name, strerror(errno));
				return -1;
			}
			return 0;
		}
		rd->lineno++;
		rd->off = rd->next;
		rd->next += (uint64_t)n;
		if (n > 0 && rd->buf[n - 1] == '\n')
			n--;
		if (is_blank(rd->buf, (size_t)n))
			continue;
		if (rd->lineno == 1 &&
		    is_header(rd->buf, (size_t)n - (n && rd->buf[n - 1] == '\r')))
			continue;
		*line = rd->buf;
		*len = (size_t)n;
		return 1;
	}
}

static void report(struct run *r, uint64_t line, const char *msg, bool exists)
{
	struct cds_import_report *rep = r->rep;

	rep->bad++;
	r->only_exists = r->only_exists && exists;
	if (rep->n_messages == CDS_IMPORT_MAX_MESSAGES)
		return;
	rep->message_line[rep->n_messages] = line;
	snprintf(rep->messages[rep->n_messages++], CDS_ERROR_MSG_BYTES,
		 "line %llu: %.230s", (unsigned long long)line, msg);
}

/* Repeats are found after the pass: put the messages back in line order. */
static void sort_messages(struct cds_import_report *rep)
{
	char tmp[CDS_ERROR_MSG_BYTES];

	for (size_t i = 1; i < rep->n_messages; i++)
		for (size_t j = i; j > 0 && rep->message_line[j - 1] >
						    rep->message_line[j]; j--) {
			uint64_t l = rep->message_line[j];

			rep->message_line[j] = rep->message_line[j - 1];
			rep->message_line[j - 1] = l;
			memcpy(tmp, rep->messages[j], sizeof(tmp));
			memcpy(rep->messages[j], rep->messages[j - 1], sizeof(tmp));
			memcpy(rep->messages[j - 1], tmp, sizeof(tmp));
		}
}

static enum cds_err remember(struct run *r, const struct pending *line,
			     struct cds_error *err)
{
	if (r->n_seen == r->cap_seen) {
		size_t cap = r->cap_seen ? 2 * r->cap_seen : 4096;
		struct seen *p = realloc(r->seen, cap * sizeof(*p));

		if (!p)
			return cds_fail(err, CDS_ERR_NOMEM,
					"out of memory checking '%s' for "
					"repeated handles",
					r->rd.name);
		r->seen = p;
		r->cap_seen = cap;
	}
	crypto_shorthash((uint8_t *)&r->seen[r->n_seen].hash,
			 (const uint8_t *)line->rec.handle, line->rec.handle_len,
			 r->hkey);
	r->seen[r->n_seen].off = line->off;
	r->seen[r->n_seen].line = line->line;
	r->n_seen++;
	return CDS_OK;
}

/*
 * Pass 1, per batch: look the parsed lines' handles up (if the store has
 * any), then report or remember each line in line order.
 */
static enum cds_err check_pending(struct run *r, struct cds_error *err)
{
	const char *hs[CHECK_BATCH];
	bool taken[CHECK_BATCH] = {false};
	char msg[CDS_ERROR_MSG_BYTES];
	enum cds_err rc = CDS_OK;
	size_t m = 0, k = 0;

	for (size_t i = 0; i < r->n_pend; i++)
		if (!r->pend[i].bad)
			hs[m++] = r->pend[i].rec.handle;
	if (r->lookup && m)
		rc = cds_store_handles_taken(r->s, hs, m, taken, err);
	for (size_t i = 0; i < r->n_pend && !rc; i++) {
		struct pending *p = &r->pend[i];

		if (p->bad) {
			report(r, p->line, p->msg, false);
		} else if (taken[k++]) {
			snprintf(msg, sizeof(msg),
				 "handle '%.200s' is already registered",
				 p->rec.handle);
			report(r, p->line, msg, true);
		} else {
			rc = remember(r, p, err);
		}
	}
	r->n_pend = 0;
	return rc;
}

/* Pass 1, per line: parse, and queue for the batch's lookup. */
static enum cds_err check_line(struct run *r, const char *line, size_t len,
			       struct cds_error *err)
{
	struct pending *p = &r->pend[r->n_pend++];
	struct cds_error e;

	cds_error_clear(&e);
	r->rep->lines++;
	p->line = r->rd.lineno;
	p->off = r->rd.off;
	p->bad = cds_import_parse_line(&p->rec, line, len, &e) != CDS_OK;
	if (p->bad)
		snprintf(p->msg, sizeof(p->msg), "%s", e.msg);
	return r->n_pend == CHECK_BATCH ? check_pending(r, err) : CDS_OK;
}

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Re-read the handle of the line at `off` (it parsed in pass 1). */
static enum cds_err reread(struct run *r, uint64_t off,
			   struct cds_import_record *rec, struct cds_error *err)
{
	ssize_t n;

	if (fseeko(r->rd.f, (off_t)off, SEEK_SET) != 0 ||
	    (n = getline(&r->rd.buf, &r->rd.cap, r->rd.f)) < 0)
		return cds_fail(err, CDS_ERR_IO, "cannot re-read '%s': %s",
				r->rd.name, strerror(errno));
	if (n > 0 && r->rd.buf[n - 1] == '\n')
		n--;
	if (cds_import_parse_line(rec, r->rd.buf, (size_t)n, NULL) != CDS_OK)
		return cds_fail(err, CDS_ERR_IO,
				"'%s' changed while it was being imported",
				r->rd.name);
	return CDS_OK;
}

/* Within one run of equal hashes, report each line repeating an earlier one. */
static enum cds_err check_run(struct run *r, const struct seen *v, size_t n,
			      struct cds_error *err)
{
	struct cds_import_record a, b;
	char msg[CDS_ERROR_MSG_BYTES];
	enum cds_err rc;

	for (size_t j = 1; j < n; j++) {
		rc = reread(r, v[j].off, &b, err);
		for (size_t i = 0; i < j && !rc; i++) {
			rc = reread(r, v[i].off, &a, err);
			if (!rc && strcmp(a.handle, b.handle) == 0) {
				snprintf(msg, sizeof(msg),
					 "handle '%.200s' repeats line %llu", b.handle,
					 (unsigned long long)v[i].line);
				report(r, v[j].line, msg, true);
				break;
			}
		}
		if (rc)
			return rc;
	}
	return CDS_OK;
}

static enum cds_err check_repeats(struct run *r, struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	size_t i = 0;

	if (r->n_seen < 2)
		return CDS_OK;
	qsort(r->seen, r->n_seen, sizeof(*r->seen), seen_cmp);
	while (i < r->n_seen && !rc) {
		size_t j = i + 1;

		while (j < r->n_seen && r->seen[j].hash == r->seen[i].hash)
			j++;
		if (j - i > 1)
			rc = check_run(r, r->seen + i, j - i, err);
		i = j;
	}
	return rc;
}

static void progress(struct run *r, enum cds_import_phase ph, uint64_t done,
		     uint64_t total)
{
	if (r->o->progress)
		r->o->progress(r->o->ctx, ph, done, total);
}

static enum cds_err check_pass(struct run *r, struct cds_error *err)
{
	uint64_t handles = 0;
	const char *line;
	size_t len;
	enum cds_err rc;
	int got;

	rc = cds_store_count(r->s, NULL, &handles, err);
	if (rc)
		return rc;
	r->lookup = handles > 0;
	r->only_exists = true;
	crypto_shorthash_keygen(r->hkey);
	r->pend = malloc(CHECK_BATCH * sizeof(*r->pend));
	if (!r->pend)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory checking '%s'",
				r->rd.name);
	while (!rc && (got = next_line(&r->rd, &line, &len, err)) > 0) {
		rc = check_line(r, line, len, err);
		if (r->rep->lines % r->batch == 0)
			progress(r, CDS_IMPORT_CHECKING, r->rd.off, r->size);
	}
	if (!rc && got < 0)
		rc = CDS_ERR_IO;
	if (!rc)
		rc = check_pending(r, err);
	free(r->pend);
	r->pend = NULL;
	if (!rc)
		rc = check_repeats(r, err);
	sort_messages(r->rep);
	if (!rc)
		progress(r, CDS_IMPORT_CHECKING, r->size, r->size);
	if (!rc && r->rep->bad)
		rc = cds_fail(err, r->only_exists ? CDS_ERR_EXISTS : CDS_ERR_INVALID,
			      "'%s' has %llu bad line%s; nothing was imported",
			      r->rd.name, (unsigned long long)r->rep->bad,
			      r->rep->bad == 1 ? "" : "s");
	return rc;
}

/* Pass 2 holds one batch of parsed lines and the accounts made of them. */
struct batch {
	struct cds_import_record *recs;
	struct cds_new_account *accts;
	const char **hp;
	uint64_t *lines;
	size_t n, cap;
};

static void batch_free(struct batch *b)
{
	if (b->accts)
		sodium_memzero(b->accts, b->cap * sizeof(*b->accts));
	free(b->recs);
	free(b->accts);
	free(b->hp);
	free(b->lines);
}

static enum cds_err batch_alloc(struct batch *b, size_t cap,
				struct cds_error *err)
{
	b->cap = cap;
	b->n = 0;
	b->recs = calloc(cap, sizeof(*b->recs));
	b->accts = calloc(cap, sizeof(*b->accts));
	b->hp = calloc(cap, sizeof(*b->hp));
	b->lines = calloc(cap, sizeof(*b->lines));
	if (!b->recs || !b->accts || !b->hp || !b->lines)
		return cds_fail(err, CDS_ERR_NOMEM,
				"out of memory for an import batch of %zu", cap);
	return CDS_OK;
}

/* Write one batch in one transaction, then hand each token to created(). */
static enum cds_err flush(struct run *r, struct batch *b,
			  struct cds_error *err)
{
	struct cds_error e;
	enum cds_err rc;

	cds_error_clear(&e);
	rc = cds_store_accounts_create(r->s, b->accts, b->n, &e);
	if (rc == CDS_ERR_EXISTS && e.index >= 0 && (size_t)e.index < b->n)
		return cds_fail(err, rc,
				"'%s' line %llu: %.120s (registered by another "
				"process during the import; %llu accounts were "
				"imported before)",
				r->rd.name, (unsigned long long)b->lines[e.index],
				e.msg, (unsigned long long)r->rep->imported);
	if (rc)
		return cds_fail(err, rc, "%s", e.msg);
	r->rep->imported += b->n;
	for (size_t i = 0; i < b->n && !rc; i++)
		if (r->o->created &&
		    r->o->created(r->o->ctx, b->lines[i], &b->accts[i]) != 0)
			rc = cds_fail(err, CDS_ERR_IO,
				      "could not record the token of line %llu",
				      (unsigned long long)b->lines[i]);
	sodium_memzero(b->accts, b->n * sizeof(*b->accts));
	b->n = 0;
	progress(r, CDS_IMPORT_WRITING, r->rep->imported, r->rep->lines);
	return rc;
}

/* Add the line to the batch; it parsed in pass 1, so it must again. */
static enum cds_err batch_add(struct run *r, struct batch *b, const char *line,
			      size_t len, struct cds_error *err)
{
	size_t i = b->n;

	if (cds_import_parse_line(&b->recs[i], line, len, NULL) != CDS_OK)
		return cds_fail(err, CDS_ERR_IO,
				"'%s' changed while it was being imported (line %llu)",
				r->rd.name, (unsigned long long)r->rd.lineno);
	b->hp[i] = b->recs[i].handle;
	b->accts[i].handles = &b->hp[i];
	b->accts[i].n_handles = 1;
	memcpy(b->accts[i].identity_key, b->recs[i].identity_key,
	       CDS_IDENTITY_KEY_BYTES);
	b->lines[i] = r->rd.lineno;
	b->n++;
	return b->n == b->cap ? flush(r, b, err) : CDS_OK;
}

static enum cds_err write_pass(struct run *r, struct cds_error *err)
{
	struct batch b = {0};
	const char *line;
	size_t len;
	enum cds_err rc;
	int got = 0;

	rc = batch_alloc(&b, r->batch, err);
	if (!rc && fseeko(r->rd.f, 0, SEEK_SET) != 0)
		rc = cds_fail(err, CDS_ERR_IO, "cannot rewind '%s': %s", r->rd.name,
			      strerror(errno));
	r->rd.lineno = 0;
	r->rd.next = 0;
	while (!rc && (got = next_line(&r->rd, &line, &len, err)) > 0)
		rc = batch_add(r, &b, line, len, err);
	if (!rc && got < 0)
		rc = CDS_ERR_IO;
	if (!rc && b.n)
		rc = flush(r, &b, err);
	batch_free(&b);
	return rc;
}

enum cds_err cds_import_file(struct cds_store *s, FILE *f, const char *name,
			     const struct cds_import_opts *opts,
			     struct cds_import_report *rep,
			     struct cds_error *err)
{
	static const struct cds_import_opts defaults;
	struct run r = {.s = s, .rep = rep};
	struct stat st;
	enum cds_err rc;

	memset(rep, 0, sizeof(*rep));
	r.o = opts ? opts : &defaults;
	r.batch = r.o->batch ? r.o->batch : CDS_IMPORT_BATCH;
	r.rd.f = f;
	r.rd.name = name;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s' is not a regular file (import reads it twice)",
				name);
	r.size = (uint64_t)st.st_size;
	rc = check_pass(&r, err);
	free(r.seen);
	r.seen = NULL;
	if (!rc)
		rc = write_pass(&r, err);
	free(r.rd.buf);
	sodium_memzero(r.hkey, sizeof(r.hkey));
	return rc;
}
