/*
 * pubenc.c: table-driven hex and base64 for public data (see pubenc.h for
 * why these exist beside the constant-time ones in lib/core).
 */
#include "server/pubenc.h"

#include <pthread.h>
#include <string.h>

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

/*
 * Base64 two characters at a time: a 3-byte group is two 12-bit halves, and
 * pairs[x] holds the two characters of the 12-bit value x (8 KiB, stays in
 * L1).  Half the table lookups and stores of the one-character loop; this
 * is most of the CPU a bucket fetch costs.
 */
static char pairs[4096][2];
static pthread_once_t pairs_once = PTHREAD_ONCE_INIT;

static void pairs_init(void)
{
	for (unsigned x = 0; x < 4096; x++) {
		pairs[x][0] = b64dig[x >> 6];
		pairs[x][1] = b64dig[x & 63];
	}
}

void cds_pubenc_b64(char *restrict out, const uint8_t *restrict bin, size_t n)
{
	size_t i = 0;

	pthread_once(&pairs_once, pairs_init);
	for (; i + 3 <= n; i += 3, out += 4) {
		uint32_t v = (uint32_t)bin[i] << 16 | (uint32_t)bin[i + 1] << 8 |
			     bin[i + 2];

		memcpy(out, pairs[v >> 12], 2);
		memcpy(out + 2, pairs[v & 0xfff], 2);
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
