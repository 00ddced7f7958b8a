/*
 * bench_verify.c: verification throughput through the real API, against a
 * cdsd started in this process on a fresh data directory, with codes
 * delivered to an outbox directory (DESIGN.md "Verified handles").
 *
 *   issue    POST /v1/verifications: limits, code, keyed hash, the store
 *            row (one SQLite commit), the outbox file (written and fsynced)
 *            and the suspended request resumed by the sender thread
 *   check    POST /v1/register with the code from the outbox: the code
 *            checked and spent, a new account and its handle, in one commit
 *   baselines GET /v1/health on the same keep-alive connection (what one
 *            HTTP round trip costs here), and writing and fsyncing a
 *            small file in the outbox's directory (the disk's floor for
 *            anything durable: issuing one code costs two such flushes,
 *            its store commit and its outbox file), so that the ratios
 *            travel between machines
 *
 * Runs the four interleaved for ROUNDS rounds (default 5) of N requests each
 * (default 200) and prints per-round rates, medians and the ratios of the
 * medians.  One client thread, one connection: latency-bound on purpose
 * (each code waits for its own fsyncs), like one user registering.
 *
 * Usage: bench_verify [N] [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "server/server.h"
#include "store/store.h"

#define MAX_ROUNDS 15

struct resp {
	char buf[1024];
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t k = size * n;

	if (r->len + k < sizeof(r->buf)) {
		memcpy(r->buf + r->len, p, k);
		r->len += k;
		r->buf[r->len] = '\0';
	}
	return k;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One request; the status, body in r.  body NULL: GET. */
static long call(CURL *c, const char *url, const char *body, struct resp *r)
{
	long status = 0;

	r->len = 0;
	r->buf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	else
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* The value of "name":"..." in a flat JSON text, into out. */
static int field(char *out, size_t cap, const char *json, const char *name)
{
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "\"%s\":\"", name);
	p = strstr(json, key);
	if (!p)
		return -1;
	p += strlen(key);
	e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= cap)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

static int read_file(char *out, size_t cap, const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
	return 0;
}

struct bench {
	CURL *c;
	char base[64];
	char outbox[256];
	unsigned next;               /* handles used so far */
	char ids[1 << 12][33];       /* verifications of the last issue round */
};

static double round_health(struct bench *b, int n)
{
	char url[128];
	struct resp r;
	double t0 = now();

	snprintf(url, sizeof(url), "%s/v1/health", b->base);
	for (int i = 0; i < n; i++)
		if (call(b->c, url, NULL, &r) != 200)
			return -1;
	return n / (now() - t0);
}

static double round_fsync(struct bench *b, int n)
{
	char path[512], text[100];
	double t0 = now();

	memset(text, 'x', sizeof(text));
	snprintf(path, sizeof(path), "%s/.fsync-baseline", b->outbox);
	for (int i = 0; i < n; i++) {
		FILE *f = fopen(path, "w");

		if (!f || fwrite(text, 1, sizeof(text), f) != sizeof(text) ||
		    fflush(f) || fsync(fileno(f))) {
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
	}
	unlink(path);
	return n / (now() - t0);
}

static double round_issue(struct bench *b, int n)
{
	char url[128], body[128];
	struct resp r;
	double t0 = now();

	snprintf(url, sizeof(url), "%s/v1/verifications", b->base);
	for (int i = 0; i < n; i++) {
		snprintf(body, sizeof(body), "{\"handle\":\"tel:+1555%07u\"}",
			 b->next + (unsigned)i);
		if (call(b->c, url, body, &r) != 202 ||
		    field(b->ids[i], sizeof(b->ids[i]), r.buf, "verification"))
			return -1;
	}
	b->next += (unsigned)n;
	return n / (now() - t0);
}

static double round_check(struct bench *b, int n)
{
	char url[128], body[256], path[512], msg[512], code[32];
	struct resp r;
	double t0 = now(), spent = 0;

	snprintf(url, sizeof(url), "%s/v1/register", b->base);
	for (int i = 0; i < n; i++) {
		double t1 = now();

		snprintf(path, sizeof(path), "%s/%s.json", b->outbox, b->ids[i]);
		if (read_file(msg, sizeof(msg), path) ||
		    field(code, sizeof(code), msg, "code"))
			return -1;
		spent += now() - t1; /* reading the outbox is the user's part */
		snprintf(body, sizeof(body),
			 "{\"verification\":\"%s\",\"code\":\"%s\",\"identity_key\":"
			 "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
			 b->ids[i], code);
		if (call(b->c, url, body, &r) != 201)
			return -1;
	}
	return n / (now() - t0 - spent);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static struct cds_server *start(char *dir, char *outbox, size_t cap)
{
	struct cds_server_config cfg;
	struct cds_server *srv = NULL;
	struct cds_error err = {0};

	snprintf(dir, 64, "/tmp/cds-bench-verify-XXXXXX");
	if (!mkdtemp(dir) || cds_store_create(dir, 8, &err) ||
	    cds_keys_init(dir, &err))
		goto fail;
	snprintf(outbox, cap, "%s/outbox", dir);
	cds_server_config_init(&cfg);
	cfg.datadir = dir;
	cfg.listen = "127.0.0.1:0";
	cfg.verify_outbox = outbox;
	cfg.verify_per_ip = 1e9;    /* one client asks for everything */
	cfg.quiet = true;
	if (mkdir(outbox, 0700) == 0 && !cds_server_start(&srv, &cfg, &err))
		return srv;
fail:
	fprintf(stderr, "bench_verify: cannot start: %s\n", err.msg);
	return NULL;
}

static void report(const char *what, double *v, int rounds, double health,
		   double fsyncs)
{
	double m = median(v, rounds);

	printf("%-30s", what);
	for (int i = 0; i < rounds; i++)
		printf(" %7.0f", v[i]);
	printf("  median %7.0f/s", m);
	if (health > 0)
		printf(" = %.4f x health, %.2f x fsync", m / health, m / fsyncs);
	printf("\n");
}

/* The interleaved rounds and the report; 0, or -1 if a request failed. */
static int run_rounds(struct bench *b, int n, int rounds)
{
	double h[MAX_ROUNDS], fs[MAX_ROUNDS], is[MAX_ROUNDS], ck[MAX_ROUNDS];

	printf("bench_verify: %d requests a round, %d rounds, interleaved "
	       "(health, fsync, issue, check); outbox %s\n", n, rounds, b->outbox);
	for (int i = 0; i < rounds; i++) {
		h[i] = round_health(b, n);
		fs[i] = round_fsync(b, n);
		is[i] = round_issue(b, n);
		ck[i] = round_check(b, n);
		if (h[i] < 0 || fs[i] < 0 || is[i] < 0 || ck[i] < 0) {
			fprintf(stderr, "bench_verify: a request failed in round %d\n",
				i + 1);
			return -1;
		}
	}
	report("baseline GET /v1/health", h, rounds, 0, 0);
	report("baseline write+fsync 100 B", fs, rounds, 0, 0);
	report("issue POST /v1/verifications", is, rounds, median(h, rounds),
	       median(fs, rounds));
	report("check POST /v1/register", ck, rounds, median(h, rounds),
	       median(fs, rounds));
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	static struct bench b;
	char dir[64], cmd[128];
	struct cds_server *srv;
	struct curl_slist *hdr;
	int rc;

	if (n < 1 || n > (1 << 12) || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bench_verify [N<=4096] [ROUNDS<=%d]\n",
			MAX_ROUNDS);
		return 2;
	}
	if (sodium_init() < 0 || !(srv = start(dir, b.outbox, sizeof(b.outbox))))
		return 1;
	snprintf(b.base, sizeof(b.base), "http://127.0.0.1:%u",
		 cds_server_port(srv));
	b.c = curl_easy_init();
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(b.c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(b.c, CURLOPT_WRITEFUNCTION, collect);
	rc = run_rounds(&b, n, rounds) ? 1 : 0;
	curl_slist_free_all(hdr);
	curl_easy_cleanup(b.c);
	(void)cds_server_stop(srv, 1000);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_verify: could not remove %s\n", dir);
	return rc;
}
