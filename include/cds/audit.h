/*
 * cds/audit.h: auditing a cds directory's transparency log (DESIGN.md
 * "Directory transparency": `cds audit`).
 *
 * An auditor follows every version the server has sealed since its last
 * run: it fetches each version's signed head and its changes (GET
 * /v1/transparency/head?version=V, /v1/transparency/versions/V), rebuilds
 * every bucket of the version's epoch from the epoch's first version and
 * the changes since, recomputes the bucket tree's root and the log of
 * versions (RFC 9162), checks the signature under the transparency key it
 * pinned on its first run, and the server's consistency proof from the
 * head it audited last.  It learns no handle: buckets are opaque.
 *
 * The state file (SQLite, mode 0600) holds the server URL, the pinned key,
 * the last audited head, the log's right edge (at most 64 hashes) and, per
 * epoch audited, its tree depth and the entries of every non-empty bucket
 * (104 bytes per registered handle: rebuilding a root after a change
 * needs the changed buckets' whole contents).  Each version is committed
 * with the state it leads to, so an interrupted audit resumes after the
 * last version it checked.
 */
#ifndef CDS_AUDIT_H
#define CDS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "cds/client.h"
#include "cds/err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cds_audit_result {
	uint64_t first_version;  /* first version checked in this run, 0 if
				    there was nothing new */
	uint64_t last_version;   /* newest version audited (this run or before) */
	uint64_t versions;       /* versions checked in this run */
	uint64_t changes;        /* bucket changes replayed */
	uint64_t entries;        /* entries held in the state after the run */
	uint64_t bad_version;    /* CDS_ERR_CRYPTO: the version that failed */
	uint64_t requests;       /* HTTP requests made */
	uint64_t bytes_down;     /* headers and bodies received */
	int64_t wall_us;
};

/*
 * Audit the server opt->server_url (opt->relay_url, ca_file, timeouts as
 * for a client; token and cache are not used) from the state in
 * state_path (created if missing).  CDS_OK when every version since the
 * state's checked out (res filled, state saved).  CDS_ERR_CRYPTO when one
 * did not, or the server's key, log or consistency proof disagrees with
 * the state: err names the version (res->bad_version), and the state keeps
 * the last good version.  Other errors: CDS_ERR_NET, CDS_ERR_PROTO,
 * CDS_ERR_STORE (the state file), CDS_ERR_INVALID (a state file of another
 * server).
 */
enum cds_err cds_audit_run(const struct cds_client_options *opt,
			   const char *state_path,
			   struct cds_audit_result *res,
			   struct cds_error *err) CDS_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif
