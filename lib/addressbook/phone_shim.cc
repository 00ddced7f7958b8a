/*
 * phone_shim.cc: libphonenumber behind a C interface (phone_shim.h).
 *
 * The only C++ in cds.  Invariants: every function is noexcept and wraps its
 * body in try/catch, since an exception escaping into C is undefined
 * behaviour; no libphonenumber type appears in the header.
 */
#include "addressbook/phone_shim.h"

#include <cstring>
#include <new>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

enum cds_phone_status from_parse_error(PhoneNumberUtil::ErrorType e)
{
	switch (e) {
	case PhoneNumberUtil::NO_PARSING_ERROR:
		return CDS_PHONE_OK;
	case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
		return CDS_PHONE_BAD_COUNTRY;
	case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
	case PhoneNumberUtil::TOO_SHORT_NSN:
		return CDS_PHONE_TOO_SHORT;
	case PhoneNumberUtil::TOO_LONG_NSN:
		return CDS_PHONE_TOO_LONG;
	case PhoneNumberUtil::NOT_A_NUMBER:
		break;
	}
	return CDS_PHONE_NOT_A_NUMBER;
}

/* Replace *num by the parse of `text` if that gives a valid number. */
bool retry(const PhoneNumberUtil &u, const std::string &text,
	   const std::string &region, PhoneNumber *num)
{
	PhoneNumber again;

	if (u.Parse(text, region, &again) != PhoneNumberUtil::NO_PARSING_ERROR ||
	    !u.IsValidNumber(again))
		return false;
	*num = again;
	return true;
}

/*
 * Parse; if that fails or gives an invalid number, try two readings the
 * region's own rules miss:
 *  - letters as keypad digits (Parse converts "1-800-FLOWERS" itself when it
 *    recognises a vanity number; this covers the forms it does not);
 *  - a leading "00" as the international prefix: most of the world dials
 *    it, so "0044 ..." in a US or Brazilian address book means "+44 ...".
 * A retry counts only if it yields a valid number, so a number that is valid
 * under the region's rules never changes meaning.
 */
enum cds_phone_status parse(const PhoneNumberUtil &u, const std::string &raw,
			    const std::string &region, PhoneNumber *num,
			    bool *valid)
{
	enum cds_phone_status st = from_parse_error(u.Parse(raw, region, num));
	size_t lead = raw.find_first_not_of(" \t");
	std::string text;

	/* IsValidNumber costs as much as Parse: ask once per reading. */
	*valid = st == CDS_PHONE_OK && u.IsValidNumber(*num);
	if (*valid)
		return st;
	if (u.IsAlphaNumber(raw)) {
		text = raw;
		u.ConvertAlphaCharactersInNumber(&text);
		*valid = retry(u, text, region, num);
		if (*valid)
			return CDS_PHONE_OK;
	}
	if (lead != std::string::npos && raw.compare(lead, 2, "00") == 0) {
		*valid = retry(u, "+" + raw.substr(lead + 2), region, num);
		if (*valid)
			return CDS_PHONE_OK;
	}
	return st;
}

void copy_out(char *out, size_t cap, const std::string &s)
{
	size_t n = s.size() < cap - 1 ? s.size() : cap - 1;

	std::memcpy(out, s.data(), n);
	out[n] = '\0';
}

} // namespace

extern "C" enum cds_phone_status
cds_phone_shim_e164(char e164[CDS_PHONE_E164_BYTES],
		    char where[CDS_PHONE_REGION_BYTES], const char *raw,
		    const char *region) noexcept
{
	try {
		const PhoneNumberUtil &u = *PhoneNumberUtil::GetInstance();
		PhoneNumber num;
		std::string rc, out;
		enum cds_phone_status st;
		bool valid;

		e164[0] = where[0] = '\0';
		st = parse(u, raw, region, &num, &valid);
		if (st != CDS_PHONE_OK)
			return st;
		u.GetRegionCodeForCountryCode(num.country_code(), &rc);
		copy_out(where, CDS_PHONE_REGION_BYTES, rc);
		if (!valid)
			return CDS_PHONE_INVALID;
		u.Format(num, PhoneNumberUtil::E164, &out);
		if (out.size() >= CDS_PHONE_E164_BYTES)
			return CDS_PHONE_INTERNAL;
		copy_out(e164, CDS_PHONE_E164_BYTES, out);
		return CDS_PHONE_OK;
	} catch (const std::bad_alloc &) {
		return CDS_PHONE_NOMEM;
	} catch (...) {
		return CDS_PHONE_INTERNAL;
	}
}

extern "C" bool cds_phone_shim_region_known(const char *region) noexcept
{
	try {
		const PhoneNumberUtil &u = *PhoneNumberUtil::GetInstance();

		return u.GetCountryCodeForRegion(region) != 0;
	} catch (...) {
		return false;
	}
}
