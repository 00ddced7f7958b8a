/*
 * pubenc.c: table-driven hex and base64 for public data (see pubenc.h for
 * why these exist beside the constant-time ones in lib/core).
 */
#include "server/pubenc.h"

static const char hexdig[] = "0123456789abcdef";
static const char b64dig[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void cds_pubenc_hex(char *out, const uint8_t *bin, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*out++ = hexdig[bin[i] >> 4];
		*out++ = hexdig[bin[i] & 15];
	}
	*out = '\0';
}

void cds_pubenc_b64(char *out, const uint8_t *bin, size_t n)
{
	size_t i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)bin[i] << 16 | (uint32_t)bin[i + 1] << 8 |
			     bin[i + 2];

		*out++ = b64dig[v >> 18];
		*out++ = b64dig[(v >> 12) & 63];
		*out++ = b64dig[(v >> 6) & 63];
		*out++ = b64dig[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)bin[i] << 16;

		*out++ = b64dig[v >> 18];
		*out++ = b64dig[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)bin[i] << 16 | (uint32_t)bin[i + 1] << 8;

		*out++ = b64dig[v >> 18];
		*out++ = b64dig[(v >> 12) & 63];
		*out++ = b64dig[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}
