/*
 * bench_qlog.c: query-log writer throughput (DESIGN.md figure: at least
 * 100,000 records/s sustained in `batch` mode).
 *
 *   bench_qlog [--count N] [--threads T] [--handles K] [--mode batch|sync|both]
 *              [--dir DIR]
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
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/timeutil.h"
#include "store/qlog.h"

struct opts {
	long count, threads, handles;
	const char *mode, *dir;
};

struct worker {
	struct cds_qlog *q;
	long n, handles;
	int64_t busy_us;   /* time spent inside submit */
	int64_t cpu_us;    /* this thread's CPU time */
	uint64_t retries;
	int failed;
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
				     200, 0};
	struct cds_error err;
	enum cds_err rc;
	int64_t t0;

	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(0xcb007107); /* 203.0.113.7 */
	for (long i = 0; i < w->handles; i++)
		h[i] = handle_pool[i % 8];
	w->cpu_us = -cpu_us(CLOCK_THREAD_CPUTIME_ID);
	for (long i = 0; i < w->n; i++) {
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

static int run(const struct opts *o, enum cds_qlog_durability dur)
{
	struct cds_qlog_config cfg = {o->dir, 30, dur, CDS_QLOG_IP_TRUNCATED, 0,
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
		return 1;
	}
	t0 = cds_monotonic_us();
	cpu = -cpu_us(CLOCK_PROCESS_CPUTIME_ID);
	for (long i = 0; i < o->threads; i++) {
		w[i] = (struct worker){q, o->count / o->threads +
					      (i < o->count % o->threads),
				       o->handles, 0, 0, 0};
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
	printf("%-5s threads=%ld handles/record=%ld records=%ld: %.0f records/s, "
	       "%.1f records/commit, %llu busy retries, submit cost %.2f us/record, "
	       "CPU %.2f us/record (%.2f outside the submitters)%s\n",
	       dur == CDS_QLOG_SYNC ? "sync" : "batch", o->threads, o->handles,
	       o->count, (double)o->count * 1e6 / (double)(t1 - t0 ? t1 - t0 : 1),
	       st.groups ? (double)st.written / (double)st.groups : 0.0,
	       (unsigned long long)retries,
	       (double)busy / (double)o->count, (double)cpu / (double)o->count,
	       (double)(cpu - cpu_sub) / (double)o->count, failed ? " (FAILED)" : "");
	free(w);
	free(th);
	return failed;
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
		else
			goto bad;
	}
	if (o->count >= 1 && o->threads >= 1 && o->threads <= 256 &&
	    o->handles >= 0 && o->handles <= 128 &&
	    (!strcmp(o->mode, "batch") || !strcmp(o->mode, "sync") ||
	     !strcmp(o->mode, "both")))
		return 0;
bad:
	fprintf(stderr, "usage: bench_qlog [--count N] [--threads 1-256] "
			"[--handles 0-128] [--mode batch|sync|both] [--dir DIR]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = {200000, 4, 0, "both", NULL};
	char tmpl[] = "/tmp/cds-bench-qlog-XXXXXX";
	int rc = 0;

	if (parse(&o, argc, argv))
		return 2;
	if (!o.dir && !(o.dir = mkdtemp(tmpl))) {
		perror("bench_qlog: mkdtemp");
		return 1;
	}
	if (strcmp(o.mode, "sync") != 0)
		rc |= run(&o, CDS_QLOG_BATCH);
	if (strcmp(o.mode, "batch") != 0)
		rc |= run(&o, CDS_QLOG_SYNC);
	if (o.dir == tmpl)
		nftw(tmpl, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
