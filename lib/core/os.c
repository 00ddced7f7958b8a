/*
 * os.c: POSIX helpers shared by the store, the key files and the index.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

enum cds_err cds_write_all_sync(int fd, const char *path, const void *p,
				size_t n, struct cds_error *err)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return cds_fail(err,
					errno == ENOSPC ? CDS_ERR_FULL : CDS_ERR_IO,
					"cannot write '%s': %s", path,
					strerror(errno));
		c += w;
		n -= (size_t)w;
	}
	if (fsync(fd) != 0)
		return cds_fail(err, CDS_ERR_IO, "cannot sync '%s': %s", path,
				strerror(errno));
	return CDS_OK;
}

enum cds_err cds_read_head(const char *path, void *buf, size_t cap, size_t *n,
			   struct cds_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	*n = 0;
	if (fd < 0)
		return cds_fail(err, errno == ENOENT ? CDS_ERR_NOT_FOUND
						     : CDS_ERR_IO,
				"cannot open '%s': %s", path, strerror(errno));
	do
		r = read(fd, buf, cap);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		enum cds_err rc = cds_fail(err, CDS_ERR_IO, "cannot read '%s': %s",
					   path, strerror(errno));
		close(fd);
		return rc;
	}
	close(fd);
	*n = (size_t)r;
	return CDS_OK;
}

int cds_rwlock_init_writer_pref(pthread_rwlock_t *lock)
{
	pthread_rwlockattr_t a;
	int rc;

	if (pthread_rwlockattr_init(&a))
		return -1;
	pthread_rwlockattr_setkind_np(&a,
		PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(lock, &a);
	pthread_rwlockattr_destroy(&a);
	return rc ? -1 : 0;
}
