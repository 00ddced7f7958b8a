/*
 * keysrc_int.h: the two key sources of keysrc.h (internal to lib/store):
 * files (keysrc.c) and sealed (keysrc_sealed.c).
 */
#ifndef CDS_STORE_KEYSRC_INT_H
#define CDS_STORE_KEYSRC_INT_H

#include "store/keysrc.h"

struct cds_keysrc_ops {
	enum cds_err (*epochs_load)(struct cds_keysrc *ks,
				    struct cds_epoch_key **keys, size_t *n,
				    struct cds_error *err);
	enum cds_err (*epoch_rotate)(struct cds_keysrc *ks, uint32_t *epoch,
				     struct cds_error *err);
	enum cds_err (*epoch_destroy)(struct cds_keysrc *ks, uint32_t epoch,
				      struct cds_error *err);
	enum cds_err (*epochs_stamp)(struct cds_keysrc *ks, uint64_t *stamp,
				     struct cds_error *err);
	enum cds_err (*gw_stamp)(struct cds_keysrc *ks, uint64_t *stamp,
				 struct cds_error *err);
	enum cds_err (*gw_load)(struct cds_keysrc *ks, int64_t now_us,
				struct cds_gwkey *keys, size_t *n,
				struct cds_error *err);
	enum cds_err (*gw_create)(struct cds_keysrc *ks, struct cds_error *err);
	enum cds_err (*gw_rotate)(struct cds_keysrc *ks, int64_t now_us,
				  uint8_t *id, struct cds_error *err);
	enum cds_err (*secret)(struct cds_keysrc *ks, const char *kind,
			       const uint8_t *first, uint8_t *out, size_t len,
			       struct cds_error *err);
};

/* keysrc_sealed.c */
extern const struct cds_keysrc_ops cds_keysrc_sealed_ops;

/*
 * keysrc_sealed.c: whether shared store s holds a KEK check row, and, if
 * it does and kek is not NULL, whether kek opens it (CDS_ERR_CRYPTO).
 */
enum cds_err cds_keysrc_kek_check(struct cds_store *s, const uint8_t *kek,
				  bool *present, const char *kek_path,
				  struct cds_error *err);

#endif
