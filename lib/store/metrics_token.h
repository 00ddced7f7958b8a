/*
 * metrics_token.h: DIR/metrics.token, the bearer token that opens GET
 * /metrics on the API listener (DESIGN.md API table).
 *
 * Metrics tell an observer how busy the server is, how many accounts are
 * rate-limited and how the query log is doing; behind a local TLS proxy
 * every client is loopback, so a peer address proves nothing and the
 * endpoint takes a token instead.  The file is made by `cdsctl init`, and
 * by cdsd at start-up for a data directory made before it existed.
 *
 * Invariants:
 *  1. The file is created mode 0600 and never replaced once it exists: two
 *     processes creating it at once agree on one token (link(2) claims the
 *     name).
 *  2. Only the token's SHA-256 leaves this module; every copy of the token
 *     text is wiped.
 */
#ifndef CDS_STORE_METRICS_TOKEN_H
#define CDS_STORE_METRICS_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/*
 * SHA-256 of the token in DIR/metrics.token into hash, creating the file
 * first if it is missing (*created then true).  CDS_ERR_IO naming the file
 * if it cannot be read or made, CDS_ERR_INVALID if it holds no token.
 */
enum cds_err cds_metrics_token_load(const char *datadir,
				    uint8_t hash[static CDS_TOKEN_HASH_BYTES],
				    bool *created,
				    struct cds_error *err) CDS_MUST_CHECK;

#endif
