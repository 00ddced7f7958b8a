/*
 * fuzz_request.c: libFuzzer harness for the server's request-body decoders
 * (lib/server/decode.c).  The first byte picks the decoder (its low 3 bits;
 * for 6 and 7 the next 2 bits pick u32, verification, redeem, register),
 * the rest is the body.  Checks, beyond "no crash, no leak": a decoder that fails leaves
 * its struct zeroed; one that succeeds returns items within the limits,
 * every element a valid non-identity point and every handle canonical.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "core/handle.h"
#include "server/decode.h"

#define MAX_BATCH 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sodium_init() < 0;
}

static void check_handles(const struct cds_handle_list *l)
{
	assert(l->n <= MAX_BATCH);
	for (size_t i = 0; i < l->n; i++)
		assert(cds_handle_check(l->v[i], strlen(l->v[i]), NULL, NULL) ==
		       CDS_OK);
}

static void fuzz_discover(const char *b, size_t n)
{
	struct cds_discover_req r;
	struct cds_error err = {0};

	if (cds_decode_discover(&r, b, n, MAX_BATCH, &err)) {
		assert(r.elements == NULL && r.n == 0 && err.msg[0]);
		return;
	}
	assert(r.n >= 1 && r.n <= MAX_BATCH && r.epoch >= 1);
	for (size_t i = 0; i < r.n; i++) {
		const uint8_t *p = r.elements + i * CDS_OPRF_ELEMENT_BYTES;

		assert(!sodium_is_zero(p, CDS_OPRF_ELEMENT_BYTES));
		assert(crypto_core_ristretto255_is_valid_point(p));
	}
	cds_discover_req_fini(&r);
}

static void fuzz_buckets(const char *b, size_t n, unsigned bits)
{
	struct cds_buckets_req r;
	struct cds_error err = {0};

	if (cds_decode_buckets(&r, b, n, MAX_BATCH, bits, &err)) {
		assert(r.prefixes == NULL && err.msg[0]);
		return;
	}
	assert(r.n >= 1 && r.n <= MAX_BATCH);
	for (size_t i = 0; i < r.n; i++) {
		assert((uint64_t)r.prefixes[i] < (UINT64_C(1) << bits));
		for (size_t j = 0; j < i; j++)
			assert(r.prefixes[j] != r.prefixes[i]);
		if (r.etags && r.etags[i]) {
			size_t len = strlen(r.etags[i]);

			assert(len >= 2 && len <= CDS_ETAG_MAX_BYTES);
			assert(r.etags[i][len - 1] == '"');
		}
	}
	cds_buckets_req_fini(&r);
}

static void fuzz_lists(unsigned which, const char *b, size_t n)
{
	struct cds_error err = {0};

	if (which == 0) {
		struct cds_lookup_req r;

		if (!cds_decode_lookup(&r, b, n, MAX_BATCH, &err)) {
			assert(r.handles.n >= 1);
			check_handles(&r.handles);
		}
		cds_lookup_req_fini(&r);
	} else if (which == 1) {
		struct cds_account_req r;

		if (!cds_decode_account(&r, b, n, MAX_BATCH, &err))
			check_handles(&r.handles);
		cds_account_req_fini(&r);
	} else {
		struct cds_handles_req r;

		if (!cds_decode_handles(&r, b, n, MAX_BATCH, &err)) {
			assert(r.remove.n >= 1 && r.remove.n <= MAX_BATCH);
			check_handles(&r.remove);
		}
		cds_handles_req_fini(&r);
	}
}

/* The verification bodies: {"handle"} and {"verification","code",...}. */
static void fuzz_verify(unsigned which, const char *b, size_t n)
{
	struct cds_error err = {0};

	if (which == 0) {
		struct cds_verify_req r;

		if (!cds_decode_verify(&r, b, n, &err))
			assert(cds_handle_check(r.handle, strlen(r.handle),
						NULL, NULL) == CDS_OK);
		else
			assert(r.doc == NULL && r.handle == NULL);
		cds_verify_req_fini(&r);
	} else {
		struct cds_redeem_req r;
		size_t len;

		if (!cds_decode_redeem(&r, b, n, which == 2, &err)) {
			len = strlen(r.code);
			assert(len >= 1 && len <= CDS_CODE_MAX_DIGITS);
			assert(strspn(r.code, "0123456789") == len);
		} else {
			assert(r.code[0] == '\0' && err.msg[0]);
		}
		cds_redeem_req_fini(&r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cds_identity_req id;
	struct cds_error err = {0};
	uint32_t u;
	const char *b;

	if (size < 1)
		return 0;
	b = (const char *)data + 1;
	size--;
	switch (data[0] % 8) {
	case 0: fuzz_discover(b, size); break;
	case 1: fuzz_buckets(b, size, data[0] / 8 % 25); break;
	case 2: fuzz_lists(0, b, size); break;
	case 3: fuzz_lists(1, b, size); break;
	case 4: fuzz_lists(2, b, size); break;
	case 5: (void)cds_decode_identity(&id, b, size, &err); break;
	default: /* 6 and 7: the rest, by the next bits (old seeds stay u32) */
		if (data[0] / 8 % 4 != 0) {
			fuzz_verify(data[0] / 8 % 4 - 1, b, size);
			break;
		}
		if (!cds_decode_u32(&u, b, size, 0, UINT32_MAX, "value", &err))
			assert(size >= 1 && size <= 10);
		break;
	}
	return 0;
}
