/*
 * fuzz_handle.c: libFuzzer harness for cds_handle_check (lib/core/handle.c),
 * the gate every handle passes on the server and in the client.  Checks,
 * beyond "no crash": an accepted handle has the shape DESIGN.md pins
 * ("tel:+" and 7-15 digits, first 1-9; or "mailto:", ASCII, no upper case,
 * one '@', at most 254 address bytes) and its kind matches its prefix; a
 * rejected one gets a message; the check reads only s[0..len).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/handle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tel(const char *s, size_t n)
{
	size_t i;

	assert(n >= 5 + 7 && n <= 5 + 15);
	assert(s[5] >= '1' && s[5] <= '9');
	for (i = 5; i < n; i++)
		assert(s[i] >= '0' && s[i] <= '9');
}

static void check_mailto(const char *s, size_t n)
{
	size_t i, at = 0;

	assert(n > 7 && n - 7 <= CDS_MAILTO_ADDR_MAX_BYTES);
	for (i = 7; i < n; i++) {
		assert((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
		assert(!(s[i] >= 'A' && s[i] <= 'Z'));
		at += s[i] == '@';
	}
	assert(at == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cds_handle_kind kind = 0;
	struct cds_error err;
	char *copy;

	/* An exact-size heap copy lets ASan catch a read past s[len). */
	copy = malloc(size ? size : 1);
	assert(copy);
	memcpy(copy, data, size);
	cds_error_clear(&err);
	if (cds_handle_check(copy, size, &kind, &err) != CDS_OK) {
		assert(err.code == CDS_ERR_INVALID && err.msg[0] != '\0');
	} else if (kind == CDS_HANDLE_TEL) {
		assert(size >= 5 && memcmp(copy, "tel:+", 5) == 0);
		check_tel(copy, size);
	} else {
		assert(kind == CDS_HANDLE_MAILTO);
		assert(size >= 7 && memcmp(copy, "mailto:", 7) == 0);
		check_mailto(copy, size);
	}
	free(copy);
	return 0;
}
