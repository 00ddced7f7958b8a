/*
 * hkdf.c: HKDF-SHA256 (RFC 5869).
 *
 * Invariants: every HMAC state and intermediate block is wiped before
 * return; on failure the output is all zero.
 */
#include "crypto/hkdf.h"

#include <string.h>

#include <sodium.h>

void cds_hkdf_extract(uint8_t prk[static CDS_HKDF_SHA256_BYTES],
		      const uint8_t *salt, size_t salt_len,
		      const uint8_t *const *ikm, const size_t *ikm_len,
		      size_t n)
{
	static const uint8_t zeros[CDS_HKDF_SHA256_BYTES];
	crypto_auth_hmacsha256_state st;

	if (salt_len == 0) {
		salt = zeros;
		salt_len = sizeof(zeros);
	}
	crypto_auth_hmacsha256_init(&st, salt, salt_len);
	for (size_t i = 0; i < n; i++)
		crypto_auth_hmacsha256_update(&st, ikm[i], ikm_len[i]);
	crypto_auth_hmacsha256_final(&st, prk);
	sodium_memzero(&st, sizeof(st));
}

enum cds_err cds_hkdf_expand(uint8_t *out, size_t out_len,
			     const uint8_t prk[static CDS_HKDF_SHA256_BYTES],
			     const uint8_t *const *info, const size_t *info_len,
			     size_t n, struct cds_error *err)
{
	crypto_auth_hmacsha256_state st;
	uint8_t t[CDS_HKDF_SHA256_BYTES];
	size_t done = 0;
	uint8_t ctr = 1;

	if (out_len > CDS_HKDF_SHA256_MAX_OUT) {
		sodium_memzero(out, out_len);
		return cds_fail(err, CDS_ERR_INVALID,
				"HKDF: %zu bytes asked, at most %d", out_len,
				CDS_HKDF_SHA256_MAX_OUT);
	}
	for (; done < out_len; ctr++) {
		size_t take = out_len - done < sizeof(t) ? out_len - done
							  : sizeof(t);

		/* T(i) = HMAC(PRK, T(i-1) || info || i) */
		crypto_auth_hmacsha256_init(&st, prk, CDS_HKDF_SHA256_BYTES);
		if (ctr > 1)
			crypto_auth_hmacsha256_update(&st, t, sizeof(t));
		for (size_t i = 0; i < n; i++)
			crypto_auth_hmacsha256_update(&st, info[i], info_len[i]);
		crypto_auth_hmacsha256_update(&st, &ctr, 1);
		crypto_auth_hmacsha256_final(&st, t);
		memcpy(out + done, t, take);
		done += take;
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(t, sizeof(t));
	return CDS_OK;
}
