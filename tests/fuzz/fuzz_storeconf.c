/*
 * fuzz_storeconf.c: libFuzzer harness for DIR/store.conf and the store URI
 * check (lib/store/store_conf.c: cds_store_conf_parse, cds_store_url_check,
 * over libpq's PQconninfoParse).  Beyond "no crash": text that parses
 * yields a NUL-terminated URI that is in the text, starts with a libpq
 * scheme, passes the check again and holds no password; no message ever
 * repeats a password the input gave.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/store_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool holds_password(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	bool found = false;

	assert(opts);
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && o->val[0])
			found = true;
	PQconninfoFree(opts);
	return found;
}

static void check_good(const char *url, const uint8_t *data, size_t size)
{
	struct cds_error err;

	assert(strlen(url) < CDS_STORE_URL_MAX);
	assert(memmem(data, size, url, strlen(url)) != NULL);
	assert(!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11));
	assert(cds_store_url_check(url, &err) == CDS_OK);
	assert(!holds_password(url));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char url[CDS_STORE_URL_MAX], *text;
	struct cds_error err;

	memset(url, 0x55, sizeof(url));
	if (cds_store_conf_parse((const char *)data, size, url, &err) == CDS_OK)
		check_good(url, data, size);
	else
		assert(err.code == CDS_ERR_STORE && err.msg[0]);
	/* The same bytes as a URI on the command line. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cds_store_url_check(text, &err) == CDS_OK)
		assert(!holds_password(text));
	else
		assert(err.msg[0] && (err.code == CDS_ERR_INVALID ||
				      err.code == CDS_ERR_TOO_LARGE));
	free(text);
	return 0;
}
