/*
 * test_daemon.c: the last line of defence of lib/server/daemon.c.  When
 * libmicrohttpd panics, the process dies, but only after the query log has
 * committed what it held: a crash of the HTTP library must not lose
 * records.  A child process starts a real server, queues records in batch
 * mode (where they normally linger ~20 ms before a commit), and calls the
 * panic hook that cds_daemon_start installed; the parent checks that the
 * child died of SIGABRT and that every record is on disk.
 * (The clean SIGTERM path is tested under traffic by
 * tests/integration/test_shutdown.py.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "crypto/keys.h"
#include "server/server_int.h"
#include "store/store.h"
#include "storetest.h"

#define N_RECORDS 2000

static void child_panics(const char *dir)
{
	struct cds_server_config c;
	struct cds_server *s;
	struct cds_error err = {0};
	struct cds_qlog_request qr = {.endpoint = CDS_EP_PARAMS, .status = 200};

	cds_server_config_init(&c);
	c.datadir = dir;
	c.listen = "127.0.0.1:0";
	c.quiet = true;
	if (cds_server_start(&s, &c, &err)) {
		fprintf(stderr, "start: %s\n", err.msg);
		_exit(2);
	}
	for (int i = 0; i < N_RECORDS; i++)
		if (cds_qlog_submit(s->qlog, &qr, &err)) {
			fprintf(stderr, "submit: %s\n", err.msg);
			_exit(2);
		}
	/* As MHD would: its panic callback, installed by cds_daemon_start. */
	cds_daemon_panic(NULL, "daemon.c", 1, "test panic");
	_exit(3); /* not reached: the hook aborts */
}

static long count_records(const char *dir)
{
	char qdir[4096], path[4096 + 256];
	DIR *d;
	struct dirent *e;
	long n = 0;

	snprintf(qdir, sizeof(qdir), "%s/querylog", dir);
	d = opendir(qdir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		sqlite3 *db;
		sqlite3_stmt *st;
		size_t len = strlen(e->d_name);

		if (len < 8 || strcmp(e->d_name + len - 8, ".sqlite3"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", qdir, e->d_name);
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db,
			"SELECT count(*) FROM records WHERE endpoint = 'params'",
			-1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		n += sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	closedir(d);
	return n;
}

static void test_panic_flushes_query_log(void **state)
{
	char *dir = tmpdir_new();
	struct cds_error err = {0};
	int status = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(cds_store_create(dir, 4, &err), CDS_OK);
	assert_int_equal(cds_keys_init(dir, &err), CDS_OK);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_panics(dir);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_int_equal(count_records(dir), N_RECORDS);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_panic_flushes_query_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
