/*
 * bench_tstore.c: what transparency's history costs the store (tstore.h).
 *
 *   bench_tstore [-n N] [--bits K] [--versions V] [--rounds R] [--store URL]
 *
 * Each round, on SQLite and then (with --store URL, default $CDS_TEST_PG,
 * which tests/integration/pgserver.py sets) on PostgreSQL, in a fresh
 * store:
 *  1. first: appending an epoch's first version, N entries (104 bytes
 *     each, random) in 2^K buckets, one change row per bucket; beside it
 *     the baseline of writing the same bytes to a file with one fsync.
 *  2. load: reading that version back as a replica loads its view
 *     (cds_store_tepoch_changes); beside it reading the file back.
 *  3. small: V versions of 10 changed buckets (one entry out, one in),
 *     as a busy directory seals every second; beside it V directory
 *     writes (an identity key change: one transaction with a change row).
 * The medians of the rounds close the report, each as a ratio to its
 * baseline.  Temporary directories go under $TMPDIR (default /tmp).
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/os.h"
#include "core/timeutil.h"
#include "store/store_impl.h"

#define SMALL_BUCKETS 10
#define ROUNDS_MAX 15

struct opts {
	unsigned long n, versions;
	unsigned bits;
	int rounds;
	const char *url;
};

/* Seconds of each measure and of its baseline, per round. */
struct figures {
	double first, first_raw, load, load_raw, small, small_raw;
};

struct epoch {
	uint8_t *entries; /* n * CDS_ENTRY_BYTES */
	struct cds_tchange *ch;
	size_t n_ch, bytes;
};

/* Remove the store's directory: what create_at and raw_file made in it. */
static void dir_remove(const char *dir)
{
	static const char *const names[] = {"raw", "admin.token", "store.conf"};
	char path[4200];

	cds_sqlite_remove(dir);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	if (rmdir(dir) != 0)
		fprintf(stderr, "bench_tstore: cannot remove %s\n", dir);
}

static double since(int64_t t0)
{
	return (double)(cds_monotonic_us() - t0) / 1e6;
}

static int fail(const char *what, const struct cds_error *err)
{
	fprintf(stderr, "bench_tstore: %s: %s\n", what, err ? err->msg : "");
	return 1;
}

/* N random entries cut into 2^bits buckets of (about) equal size. */
static int epoch_make(struct epoch *e, unsigned long n, unsigned bits)
{
	size_t buckets = (size_t)1 << bits, at = 0;

	e->bytes = n * CDS_ENTRY_BYTES;
	e->entries = malloc(e->bytes ? e->bytes : 1);
	e->ch = calloc(buckets, sizeof(*e->ch));
	if (!e->entries || !e->ch)
		return -1;
	randombytes_buf(e->entries, e->bytes);
	for (size_t b = 0; b < buckets; b++) {
		size_t k = n / buckets + (b < n % buckets);

		e->ch[b] = (struct cds_tchange){.prefix = (uint32_t)b,
						.added = e->entries +
							 at * CDS_ENTRY_BYTES,
						.n_added = k};
		at += k;
	}
	e->n_ch = buckets;
	return 0;
}

static struct cds_tversion version_of(uint64_t v)
{
	struct cds_tversion t = {.seq = v};

	t.head.version = v;
	t.head.epoch = 1;
	t.head.time_ms = (uint64_t)(cds_now_us() / 1000);
	randombytes_buf(t.head.root, sizeof(t.head.root));
	return t;
}

static int count_bytes(void *ctx, uint64_t version, const struct cds_tchange *c)
{
	(void)version;
	*(size_t *)ctx += c->n_added * CDS_ENTRY_BYTES +
			  c->n_removed * CDS_FP_BYTES;
	return 0;
}

/* The baselines of 1 and 2: the bytes to a file (one fsync), and back. */
static int raw_file(const char *dir, const struct epoch *e, struct figures *f)
{
	char path[4200];
	struct cds_error err;
	uint8_t *back = malloc(e->bytes ? e->bytes : 1);
	int64_t t0 = cds_monotonic_us();
	ssize_t got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/raw", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!back || fd < 0 ||
	    cds_write_all_sync(fd, path, e->entries, e->bytes, &err)) {
		if (fd >= 0)
			close(fd);
		free(back);
		return fail("raw write", NULL);
	}
	close(fd);
	f->first_raw = since(t0);
	t0 = cds_monotonic_us();
	fd = open(path, O_RDONLY);
	for (ssize_t r = 1; fd >= 0 && r > 0 && (size_t)got < e->bytes; got += r)
		r = read(fd, back + got, e->bytes - (size_t)got);
	f->load_raw = since(t0);
	close(fd);
	free(back);
	return (size_t)got == e->bytes ? 0 : fail("raw read", NULL);
}

/*
 * 1 and 2: the epoch's first version appended, then loaded back on a new
 * connection (*s is reopened), as a restarted replica loads it.
 */
static int first_version(struct cds_store **s, const char *dir,
			 const struct epoch *e, struct figures *f)
{
	struct cds_tversion v = version_of(1);
	struct cds_error err;
	size_t bytes = 0;
	int64_t t0 = cds_monotonic_us();

	if (cds_store_tversion_append(*s, &v, e->ch, e->n_ch, &err))
		return fail("append the first version", &err);
	f->first = since(t0);
	cds_store_close(*s);
	*s = NULL;
	if (cds_store_open(s, dir, &err))
		return fail("reopen the store", &err);
	t0 = cds_monotonic_us();
	if (cds_store_tepoch_changes(*s, 1, 0, 1, count_bytes, &bytes, &err))
		return fail("load the epoch", &err);
	f->load = since(t0);
	return bytes == e->bytes ? 0 : fail("load: wrong byte count", NULL);
}

/* 3: V small versions, then V directory writes as the baseline. */
static int small_versions(struct cds_store *s, unsigned long n_versions,
			  struct figures *f)
{
	uint8_t fp[CDS_FP_BYTES] = {0}, entry[CDS_ENTRY_BYTES] = {0};
	struct cds_tchange ch[SMALL_BUCKETS];
	struct cds_new_account a = {0};
	struct cds_error err;
	int64_t t0 = cds_monotonic_us();

	for (int i = 0; i < SMALL_BUCKETS; i++)
		ch[i] = (struct cds_tchange){.prefix = (uint32_t)i * 7,
					    .removed = fp, .n_removed = 1,
					    .added = entry, .n_added = 1};
	for (unsigned long i = 0; i < n_versions; i++) {
		struct cds_tversion v = version_of(2 + i);

		if (cds_store_tversion_append(s, &v, ch, SMALL_BUCKETS, &err))
			return fail("append a small version", &err);
	}
	f->small = since(t0);
	if (cds_store_accounts_create(s, &a, 1, &err))
		return fail("create an account", &err);
	t0 = cds_monotonic_us();
	for (unsigned long i = 0; i < n_versions; i++) {
		a.identity_key[0] = (uint8_t)i;
		if (cds_store_account_set_key(s, a.id, a.identity_key, &err))
			return fail("set a key", &err);
	}
	f->small_raw = since(t0);
	return 0;
}

static int one(const struct opts *o, const struct epoch *e, const char *url,
	       struct figures *f)
{
	char dir[4096];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct cds_store *s = NULL;
	struct cds_error err;
	int rc = 1;

	snprintf(dir, sizeof(dir), "%s/cds-bench-XXXXXX", tmp);
	if (!mkdtemp(dir))
		return fail("mkdtemp", NULL);
	if (url)
		cds_pg_remove(url);
	if (cds_store_create_at(dir, o->bits, url, &err) ||
	    cds_store_open(&s, dir, &err))
		fail("create the store", &err);
	else
		rc = raw_file(dir, e, f) || first_version(&s, dir, e, f) ||
		     small_versions(s, o->versions, f);
	if (s)
		cds_store_close(s);
	dir_remove(dir);
	return rc;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of field (an offset into struct figures) over r rounds. */
static double median(const struct figures *f, int r, size_t field)
{
	double v[ROUNDS_MAX];

	for (int i = 0; i < r; i++)
		memcpy(&v[i], (const char *)&f[i] + field, sizeof(double));
	qsort(v, (size_t)r, sizeof(double), cmp);
	return r % 2 ? v[r / 2] : (v[r / 2 - 1] + v[r / 2]) / 2;
}

#define MED(f, r, x) median(f, r, offsetof(struct figures, x))

static void report(const char *name, const struct opts *o,
		   const struct epoch *e, const struct figures *f, int r)
{
	double mb = (double)e->bytes / 1e6, v = (double)o->versions;

	printf("median %-10s first %7.2f s (%6.1f MB/s) = %5.2fx raw file   "
	       "load %6.2f s (%6.1f MB/s) = %5.2fx raw read   small %7.0f "
	       "versions/s = %5.2fx directory writes\n", name, MED(f, r, first),
	       mb / MED(f, r, first), MED(f, r, first) / MED(f, r, first_raw),
	       MED(f, r, load), mb / MED(f, r, load),
	       MED(f, r, load) / MED(f, r, load_raw), v / MED(f, r, small),
	       MED(f, r, small) / MED(f, r, small_raw));
}

static int parse(int argc, char **argv, struct opts *o)
{
	/* Every option takes a value: step over both. */
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return -1;
		if (!strcmp(a, "-n"))
			o->n = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--bits"))
			o->bits = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--versions"))
			o->versions = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--rounds"))
			o->rounds = atoi(v);
		else if (!strcmp(a, "--store"))
			o->url = v;
		else
			return -1;
	}
	return o->bits <= 24 && o->rounds >= 1 && o->rounds <= ROUNDS_MAX &&
			       o->versions >= 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = {.n = 1000000, .bits = 14, .versions = 200, .rounds = 3,
			 .url = getenv("CDS_TEST_PG")};
	struct figures sq[ROUNDS_MAX], pg[ROUNDS_MAX];
	struct epoch e = {0};

	if (parse(argc, argv, &o))
		return fprintf(stderr, "usage: bench_tstore [-n N] [--bits K] "
				       "[--versions V] [--rounds 1..%d] "
				       "[--store URL]\n", ROUNDS_MAX), 2;
	if (sodium_init() < 0 || epoch_make(&e, o.n, o.bits))
		return fail("setup", NULL);
	printf("bench_tstore: first version of %lu entries (%.1f MB) in %u "
	       "buckets, %lu small versions of %d buckets, %d rounds\n", o.n,
	       (double)e.bytes / 1e6, 1u << o.bits, o.versions, SMALL_BUCKETS,
	       o.rounds);
	for (int r = 0; r < o.rounds; r++)
		if (one(&o, &e, NULL, &sq[r]) ||
		    (o.url && one(&o, &e, o.url, &pg[r])))
			return 1;
	report("sqlite", &o, &e, sq, o.rounds);
	if (o.url)
		report("postgresql", &o, &e, pg, o.rounds);
	free(e.entries);
	free(e.ch);
	return 0;
}
