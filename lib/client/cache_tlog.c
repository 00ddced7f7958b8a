/*
 * cache_tlog.c: what the cache keeps of directory transparency (cache.h):
 * the pinned transparency key and the last kept signed head, as meta rows.
 *
 * Invariant: the pin is written once per server URL and never replaced
 * here; a different key is an error, never a reason to start afresh.
 */
#include "cache_int.h"

#include <stdlib.h>
#include <string.h>

#include "client/tverify.h"

enum cds_err cds_cache_tkey_pin(struct cds_cache *c,
				const uint8_t key[static CDS_TKEY_PUBLIC_BYTES],
				struct cds_error *err)
{
	char *v = NULL;
	size_t n = 0;
	enum cds_err rc = cds_cache_meta_get(c, "transparency_key", &v, &n, err);

	if (!rc && !v)
		rc = cds_cache_meta_put(c, "transparency_key", key,
					CDS_TKEY_PUBLIC_BYTES, err);
	else if (!rc && (n != CDS_TKEY_PUBLIC_BYTES ||
			 memcmp(v, key, CDS_TKEY_PUBLIC_BYTES)))
		rc = cds_fail(err, CDS_ERR_CRYPTO,
			      "the server presents another transparency key than the one cache '%s' pinned: it may be showing this client a directory of its own; refusing to continue.  Delete the cache only if the operator confirms a key reset",
			      c->path);
	free(v);
	return rc;
}

enum cds_err cds_cache_thead_get(struct cds_cache *c, struct cds_thead *h,
				 bool *found, struct cds_error *err)
{
	char *v = NULL;
	size_t n = 0;
	enum cds_err rc = cds_cache_meta_get(c, "thead", &v, &n, err);

	*found = false;
	if (!rc && v && n != CDS_THEAD_WIRE_BYTES)
		rc = cds_fail(err, CDS_ERR_STORE,
			      "cache '%s': meta thead is damaged", c->path);
	if (!rc && v) {
		rc = cds_thead_unwire(h, (const uint8_t *)v, err);
		*found = !rc;
	}
	free(v);
	return rc;
}

enum cds_err cds_cache_thead_put(struct cds_cache *c, const struct cds_thead *h,
				 struct cds_error *err)
{
	uint8_t w[CDS_THEAD_WIRE_BYTES];

	cds_thead_wire(w, h);
	return cds_cache_meta_put(c, "thead", w, sizeof(w), err);
}
