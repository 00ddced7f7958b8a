/*
 * keysrc.h: where a data directory's secrets live, behind one interface,
 * so that the code serving them (the mirror's epochs, the gateway, the
 * verification codes, the legal ledger's head signatures, transparency's
 * signed heads) and cdsctl need not know:
 *
 *   files   DIR/keys/epoch-<N>.key and DIR/keys/ohttp-gateway.keys
 *           (crypto/keys.h, crypto/gwkeys.h), DIR/keys/transparency.key:
 *           one machine, SQLite;
 *   sealed  rows of the store's `sealed` table (store/shared.h), each
 *           sealed under the key-encryption key DIR/keys/kek
 *           (crypto/seal.h): PostgreSQL with any number of replicas, each
 *           holding a copy of the KEK, none holding a key file.
 *
 * The store decides: a shared store that holds a KEK check row (made by
 * `cdsctl init --store postgresql://...`) keeps its secrets sealed; any
 * other keeps them in files, as before replicas existed.
 *
 * Sealed rows, and the associated data that binds each box to its row:
 *     kind "kek",    id 0      a known text: proves DIR/keys/kek is the
 *                              database's KEK before anything is sealed
 *     kind "oprf",   id epoch  an OPRF key, as its key file's text
 *     kind "ohttp",  id 1      the gateway key set, as its file's text
 *     kind "verify", id 1      the verification-code key (raw bytes), made
 *                              by the first cdsd that starts
 *     kind "ledger", id 1      the legal ledger's Ed25519 seed (raw bytes,
 *                              legal/ledger_head.h), made by init
 *     kind "transparency", id 1
 *                              the transparency key's Ed25519 seed (raw
 *                              bytes, crypto/thead.h), made by init
 *
 * Invariants:
 *  1. A dump of the database holds no plaintext secret: every secret row
 *     is a box under the KEK, which lives only in replicas' DIR/keys/kek.
 *  2. A wrong KEK is refused before any key is read, with a message
 *     saying so; a box that does not open under the right KEK (an altered
 *     row) is refused naming its row.  Neither falls back to anything.
 *  3. The KEK is held in locked memory (core/secrets.h) and wiped by
 *     _fini; every plaintext is wiped on every path.
 */
#ifndef CDS_STORE_KEYSRC_H
#define CDS_STORE_KEYSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/gwkeys.h"
#include "crypto/keys.h"
#include "store/store.h"

struct cds_keysrc_ops;

/* Caller-owned; datadir and store must outlive it. */
struct cds_keysrc {
	const struct cds_keysrc_ops *ops;
	const char *datadir;
	struct cds_store *store;   /* used by the sealed source only */
	uint8_t *kek;              /* locked memory; NULL for files */
	bool owns_store;           /* opened by cds_keysrc_open */
};

/*
 * The source of datadir, whose store s is open.  Sealed: reads and checks
 * DIR/keys/kek (CDS_ERR_NOT_FOUND if missing, CDS_ERR_CRYPTO if it is not
 * the database's KEK).  _fini accepts a zeroed or failed struct.
 */
enum cds_err cds_keysrc_init(struct cds_keysrc *ks, const char *datadir,
			     struct cds_store *s,
			     struct cds_error *err) CDS_MUST_CHECK;
void cds_keysrc_fini(struct cds_keysrc *ks);

/*
 * The source of datadir on a store connection of its own, opened only if
 * DIR/store.conf names a PostgreSQL store (a SQLite directory's keys are
 * files: no database is touched).  _fini closes it.
 */
enum cds_err cds_keysrc_open(struct cds_keysrc *ks, const char *datadir,
			     struct cds_error *err) CDS_MUST_CHECK;

/* True if the secrets are sealed in the store. */
bool cds_keysrc_sealed(const struct cds_keysrc *ks);

/*
 * Seal a new data directory's first secrets into the shared store s: the
 * KEK check row, OPRF epoch 1 and the gateway key set, under the KEK at
 * DIR/keys/kek (cds_kek_create made it).  (The verification key is made
 * by the first cdsd to need it: cds_keysrc_secret.)
 * CDS_ERR_EXISTS if the store already holds a KEK check row.
 */
enum cds_err cds_keysrc_seal_new(const char *datadir, struct cds_store *s,
				 struct cds_error *err) CDS_MUST_CHECK;

/* OPRF epochs, with crypto/keys.h's contracts (cds_keys_free frees). */
enum cds_err cds_keysrc_epochs_load(struct cds_keysrc *ks,
				    struct cds_epoch_key **keys, size_t *n,
				    struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_keysrc_epoch_rotate(struct cds_keysrc *ks, uint32_t *epoch,
				     struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_keysrc_epoch_destroy(struct cds_keysrc *ks, uint32_t epoch,
				      struct cds_error *err) CDS_MUST_CHECK;

/*
 * A number that changes when the epochs (or, for _gw_stamp, the gateway
 * keys) change: the key files' directory or file stamp, or the sealed
 * rows' ids and nonces.  Cheap enough to call every poll.
 */
enum cds_err cds_keysrc_epochs_stamp(struct cds_keysrc *ks, uint64_t *stamp,
				     struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_keysrc_gw_stamp(struct cds_keysrc *ks, uint64_t *stamp,
				 struct cds_error *err) CDS_MUST_CHECK;

/* The gateway key set, with crypto/gwkeys.h's contracts. */
enum cds_err cds_keysrc_gw_load(struct cds_keysrc *ks, int64_t now_us,
				struct cds_gwkey keys[CDS_GWKEYS_MAX],
				size_t *n, struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_keysrc_gw_create(struct cds_keysrc *ks,
				  struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_keysrc_gw_rotate(struct cds_keysrc *ks, int64_t now_us,
				  uint8_t *id,
				  struct cds_error *err) CDS_MUST_CHECK;

/* The longest secret of cds_keysrc_secret and _secret_get. */
#define CDS_KEYSRC_SECRET_MAX 64

/*
 * The sealed secret (kind, 1) of len bytes into out, drawn at random and
 * sealed first if there is none (two replicas racing agree on one).
 * CDS_ERR_DISABLED for the file source, whose callers keep their files.
 */
enum cds_err cds_keysrc_secret(struct cds_keysrc *ks, const char *kind,
			       uint8_t *out, size_t len,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * The same, but if there is none: first (len bytes) is sealed as the
 * secret, as by cds_keysrc_secret (a secret kept elsewhere until now, for
 * example); with first NULL, CDS_ERR_NOT_FOUND and nothing is sealed.
 */
enum cds_err cds_keysrc_secret_get(struct cds_keysrc *ks, const char *kind,
				   const uint8_t *first, uint8_t *out,
				   size_t len,
				   struct cds_error *err) CDS_MUST_CHECK;

/*
 * The transparency key's 32-byte Ed25519 seed (crypto_sign_seed_keypair
 * makes the key pair): DIR/keys/transparency.key (0600, the base64 of the
 * seed and a newline) or the sealed row ("transparency", 1).  With create,
 * made first if there is none, atomically: two processes creating it at
 * once agree on one (keysrc_tkey.c).  Without, CDS_ERR_NOT_FOUND if there
 * is none; CDS_ERR_INVALID for a malformed file.  seed is zeroed on
 * failure.
 */
enum cds_err cds_keysrc_tkey(struct cds_keysrc *ks, bool create,
			     uint8_t seed[32],
			     struct cds_error *err) CDS_MUST_CHECK;

#endif
