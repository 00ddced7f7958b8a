/*
 * fuzz_clientaddr.c: libFuzzer harness for the X-Forwarded-For reading and
 * the --trusted-proxy range parser (lib/server/clientaddr.c).  The header
 * comes from any client that sits behind a trusted proxy.
 *
 * Input: the first byte picks the peer (trusted or not), the rest is the
 * header text (also parsed as a CIDR).  Checks, beyond "no crash": an
 * untrusted peer's client address is the peer itself, whatever the header;
 * a result is always an IPv4 or IPv6 address; an accepted range has a
 * prefix no longer than its family allows.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/clientaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sockaddr_in peer4(const char *ip)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cds_cidr trusted[2], c;
	struct sockaddr_in p;
	struct sockaddr_storage out;
	struct cds_error err;
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	assert(cds_cidr_parse(&trusted[0], "10.0.0.0/8", &err) == CDS_OK);
	assert(cds_cidr_parse(&trusted[1], "fd00::/8", &err) == CDS_OK);
	p = peer4(data[0] & 1 ? "10.1.2.3" : "203.0.113.5");
	assert(cds_client_addr(&out, (struct sockaddr *)&p, text, trusted, 2));
	assert(out.ss_family == AF_INET || out.ss_family == AF_INET6);
	if (!(data[0] & 1))
		assert(out.ss_family == AF_INET &&
		       ((struct sockaddr_in *)&out)->sin_addr.s_addr ==
			       p.sin_addr.s_addr);
	if (cds_cidr_parse(&c, text, &err) == CDS_OK)
		assert((c.family == AF_INET && c.bits <= 32) ||
		       (c.family == AF_INET6 && c.bits <= 128));
	free(text);
	return 0;
}
