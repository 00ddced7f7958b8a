/*
 * import_check.c: pass 1 of a bulk import, the check of the whole file.
 *
 * Every line must parse, its handle must not be registered already (looked
 * up CHECK_BATCH lines at a time through cds_store_handles_taken, one query
 * on PostgreSQL; skipped when the store had no handles) and must not appear
 * twice in the file.  Repeats are found without holding the file in
 * memory: each line leaves a 64-bit keyed hash of its handle with its
 * offset and number; after sorting, lines with equal hashes are re-read and
 * compared, so a hash collision is never reported as a repeat.
 *
 * Runs on a thread of its own (import_run.c); it touches only its struct,
 * the report and, when c->lookup, the store, which the writer then leaves
 * alone until the check is over.
 *
 * Invariants: bad lines are reported in line order (a batch's parse errors
 * wait with its lookups; repeats, found at the end, are sorted in); the
 * hash key is fresh per import and wiped.
 */
#include "store/import_impl.h"

#include <stdlib.h>
#include <string.h>

struct cds_import_seen {
	uint64_t hash;
	uint64_t off;  /* where the line starts */
	uint64_t line; /* its number, from 1 */
};

/* Lines checked per lookup of their handles. */
#define CHECK_BATCH 2048

/* A line waiting for its batch's lookup. */
struct cds_import_pending {
	uint64_t line, off;
	bool bad; /* did not parse: msg says why */
	char msg[CDS_ERROR_MSG_BYTES];
	struct cds_import_record rec;
};

static void report(struct cds_import_check *c, uint64_t line, const char *msg,
		   bool exists)
{
	struct cds_import_report *rep = c->rep;

	rep->bad++;
	c->only_exists = c->only_exists && exists;
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

static enum cds_err remember(struct cds_import_check *c,
			     const struct cds_import_pending *line,
			     struct cds_error *err)
{
	if (c->n_seen == c->cap_seen) {
		size_t cap = c->cap_seen ? 2 * c->cap_seen : 4096;
		struct cds_import_seen *p = realloc(c->seen, cap * sizeof(*p));

		if (!p)
			return cds_fail(err, CDS_ERR_NOMEM,
					"out of memory checking '%s' for "
					"repeated handles",
					c->rd.name);
		c->seen = p;
		c->cap_seen = cap;
	}
	crypto_shorthash((uint8_t *)&c->seen[c->n_seen].hash,
			 (const uint8_t *)line->rec.handle, line->rec.handle_len,
			 c->hkey);
	c->seen[c->n_seen].off = line->off;
	c->seen[c->n_seen].line = line->line;
	c->n_seen++;
	return CDS_OK;
}

/*
 * Per batch: look the parsed lines' handles up (if the store has any),
 * then report or remember each line in line order.
 */
static enum cds_err check_pending(struct cds_import_check *c,
				  struct cds_error *err)
{
	const char *hs[CHECK_BATCH];
	bool taken[CHECK_BATCH] = {false};
	char msg[CDS_ERROR_MSG_BYTES];
	enum cds_err rc = CDS_OK;
	size_t m = 0, k = 0;

	for (size_t i = 0; i < c->n_pend; i++)
		if (!c->pend[i].bad)
			hs[m++] = c->pend[i].rec.handle;
	if (c->lookup && m)
		rc = cds_store_handles_taken(c->s, hs, m, taken, err);
	for (size_t i = 0; i < c->n_pend && !rc; i++) {
		struct cds_import_pending *p = &c->pend[i];

		if (p->bad) {
			report(c, p->line, p->msg, false);
		} else if (taken[k++]) {
			snprintf(msg, sizeof(msg),
				 "handle '%.200s' is already registered",
				 p->rec.handle);
			report(c, p->line, msg, true);
		} else {
			rc = remember(c, p, err);
		}
	}
	c->n_pend = 0;
	atomic_store(&c->checked, c->rd.off);
	return rc;
}

/* Per line: parse, and queue for the batch's lookup. */
static enum cds_err check_line(struct cds_import_check *c, const char *line,
			       size_t len, struct cds_error *err)
{
	struct cds_import_pending *p = &c->pend[c->n_pend++];
	struct cds_error e;

	cds_error_clear(&e);
	c->rep->lines++;
	p->line = c->rd.lineno;
	p->off = c->rd.off;
	p->bad = cds_import_parse_line(&p->rec, line, len, &e) != CDS_OK;
	if (p->bad)
		snprintf(p->msg, sizeof(p->msg), "%s", e.msg);
	return c->n_pend == CHECK_BATCH ? check_pending(c, err) : CDS_OK;
}

static int seen_cmp(const void *a, const void *b)
{
	const struct cds_import_seen *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Within one run of equal hashes, report each line repeating an earlier one. */
static enum cds_err check_run(struct cds_import_check *c,
			      const struct cds_import_seen *v, size_t n,
			      struct cds_error *err)
{
	struct cds_import_record a, b;
	char msg[CDS_ERROR_MSG_BYTES];
	enum cds_err rc;

	for (size_t j = 1; j < n; j++) {
		rc = cds_import_lines_reparse(&c->rd, v[j].off, &b, err);
		for (size_t i = 0; i < j && !rc; i++) {
			rc = cds_import_lines_reparse(&c->rd, v[i].off, &a, err);
			if (!rc && strcmp(a.handle, b.handle) == 0) {
				snprintf(msg, sizeof(msg),
					 "handle '%.200s' repeats line %llu", b.handle,
					 (unsigned long long)v[i].line);
				report(c, v[j].line, msg, true);
				break;
			}
		}
		if (rc)
			return rc;
	}
	return CDS_OK;
}

static enum cds_err check_repeats(struct cds_import_check *c,
				  struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	size_t i = 0;

	if (c->n_seen < 2)
		return CDS_OK;
	qsort(c->seen, c->n_seen, sizeof(*c->seen), seen_cmp);
	while (i < c->n_seen && !rc) {
		size_t j = i + 1;

		while (j < c->n_seen && c->seen[j].hash == c->seen[i].hash)
			j++;
		if (j - i > 1)
			rc = check_run(c, c->seen + i, j - i, err);
		i = j;
	}
	return rc;
}

/* Every line, parsed and looked up; then the repeats. */
static enum cds_err check_lines(struct cds_import_check *c,
				struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	const char *line;
	size_t len;
	int got = 0;

	while (!rc && (got = cds_import_lines_next(&c->rd, &line, &len, err)) > 0) {
		if (atomic_load_explicit(&c->stop, memory_order_relaxed))
			return cds_fail(err, CDS_ERR_INTERNAL, "the check of '%s' "
					"was stopped", c->rd.name);
		rc = check_line(c, line, len, err);
	}
	if (!rc && got < 0)
		rc = CDS_ERR_IO;
	if (!rc)
		rc = check_pending(c, err);
	if (!rc)
		rc = check_repeats(c, err);
	return rc;
}

enum cds_err cds_import_check_run(struct cds_import_check *c,
				  struct cds_error *err)
{
	struct cds_import_report *rep = c->rep;
	enum cds_err rc = CDS_OK;

	c->only_exists = true;
	crypto_shorthash_keygen(c->hkey);
	c->pend = malloc(CHECK_BATCH * sizeof(*c->pend));
	if (!c->pend)
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory checking '%s'",
			      c->rd.name);
	if (!rc)
		rc = check_lines(c, err);
	free(c->pend);
	free(c->seen);
	c->pend = NULL;
	c->seen = NULL;
	sodium_memzero(c->hkey, sizeof(c->hkey));
	sort_messages(rep);
	if (!rc && rep->bad)
		rc = cds_fail(err, c->only_exists ? CDS_ERR_EXISTS : CDS_ERR_INVALID,
			      "'%s' has %llu bad line%s; nothing was imported",
			      c->rd.name, (unsigned long long)rep->bad,
			      rep->bad == 1 ? "" : "s");
	return rc;
}
