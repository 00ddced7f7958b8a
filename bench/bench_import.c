/*
 * bench_import.c: bulk registration rates, end to end through cdsctl.
 *
 *   bench_import [-n N] [--cdsctl PATH]
 *
 * 1. Writes a CSV of N accounts (distinct phone handles, random keys) and
 *    times `cdsctl import` of it into a fresh data directory: the figure is
 *    handles/s, check pass included (target: >= 100,000/s).
 * 2. Times `cdsctl synth --count N` into another fresh directory.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/timeutil.h"
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

/* A fresh, initialised data directory under tmp. */
static int fresh_dir(char *dir, size_t cap, const char *tmp, const char *ctl,
		     unsigned long n)
{
	char num[32];

	snprintf(dir, cap, "%s/cds-bench-XXXXXX", tmp);
	if (!mkdtemp(dir))
		return -1;
	snprintf(num, sizeof(num), "%lu", n);
	return run((char *const[]){(char *)ctl, "--data", dir, "init",
				   "--expected-handles", num, NULL});
}

static void report(const char *what, unsigned long n, int64_t us)
{
	double s = (double)us / 1e6;

	printf("%-8s %10lu handles in %8.3f s: %10.0f handles/s\n", what, n, s,
	       s > 0 ? (double)n / s : 0.0);
}

static int bench(const char *ctl, const char *tmp, unsigned long n)
{
	char dir[PATH_MAX], csv[PATH_MAX + 16], num[32];
	int64_t t0;
	int rc;

	if (fresh_dir(dir, sizeof(dir), tmp, ctl, n) != 0)
		return fprintf(stderr, "bench_import: init failed\n"), 1;
	snprintf(csv, sizeof(csv), "%s/in.csv", dir);
	if (write_csv(csv, n) != 0)
		return fprintf(stderr, "bench_import: cannot write %s\n", csv), 1;
	t0 = cds_monotonic_us();
	rc = run((char *const[]){(char *)ctl, "--data", dir, "import", csv, NULL});
	if (rc == 0)
		report("import", n, cds_monotonic_us() - t0);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (rc != 0 || fresh_dir(dir, sizeof(dir), tmp, ctl, n) != 0)
		return fprintf(stderr, "bench_import: import failed\n"), 1;
	snprintf(num, sizeof(num), "%lu", n);
	t0 = cds_monotonic_us();
	rc = run((char *const[]){(char *)ctl, "--data", dir, "synth", "--count",
				 num, NULL});
	if (rc == 0)
		report("synth", n, cds_monotonic_us() - t0);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc != 0;
}

int main(int argc, char **argv)
{
	static char self[PATH_MAX], ctl[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	const char *cdsctl = NULL;
	unsigned long n = 100000;
	ssize_t len;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--cdsctl") && i + 1 < argc)
			cdsctl = argv[++i];
		else
			return fprintf(stderr, "usage: bench_import [-n N] "
					       "[--cdsctl PATH]\n"), 2;
	}
	if (n == 0 || n > CDS_SYNTH_MAX || sodium_init() < 0)
		return fprintf(stderr, "bench_import: bad -n\n"), 2;
	if (!cdsctl) {
		len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (len < 0)
			return fprintf(stderr, "bench_import: give --cdsctl\n"), 2;
		self[len] = '\0';
		snprintf(ctl, sizeof(ctl), "%s/../cdsctl", dirname(self));
		cdsctl = ctl;
	}
	printf("bench_import: cdsctl import and synth of %lu accounts "
	       "(one phone handle each)\n", n);
	return bench(cdsctl, tmp, n);
}
