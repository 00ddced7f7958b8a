/*
 * keysrc_sealed.c: the sealed key source (keysrc.h): secrets as rows of
 * the shared store's `sealed` table, each a box under the KEK whose
 * associated data "cds/v1/<kind>/<id>" names its row.
 *
 * OPRF keys and the gateway key set are sealed as the very text their
 * files hold, and parsed by the same code (crypto/keys.h, crypto/gwkeys.h),
 * so both sources accept exactly the same keys.
 */
#include "store/keysrc_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/secrets.h"
#include "core/timeutil.h"
#include "crypto/seal.h"
#include "store/shared.h"

#define KEK_CHECK_TEXT "cds kek check v1"
#define AD_BYTES 64

/* ---- rows ---- */

struct row {
	int64_t id, created_us;
	uint8_t *box;
	size_t len;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static void rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].box);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static enum cds_err rows_add(void *ctx, int64_t id, int64_t created_us,
			     const uint8_t *box, size_t len,
			     struct cds_error *err)
{
	struct rows *r = ctx;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct row *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n] = (struct row){id, created_us, malloc(len ? len : 1), len};
	if (!r->v[r->n].box)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	memcpy(r->v[r->n++].box, box, len);
	return CDS_OK;
}

/* Every row of kind, highest id first, in *r (rows_free frees). */
static enum cds_err rows_get(struct cds_store *s, const char *kind,
			     struct rows *r, struct cds_error *err)
{
	enum cds_err rc;

	memset(r, 0, sizeof(*r));
	rc = cds_store_sealed_list(s, kind, rows_add, r, err);
	if (rc)
		rows_free(r);
	return rc;
}

static void ad_of(char ad[static AD_BYTES], const char *kind, int64_t id)
{
	snprintf(ad, AD_BYTES, "cds/v1/%s/%" PRId64, kind, id);
}

/*
 * Open row w of kind into out (cap bytes, wiped by the caller), *len its
 * length.  A box that does not open after the KEK check passed was altered.
 */
static enum cds_err open_row(const uint8_t *kek, const char *kind,
			     const struct row *w, uint8_t *out, size_t cap,
			     size_t *len, struct cds_error *err)
{
	char ad[AD_BYTES];
	enum cds_err rc;

	ad_of(ad, kind, w->id);
	if (w->len < CDS_SEAL_OVERHEAD_BYTES ||
	    w->len - CDS_SEAL_OVERHEAD_BYTES > cap)
		return cds_fail(err, CDS_ERR_INVALID,
				"sealed key %s/%" PRId64 " in the database has a "
				"box of %zu bytes: not one this program sealed",
				kind, w->id, w->len);
	rc = cds_unseal(out, len, w->box, w->len, ad, kek, err);
	if (rc == CDS_ERR_CRYPTO)
		rc = cds_fail(err, rc,
			      "sealed key %s/%" PRId64 " in the database does not "
			      "open under the key-encryption key: the row was "
			      "altered or moved", kind, w->id);
	return rc;
}

/* Seal msg as row (kind, id) and store it. */
static enum cds_err seal_put(struct cds_store *s, const uint8_t *kek,
			     const char *kind, int64_t id, int64_t created_us,
			     const void *msg, size_t len, bool replace,
			     struct cds_error *err)
{
	uint8_t *box = malloc(len + CDS_SEAL_OVERHEAD_BYTES);
	char ad[AD_BYTES];
	enum cds_err rc;

	if (!box)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	ad_of(ad, kind, id);
	cds_seal(box, msg, len, ad, kek);
	rc = cds_store_sealed_put(s, kind, id, created_us, box,
				  len + CDS_SEAL_OVERHEAD_BYTES, replace, err);
	free(box);
	return rc;
}

/* ---- the KEK check ---- */

enum cds_err cds_keysrc_kek_check(struct cds_store *s, const uint8_t *kek,
				  bool *present, const char *kek_path,
				  struct cds_error *err)
{
	uint8_t text[sizeof(KEK_CHECK_TEXT)];
	struct rows r;
	size_t len = 0;
	enum cds_err rc = rows_get(s, "kek", &r, err);

	*present = !rc && r.n > 0;
	if (rc || !*present || !kek)
		goto out;
	rc = open_row(kek, "kek", &r.v[0], text, sizeof(text), &len, err);
	if (rc == CDS_ERR_CRYPTO || (!rc && (len != sizeof(KEK_CHECK_TEXT) - 1 ||
					     memcmp(text, KEK_CHECK_TEXT, len))))
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "'%s' is not the key-encryption key of this "
			      "database (its check row does not open under it): "
			      "copy DIR/keys/kek of a data directory of this "
			      "database", kek_path ? kek_path : "the KEK");
out:
	rows_free(&r);
	return rc;
}

/* ---- OPRF epochs ---- */

static enum cds_err epoch_open(struct cds_keysrc *ks, const struct row *w,
			       struct cds_epoch_key *k, struct cds_error *err)
{
	char text[CDS_KEYS_TEXT_MAX + 1], where[AD_BYTES + 32];
	size_t len = 0;
	enum cds_err rc = CDS_OK;

	if (w->id < 1 || w->id > UINT32_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"sealed key oprf/%" PRId64 " has no valid epoch "
				"number", w->id);
	rc = open_row(ks->kek, "oprf", w, (uint8_t *)text, CDS_KEYS_TEXT_MAX,
		      &len, err);
	if (!rc) {
		text[len] = '\0';
		snprintf(where, sizeof(where), "sealed key oprf/%" PRId64, w->id);
		rc = cds_keys_parse(k, text, where, (uint32_t)w->id, err);
	}
	sodium_memzero(text, sizeof(text));
	return rc;
}

static enum cds_err sealed_epochs_load(struct cds_keysrc *ks,
				       struct cds_epoch_key **keys, size_t *n,
				       struct cds_error *err)
{
	struct cds_epoch_key *k = NULL;
	struct rows r;
	enum cds_err rc;

	*keys = NULL;
	*n = 0;
	rc = rows_get(ks->store, "oprf", &r, err);
	if (!rc && r.n == 0)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND,
			      "no OPRF key sealed in the database (run 'cdsctl "
			      "init --store')");
	if (!rc && !(k = cds_secret_alloc(r.n * sizeof(*k))))
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory loading keys");
	for (size_t i = 0; !rc && i < r.n; i++)
		rc = epoch_open(ks, &r.v[i], &k[i], err);
	if (!rc) {
		*keys = k;
		*n = r.n;
	} else if (k) {
		cds_keys_free(k, r.n);
	}
	rows_free(&r);
	return rc;
}

static enum cds_err sealed_epoch_rotate(struct cds_keysrc *ks, uint32_t *epoch,
					struct cds_error *err)
{
	char text[CDS_KEYS_TEXT_MAX];
	int64_t now = cds_now_us();
	struct rows r;
	size_t len = 0;
	enum cds_err rc = rows_get(ks->store, "oprf", &r, err);

	if (!rc && r.n == 0)
		rc = cds_fail(err, CDS_ERR_NOT_FOUND,
			      "no OPRF key sealed in the database to rotate");
	if (!rc && r.v[0].id >= UINT32_MAX)
		rc = cds_fail(err, CDS_ERR_INVALID, "epoch numbers are exhausted");
	if (!rc) {
		*epoch = (uint32_t)r.v[0].id + 1;
		cds_keys_text_new(text, &len, *epoch, now);
		rc = seal_put(ks->store, ks->kek, "oprf", *epoch, now, text, len,
			      false, err);
		sodium_memzero(text, sizeof(text));
	}
	if (rc == CDS_ERR_EXISTS)
		rc = cds_fail(err, rc, "epoch %" PRIu32 " was just created by "
			      "another rotation; nothing changed", *epoch);
	rows_free(&r);
	return rc;
}

static enum cds_err sealed_epoch_destroy(struct cds_keysrc *ks, uint32_t epoch,
					 struct cds_error *err)
{
	struct rows r;
	enum cds_err rc = rows_get(ks->store, "oprf", &r, err);

	if (!rc && r.n && r.v[0].id == (int64_t)epoch)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "epoch %" PRIu32 " is the newest key and cannot be "
			      "destroyed (rotate first)", epoch);
	if (!rc)
		rc = cds_store_sealed_delete(ks->store, "oprf", epoch, err);
	rows_free(&r);
	return rc;
}

/* A stamp of kind's rows: their ids, times and nonces. */
static enum cds_err rows_stamp(struct cds_keysrc *ks, const char *kind,
			       uint64_t *stamp, struct cds_error *err)
{
	crypto_generichash_state st;
	uint8_t h[crypto_generichash_BYTES_MIN];
	struct rows r;
	enum cds_err rc = rows_get(ks->store, kind, &r, err);

	*stamp = 0;
	if (rc)
		return rc;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	for (size_t i = 0; i < r.n; i++) {
		crypto_generichash_update(&st, (const uint8_t *)&r.v[i].id,
					  sizeof(r.v[i].id));
		crypto_generichash_update(&st, (const uint8_t *)&r.v[i].created_us,
					  sizeof(r.v[i].created_us));
		crypto_generichash_update(&st, r.v[i].box,
					  r.v[i].len < CDS_SEAL_NONCE_BYTES
						  ? r.v[i].len
						  : CDS_SEAL_NONCE_BYTES);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(stamp, h, sizeof(*stamp));
	rows_free(&r);
	return CDS_OK;
}

static enum cds_err sealed_epochs_stamp(struct cds_keysrc *ks, uint64_t *stamp,
					struct cds_error *err)
{
	return rows_stamp(ks, "oprf", stamp, err);
}

/* ---- the gateway key set ---- */

static enum cds_err sealed_gw_stamp(struct cds_keysrc *ks, uint64_t *stamp,
				    struct cds_error *err)
{
	return rows_stamp(ks, "ohttp", stamp, err);
}

static enum cds_err sealed_gw_load(struct cds_keysrc *ks, int64_t now_us,
				   struct cds_gwkey *keys, size_t *n,
				   struct cds_error *err)
{
	char text[CDS_GWKEYS_TEXT_MAX + 1];
	struct rows r;
	size_t len = 0;
	enum cds_err rc = rows_get(ks->store, "ohttp", &r, err);

	*n = 0;
	if (!rc && (r.n != 1 || r.v[0].id != 1))
		rc = cds_fail(err, CDS_ERR_NOT_FOUND,
			      "no gateway key set sealed in the database (row "
			      "ohttp/1)");
	if (!rc)
		rc = open_row(ks->kek, "ohttp", &r.v[0], (uint8_t *)text,
			      CDS_GWKEYS_TEXT_MAX, &len, err);
	if (!rc) {
		text[len] = '\0';
		rc = cds_gwkeys_parse(text, now_us, keys, n,
				      "sealed key ohttp/1", err);
	}
	sodium_memzero(text, sizeof(text));
	rows_free(&r);
	return rc;
}

/* Seal keys[0..n) as row ohttp/1. */
static enum cds_err gw_put(struct cds_keysrc *ks, const struct cds_gwkey *k,
			   size_t n, bool replace, struct cds_error *err)
{
	struct cds_buf b;
	enum cds_err rc;

	cds_buf_init(&b);
	rc = cds_gwkeys_format(&b, k, n);
	if (rc)
		rc = cds_fail(err, rc, "out of memory");
	else
		rc = seal_put(ks->store, ks->kek, "ohttp", 1, cds_now_us(), b.data,
			      b.len, replace, err);
	sodium_memzero(b.data, b.len);
	cds_buf_fini(&b);
	return rc;
}

static enum cds_err sealed_gw_create(struct cds_keysrc *ks,
				     struct cds_error *err)
{
	struct cds_gwkey k;
	enum cds_err rc;

	cds_gwkeys_first(&k, cds_now_us());
	rc = gw_put(ks, &k, 1, false, err);
	sodium_memzero(&k, sizeof(k));
	return rc;
}

static enum cds_err sealed_gw_rotate(struct cds_keysrc *ks, int64_t now_us,
				     uint8_t *id, struct cds_error *err)
{
	struct cds_gwkey k[CDS_GWKEYS_MAX + 1];
	size_t n = 0;
	enum cds_err rc = sealed_gw_load(ks, now_us, k, &n, err);

	if (!rc) {
		cds_gwkeys_next(k, &n, now_us, id);
		rc = gw_put(ks, k, n, true, err);
	}
	sodium_memzero(k, sizeof(k));
	return rc;
}

/* ---- other secrets ---- */

static enum cds_err secret_read(struct cds_keysrc *ks, const char *kind,
				uint8_t *out, size_t want, bool *found,
				struct cds_error *err)
{
	uint8_t buf[CDS_KEYSRC_SECRET_MAX];
	struct rows r;
	size_t len = 0;
	enum cds_err rc = rows_get(ks->store, kind, &r, err);

	*found = !rc && r.n > 0;
	if (*found)
		rc = open_row(ks->kek, kind, &r.v[0], buf, sizeof(buf), &len, err);
	if (*found && !rc && len != want)
		rc = cds_fail(err, CDS_ERR_INVALID,
			      "sealed key %s/1 holds %zu bytes, not %zu", kind,
			      len, want);
	if (*found && !rc)
		memcpy(out, buf, want);
	sodium_memzero(buf, sizeof(buf));
	rows_free(&r);
	return rc;
}

static enum cds_err sealed_secret(struct cds_keysrc *ks, const char *kind,
				  const uint8_t *first, uint8_t *out, size_t len,
				  struct cds_error *err)
{
	bool found = false;
	enum cds_err rc;

	if (len > CDS_KEYSRC_SECRET_MAX)
		return cds_fail(err, CDS_ERR_INVALID, "secret too long");
	rc = secret_read(ks, kind, out, len, &found, err);
	if (rc || found)
		return rc;
	if (!first)
		return cds_fail(err, CDS_ERR_NOT_FOUND,
				"no key %s/1 sealed in the database", kind);
	rc = seal_put(ks->store, ks->kek, kind, 1, cds_now_us(), first, len,
		      false, err);
	/* Sealed here, or by a replica that raced us: read what won. */
	if (!rc || rc == CDS_ERR_EXISTS)
		rc = secret_read(ks, kind, out, len, &found, err);
	if (!rc && !found)
		rc = cds_fail(err, CDS_ERR_STORE, "sealed key %s/1 vanished", kind);
	return rc;
}

const struct cds_keysrc_ops cds_keysrc_sealed_ops = {
	.epochs_load = sealed_epochs_load,
	.epoch_rotate = sealed_epoch_rotate,
	.epoch_destroy = sealed_epoch_destroy,
	.epochs_stamp = sealed_epochs_stamp,
	.gw_stamp = sealed_gw_stamp,
	.gw_load = sealed_gw_load,
	.gw_create = sealed_gw_create,
	.gw_rotate = sealed_gw_rotate,
	.secret = sealed_secret,
};

/* ---- a new store's secrets ---- */

static enum cds_err seal_first(struct cds_keysrc *ks, struct cds_error *err)
{
	char text[CDS_KEYS_TEXT_MAX];
	int64_t now = cds_now_us();
	size_t len = 0;
	enum cds_err rc;

	rc = seal_put(ks->store, ks->kek, "kek", 0, now, KEK_CHECK_TEXT,
		      sizeof(KEK_CHECK_TEXT) - 1, false, err);
	if (rc == CDS_ERR_EXISTS)
		return cds_fail(err, rc, "the database already keeps sealed keys");
	cds_keys_text_new(text, &len, 1, now);
	if (!rc)
		rc = seal_put(ks->store, ks->kek, "oprf", 1, now, text, len, false,
			      err);
	sodium_memzero(text, sizeof(text));
	if (!rc)
		rc = sealed_gw_create(ks, err);
	return rc; /* the verification key: cdsd's first start (server.c) */
}

enum cds_err cds_keysrc_seal_new(const char *datadir, struct cds_store *s,
				 struct cds_error *err)
{
	struct cds_keysrc ks = {.ops = &cds_keysrc_sealed_ops, .datadir = datadir,
				.store = s};
	char path[4096];
	enum cds_err rc;

	if (!cds_store_is_shared(s))
		return cds_fail(err, CDS_ERR_DISABLED,
				"only a PostgreSQL store keeps sealed keys");
	rc = cds_kek_path(path, datadir, err);
	if (!rc && !(ks.kek = cds_secret_alloc(CDS_KEK_BYTES)))
		rc = cds_fail(err, CDS_ERR_NOMEM, "out of memory for the KEK");
	if (!rc)
		rc = cds_kek_load(ks.kek, path, err);
	if (!rc)
		rc = seal_first(&ks, err);
	cds_keysrc_fini(&ks);
	return rc;
}
