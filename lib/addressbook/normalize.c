/*
 * normalize.c: raw phone numbers and e-mail addresses to canonical handles
 * (core/handle.h), and the default region.
 *
 * Invariants: a handle this file returns has passed cds_handle_check; every
 * failure message starts by quoting the raw input ("'(555) 12': ..."), so it
 * can be shown as a contact's problem as it is.
 */
#include "addressbook/addressbook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addressbook/phone_shim.h"
#include "addressbook/textconv.h"

/* libphonenumber stops at 250 characters; so do we, with a clearer reason. */
#define RAW_PHONE_MAX 250
#define TEL_HANDLE_BYTES (5 + 15 + 1) /* "tel:+", 15 digits, NUL */

enum cds_err cds_region_check(const char *region, struct cds_error *err)
{
	char q[64];

	if (!region)
		return cds_fail(err, CDS_ERR_INVALID, "no region given");
	cds_text_quote(q, region, strlen(region));
	if (strlen(region) != 2 || region[0] < 'A' || region[0] > 'Z' ||
	    region[1] < 'A' || region[1] > 'Z')
		return cds_fail(err, CDS_ERR_INVALID,
				"region '%s' must be two upper-case letters (ISO 3166-1, e.g. 'US')",
				q);
	if (!cds_phone_shim_region_known(region))
		return cds_fail(err, CDS_ERR_INVALID,
				"unknown region '%s' (not an ISO 3166-1 code with phone numbers)",
				q);
	return CDS_OK;
}

static enum cds_err phone_fail(struct cds_error *err, enum cds_phone_status st,
			       const char *q, const char *where)
{
	switch (st) {
	case CDS_PHONE_OK:
		break;
	case CDS_PHONE_NOT_A_NUMBER:
		return cds_fail(err, CDS_ERR_INVALID, "'%s': not a phone number", q);
	case CDS_PHONE_BAD_COUNTRY:
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': unknown country calling code", q);
	case CDS_PHONE_TOO_SHORT:
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': too short for a phone number", q);
	case CDS_PHONE_TOO_LONG:
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': too long for a phone number", q);
	case CDS_PHONE_INVALID:
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': not a valid phone number for region %s", q,
				where);
	case CDS_PHONE_NOMEM:
		return cds_fail(err, CDS_ERR_NOMEM,
				"out of memory normalising '%s'", q);
	case CDS_PHONE_INTERNAL:
		break;
	}
	return cds_fail(err, CDS_ERR_INTERNAL,
			"phone number library failed on '%s'", q);
}

/* The reason part of a cds_handle_check message ("...': reason"). */
static const char *reason_of(const char *msg)
{
	const char *r = strstr(msg, "': ");

	return r ? r + 3 : msg;
}

enum cds_err cds_phone_normalize(char *out, size_t cap, const char *raw,
				 const char *region, struct cds_error *err)
{
	char e164[CDS_PHONE_E164_BYTES], where[CDS_PHONE_REGION_BYTES], q[64];
	struct cds_error check;
	enum cds_phone_status st;
	enum cds_err rc;
	size_t len;

	if (!raw || !out || cap < TEL_HANDLE_BYTES)
		return cds_fail(err, CDS_ERR_INVALID,
				"phone normalisation needs a number and %d output bytes",
				TEL_HANDLE_BYTES);
	out[0] = '\0';
	if (!region)
		region = cds_default_region();
	rc = cds_region_check(region, err);
	if (rc)
		return rc;
	len = strlen(raw);
	cds_text_quote(q, raw, len);
	if (len > RAW_PHONE_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': too long for a phone number", q);
	if (!cds_text_utf8_valid(raw, len))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': phone number is not valid UTF-8", q);
	st = cds_phone_shim_e164(e164, where, raw, region);
	if (st != CDS_PHONE_OK)
		return phone_fail(err, st, q, where[0] ? where : region);
	snprintf(out, cap, "tel:%s", e164);
	cds_error_clear(&check);
	if (cds_handle_check(out, strlen(out), NULL, &check)) {
		out[0] = '\0';
		return cds_fail(err, CDS_ERR_INVALID, "'%s': %s", q,
				reason_of(check.msg));
	}
	return CDS_OK;
}

enum cds_err cds_email_normalize(char *out, size_t cap, const char *raw,
				 struct cds_error *err)
{
	struct cds_error check;
	const char *s = raw;
	size_t n, i;
	char q[64];

	if (!raw || !out || cap < CDS_HANDLE_MAX_BYTES + 1)
		return cds_fail(err, CDS_ERR_INVALID,
				"e-mail normalisation needs an address and %d output bytes",
				CDS_HANDLE_MAX_BYTES + 1);
	out[0] = '\0';
	n = strlen(raw);
	cds_text_quote(q, raw, n);
	cds_text_trim(&s, &n);
	/* No cutting at '?' (mailto URI headers): '?' is legal in a local
	 * part, and a canonical handle must come back unchanged. */
	if (cds_text_iprefix(s, n, "mailto:")) {
		s += 7;
		n -= 7;
		cds_text_trim(&s, &n);
	}
	if (!cds_text_is_ascii(s, n))
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': non-ASCII e-mail address not supported", q);
	if (n == 0 || n > CDS_MAILTO_ADDR_MAX_BYTES)
		return cds_fail(err, CDS_ERR_INVALID,
				"'%s': e-mail address must be 1 to %d characters", q,
				CDS_MAILTO_ADDR_MAX_BYTES);
	memcpy(out, "mailto:", 7);
	for (i = 0; i < n; i++)
		out[7 + i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a')
							  : s[i];
	out[7 + n] = '\0';
	cds_error_clear(&check);
	if (cds_handle_check(out, 7 + n, NULL, &check)) {
		out[0] = '\0';
		return cds_fail(err, CDS_ERR_INVALID, "'%s': %s", q,
				reason_of(check.msg));
	}
	return CDS_OK;
}

/* "en_GB.UTF-8" or "de_DE@euro" -> "GB"/"DE" in out; false if no territory. */
static bool locale_region(char out[3], const char *loc)
{
	const char *u = strchr(loc, '_');

	if (!u || !u[1] || !u[2])
		return false;
	if (u[3] && u[3] != '.' && u[3] != '@')
		return false;
	out[0] = (char)((u[1] >= 'a' && u[1] <= 'z') ? u[1] - 'a' + 'A' : u[1]);
	out[1] = (char)((u[2] >= 'a' && u[2] <= 'z') ? u[2] - 'a' + 'A' : u[2]);
	out[2] = '\0';
	return cds_region_check(out, NULL) == CDS_OK;
}

/*
 * POSIX precedence: the first of LC_ALL, LC_CTYPE, LANG that is set and
 * non-empty decides; if it names no territory ("C", "POSIX", "en"), "US".
 * The result lives in thread-local storage, valid until the next call in
 * the same thread.
 */
const char *cds_default_region(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	static _Thread_local char region[3];
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		v = getenv(vars[i]);
		if (!v || !*v)
			continue;
		if (locale_region(region, v))
			return region;
		break;
	}
	return "US";
}
