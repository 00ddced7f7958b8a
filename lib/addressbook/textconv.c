/*
 * textconv.c: UTF-8 validation, Latin-1 conversion, quoted-printable
 * decoding and small ASCII helpers for the address-book parsers.
 *
 * Invariant: nothing here depends on the C locale, so parsing gives the same
 * result whatever LANG the user runs under.
 */
#include "addressbook/textconv.h"

#include <string.h>

/* Length of the UTF-8 sequence starting at s[0..n), or 0 if malformed. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0; /* continuation byte, overlong lead or beyond U+10FFFF */
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

bool cds_text_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		n = utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

bool cds_text_is_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

enum cds_err cds_text_latin1_to_utf8(struct cds_buf *out, const char *s,
				     size_t len)
{
	unsigned char c, two[2];
	size_t i;

	if (cds_buf_reserve(out, len * 2))
		return CDS_ERR_NOMEM;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c < 0x80) {
			out->data[out->len++] = c;
			continue;
		}
		two[0] = (unsigned char)(0xc0 | (c >> 6));
		two[1] = (unsigned char)(0x80 | (c & 0x3f));
		out->data[out->len++] = two[0];
		out->data[out->len++] = two[1];
	}
	out->data[out->len] = '\0';
	return CDS_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum cds_err cds_text_qp_decode(struct cds_buf *out, const char *s, size_t len)
{
	size_t i;
	int hi, lo;

	if (cds_buf_reserve(out, len))
		return CDS_ERR_NOMEM;
	for (i = 0; i < len; i++) {
		hi = lo = -1;
		if (s[i] == '=' && len - i >= 3) {
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
		}
		if (hi >= 0 && lo >= 0) {
			out->data[out->len++] = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else {
			out->data[out->len++] = (uint8_t)s[i];
		}
	}
	out->data[out->len] = '\0';
	return CDS_OK;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

void cds_text_trim(const char **s, size_t *len)
{
	while (*len && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_space((*s)[*len - 1]))
		(*len)--;
}

void cds_text_squeeze(struct cds_buf *b)
{
	bool space = true; /* drops leading white space */
	bool ws;
	size_t i, j = 0;

	for (i = 0; i < b->len; i++) {
		ws = is_space((char)b->data[i]);
		if (ws && space)
			continue;
		b->data[j++] = ws ? ' ' : b->data[i];
		space = ws;
	}
	if (j && b->data[j - 1] == ' ')
		j--;
	b->len = j;
	if (b->data)
		b->data[j] = '\0';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool cds_text_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	if (strlen(b) != alen)
		return false;
	for (i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

bool cds_text_iprefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && cds_text_ieq(s, n, prefix);
}

void cds_text_quote(char out[64], const char *s, size_t len)
{
	size_t i, k, n = len < 40 ? len : 40;
	unsigned char c;
	bool utf8;

	/* Do not cut a UTF-8 sequence in two (at most 3 bytes to step back). */
	for (k = 0; k < 3 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80; k++)
		n--;
	utf8 = cds_text_utf8_valid(s, n);
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '\'' || (c >= 0x80 && !utf8))
			c = '?';
		out[i] = (char)c;
	}
	out[n] = '\0';
	if (len > n)
		memcpy(out + n, "...", 4);
}
