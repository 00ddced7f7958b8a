/*
 * bench_qlog.c: query-log writer throughput (DESIGN.md figure: at least
 * 100,000 records/s sustained in `batch` mode).
 *
 *   bench_qlog [--count N] [--threads T] [--handles K] [--mode batch|sync|both]
 *              [--dir DIR] [--backend sqlite|postgresql|both] [--rounds R]
 *              [--sweep-records M]
 *
 * T threads submit N records in all (plain-lookup records with K handles
 * each when K > 0, discovery records otherwise) to a fresh log in DIR
 * (default: a new directory under /tmp, removed afterwards).  A submit
 * refused with CDS_ERR_BUSY (queue full) is retried, so the figure is what
 * the writer sustains, not what the queue absorbs.  Prints records/s from
 * the first submit until everything is committed, the average group size
 * (records per commit), the refusals, the submitters' own cost per
 * record (what a request pays on its path), and the CPU time per record:
 * all of the process's, and the part outside the submitting threads (the
 * writer's, which a busy server pays on cores its requests could use).
 *
 * --backend postgresql writes to the database CDS_TEST_PG names (run it
 * under tests/integration/pgserver.py, which starts one), through a data
 * directory whose store.conf names it; `both` interleaves SQLite and
 * PostgreSQL runs (R rounds: sqlite, postgresql, sqlite, ...) and prints
 * the medians and their ratio.  --sweep-records M then, on each backend,
 * fills a day 45 days ago with one record and a day 40 days ago with M,
 * and times the sweep that removes each (a file unlinked; a partition
 * dropped): the ratio full/empty says whether removal grows with a day's
 * size.
 */
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <libpq-fe.h>

#include "core/timeutil.h"
#include "qlog/qlog.h"
#include "store/store_impl.h" /* cds_store_conf_write */


struct opts {
	long count, threads, handles, rounds, sweep_records;
	const char *mode, *dir, *backend;
};

struct worker {
	struct cds_qlog *q;
	long n, handles;
	int64_t busy_us;   /* time spent inside submit */
	int64_t cpu_us;    /* this thread's CPU time */
	uint64_t retries;
	int failed;
	int64_t time_us;   /* 0: now; else the first record's time */
};

static const char *const handle_pool[] = {
	"tel:+15551230001", "tel:+15551230002", "tel:+15551230003",
	"tel:+15551230004", "mailto:alice@example.org", "mailto:bob@example.org",
	"tel:+442071838750", "tel:+4930123456",
};

/* CPU time of the calling thread, or of the whole process. */
static int64_t cpu_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const char *h[128];
	struct sockaddr_in peer = {0};
	uint8_t acct[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct cds_qlog_request r = {(struct sockaddr *)&peer, acct,
				     w->handles ? CDS_EP_LOOKUP : CDS_EP_DISCOVER,
				     (uint32_t)(w->handles ? w->handles : 100),
				     200, w->time_us};
	struct cds_error err;
	enum cds_err rc;
	int64_t t0;

	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(0xcb007107); /* 203.0.113.7 */
	for (long i = 0; i < w->handles; i++)
		h[i] = handle_pool[i % 8];
	w->cpu_us = -cpu_us(CLOCK_THREAD_CPUTIME_ID);
	for (long i = 0; i < w->n; i++) {
		if (w->time_us)
			r.time_us = w->time_us + i;
		do {
			t0 = cds_monotonic_us();
			rc = w->handles ? cds_qlog_submit_lookup(w->q, &r, h,
								 (size_t)w->handles,
								 &err)
					: cds_qlog_submit(w->q, &r, &err);
			w->busy_us += cds_monotonic_us() - t0;
			w->retries += rc == CDS_ERR_BUSY;
		} while (rc == CDS_ERR_BUSY);
		if (rc) {
			fprintf(stderr, "bench_qlog: %s\n", err.msg);
			w->failed = 1;
			break;
		}
	}
	w->cpu_us += cpu_us(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

/* Start each PostgreSQL run with no log (the bench's database only). */
static int pg_reset(void)
{
	const char *url = getenv("CDS_TEST_PG");
	PGconn *c;
	PGresult *r;
	int bad;

	if (!url || !url[0]) {
		fprintf(stderr, "bench_qlog: --backend postgresql needs CDS_TEST_PG "
				"(run under tests/integration/pgserver.py)\n");
		return 1;
	}
	c = PQconnectdb(url);
	r = PQexec(c, "DROP TABLE IF EXISTS cds.qlog_records, cds.qlog_config,"
		      " cds.qlog_version CASCADE");
	bad = PQresultStatus(r) != PGRES_COMMAND_OK;
	if (bad)
		fprintf(stderr, "bench_qlog: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return bad;
}

/* Submit o->count records from o->threads threads; records/s, or -1. */
static double run(const struct opts *o, const char *dir, const char *name,
		  enum cds_qlog_durability dur, int64_t time_us)
{
	/* Retention long enough that its own sweeper leaves sweep_time's days. */
	struct cds_qlog_config cfg = {dir, 3650, dur, CDS_QLOG_IP_TRUNCATED, 0,
				      o->handles > 0};
	struct worker *w = calloc((size_t)o->threads, sizeof(*w));
	pthread_t *th = calloc((size_t)o->threads, sizeof(*th));
	struct cds_qlog_stats st;
	struct cds_error err;
	struct cds_qlog *q;
	int64_t t0, t1, busy = 0, cpu, cpu_sub = 0;
	uint64_t retries = 0;
	int failed = 0;

	if (!w || !th || cds_qlog_open(&q, &cfg, &err)) {
		fprintf(stderr, "bench_qlog: cannot start: %s\n",
			w && th ? err.msg : "out of memory");
		free(w);
		free(th);
		return -1;
	}
	t0 = cds_monotonic_us();
	cpu = -cpu_us(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < o->threads; i++) {
		w[i] = (struct worker){q, o->count / o->threads +
					      (i < o->count % o->threads),
				       o->handles, 0, 0, 0, 0};
		if (time_us) /* one day, records of distinct microseconds */
			w[i].time_us = time_us + i * (o->count / o->threads + 1);
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	for (long i = 0; i < o->threads; i++) {
		pthread_join(th[i], NULL);
		busy += w[i].busy_us;
		cpu_sub += w[i].cpu_us;
		retries += w[i].retries;
		failed |= w[i].failed;
	}
	/* The clock stops when everything is committed (or lost). */
	do {
		cds_qlog_get_stats(q, &st);
		if (st.written + st.write_errors < (uint64_t)o->count && !failed)
			usleep(500);
	} while (st.written + st.write_errors < (uint64_t)o->count && !failed);
	t1 = cds_monotonic_us();
	cds_qlog_close(q);
	cpu += cpu_us(CLOCK_PROCESS_CPUTIME_ID);
	failed |= st.write_errors > 0;
	printf("%-10s %-5s threads=%ld handles/record=%ld records=%ld: %.0f records/s, "
	       "%.1f records/commit, %llu busy retries, submit cost %.2f us/record, "
	       "CPU %.2f us/record (%.2f outside the submitters)%s\n",
	       name, dur == CDS_QLOG_SYNC ? "sync" : "batch", o->threads, o->handles,
	       o->count, (double)o->count * 1e6 / (double)(t1 - t0 ? t1 - t0 : 1),
	       st.groups ? (double)st.written / (double)st.groups : 0.0,
	       (unsigned long long)retries,
	       (double)busy / (double)o->count, (double)cpu / (double)o->count,
	       (double)(cpu - cpu_sub) / (double)o->count, failed ? " (FAILED)" : "");
	free(w);
	free(th);
	return failed ? -1 : (double)o->count * 1e6 / (double)(t1 - t0 ? t1 - t0 : 1);
}

static int parse(struct opts *o, int argc, char **argv)
{
	/* Every option takes a value: step over both. */
	for (int i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			goto bad;
		if (!strcmp(argv[i], "--count"))
			o->count = atol(v);
		else if (!strcmp(argv[i], "--threads"))
			o->threads = atol(v);
		else if (!strcmp(argv[i], "--handles"))
			o->handles = atol(v);
		else if (!strcmp(argv[i], "--mode"))
			o->mode = v;
		else if (!strcmp(argv[i], "--dir"))
			o->dir = v;
		else if (!strcmp(argv[i], "--backend"))
			o->backend = v;
		else if (!strcmp(argv[i], "--rounds"))
			o->rounds = atol(v);
		else if (!strcmp(argv[i], "--sweep-records"))
			o->sweep_records = atol(v);
		else
			goto bad;
	}
	if (o->count >= 1 && o->threads >= 1 && o->threads <= 256 &&
	    o->handles >= 0 && o->handles <= 128 && o->rounds >= 1 &&
	    o->rounds <= 99 && o->sweep_records >= 0 &&
	    o->sweep_records < 80000000 &&
	    (!strcmp(o->mode, "batch") || !strcmp(o->mode, "sync") ||
	     !strcmp(o->mode, "both")) &&
	    (!strcmp(o->backend, "sqlite") || !strcmp(o->backend, "postgresql") ||
	     !strcmp(o->backend, "both")))
		return 0;
bad:
	fprintf(stderr, "usage: bench_qlog [--count N] [--threads 1-256] "
			"[--handles 0-128] [--mode batch|sync|both] [--dir DIR]\n"
			"                  [--backend sqlite|postgresql|both] "
			"[--rounds 1-99] [--sweep-records M]\n");
	return 2;
}

/* A fresh data directory under base for one backend ("pg": store.conf). */
static char *backend_dir(const char *base, bool pg)
{
	static unsigned n;
	struct cds_error err;
	char *d;

	if (asprintf(&d, "%s/%s-%u", base, pg ? "pg" : "sqlite", n++) < 0 ||
	    mkdir(d, 0700) != 0)
		return NULL;
	if (pg && (pg_reset() ||
		   cds_store_conf_write(d, getenv("CDS_TEST_PG"), &err))) {
		free(d);
		return NULL;
	}
	return d;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Rounds of each backend wanted, interleaved; medians and their ratio. */
static int throughput(const struct opts *o, const char *base,
		      enum cds_qlog_durability dur)
{
	double got[2][99];
	bool want[2] = {strcmp(o->backend, "postgresql") != 0,
			strcmp(o->backend, "sqlite") != 0};
	static const char *const names[2] = {"sqlite", "postgresql"};
	char *d;

	for (long r = 0; r < o->rounds; r++)
		for (int b = 0; b < 2; b++) {
			if (!want[b])
				continue;
			d = backend_dir(base, b == 1);
			got[b][r] = d ? run(o, d, names[b], dur, 0) : -1;
			free(d);
			if (got[b][r] < 0)
				return 1;
		}
	if (o->rounds > 1 || (want[0] && want[1]))
		printf("median of %ld: sqlite %.0f, postgresql %.0f records/s; "
		       "postgresql/sqlite %.2f\n", o->rounds,
		       want[0] ? median(got[0], o->rounds) : 0,
		       want[1] ? median(got[1], o->rounds) : 0,
		       want[0] && want[1] ? median(got[1], o->rounds) /
					    median(got[0], o->rounds) : 0);
	return 0;
}

/* Time one sweep (retention days, as of now); ms, or -1. */
static double timed_sweep(const char *d, int retention, uint64_t *n)
{
	struct cds_error err;
	int64_t t0 = cds_monotonic_us();

	if (cds_qlog_sweep(d, retention, cds_now_us(), n, &err)) {
		fprintf(stderr, "bench_qlog: sweep: %s\n", err.msg);
		return -1;
	}
	return (double)(cds_monotonic_us() - t0) / 1000.0;
}

/*
 * A day of one record (45 days ago) and a day of M (40 days ago); sweep
 * the first alone (retention 42), then the second (retention 30): today,
 * which the writer states at start-up, stays.
 */
static int sweep_time(const struct opts *o, const char *base, bool pg)
{
	int64_t today = cds_time_day_start(cds_now_us());
	const char *name = pg ? "postgresql" : "sqlite";
	struct opts fill = *o;
	uint64_t n1 = 0, n2 = 0;
	double empty, full;
	char *d = backend_dir(base, pg);
	int rc = 1;

	fill.handles = 0;
	fill.threads = 1;
	fill.count = 1;
	if (!d || run(&fill, d, name, CDS_QLOG_BATCH,
		      today - 45 * CDS_USEC_PER_DAY) < 0)
		goto out;
	fill.threads = o->threads;
	fill.count = o->sweep_records;
	if (run(&fill, d, name, CDS_QLOG_BATCH, today - 40 * CDS_USEC_PER_DAY) < 0)
		goto out;
	empty = timed_sweep(d, 42, &n1);
	full = empty < 0 ? -1 : timed_sweep(d, 30, &n2);
	if (full < 0)
		goto out;
	printf("%-10s sweep: a day of 1 record in %.1f ms (%llu day), a day of "
	       "%ld records in %.1f ms (%llu day); full/empty %.2f\n", name,
	       empty, (unsigned long long)n1, o->sweep_records, full,
	       (unsigned long long)n2, empty > 0 ? full / empty : 0);
	rc = n1 != 1 || n2 != 1;
out:
	free(d);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {200000, 4, 0, 1, 0, "both", NULL, "sqlite"};
	char tmpl[] = "/tmp/cds-bench-qlog-XXXXXX";
	int rc = 0;

	if (parse(&o, argc, argv))
		return 2;
	if (!o.dir && !(o.dir = mkdtemp(tmpl))) {
		perror("bench_qlog: mkdtemp");
		return 1;
	}
	if (strcmp(o.mode, "sync") != 0)
		rc |= throughput(&o, o.dir, CDS_QLOG_BATCH);
	if (strcmp(o.mode, "batch") != 0)
		rc |= throughput(&o, o.dir, CDS_QLOG_SYNC);
	if (o.sweep_records && strcmp(o.backend, "postgresql") != 0)
		rc |= sweep_time(&o, o.dir, false);
	if (o.sweep_records && strcmp(o.backend, "sqlite") != 0)
		rc |= sweep_time(&o, o.dir, true);
	if (o.dir == tmpl)
		nftw(tmpl, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
