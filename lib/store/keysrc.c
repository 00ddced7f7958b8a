/*
 * keysrc.c: choosing a data directory's key source (keysrc.h), the file
 * source (DIR/keys, as crypto/keys.c and crypto/gwkeys.c keep it), and the
 * calls that dispatch to either.
 */
#include "store/keysrc_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "core/secrets.h"
#include "crypto/seal.h"
#include "store/shared.h"
#include "store/store_impl.h"

/* ---- the file source ---- */

static enum cds_err files_epochs_load(struct cds_keysrc *ks,
				      struct cds_epoch_key **keys, size_t *n,
				      struct cds_error *err)
{
	return cds_keys_load(ks->datadir, keys, n, err);
}

static enum cds_err files_epoch_rotate(struct cds_keysrc *ks, uint32_t *epoch,
				       struct cds_error *err)
{
	return cds_keys_rotate(ks->datadir, epoch, err);
}

static enum cds_err files_epoch_destroy(struct cds_keysrc *ks, uint32_t epoch,
					struct cds_error *err)
{
	return cds_keys_destroy(ks->datadir, epoch, err);
}

/* A stamp of the file at path: changes when it is replaced or written. */
static uint64_t stat_stamp(const char *path)
{
	struct stat st;
	uint64_t v[5];
	uint8_t h[crypto_shorthash_BYTES];
	static const uint8_t key[crypto_shorthash_KEYBYTES];
	uint64_t out;

	if (stat(path, &st) != 0)
		return 0;
	v[0] = (uint64_t)st.st_ino;
	v[1] = (uint64_t)st.st_size;
	v[2] = (uint64_t)st.st_mtim.tv_sec;
	v[3] = (uint64_t)st.st_mtim.tv_nsec;
	v[4] = (uint64_t)st.st_dev;
	crypto_shorthash(h, (const uint8_t *)v, sizeof(v), key);
	memcpy(&out, h, sizeof(out));
	return out;
}

static enum cds_err files_epochs_stamp(struct cds_keysrc *ks, uint64_t *stamp,
				       struct cds_error *err)
{
	char path[PATH_MAX];

	(void)err;
	snprintf(path, sizeof(path), "%s/keys", ks->datadir);
	*stamp = stat_stamp(path);
	return CDS_OK;
}

static enum cds_err files_gw_stamp(struct cds_keysrc *ks, uint64_t *stamp,
				   struct cds_error *err)
{
	char path[PATH_MAX];
	enum cds_err rc = cds_gwkeys_path(path, ks->datadir, err);

	*stamp = rc ? 0 : stat_stamp(path);
	return rc;
}

static enum cds_err files_gw_load(struct cds_keysrc *ks, int64_t now_us,
				  struct cds_gwkey *keys, size_t *n,
				  struct cds_error *err)
{
	return cds_gwkeys_load(ks->datadir, now_us, keys, n, err);
}

static enum cds_err files_gw_create(struct cds_keysrc *ks,
				    struct cds_error *err)
{
	return cds_gwkeys_create(ks->datadir, err);
}

static enum cds_err files_gw_rotate(struct cds_keysrc *ks, int64_t now_us,
				    uint8_t *id, struct cds_error *err)
{
	return cds_gwkeys_rotate(ks->datadir, now_us, id, err);
}

static enum cds_err files_secret(struct cds_keysrc *ks, const char *kind,
				 const uint8_t *first, uint8_t *out, size_t len,
				 struct cds_error *err)
{
	(void)ks;
	(void)first;
	(void)out;
	(void)len;
	return cds_fail(err, CDS_ERR_DISABLED,
			"secret '%s' is kept in a file of DIR/keys", kind);
}

static const struct cds_keysrc_ops files_ops = {
	.epochs_load = files_epochs_load,
	.epoch_rotate = files_epoch_rotate,
	.epoch_destroy = files_epoch_destroy,
	.epochs_stamp = files_epochs_stamp,
	.gw_stamp = files_gw_stamp,
	.gw_load = files_gw_load,
	.gw_create = files_gw_create,
	.gw_rotate = files_gw_rotate,
	.secret = files_secret,
};

/* ---- choosing ---- */

/* Read DIR/keys/kek into locked memory and check it against the store. */
static enum cds_err open_sealed(struct cds_keysrc *ks, struct cds_error *err)
{
	char path[PATH_MAX];
	bool present = false;
	enum cds_err rc;

	rc = cds_kek_path(path, ks->datadir, err);
	if (rc)
		return rc;
	ks->kek = cds_secret_alloc(CDS_KEK_BYTES);
	if (!ks->kek)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory for the KEK");
	rc = cds_kek_load(ks->kek, path, err);
	if (rc == CDS_ERR_NOT_FOUND)
		rc = cds_fail(err, rc,
			      "the database keeps its keys sealed, and '%s' (the "
			      "key-encryption key) is missing: make this data "
			      "directory with 'cdsctl --data DIR join --store URL "
			      "--kek FILE'", path);
	if (!rc)
		rc = cds_keysrc_kek_check(ks->store, ks->kek, &present, path, err);
	if (!rc)
		ks->ops = &cds_keysrc_sealed_ops;
	return rc;
}

enum cds_err cds_keysrc_init(struct cds_keysrc *ks, const char *datadir,
			     struct cds_store *s, struct cds_error *err)
{
	bool present = false;
	enum cds_err rc = CDS_OK;

	memset(ks, 0, sizeof(*ks));
	ks->datadir = datadir;
	ks->store = s;
	ks->ops = &files_ops;
	if (s && cds_store_is_shared(s))
		rc = cds_keysrc_kek_check(s, NULL, &present, NULL, err);
	if (!rc && present)
		rc = open_sealed(ks, err);
	if (rc)
		cds_keysrc_fini(ks);
	return rc;
}

enum cds_err cds_keysrc_open(struct cds_keysrc *ks, const char *datadir,
			     struct cds_error *err)
{
	struct cds_store *s = NULL;
	enum cds_err rc;

	memset(ks, 0, sizeof(*ks));
	if (cds_store_conf_exists(datadir) &&
	    (rc = cds_store_open(&s, datadir, err)) != CDS_OK)
		return rc;
	rc = cds_keysrc_init(ks, datadir, s, err);
	if (rc)
		cds_store_close(s);
	else
		ks->owns_store = true;
	return rc;
}

void cds_keysrc_fini(struct cds_keysrc *ks)
{
	if (!ks)
		return;
	if (ks->kek)
		cds_secret_free(ks->kek, CDS_KEK_BYTES);
	if (ks->owns_store)
		cds_store_close(ks->store);
	memset(ks, 0, sizeof(*ks));
}

bool cds_keysrc_sealed(const struct cds_keysrc *ks)
{
	return ks->ops == &cds_keysrc_sealed_ops;
}

/* ---- dispatch ---- */

enum cds_err cds_keysrc_epochs_load(struct cds_keysrc *ks,
				    struct cds_epoch_key **keys, size_t *n,
				    struct cds_error *err)
{
	return ks->ops->epochs_load(ks, keys, n, err);
}

enum cds_err cds_keysrc_epoch_rotate(struct cds_keysrc *ks, uint32_t *epoch,
				     struct cds_error *err)
{
	return ks->ops->epoch_rotate(ks, epoch, err);
}

enum cds_err cds_keysrc_epoch_destroy(struct cds_keysrc *ks, uint32_t epoch,
				      struct cds_error *err)
{
	return ks->ops->epoch_destroy(ks, epoch, err);
}

enum cds_err cds_keysrc_epochs_stamp(struct cds_keysrc *ks, uint64_t *stamp,
				     struct cds_error *err)
{
	return ks->ops->epochs_stamp(ks, stamp, err);
}

enum cds_err cds_keysrc_gw_stamp(struct cds_keysrc *ks, uint64_t *stamp,
				 struct cds_error *err)
{
	return ks->ops->gw_stamp(ks, stamp, err);
}

enum cds_err cds_keysrc_gw_load(struct cds_keysrc *ks, int64_t now_us,
				struct cds_gwkey keys[CDS_GWKEYS_MAX],
				size_t *n, struct cds_error *err)
{
	return ks->ops->gw_load(ks, now_us, keys, n, err);
}

enum cds_err cds_keysrc_gw_create(struct cds_keysrc *ks, struct cds_error *err)
{
	return ks->ops->gw_create(ks, err);
}

enum cds_err cds_keysrc_gw_rotate(struct cds_keysrc *ks, int64_t now_us,
				  uint8_t *id, struct cds_error *err)
{
	return ks->ops->gw_rotate(ks, now_us, id, err);
}

enum cds_err cds_keysrc_secret(struct cds_keysrc *ks, const char *kind,
			       uint8_t *out, size_t len, struct cds_error *err)
{
	uint8_t fresh[CDS_KEYSRC_SECRET_MAX];
	enum cds_err rc;

	if (len > sizeof(fresh))
		return cds_fail(err, CDS_ERR_INVALID, "secret too long");
	randombytes_buf(fresh, len);
	rc = ks->ops->secret(ks, kind, fresh, out, len, err);
	sodium_memzero(fresh, sizeof(fresh));
	return rc;
}

enum cds_err cds_keysrc_secret_get(struct cds_keysrc *ks, const char *kind,
				   const uint8_t *first, uint8_t *out,
				   size_t len, struct cds_error *err)
{
	return ks->ops->secret(ks, kind, first, out, len, err);
}
