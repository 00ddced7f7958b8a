/*
 * handle.c: validation of canonical handles.
 *
 * Invariant: cds_handle_check never reads past s[len) and never accepts a
 * string that a second canonicalisation would change, so equal handles are
 * equal byte strings (the index and the store rely on this).
 */
#include "handle.h"

#include <stdbool.h>
#include <string.h>

/* Quote at most 40 printable bytes of untrusted input into a message. */
static void quote(char out[64], const char *s, size_t len)
{
	size_t i, n = len < 40 ? len : 40;

	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'') ? s[i] : '?';
	out[i] = '\0';
	if (len > n)
		strcat(out, "...");
}

static bool has_prefix(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && memcmp(s, p, n) == 0;
}

static const char *check_tel(const char *d, size_t n)
{
	size_t i;

	if (n < 7 || n > 15)
		return "phone number must have 7 to 15 digits after 'tel:+'";
	if (d[0] < '1' || d[0] > '9')
		return "phone number must start with a digit 1-9 after 'tel:+'";
	for (i = 0; i < n; i++)
		if (d[i] < '0' || d[i] > '9')
			return "phone number may hold only digits after 'tel:+'";
	return NULL;
}

/*
 * Characters allowed in the local part: RFC 5322 atext and '.', lower-case
 * only.  Quoted local parts are not supported: no mail provider hands them
 * out and they have several spellings.
 */
static bool local_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

static bool domain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.';
}

static const char *check_domain(const char *d, size_t n)
{
	size_t i, label = 0;

	if (n == 0)
		return "e-mail domain is empty";
	for (i = 0; i < n; i++) {
		if (!domain_char((unsigned char)d[i]))
			return "e-mail domain must be lower-case ASCII letters, digits, '-' and '.'";
		if (d[i] == '.') {
			if (label == 0)
				return "e-mail domain has an empty label";
			label = 0;
		} else if (++label > 63) {
			return "e-mail domain label longer than 63 characters";
		}
	}
	if (label == 0)
		return "e-mail domain ends with '.'";
	return NULL;
}

static const char *check_mailto(const char *a, size_t n)
{
	const char *at = memchr(a, '@', n);
	size_t i, local;

	if (n == 0 || n > CDS_MAILTO_ADDR_MAX_BYTES)
		return "e-mail address must be 1 to 254 characters";
	if (!at)
		return "e-mail address has no '@'";
	local = (size_t)(at - a);
	if (local == 0 || local > 64)
		return "e-mail local part must be 1 to 64 characters";
	if (a[0] == '.' || a[local - 1] == '.')
		return "e-mail local part starts or ends with '.'";
	for (i = 0; i < local; i++) {
		if (!local_char((unsigned char)a[i]))
			return "e-mail local part must be lower-case ASCII";
		if (a[i] == '.' && a[i + 1] == '.')
			return "e-mail local part has '..'";
	}
	return check_domain(at + 1, n - local - 1);
}

enum cds_err cds_handle_check(const char *s, size_t len,
			      enum cds_handle_kind *kind, struct cds_error *err)
{
	const char *why;
	enum cds_handle_kind k;
	char q[64];

	if (has_prefix(s, len, "tel:+")) {
		k = CDS_HANDLE_TEL;
		why = check_tel(s + 5, len - 5);
	} else if (has_prefix(s, len, "mailto:")) {
		k = CDS_HANDLE_MAILTO;
		why = check_mailto(s + 7, len - 7);
	} else {
		k = 0;
		why = "handle must start with 'tel:+' or 'mailto:'";
	}
	if (why) {
		quote(q, s, len);
		return cds_fail(err, CDS_ERR_INVALID, "non-canonical handle '%s': %s",
				q, why);
	}
	if (kind)
		*kind = k;
	return CDS_OK;
}
