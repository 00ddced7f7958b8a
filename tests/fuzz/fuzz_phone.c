/*
 * fuzz_phone.c: libFuzzer harness for handle normalisation
 * (lib/addressbook/normalize.c and the libphonenumber shim).  The first byte
 * picks a region or, for the last choice, e-mail; the rest is the raw text.
 * Checks, beyond "no crash, no leak, no C++ exception into C": a result is a
 * canonical handle, normalising it again gives it back (a fixed point), and
 * a failure leaves an empty output and a message quoting the input.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addressbook/addressbook.h"

#define RAW_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const regions[] = { "US", "GB", "DE", "IN", "BR", "JP",
				       "FR", "AU", "CN", "ZA", NULL };

static void check_phone(const char *raw, const char *region)
{
	char out[CDS_HANDLE_MAX_BYTES + 1], again[CDS_HANDLE_MAX_BYTES + 1];
	struct cds_error err;

	cds_error_clear(&err);
	if (cds_phone_normalize(out, sizeof(out), raw, region, &err) != CDS_OK) {
		assert(err.msg[0] == '\'' || err.code != CDS_ERR_INVALID);
		return;
	}
	assert(cds_handle_check(out, strlen(out), NULL, NULL) == CDS_OK);
	assert(strncmp(out, "tel:+", 5) == 0);
	/* "+<E.164>" means the same number from any region. */
	assert(cds_phone_normalize(again, sizeof(again), out + 4, "JP", &err) ==
	       CDS_OK);
	assert(strcmp(out, again) == 0);
}

static void check_email(const char *raw)
{
	char out[CDS_HANDLE_MAX_BYTES + 1], again[CDS_HANDLE_MAX_BYTES + 1];
	struct cds_error err;

	cds_error_clear(&err);
	if (cds_email_normalize(out, sizeof(out), raw, &err) != CDS_OK) {
		assert(out[0] == '\0' && err.msg[0] == '\'');
		return;
	}
	assert(cds_handle_check(out, strlen(out), NULL, NULL) == CDS_OK);
	assert(cds_email_normalize(again, sizeof(again), out, &err) == CDS_OK);
	assert(strcmp(out, again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nregions = sizeof(regions) / sizeof(regions[0]);
	char raw[RAW_MAX + 1];
	size_t pick;

	if (size == 0)
		return 0;
	pick = data[0] % nregions;
	size = size - 1 > RAW_MAX ? RAW_MAX : size - 1;
	memcpy(raw, data + 1, size);
	raw[size] = '\0';
	if (regions[pick])
		check_phone(raw, regions[pick]);
	else
		check_email(raw);
	return 0;
}
