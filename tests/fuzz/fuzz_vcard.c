/*
 * fuzz_vcard.c: libFuzzer harness for the vCard address-book parser
 * (lib/addressbook/vcard*.c through cds_addressbook_parse, normalisation and
 * merging included).  Checks, beyond "no crash, no leak": a failed parse
 * returns no book and a message; a successful one holds only canonical
 * handles, each on one contact only, and UTF-8 names and problems.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	abcheck_parse((const char *)data, size, CDS_AB_VCARD);
	return 0;
}
