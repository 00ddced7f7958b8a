/*
 * storetest.h: helpers shared by test_store.c, test_keys.c, test_import.c,
 * test_index.c and test_mirror.c: fresh temporary data directories, removed
 * afterwards, and the store backend the tests run on.
 *
 * The same test binary runs once on each backend: SQLite by default, and
 * PostgreSQL when CDS_TEST_PG holds a libpq URI (meson's *_pg entries run
 * the binary under tests/integration/pgserver.py, which starts a private
 * server and sets it).  A PostgreSQL database holds one store at a time, so
 * storetest_create empties it first.
 */
#ifndef CDS_TESTS_STORETEST_H
#define CDS_TESTS_STORETEST_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_impl.h"

static inline char *tmpdir_new(void)
{
	char tmpl[] = "/tmp/cds-unit-XXXXXX";
	char *d = mkdtemp(tmpl);

	if (!d) {
		perror("mkdtemp");
		abort();
	}
	return strdup(d);
}

static inline int tmpdir_rm_one(const char *path, const struct stat *st,
				int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void tmpdir_free(char *dir)
{
	if (!dir)
		return;
	nftw(dir, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* "dir/name" in a static buffer (one at a time). */
static inline const char *tmpdir_path(const char *dir, const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* The PostgreSQL URI of this run, or NULL when it runs on SQLite. */
static inline const char *storetest_pg(void)
{
	const char *url = getenv("CDS_TEST_PG");

	return url && url[0] ? url : NULL;
}

/* A new store in dir, on this run's backend. */
static inline enum cds_err storetest_create(const char *dir, unsigned bits,
					    struct cds_error *err)
{
	if (storetest_pg())
		cds_pg_remove(storetest_pg());
	return cds_store_create_at(dir, bits, storetest_pg(), err);
}

#endif
