/*
 * thead.h: records of the version log and signed heads (DESIGN.md
 * "Directory transparency").
 *
 *   record       = u32be(epoch) || u64be(v) || u64be(time_ms) || root
 *   signed bytes = "cds/v1/head" || u32be(epoch) || u64be(v)
 *                  || u64be(time_ms) || root || log_root(v)
 *   signature    = Ed25519(transparency key, signed bytes)
 */
#ifndef CDS_CRYPTO_THEAD_H
#define CDS_CRYPTO_THEAD_H

#include <stdint.h>

#include <sodium.h>

#include "core/err.h"
#include "crypto/mlog.h"

#define CDS_TLOG_RECORD_BYTES (4 + 8 + 8 + CDS_HASH_BYTES)
#define CDS_THEAD_LABEL "cds/v1/head"
#define CDS_THEAD_SIGNED_BYTES \
	(sizeof(CDS_THEAD_LABEL) - 1 + CDS_TLOG_RECORD_BYTES + CDS_HASH_BYTES)
#define CDS_THEAD_SIG_BYTES crypto_sign_BYTES
#define CDS_TKEY_PUBLIC_BYTES crypto_sign_PUBLICKEYBYTES
#define CDS_TKEY_SECRET_BYTES crypto_sign_SECRETKEYBYTES

struct cds_thead {
	uint32_t epoch;
	uint64_t version;
	uint64_t time_ms;
	uint8_t root[CDS_HASH_BYTES];      /* the version's bucket tree */
	uint8_t log_root[CDS_HASH_BYTES];  /* the log after this version */
	uint8_t signature[CDS_THEAD_SIG_BYTES];
};

/* The version's record in the log (hash it with cds_mlog_leaf_hash). */
void cds_tlog_record(uint8_t out[CDS_TLOG_RECORD_BYTES],
		     const struct cds_thead *h);
void cds_thead_signed_bytes(uint8_t out[CDS_THEAD_SIGNED_BYTES],
			    const struct cds_thead *h);
/* Fill h->signature. */
void cds_thead_sign(struct cds_thead *h,
		    const uint8_t sk[CDS_TKEY_SECRET_BYTES]);
/* CDS_ERR_CRYPTO, naming the version, if the signature does not verify. */
enum cds_err cds_thead_verify(const struct cds_thead *h,
			      const uint8_t pk[CDS_TKEY_PUBLIC_BYTES],
			      struct cds_error *err) CDS_MUST_CHECK;

#endif
