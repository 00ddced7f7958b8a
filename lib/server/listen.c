/*
 * listen.c: the --listen address: "HOST:PORT", "[IPV6]:PORT" or ":PORT".
 *
 * A bare IPv6 address without brackets is refused (its last group would be
 * read as the port).  HOST may be a name; the first address it resolves to
 * is used, so "localhost:8080" binds a loopback address.
 */
#include "server/server.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HOST_MAX 256

/* Split s into host (copied) and port text; false if malformed. */
static bool split(const char *s, char host[HOST_MAX], const char **port)
{
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return false;
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= HOST_MAX)
			return false;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		*port = close + 2;
		return true;
	}
	colon = strrchr(s, ':');
	if (!colon || memchr(s, ':', (size_t)(colon - s)))
		return false;
	n = (size_t)(colon - s);
	if (n >= HOST_MAX)
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	if (n == 0 || !strcmp(host, "*"))
		strcpy(host, "0.0.0.0");
	*port = colon + 1;
	return true;
}

static bool parse_port(unsigned *out, const char *p)
{
	unsigned v = 0;

	if (!*p || strlen(p) > 5)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > 65535)
		return false;
	*out = v;
	return true;
}

enum cds_err cds_server_parse_listen(struct sockaddr_storage *out,
				     socklen_t *outlen, const char *s,
				     struct cds_error *err)
{
	struct addrinfo hints, *res = NULL;
	char host[HOST_MAX], portstr[8];
	const char *port;
	unsigned pv;
	int rc;

	if (!split(s, host, &port) || !parse_port(&pv, port))
		return cds_fail(err, CDS_ERR_USAGE,
				"--listen: '%.80s' is not HOST:PORT or [IPV6]:PORT with a port 0-65535",
				s);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", pv);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || !res)
		return cds_fail(err, CDS_ERR_USAGE,
				"--listen: cannot resolve '%.80s': %s", host,
				gai_strerror(rc));
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*outlen = res->ai_addrlen;
	freeaddrinfo(res);
	return CDS_OK;
}

enum cds_err cds_server_check_listen(const struct sockaddr *sa, socklen_t len,
				     const char *text, struct cds_error *err)
{
	int one = 1, fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	enum cds_err rc = CDS_OK;

	if (fd < 0)
		return cds_fail(err, CDS_ERR_IO, "--listen '%.80s': %s", text,
				strerror(errno));
	/* The same option libmicrohttpd sets, so that the test is fair. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) != 0)
		rc = cds_fail(err, CDS_ERR_IO, "cannot listen on '%.80s': %s",
			      text, strerror(errno));
	close(fd);
	return rc;
}
