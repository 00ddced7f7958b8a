/*
 * snapshot.h: an epoch's index on disk, DIR/index/epoch-<N>.snap, the
 * sealer's: read only for an epoch with no sealed version yet (a new key
 * epoch, the first start after an upgrade from before transparency), when
 * the working index would otherwise be evaluated handle by handle.  Once
 * an epoch has a version every replica loads its view from the store and
 * the sealer copies it (mirror_work.c): no snapshot is read.
 *
 * File layout (integers little-endian; the offsets are read in place, so
 * snapshots are used only on little-endian hosts):
 *
 *     0   magic "CDSINDEX"
 *     8   u32 format version (1)
 *    12   u32 epoch
 *    16   public key (32)
 *    48   u32 prefix_bits
 *    52   u32 zero
 *    56   u64 handle count n
 *    64   u64 change sequence the index reflects
 *    72   base salt (16), see index.h invariant 2
 *    88   checksum (32): BLAKE2b-256(bytes 128..end || the header with
 *         this field zero); the header comes last because the saver
 *         learns its count and seq while writing the body
 *   120   u64 zero
 *   128   n entries of 104 bytes, bucket by bucket, sorted by fp
 *   128 + 104 n   u32 off[2^prefix_bits + 1]
 *
 * A file is written to a temporary name, fsynced and renamed.
 */
#ifndef CDS_INDEX_SNAPSHOT_H
#define CDS_INDEX_SNAPSHOT_H

#include <stdint.h>

#include "core/err.h"
#include "crypto/oprf.h"
#include "index/index.h"

#define CDS_SNAPSHOT_HEADER_BYTES 128

/* "DIR/index/epoch-N.snap" into out (cap bytes); CDS_ERR_TOO_LARGE. */
enum cds_err cds_snapshot_path(char *out, size_t cap, const char *datadir,
			       uint32_t epoch,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Write ix to path (the directory must exist).  Call it from the thread
 * that updates ix (or before the index is shared).
 */
enum cds_err cds_snapshot_save(struct cds_index *ix, const char *path,
			       const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * Map path as the index of `epoch` under public key pk and prefix_bits.
 * CDS_ERR_NOT_FOUND if there is no file; CDS_ERR_INVALID, naming the
 * problem, if it is truncated, corrupt (checksum, offsets, order) or made
 * for another key, epoch or prefix size.
 */
enum cds_err cds_snapshot_load(struct cds_index **out, const char *path,
			       uint32_t epoch,
			       const uint8_t pk[static CDS_OPRF_ELEMENT_BYTES],
			       unsigned prefix_bits,
			       struct cds_error *err) CDS_MUST_CHECK;

/*
 * The change sequence recorded in the header of path, a snapshot of
 * `epoch` (nothing else is read or checked: for deciding what the change
 * log must keep).  CDS_ERR_NOT_FOUND if there is no file, CDS_ERR_INVALID
 * if it is not such a snapshot.
 */
enum cds_err cds_snapshot_seq(const char *path, uint32_t epoch, uint64_t *seq,
			      struct cds_error *err) CDS_MUST_CHECK;

#endif
