/*
 * fuzz_csv.c: libFuzzer harness for the CSV address-book parser
 * (lib/addressbook/csv*.c through cds_addressbook_parse).  Same checks as
 * fuzz_vcard.c (abcheck.h); the first byte, if it is '\x01', asks for
 * format sniffing instead, so the AUTO path is covered too.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size && data[0] == 1)
		abcheck_parse((const char *)data + 1, size - 1, CDS_AB_AUTO);
	else
		abcheck_parse((const char *)data, size, CDS_AB_CSV);
	return 0;
}
