/*
 * storetest.h: helpers shared by test_store.c, test_keys.c and
 * test_import.c: fresh temporary data directories, removed afterwards.
 */
#ifndef CDS_TESTS_STORETEST_H
#define CDS_TESTS_STORETEST_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#endif
