/*
 * phone_shim.h: the C face of libphonenumber (C++), used by normalize.c.
 *
 * Invariants: no C++ exception crosses this boundary (every entry point
 * catches everything and returns a status); the functions are safe to call
 * from several threads (PhoneNumberUtil is a thread-safe singleton).
 */
#ifndef CDS_ADDRESSBOOK_PHONE_SHIM_H
#define CDS_ADDRESSBOOK_PHONE_SHIM_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
#define CDS_PHONE_NOEXCEPT noexcept
extern "C" {
#else
#define CDS_PHONE_NOEXCEPT
#endif

enum cds_phone_status {
	CDS_PHONE_OK = 0,
	CDS_PHONE_NOT_A_NUMBER = 1, /* no digits, or not shaped like a number */
	CDS_PHONE_BAD_COUNTRY = 2,  /* unknown country calling code */
	CDS_PHONE_TOO_SHORT = 3,
	CDS_PHONE_TOO_LONG = 4,
	CDS_PHONE_INVALID = 5,      /* parsed, but not a number in use there */
	CDS_PHONE_NOMEM = 6,
	CDS_PHONE_INTERNAL = 7,     /* the library failed in an unexpected way */
};

/* Bytes for the E.164 text: '+', up to 15 digits (libphonenumber may give
 * up to 17 for a parsed-but-invalid number), NUL. */
#define CDS_PHONE_E164_BYTES 20
/* Region codes as libphonenumber names them: "US", or "001" (non-geographic). */
#define CDS_PHONE_REGION_BYTES 4

/*
 * Parse raw (NUL-terminated UTF-8) with default region `region` (two
 * upper-case letters), require IsValidNumber, and write "+<digits>" to e164.
 * `where` gets the region the number belongs to ("GB" for "+44 ..."), or the
 * default region when the number has no country code; it is filled for
 * CDS_PHONE_OK and CDS_PHONE_INVALID.  Vanity letters ("1-800-FLOWERS") are
 * converted to digits.
 */
enum cds_phone_status cds_phone_shim_e164(char e164[CDS_PHONE_E164_BYTES],
					  char where[CDS_PHONE_REGION_BYTES],
					  const char *raw,
					  const char *region) CDS_PHONE_NOEXCEPT;

/* True if libphonenumber has metadata for region ("US", "GB"). */
bool cds_phone_shim_region_known(const char *region) CDS_PHONE_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
