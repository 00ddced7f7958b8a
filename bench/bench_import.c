/*
 * bench_import.c: bulk registration rates, end to end through cdsctl.
 *
 *   bench_import [-n N] [--rounds R] [--store URL] [--existing]
 *                [--cdsctl PATH] [--baseline PATH]
 *
 * 1. Writes a CSV of N accounts (distinct phone handles, random keys) and
 *    times `cdsctl import` of it into a fresh data directory: the figure is
 *    handles/s, check pass included (target: >= 100,000/s).
 *    With --existing the directory holds one account before the import,
 *    so the check pass looks every handle up (as any import after the
 *    first does).
 * 2. Times `cdsctl synth --count N` into another fresh directory.
 * With --store URL (a libpq URI; default $CDS_TEST_PG, which
 * tests/integration/pgserver.py sets), each round runs both on SQLite and
 * then on PostgreSQL (the database emptied before each init), so the two
 * backends are interleaved on the same machine; the medians and the ratio
 * PostgreSQL / SQLite close the report.
 * With --baseline PATH (another build's cdsctl), each round runs the
 * baseline and then this cdsctl on each backend (A, B, A, B, ...), and the
 * report ends with each backend's median ratio new / baseline.
 * cdsctl defaults to the one beside this program's directory
 * (build/bench/bench_import -> build/cdsctl).  Temporary directories go
 * under $TMPDIR (default /tmp) and are removed afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/timeutil.h"
#include "store/store_impl.h"
#include "store/synth.h"

#define CSV_SEED UINT64_C(0xc5f)

extern char **environ;

/* Run argv with stdout to /dev/null; returns its exit status or -1. */
static int run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
					 O_WRONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		fprintf(stderr, "bench_import: cannot run %s: %s\n", argv[0],
			strerror(errno));
		pid = -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int rm_one(const char *p, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int write_csv(const char *path, unsigned long n)
{
	char h[CDS_SYNTH_HANDLE_BYTES], k64[CDS_B64_LEN(32)];
	uint8_t key[32];
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (unsigned long i = 0; i < n; i++) {
		cds_synth_handle(h, CSV_SEED, i);
		randombytes_buf(key, sizeof(key));
		cds_b64_encode(k64, key, sizeof(key));
		fprintf(f, "%s,%s\n", h, k64);
	}
	return fclose(f);
}

#define MAX_ROUNDS 15

/*
 * What one round measured, handles/s, per cdsctl (0: the one measured,
 * 1: the baseline) and backend (0: SQLite, 1: PG).
 */
struct rates {
	double import[2][2][MAX_ROUNDS], synth[2][2][MAX_ROUNDS];
};

/* A fresh, initialised data directory under tmp; store NULL: SQLite. */
static int fresh_dir(char *dir, size_t cap, const char *tmp, const char *ctl,
		     unsigned long n, const char *store)
{
	char num[32];

	snprintf(dir, cap, "%s/cds-bench-XXXXXX", tmp);
	if (!mkdtemp(dir))
		return -1;
	snprintf(num, sizeof(num), "%lu", n);
	if (store)
		cds_pg_remove(store); /* one store per database */
	return run((char *const[]){(char *)ctl, "--data", dir, "init",
				   "--expected-handles", num, "--store",
				   (char *)(store ? store : "sqlite"), NULL});
}

static double rate(unsigned long n, int64_t us)
{
	return us > 0 ? (double)n * 1e6 / (double)us : 0.0;
}

/* Time argv (a cdsctl command on a fresh directory); handles/s or -1. */
static double timed(char *const argv[], unsigned long n)
{
	int64_t t0 = cds_monotonic_us();

	return run(argv) == 0 ? rate(n, cds_monotonic_us() - t0) : -1;
}

/* With --existing: one account, whose handle no synthetic one can be. */
static bool existing;

static int add_existing(const char *ctl, const char *dir)
{
	static char key[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

	return existing ? run((char *const[]){(char *)ctl, "--data", (char *)dir,
					      "account", "add", "--identity-key",
					      key, "mailto:bench@example.org",
					      NULL})
			: 0;
}

/* One backend: import of csv, then synth, each into a fresh directory. */
static int bench_once(const char *ctl, const char *tmp, const char *csv,
		      unsigned long n, const char *store, double *imp,
		      double *syn)
{
	char dir[PATH_MAX], num[32];

	snprintf(num, sizeof(num), "%lu", n);
	if (fresh_dir(dir, sizeof(dir), tmp, ctl, n, store) != 0 ||
	    add_existing(ctl, dir) != 0)
		return fprintf(stderr, "bench_import: init failed\n"), 1;
	*imp = timed((char *const[]){(char *)ctl, "--data", dir, "import",
				     (char *)csv, NULL}, n);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (*imp < 0 || fresh_dir(dir, sizeof(dir), tmp, ctl, n, store) != 0)
		return fprintf(stderr, "bench_import: import failed\n"), 1;
	*syn = timed((char *const[]){(char *)ctl, "--data", dir, "synth",
				     "--count", num, NULL}, n);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (*syn < 0)
		return fprintf(stderr, "bench_import: synth failed\n"), 1;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static const char *const backend_name[2] = {"sqlite", "postgresql"};
static const char *const variant_name[2] = {"", "baseline "};

/* Medians of one cdsctl; PostgreSQL's ratio to SQLite's. */
static void summary(const struct rates *r, int v, int rounds, bool pg)
{
	double m[2][2] = {{0}};

	for (int b = 0; b < (pg ? 2 : 1); b++) {
		m[b][0] = median(r->import[v][b], rounds);
		m[b][1] = median(r->synth[v][b], rounds);
		printf("median   %s%-11s import %10.0f handles/s   synth %10.0f "
		       "handles/s\n", variant_name[v], backend_name[b], m[b][0],
		       m[b][1]);
	}
	if (pg)
		printf("ratio    %spostgresql/sqlite  import %.2f   synth %.2f\n",
		       variant_name[v], m[0][0] > 0 ? m[1][0] / m[0][0] : 0,
		       m[0][1] > 0 ? m[1][1] / m[0][1] : 0);
}

/* Each backend's median over the rounds of new / baseline, round by round. */
static void summary_ab(const struct rates *r, int rounds, bool pg)
{
	double ri[MAX_ROUNDS], rs[MAX_ROUNDS];

	for (int b = 0; b < (pg ? 2 : 1); b++) {
		for (int i = 0; i < rounds; i++) {
			ri[i] = r->import[1][b][i] > 0
					? r->import[0][b][i] / r->import[1][b][i] : 0;
			rs[i] = r->synth[1][b][i] > 0
					? r->synth[0][b][i] / r->synth[1][b][i] : 0;
		}
		printf("ratio    %-11s new/baseline  import %.2f   synth %.2f "
		       "(medians of the rounds' ratios)\n", backend_name[b],
		       median(ri, rounds), median(rs, rounds));
	}
}

/* One round: each cdsctl (baseline first) on each backend. */
static int round_once(const char *const ctl[2], const char *tmp,
		      const char *csv, unsigned long n, const char *store,
		      struct rates *r, int i)
{
	int rc = 0;

	for (int v = ctl[1] ? 1 : 0; v >= 0 && !rc; v--)
		for (int b = 0; b < (store ? 2 : 1) && !rc; b++) {
			rc = bench_once(ctl[v], tmp, csv, n, b ? store : NULL,
					&r->import[v][b][i], &r->synth[v][b][i]);
			if (!rc)
				printf("round %-2d %s%-11s import %10.0f handles/s   "
				       "synth %10.0f handles/s\n", i + 1,
				       variant_name[v], backend_name[b],
				       r->import[v][b][i], r->synth[v][b][i]);
			fflush(stdout);
		}
	return rc;
}

static int bench(const char *const ctl[2], const char *tmp, unsigned long n,
		 int rounds, const char *store)
{
	char csvdir[PATH_MAX], csv[PATH_MAX + 16];
	struct rates r;
	int rc = 0;

	snprintf(csvdir, sizeof(csvdir), "%s/cds-bench-csv-XXXXXX", tmp);
	if (!mkdtemp(csvdir))
		return fprintf(stderr, "bench_import: cannot create %s\n", csvdir), 1;
	snprintf(csv, sizeof(csv), "%s/in.csv", csvdir);
	if (write_csv(csv, n) != 0) {
		fprintf(stderr, "bench_import: cannot write %s\n", csv);
		rc = 1;
	}
	for (int i = 0; i < rounds && !rc; i++)
		rc = round_once(ctl, tmp, csv, n, store, &r, i);
	nftw(csvdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (rc)
		return rc;
	summary(&r, 0, rounds, store != NULL);
	if (ctl[1]) {
		summary(&r, 1, rounds, store != NULL);
		summary_ab(&r, rounds, store != NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char self[PATH_MAX], ctl[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	const char *cdsctl = NULL, *baseline = NULL, *store = getenv("CDS_TEST_PG");
	unsigned long n = 100000, rounds = 3;
	ssize_t len;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--store") && i + 1 < argc)
			store = argv[++i];
		else if (!strcmp(argv[i], "--existing"))
			existing = true;
		else if (!strcmp(argv[i], "--cdsctl") && i + 1 < argc)
			cdsctl = argv[++i];
		else if (!strcmp(argv[i], "--baseline") && i + 1 < argc)
			baseline = argv[++i];
		else
			return fprintf(stderr, "usage: bench_import [-n N] "
					       "[--rounds R] [--store URL] "
					       "[--existing] [--cdsctl PATH] "
					       "[--baseline PATH]\n"), 2;
	}
	if (n == 0 || n > CDS_SYNTH_MAX || sodium_init() < 0)
		return fprintf(stderr, "bench_import: bad -n\n"), 2;
	if (rounds == 0 || rounds > MAX_ROUNDS)
		return fprintf(stderr, "bench_import: --rounds 1..%d\n",
			       MAX_ROUNDS), 2;
	if (store && !store[0])
		store = NULL;
	if (!cdsctl) {
		len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (len < 0)
			return fprintf(stderr, "bench_import: give --cdsctl\n"), 2;
		self[len] = '\0';
		snprintf(ctl, sizeof(ctl), "%s/../cdsctl", dirname(self));
		cdsctl = ctl;
	}
	printf("bench_import: cdsctl import and synth of %lu accounts "
	       "(one phone handle each), %lu round(s)%s%s%s%s\n", n, rounds,
	       store ? ", SQLite and PostgreSQL interleaved" : "",
	       existing ? ", importing into a store with one account" : "",
	       baseline ? ", alternating with the baseline " : "",
	       baseline ? baseline : "");
	return bench((const char *const[2]){cdsctl, baseline}, tmp, n,
		     (int)rounds, store);
}
