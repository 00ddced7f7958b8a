/*
 * thead.c: version records and signed heads (thead.h).
 */
#include "crypto/thead.h"

#include <string.h>

#include "core/codec.h"

void cds_tlog_record(uint8_t out[CDS_TLOG_RECORD_BYTES],
		     const struct cds_thead *h)
{
	cds_put_u32be(out, h->epoch);
	cds_put_u64be(out + 4, h->version);
	cds_put_u64be(out + 12, h->time_ms);
	memcpy(out + 20, h->root, CDS_HASH_BYTES);
}

void cds_thead_signed_bytes(uint8_t out[CDS_THEAD_SIGNED_BYTES],
			    const struct cds_thead *h)
{
	size_t t = sizeof(CDS_THEAD_LABEL) - 1;

	memcpy(out, CDS_THEAD_LABEL, t);
	cds_tlog_record(out + t, h);
	memcpy(out + t + CDS_TLOG_RECORD_BYTES, h->log_root, CDS_HASH_BYTES);
}

void cds_thead_sign(struct cds_thead *h,
		    const uint8_t sk[CDS_TKEY_SECRET_BYTES])
{
	uint8_t msg[CDS_THEAD_SIGNED_BYTES];

	cds_thead_signed_bytes(msg, h);
	crypto_sign_detached(h->signature, NULL, msg, sizeof(msg), sk);
}

enum cds_err cds_thead_verify(const struct cds_thead *h,
			      const uint8_t pk[CDS_TKEY_PUBLIC_BYTES],
			      struct cds_error *err)
{
	uint8_t msg[CDS_THEAD_SIGNED_BYTES];

	cds_thead_signed_bytes(msg, h);
	if (crypto_sign_verify_detached(h->signature, msg, sizeof(msg), pk))
		return cds_fail(err, CDS_ERR_CRYPTO,
				"head of version %llu (epoch %u): bad signature",
				(unsigned long long)h->version,
				(unsigned)h->epoch);
	return CDS_OK;
}
