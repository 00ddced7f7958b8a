/*
 * store.c: the public face of the directory store (store.h).
 *
 * Everything here is independent of the backend: it checks arguments
 * (canonical handles, prefix bits), writes the admin token file and hands
 * checked input to the backend's ops table (store_impl.h).  So a backend may
 * assume that every handle it gets is canonical.
 *
 * The admin token file DIR/admin.token (0600) is written to a temporary name
 * before the store is created and renamed after, so that a store never exists
 * without its admin token, and a failed create leaves neither behind.  For a
 * PostgreSQL store, DIR/store.conf is written between the two, and undone
 * (with the database's tables) if the rename fails.
 */
#include "core/os.h"
#include "store/store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/handle.h"

/* Check one handle; on failure the error names it and its batch position. */
static enum cds_err check_handle(const char *h, long index,
				 struct cds_error *err)
{
	enum cds_err rc;

	if (!h)
		return cds_fail_at(err, CDS_ERR_INVALID, index,
				   "handle %ld is missing (NULL)", index);
	rc = cds_handle_check(h, strlen(h), NULL, err);
	if (rc && err)
		err->index = index;
	return rc;
}

static enum cds_err check_handles(const char *const *h, size_t n,
				  struct cds_error *err)
{
	enum cds_err rc = CDS_OK;

	if (n && !h)
		return cds_fail(err, CDS_ERR_INVALID, "handle list is missing");
	for (size_t i = 0; i < n && !rc; i++)
		rc = check_handle(h[i], (long)i, err);
	return rc;
}

enum cds_err cds_token_write_file(const char *path, const char *token,
				  struct cds_error *err)
{
	char line[CDS_TOKEN_MAX_BYTES + 1];
	size_t n = strlen(token);
	enum cds_err rc;
	int fd;

	memcpy(line, token, n);
	line[n++] = '\n';
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = cds_fail(err, CDS_ERR_IO, "cannot create '%s': %s", path,
			      strerror(errno));
		goto out;
	}
	rc = cds_write_all_sync(fd, path, line, n, err);
	close(fd);
out:
	sodium_memzero(line, sizeof(line));
	return rc;
}

static enum cds_err datadir_check(const char *datadir, struct cds_error *err)
{
	struct stat st;

	if (stat(datadir, &st) != 0)
		return cds_fail(err, CDS_ERR_NOT_FOUND,
				"data directory '%s' does not exist", datadir);
	if (!S_ISDIR(st.st_mode))
		return cds_fail(err, CDS_ERR_INVALID,
				"data directory '%s' is not a directory", datadir);
	return CDS_OK;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

static bool is_sqlite(const char *url)
{
	return !url || strcmp(url, "sqlite") == 0;
}

/* Refuse a URL we cannot use, and a directory that has a store already. */
static enum cds_err create_check(const char *datadir, unsigned prefix_bits,
				 const char *url, struct cds_error *err)
{
	char path[PATH_MAX];
	enum cds_err rc;

	if (prefix_bits > CDS_PREFIX_BITS_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"prefix bits %u out of range 0..%d", prefix_bits,
				CDS_PREFIX_BITS_MAX);
	if (!is_sqlite(url) && (rc = cds_store_url_check(url, err)))
		return rc;
	rc = datadir_check(datadir, err);
	if (rc)
		return rc;
	if (cds_store_conf_exists(datadir))
		return cds_fail(err, CDS_ERR_EXISTS,
				"'%s' already has a store (store.conf)", datadir);
	snprintf(path, sizeof(path), "%s/%s", datadir, "cds.sqlite3");
	if (!is_sqlite(url) && access(path, F_OK) == 0)
		return cds_fail(err, CDS_ERR_EXISTS, "a store already exists: '%s'",
				path);
	return CDS_OK;
}

/* Create the backend's store; DIR records a PostgreSQL one. */
static enum cds_err backend_create(const char *datadir, unsigned prefix_bits,
				   const char *url, const uint8_t *hash,
				   struct cds_error *err)
{
	enum cds_err rc;

	if (is_sqlite(url))
		return cds_sqlite_create(datadir, prefix_bits, hash, err);
	rc = cds_pg_create(url, prefix_bits, hash, err);
	if (!rc && (rc = cds_store_conf_write(datadir, url, err)))
		cds_pg_remove(url);
	return rc;
}

static void backend_remove(const char *datadir, const char *url)
{
	char path[PATH_MAX];

	if (is_sqlite(url)) {
		cds_sqlite_remove(datadir);
		return;
	}
	snprintf(path, sizeof(path), "%s/store.conf", datadir);
	unlink(path);
	cds_pg_remove(url);
}

enum cds_err cds_store_create_at(const char *datadir, unsigned prefix_bits,
				 const char *url, struct cds_error *err)
{
	char token[CDS_TOKEN_MAX_BYTES], tmp[PATH_MAX], final[PATH_MAX];
	uint8_t hash[CDS_TOKEN_HASH_BYTES];
	enum cds_err rc;

	rc = create_check(datadir, prefix_bits, url, err);
	if (rc)
		return rc;
	if (snprintf(tmp, sizeof(tmp), "%s/.admin.token.tmp", datadir) >=
		    (int)sizeof(tmp) ||
	    snprintf(final, sizeof(final), "%s/admin.token", datadir) >=
		    (int)sizeof(final))
		return cds_fail(err, CDS_ERR_INVALID, "data directory path too long");
	cds_token_new_admin(token);
	cds_token_hash(hash, token);
	rc = cds_token_write_file(tmp, token, err);
	if (rc)
		goto out;
	rc = backend_create(datadir, prefix_bits, url, hash, err);
	if (rc) {
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, final) != 0) {
		rc = cds_fail(err, CDS_ERR_IO, "cannot rename '%s' to '%s': %s", tmp,
			      final, strerror(errno));
		backend_remove(datadir, url);
		unlink(tmp);
		goto out;
	}
	sync_dir(datadir);
out:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

enum cds_err cds_store_create(const char *datadir, unsigned prefix_bits,
			      struct cds_error *err)
{
	return cds_store_create_at(datadir, prefix_bits, NULL, err);
}

/* DIR/store.conf names a PostgreSQL store; without it, SQLite. */
enum cds_err cds_store_open(struct cds_store **out, const char *datadir,
			    struct cds_error *err)
{
	char url[CDS_STORE_URL_MAX];
	enum cds_err rc;

	*out = NULL;
	rc = datadir_check(datadir, err);
	if (rc)
		return rc;
	if (!cds_store_conf_exists(datadir))
		return cds_sqlite_open(out, datadir, err);
	rc = cds_store_conf_read(datadir, url, err);
	if (!rc)
		rc = cds_pg_open(out, url, err);
	return rc;
}

void cds_store_close(struct cds_store *s)
{
	if (s)
		s->ops->close(s);
}

enum cds_err cds_store_prefix_bits(struct cds_store *s, unsigned *bits,
				   struct cds_error *err)
{
	return s->ops->prefix_bits(s, bits, err);
}

enum cds_err cds_store_accounts_create(struct cds_store *s,
				       struct cds_new_account *accts, size_t n,
				       struct cds_error *err)
{
	return cds_store_accounts_create_if(s, accts, n, NULL, NULL, err);
}

enum cds_err cds_store_accounts_create_if(struct cds_store *s,
					  struct cds_new_account *accts,
					  size_t n, cds_store_ready_fn ready,
					  void *ctx, struct cds_error *err)
{
	enum cds_err rc;

	for (size_t i = 0; i < n; i++) {
		rc = check_handles(accts[i].handles, accts[i].n_handles, err);
		if (rc) {
			if (err)
				err->index = (long)i;
			return rc;
		}
	}
	rc = n ? s->ops->accounts_create(s, accts, n, ready, ctx, err) : CDS_OK;
	if (rc)
		for (size_t i = 0; i < n; i++)
			sodium_memzero(accts[i].token, sizeof(accts[i].token));
	return rc;
}

enum cds_err cds_store_account_get(struct cds_store *s,
				   const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				   struct cds_account *out,
				   struct cds_error *err)
{
	return s->ops->account_get(s, id, out, err);
}

enum cds_err cds_store_account_delete(struct cds_store *s,
				      const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				      struct cds_error *err)
{
	return s->ops->account_delete(s, id, err);
}

enum cds_err cds_store_account_set_key(struct cds_store *s,
				       const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				       const uint8_t key[static CDS_IDENTITY_KEY_BYTES],
				       struct cds_error *err)
{
	return s->ops->account_set_key(s, id, key, err);
}

enum cds_err cds_store_handles_update(struct cds_store *s,
				      const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				      const char *const *add, size_t n_add,
				      const char *const *remove, size_t n_remove,
				      struct cds_error *err)
{
	enum cds_err rc;

	rc = check_handles(add, n_add, err);
	if (!rc)
		rc = check_handles(remove, n_remove, err);
	if (rc)
		return rc;
	return s->ops->handles_update(s, id, add, n_add, remove, n_remove, err);
}

enum cds_err cds_store_account_handles(struct cds_store *s,
				       const uint8_t id[static CDS_ACCOUNT_ID_BYTES],
				       cds_store_name_fn fn, void *ctx,
				       struct cds_error *err)
{
	struct cds_account a;
	enum cds_err rc = s->ops->account_get(s, id, &a, err);

	sodium_memzero(&a, sizeof(a));
	if (rc)
		return rc;
	return s->ops->account_handles(s, id, fn, ctx, err);
}

enum cds_err cds_store_handle_get(struct cds_store *s, const char *handle,
				  struct cds_account *out,
				  struct cds_error *err)
{
	enum cds_err rc = check_handle(handle, -1, err);

	if (rc)
		return rc;
	return s->ops->handle_get(s, handle, out, err);
}

enum cds_err cds_store_handles_taken(struct cds_store *s,
				     const char *const *handles, size_t n,
				     bool *taken, struct cds_error *err)
{
	enum cds_err rc = check_handles(handles, n, err);

	if (rc || n == 0)
		return rc;
	return s->ops->handles_taken(s, handles, n, taken, err);
}

enum cds_err cds_store_scan(struct cds_store *s, cds_store_handle_fn fn,
			    void *ctx, uint64_t *seq, struct cds_error *err)
{
	return s->ops->scan(s, fn, ctx, seq, err);
}

enum cds_err cds_store_scan_accounts(struct cds_store *s,
				     cds_store_account_fn fn, void *ctx,
				     uint64_t *seq, struct cds_error *err)
{
	return s->ops->scan_accounts(s, fn, ctx, seq, err);
}

enum cds_err cds_store_changes(struct cds_store *s, uint64_t since,
			       size_t limit, cds_store_change_fn fn, void *ctx,
			       uint64_t *last, struct cds_error *err)
{
	return s->ops->changes(s, since, limit, fn, ctx, last, err);
}

enum cds_err cds_store_rate_load(struct cds_store *s, cds_store_rate_fn fn,
				 void *ctx, struct cds_error *err)
{
	return s->ops->rate_load(s, fn, ctx, err);
}

enum cds_err cds_store_rate_save(struct cds_store *s,
				 const struct cds_rate_state *st, size_t n,
				 struct cds_error *err)
{
	return n ? s->ops->rate_save(s, st, n, err) : CDS_OK;
}

enum cds_err cds_store_count(struct cds_store *s, uint64_t *accounts,
			     uint64_t *handles, struct cds_error *err)
{
	return s->ops->count(s, accounts, handles, err);
}

enum cds_err cds_store_changes_floor(struct cds_store *s, uint64_t *floor,
				     struct cds_error *err)
{
	return s->ops->changes_floor(s, floor, err);
}

enum cds_err cds_store_changes_prune(struct cds_store *s, uint64_t below,
				     uint64_t *removed, struct cds_error *err)
{
	return s->ops->changes_prune(s, below, removed, err);
}

enum cds_err cds_store_ledger_mark_get(struct cds_store *s,
				       struct cds_ledger_head *out,
				       struct cds_error *err)
{
	return s->ops->ledger_mark_get(s, out, err);
}

enum cds_err cds_store_ledger_mark_set(struct cds_store *s,
				       const struct cds_ledger_head *h,
				       struct cds_error *err)
{
	return s->ops->ledger_mark_set(s, h, err);
}

/* Not in store_conf.c, which parses store.conf alone (and is fuzzed so). */
enum cds_err cds_store_join(const char *datadir, const char *url,
			    struct cds_error *err)
{
	struct cds_store *s = NULL;
	enum cds_err rc;

	if (cds_store_conf_exists(datadir))
		return cds_fail(err, CDS_ERR_EXISTS,
				"'%s' already has a store (store.conf)", datadir);
	rc = cds_store_url_check(url, err);
	if (!rc)
		rc = cds_pg_open(&s, url, err); /* is there a store to join? */
	if (s)
		s->ops->close(s);
	if (!rc)
		rc = cds_store_conf_write(datadir, url, err);
	return rc;
}
