/*
 * fuzz_import.c: libFuzzer harness for the import file's line parser
 * (lib/store/import.c, cds_import_parse_line).  Beyond "no crash": a line
 * that parses yields a canonical, NUL-terminated handle of the reported
 * length and a key that round-trips through strict base64 to the key field;
 * a line that fails leaves the record untouched and says why.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/codec.h"
#include "core/handle.h"
#include "store/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sodium_init() < 0;
}

static void check_good(const struct cds_import_record *r, const char *line,
		       size_t len)
{
	char b64[CDS_B64_LEN(CDS_IDENTITY_KEY_BYTES)];
	struct cds_error err;

	assert(r->handle_len == strlen(r->handle));
	assert(cds_handle_check(r->handle, r->handle_len, NULL, &err) == CDS_OK);
	assert(memmem(line, len, r->handle, r->handle_len) != NULL);
	/* The key's canonical base64 is in the line: nothing else decodes. */
	cds_b64_encode(b64, r->identity_key, sizeof(r->identity_key));
	assert(memmem(line, len, b64, strlen(b64)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cds_import_record r, before;
	struct cds_error err;
	/* A copy of exactly size bytes: ASan catches any read past the end. */
	char *line = malloc(size ? size : 1);

	if (!line)
		return 0;
	memcpy(line, data, size);
	memset(&r, 0xa5, sizeof(r));
	before = r;
	cds_error_clear(&err);
	if (cds_import_parse_line(&r, line, size, &err) == CDS_OK) {
		check_good(&r, line, size);
	} else {
		assert(err.code == CDS_ERR_INVALID || err.code == CDS_ERR_TOO_LARGE);
		assert(err.msg[0] != '\0');
		assert(memcmp(&r, &before, sizeof(r)) == 0);
	}
	free(line);
	return 0;
}
