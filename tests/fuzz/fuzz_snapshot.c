/*
 * fuzz_snapshot.c: libFuzzer harness for index snapshots
 * (lib/index/snapshot.c: cds_snapshot_load, cds_snapshot_seq), which the
 * sealer reads from DIR/index for an epoch with no sealed version yet.
 *
 * Each input is tried twice: as the whole file, and as the body of a file
 * whose header the harness makes valid (magic, format, the epoch and key
 * asked for, a prefix size and entry count from the input, a correct
 * checksum), so that the layout checks behind the checksum are reached.
 * Beyond "no crash": a snapshot that loads serves every bucket, its
 * buckets hold exactly the entries it claims, and each is sorted.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "crypto/entry.h"
#include "index/index.h"
#include "index/snapshot.h"

#define EPOCH 7
#define OFF_VERSION 8
#define OFF_EPOCH 12
#define OFF_PK 16
#define OFF_BITS 48
#define OFF_COUNT 56
#define OFF_CHECKSUM 88
#define MAX_BITS 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t PK[CDS_OPRF_ELEMENT_BYTES] = { 1 };

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert(f);
	assert(fwrite(p, 1, n, f) == n || n == 0);
	assert(fclose(f) == 0);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A file of header + body with a valid header for `bits`. */
static uint8_t *with_header(const uint8_t *body, size_t n, unsigned bits,
			    size_t *len)
{
	uint8_t *f = calloc(1, CDS_SNAPSHOT_HEADER_BYTES + n);
	size_t nb = (size_t)1 << bits, tail = (nb + 1) * 4;
	crypto_generichash_state st;

	assert(f);
	memcpy(f, "CDSINDEX", 8);
	put_le(f + OFF_VERSION, 1, 4);
	put_le(f + OFF_EPOCH, EPOCH, 4);
	memcpy(f + OFF_PK, PK, sizeof(PK));
	put_le(f + OFF_BITS, bits, 4);
	put_le(f + OFF_COUNT, n >= tail ? (n - tail) / CDS_ENTRY_BYTES : 0, 8);
	memcpy(f + CDS_SNAPSHOT_HEADER_BYTES, body, n);
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, body, n);
	crypto_generichash_update(&st, f, CDS_SNAPSHOT_HEADER_BYTES);
	crypto_generichash_final(&st, f + OFF_CHECKSUM, 32);
	*len = CDS_SNAPSHOT_HEADER_BYTES + n;
	return f;
}

/* A loaded index must serve sorted buckets that add up to its count. */
static void check_index(struct cds_index *ix, unsigned bits)
{
	struct cds_error err;
	uint64_t total = 0, version;

	for (uint32_t b = 0; b < (1u << bits); b++) {
		struct cds_buf buf = { 0 };
		assert(cds_index_bucket(ix, b, &buf, &version, &err) == CDS_OK);
		assert(buf.len % CDS_ENTRY_BYTES == 0);
		for (size_t i = CDS_ENTRY_BYTES; i < buf.len; i += CDS_ENTRY_BYTES)
			assert(memcmp(buf.data + i - CDS_ENTRY_BYTES,
				      buf.data + i, CDS_FP_BYTES) < 0);
		total += buf.len / CDS_ENTRY_BYTES;
		cds_buf_fini(&buf);
	}
	assert(total == cds_index_count(ix));
}

static void try_load(const char *path, unsigned bits)
{
	struct cds_index *ix = NULL;
	struct cds_error err;
	uint64_t seq;

	if (cds_snapshot_load(&ix, path, EPOCH, PK, bits, &err) == CDS_OK) {
		check_index(ix, bits);
		cds_index_free(ix);
	} else {
		assert(ix == NULL && err.msg[0]);
	}
	(void)cds_snapshot_seq(path, EPOCH, &seq, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	unsigned bits;
	size_t len;
	uint8_t *f;

	if (!path[0]) {
		assert(sodium_init() >= 0);
		snprintf(path, sizeof(path), "/tmp/fuzz-snapshot-%ld",
			 (long)getpid());
	}
	if (size < 1)
		return 0;
	bits = data[0] % (MAX_BITS + 1);
	write_file(path, data, size);
	try_load(path, bits);
	f = with_header(data + 1, size - 1, bits, &len);
	write_file(path, f, len);
	try_load(path, bits);
	free(f);
	unlink(path);
	return 0;
}
