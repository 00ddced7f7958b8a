/*
 * clientaddr.h: who the client of a request is, for the query log and the
 * per-address limits (DESIGN.md "--trusted-proxy CIDR").
 *
 * Behind a reverse proxy every connection comes from the proxy, so the
 * client's own address is what the proxy appends to X-Forwarded-For.  That
 * header is a claim anyone can send, so it is believed only from a peer
 * inside one of the operator's --trusted-proxy ranges; for every other
 * peer the client address is the socket's.
 *
 * Invariants:
 *  1. An untrusted peer's headers never change its client address.
 *  2. From a trusted peer, X-Forwarded-For is read right to left and the
 *     first address not itself a trusted proxy is the client (entries to
 *     its left were written by the client and prove nothing).  If the
 *     header is missing, the client address is the peer's; if an entry is
 *     not an IP address, it is the nearest hop a trusted proxy vouched for
 *     (the peer itself when that is the rightmost entry).
 */
#ifndef CDS_SERVER_CLIENTADDR_H
#define CDS_SERVER_CLIENTADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

/* An address range: family AF_INET or AF_INET6, `bits` leading bits. */
struct cds_cidr {
	int family;
	uint8_t addr[16];
	unsigned bits;
};

/*
 * Parse "A.B.C.D[/N]" or "IPV6[/N]" (no prefix: a single address).
 * CDS_ERR_USAGE quoting s if it is malformed or N is out of range.
 */
enum cds_err cds_cidr_parse(struct cds_cidr *out, const char *s,
			    struct cds_error *err) CDS_MUST_CHECK;

/* True if sa (IPv4, IPv6 or IPv4-mapped IPv6) lies inside c. */
bool cds_cidr_contains(const struct cds_cidr *c, const struct sockaddr *sa);

/*
 * The client address of a request from `peer` carrying X-Forwarded-For
 * `xff` (NULL if absent), given the trusted proxy ranges: written to *out.
 * Returns false (out untouched) only when peer is NULL.
 */
bool cds_client_addr(struct sockaddr_storage *out, const struct sockaddr *peer,
		     const char *xff, const struct cds_cidr *trusted,
		     size_t n_trusted);

#endif
