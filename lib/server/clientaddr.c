/*
 * clientaddr.c: trusted-proxy ranges and the client address of a request
 * (clientaddr.h).  Everything that needs "the client's address" (query
 * log, per-address limits) goes through cds_client_addr, so that the rule
 * of whom to believe lives in one place.
 */
#include "server/clientaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_TEXT_MAX 64

/* The address bytes of sa, IPv4-mapped IPv6 reduced to IPv4. */
static int addr_bytes(uint8_t out[16], const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, a->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(out, a->s6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

bool cds_cidr_contains(const struct cds_cidr *c, const struct sockaddr *sa)
{
	uint8_t a[16];
	unsigned full, rest;

	if (!sa || addr_bytes(a, sa) != c->family)
		return false;
	full = c->bits / 8;
	rest = c->bits % 8;
	if (memcmp(a, c->addr, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ c->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* Text to a sockaddr (port 0); false if it is not an IP address. */
static bool parse_ip(struct sockaddr_storage *out, const char *s)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

enum cds_err cds_cidr_parse(struct cds_cidr *out, const char *s,
			    struct cds_error *err)
{
	char ip[ADDR_TEXT_MAX];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct sockaddr_storage ss;
	unsigned max;
	char *end;
	long bits;

	if (n == 0 || n >= sizeof(ip))
		goto bad;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (!parse_ip(&ss, ip))
		goto bad;
	memset(out, 0, sizeof(*out));
	out->family = addr_bytes(out->addr, (const struct sockaddr *)&ss);
	max = out->family == AF_INET ? 32 : 128;
	out->bits = max;
	if (slash) {
		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || bits < 0 || bits > (long)max)
			goto bad;
		out->bits = (unsigned)bits;
	}
	return CDS_OK;
bad:
	return cds_fail(err, CDS_ERR_USAGE,
			"--trusted-proxy: '%s' is not an address range like 10.0.0.0/8 or fd00::/8",
			s);
}

static bool trusted(const struct sockaddr *sa, const struct cds_cidr *t,
		    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cds_cidr_contains(&t[i], sa))
			return true;
	return false;
}

/*
 * The last comma-separated entry of xff[0..len), trimmed, into out;
 * *len becomes the length before that entry's comma (0 if none).
 */
static bool last_entry(char out[ADDR_TEXT_MAX], const char *xff, size_t *len)
{
	size_t end = *len, start;

	while (end > 0 && (xff[end - 1] == ' ' || xff[end - 1] == '\t'))
		end--;
	start = end;
	while (start > 0 && xff[start - 1] != ',')
		start--;
	*len = start > 0 ? start - 1 : 0;
	while (start < end && (xff[start] == ' ' || xff[start] == '\t'))
		start++;
	if (end - start == 0 || end - start >= ADDR_TEXT_MAX)
		return false;
	memcpy(out, xff + start, end - start);
	out[end - start] = '\0';
	return true;
}

bool cds_client_addr(struct sockaddr_storage *out, const struct sockaddr *peer,
		     const char *xff, const struct cds_cidr *t, size_t n_t)
{
	struct sockaddr_storage hop;
	char entry[ADDR_TEXT_MAX];
	size_t len;

	if (!peer)
		return false;
	memset(out, 0, sizeof(*out));
	memcpy(out, peer, peer->sa_family == AF_INET6
				  ? sizeof(struct sockaddr_in6)
				  : sizeof(struct sockaddr_in));
	if (!xff || !trusted(peer, t, n_t))
		return true;
	len = strlen(xff);
	while (len > 0) {
		if (!last_entry(entry, xff, &len) || !parse_ip(&hop, entry))
			return true;
		*out = hop;
		if (!trusted((const struct sockaddr *)&hop, t, n_t))
			return true;
	}
	return true;
}
