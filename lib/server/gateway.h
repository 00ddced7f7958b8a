/*
 * gateway.h: the Oblivious HTTP gateway's keys as the running server holds
 * them (RFC 9458; file format in crypto/gwkeys.h).
 *
 * The key set is loaded at start-up (a data directory made before the
 * gateway existed gets its first key then) and reloaded by the background
 * thread when `cdsctl key rotate --ohttp` replaces it: the file, or the
 * row sealed in a PostgreSQL store that replicas share (store/keysrc.h;
 * the gateway holds a store connection of its own for it).  Requests
 * decrypt under a read lock, so a reload never frees a key in use.
 *
 * Invariants:
 *  1. The published configuration list (application/ohttp-keys) holds the
 *     current key only; retired keys in their grace period still decrypt.
 *  2. A reload that fails keeps the keys already loaded (and says so).
 *  3. Secret keys are wiped when replaced and when the gateway is freed.
 */
#ifndef CDS_SERVER_GATEWAY_H
#define CDS_SERVER_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/ohttp.h"

struct cds_gateway;

enum cds_err cds_gateway_open(struct cds_gateway **out, const char *datadir,
			      struct cds_error *err) CDS_MUST_CHECK;
void cds_gateway_free(struct cds_gateway *g);  /* accepts NULL */

/* Reload the key set if it changed since the last load (or on time). */
enum cds_err cds_gateway_poll(struct cds_gateway *g,
			      struct cds_error *err) CDS_MUST_CHECK;

/* Append the published key configurations to out.  CDS_ERR_NOMEM. */
enum cds_err cds_gateway_configs(struct cds_gateway *g, struct cds_buf *out,
				 struct cds_error *err) CDS_MUST_CHECK;

/* cds_ohttp_request_open with the loaded keys (see crypto/ohttp.h). */
enum cds_err cds_gateway_decapsulate(struct cds_gateway *g,
				     struct cds_ohttp_exchange *x,
				     struct cds_buf *out,
				     const uint8_t *req, size_t len,
				     struct cds_error *err) CDS_MUST_CHECK;

#endif
