/*
 * fuzz_bhttp.c: libFuzzer harness for the Binary HTTP parser
 * (lib/core/bhttp.c), which reads what arrives inside every Oblivious HTTP
 * request (gateway) and response (client).  The first byte picks request
 * or response.  Checks, beyond "no crash": an accepted message re-encodes
 * and re-parses to the same control data, fields and content, a response
 * parses to the same with its content left in place (_ref, the client's
 * form), and a refused one leaves the message zeroed with a message.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/bhttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_msg(const struct cds_bhttp_msg *a,
		     const struct cds_bhttp_msg *b)
{
	assert(a->status == b->status);
	assert(!a->method == !b->method);
	if (a->method) {
		assert(!strcmp(a->method, b->method));
		assert(!strcmp(a->scheme, b->scheme));
		assert(!strcmp(a->authority, b->authority));
		assert(!strcmp(a->path, b->path));
	}
	assert(a->n_fields == b->n_fields);
	for (size_t i = 0; i < a->n_fields; i++) {
		assert(!strcmp(a->fields[i].name, b->fields[i].name));
		assert(!strcmp(a->fields[i].value, b->fields[i].value));
	}
	assert(a->content_len == b->content_len);
	assert(!memcmp(a->content, b->content, a->content_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cds_bhttp_msg m, m2;
	struct cds_error err = {0};
	struct cds_buf b;
	bool req;
	enum cds_err rc;

	if (size < 1)
		return 0;
	req = data[0] & 1;
	rc = req ? cds_bhttp_parse_request(&m, data + 1, size - 1, &err)
		 : cds_bhttp_parse_response(&m, data + 1, size - 1, &err);
	if (!req) {
		enum cds_err rc2 = cds_bhttp_parse_response_ref(&m2, data + 1,
								size - 1, &err);

		assert((rc2 == CDS_OK) == (rc == CDS_OK));
		if (rc2 == CDS_OK) {
			same_msg(&m, &m2);
			cds_bhttp_fini(&m2);
		}
	}
	if (rc) {
		assert(err.msg[0] && !m.method && !m.n_fields && !m.arena_);
		return 0;
	}
	cds_buf_init(&b);
	assert(cds_bhttp_encode(&b, &m, &err) == CDS_OK);
	rc = req ? cds_bhttp_parse_request(&m2, b.data, b.len, &err)
		 : cds_bhttp_parse_response(&m2, b.data, b.len, &err);
	assert(rc == CDS_OK);
	same_msg(&m, &m2);
	cds_bhttp_fini(&m2);
	cds_bhttp_fini(&m);
	cds_buf_fini(&b);
	return 0;
}
