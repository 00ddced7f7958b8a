/*
 * import.c: the import file's line parser (import.h).
 *
 * The input is untrusted and may be anything (it has a fuzz harness,
 * tests/fuzz/fuzz_import.c).  Invariants: never read past line[len); never
 * write past out->handle; a record is filled only when the whole line is
 * good; a message quotes at most a printable prefix of the bad field.
 */
#include "store/import.h"

#include <stdint.h>
#include <string.h>


/* Quote up to 40 bytes of untrusted input, replacing unprintables by '?'. */
static void quote(char out[48], const char *s, size_t len)
{
	size_t i, n = len < 40 ? len : 40;

	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	if (len > n)
		memcpy(out + i, "...", 4);
}

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Strip blanks around a field, then one pair of double quotes around it. */
static void field_trim(const char **p, size_t *n)
{
	while (*n && blank((*p)[0])) {
		(*p)++;
		(*n)--;
	}
	while (*n && blank((*p)[*n - 1]))
		(*n)--;
	if (*n >= 2 && (*p)[0] == '"' && (*p)[*n - 1] == '"') {
		(*p)++;
		*n -= 2;
	}
}

/* Value of each standard base64 digit; -1 for anything else. */
static const int8_t b64_value[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/*
 * Decode exactly 32 bytes from 44 characters of canonical padded base64
 * ("...=" with the unused low bits zero), as cds_b64_decode_exact would.
 * Identity keys are public, so this need not be constant-time: a table
 * lookup per digit instead of libsodium's constant-time decoder, which cost
 * a bulk import as much as all the SQL of a line.
 */
static int key_decode(uint8_t out[static CDS_IDENTITY_KEY_BYTES], const char *k,
		      size_t klen)
{
	uint32_t acc = 0;
	size_t o = 0;

	if (klen != 44 || k[43] != '=')
		return -1;
	for (size_t i = 0; i < 43; i++) {
		int d = b64_value[(unsigned char)k[i]];

		if (d < 0)
			return -1;
		acc = acc << 6 | (uint32_t)d;
		if (i % 4 == 3) {
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	/* 3 digits left = 18 bits: 2 bytes and 2 bits that must be zero. */
	if (acc & 3)
		return -1;
	out[o++] = (uint8_t)(acc >> 10);
	out[o] = (uint8_t)(acc >> 2);
	return 0;
}

static enum cds_err parse_key(uint8_t key[static CDS_IDENTITY_KEY_BYTES],
			      const char *k, size_t klen, struct cds_error *err)
{
	char q[48];

	if (klen == 0)
		return cds_fail(err, CDS_ERR_INVALID,
				"identity key is missing after the ','");
	if (key_decode(key, k, klen) != 0) {
		quote(q, k, klen);
		return cds_fail(err, CDS_ERR_INVALID,
				"identity key '%s' is not %d bytes in padded base64",
				q, CDS_IDENTITY_KEY_BYTES);
	}
	return CDS_OK;
}

enum cds_err cds_import_parse_line(struct cds_import_record *out,
				   const char *line, size_t len,
				   struct cds_error *err)
{
	uint8_t key[CDS_IDENTITY_KEY_BYTES];
	const char *h = line, *k, *comma;
	size_t hlen, klen;
	enum cds_err rc;

	if (len && line[len - 1] == '\r')
		len--;
	if (len > CDS_IMPORT_LINE_MAX)
		return cds_fail(err, CDS_ERR_TOO_LARGE,
				"line of %zu bytes is longer than %d", len,
				CDS_IMPORT_LINE_MAX);
	comma = memchr(line, ',', len);
	if (!comma)
		return cds_fail(err, CDS_ERR_INVALID,
				"expected 'handle,identity_key' but found no ','");
	hlen = (size_t)(comma - line);
	k = comma + 1;
	klen = len - hlen - 1;
	if (memchr(k, ',', klen))
		return cds_fail(err, CDS_ERR_INVALID,
				"expected 2 fields 'handle,identity_key' "
				"but found more");
	field_trim(&h, &hlen);
	field_trim(&k, &klen);
	if (hlen == 0)
		return cds_fail(err, CDS_ERR_INVALID,
				"handle is missing before the ','");
	rc = cds_handle_check(h, hlen, NULL, err);
	if (rc)
		return rc;
	rc = parse_key(key, k, klen, err);
	if (rc)
		return rc;
	memcpy(out->identity_key, key, sizeof(key));
	/* cds_handle_check bounds hlen by CDS_HANDLE_MAX_BYTES. */
	memcpy(out->handle, h, hlen);
	out->handle[hlen] = '\0';
	out->handle_len = hlen;
	return CDS_OK;
}
