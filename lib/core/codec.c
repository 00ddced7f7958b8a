/*
 * codec.c: strict base64 and hex over libsodium.
 */
#include "codec.h"

#include <sodium.h>

void cds_b64_encode(char *out, const uint8_t *bin, size_t n)
{
	sodium_bin2base64(out, CDS_B64_LEN(n), bin, n,
			  sodium_base64_VARIANT_ORIGINAL);
}

enum cds_err cds_b64_decode(uint8_t *out, size_t cap, size_t *outlen,
			    const char *s, size_t slen, struct cds_error *err)
{
	const char *end = NULL;
	size_t n = 0;

	/* Reject early what cannot fit, so huge inputs cost nothing. */
	if (slen % 4 != 0 || slen / 4 * 3 > cap + 2)
		return cds_fail(err, CDS_ERR_INVALID,
				"base64 value of %zu characters is malformed or too long",
				slen);
	if (sodium_base642bin(out, cap, s, slen, NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + slen)
		return cds_fail(err, CDS_ERR_INVALID, "malformed base64 value");
	*outlen = n;
	return CDS_OK;
}

enum cds_err cds_b64_decode_exact(uint8_t *out, size_t n, const char *s,
				  size_t slen, const char *what,
				  struct cds_error *err)
{
	size_t got = 0;

	if (slen != CDS_B64_LEN(n) - 1 ||
	    cds_b64_decode(out, n, &got, s, slen, NULL) != CDS_OK || got != n)
		return cds_fail(err, CDS_ERR_INVALID,
				"%s must be %zu bytes in padded base64", what, n);
	return CDS_OK;
}

void cds_hex_encode(char *out, const uint8_t *bin, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, bin, n);
}

enum cds_err cds_hex_decode_exact(uint8_t *out, size_t n, const char *s,
				  size_t slen, const char *what,
				  struct cds_error *err)
{
	size_t got = 0;
	const char *end = NULL;

	if (slen != 2 * n || sodium_hex2bin(out, n, s, slen, NULL, &got, &end) != 0 ||
	    got != n || end != s + slen)
		return cds_fail(err, CDS_ERR_INVALID, "%s must be %zu hex digits",
				what, 2 * n);
	return CDS_OK;
}
