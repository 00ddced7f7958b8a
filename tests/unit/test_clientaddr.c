/*
 * test_clientaddr.c: trusted-proxy ranges and the client address of a
 * request (lib/server/clientaddr.c): ranges parse and match by prefix,
 * IPv4-mapped peers count as IPv4, X-Forwarded-For is read right to left
 * past trusted hops and ignored from untrusted peers, and malformed input
 * falls back to what a trusted proxy vouched for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "server/clientaddr.h"

static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage s;

	memset(&s, 0, sizeof(s));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&s)->sin_addr) == 1)
		s.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, ip,
			   &((struct sockaddr_in6 *)&s)->sin6_addr) == 1)
		s.ss_family = AF_INET6;
	else
		fail_msg("bad test address %s", ip);
	return s;
}

/* Text of a client address. */
static const char *text(const struct sockaddr_storage *s, char out[64])
{
	const void *a = s->ss_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)s)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)s)->sin6_addr;

	return inet_ntop(s->ss_family, a, out, 64);
}

static void test_cidr(void **state)
{
	struct cds_cidr c;
	struct cds_error err;
	struct sockaddr_storage a;

	(void)state;
	assert_int_equal(cds_cidr_parse(&c, "10.0.0.0/8", &err), CDS_OK);
	a = addr("10.200.1.1");
	assert_true(cds_cidr_contains(&c, (struct sockaddr *)&a));
	a = addr("11.0.0.1");
	assert_false(cds_cidr_contains(&c, (struct sockaddr *)&a));
	a = addr("::ffff:10.9.9.9"); /* a dual-stack socket's IPv4 peer */
	assert_true(cds_cidr_contains(&c, (struct sockaddr *)&a));
	assert_int_equal(cds_cidr_parse(&c, "192.168.1.128/25", &err), CDS_OK);
	a = addr("192.168.1.200");
	assert_true(cds_cidr_contains(&c, (struct sockaddr *)&a));
	a = addr("192.168.1.100");
	assert_false(cds_cidr_contains(&c, (struct sockaddr *)&a));
	assert_int_equal(cds_cidr_parse(&c, "2001:db8::/32", &err), CDS_OK);
	a = addr("2001:db8:ffff::1");
	assert_true(cds_cidr_contains(&c, (struct sockaddr *)&a));
	a = addr("10.0.0.1");
	assert_false(cds_cidr_contains(&c, (struct sockaddr *)&a));
	assert_int_equal(cds_cidr_parse(&c, "127.0.0.1", &err), CDS_OK);
	assert_int_equal(c.bits, 32);
	assert_int_equal(cds_cidr_parse(&c, "0.0.0.0/0", &err), CDS_OK);
	a = addr("8.8.8.8");
	assert_true(cds_cidr_contains(&c, (struct sockaddr *)&a));
	for (const char *const *b = (const char *const[]){
		     "10.0.0.0/33", "::/129", "10.0.0.0/", "/8", "", "x",
		     "10.0.0.0/8x", "10.0.0.0/-1", NULL};
	     *b; b++) {
		assert_int_equal(cds_cidr_parse(&c, *b, &err), CDS_ERR_USAGE);
		assert_non_null(strstr(err.msg, "--trusted-proxy"));
	}
}

static const char *client(const char *peer, const char *xff, char out[64])
{
	struct cds_cidr t[2];
	struct cds_error err;
	struct sockaddr_storage p = addr(peer), c;

	assert_int_equal(cds_cidr_parse(&t[0], "10.0.0.0/8", &err), CDS_OK);
	assert_int_equal(cds_cidr_parse(&t[1], "fd00::/8", &err), CDS_OK);
	assert_true(cds_client_addr(&c, (struct sockaddr *)&p, xff, t, 2));
	return text(&c, out);
}

static void test_client_addr(void **state)
{
	char b[64];

	(void)state;
	/* Untrusted peers: the socket, whatever they claim. */
	assert_string_equal(client("203.0.113.5", "198.51.100.1", b),
			    "203.0.113.5");
	assert_string_equal(client("203.0.113.5", NULL, b), "203.0.113.5");
	/* Trusted: the rightmost entry that is not a trusted proxy. */
	assert_string_equal(client("10.0.0.1", "198.51.100.1", b),
			    "198.51.100.1");
	assert_string_equal(client("10.0.0.1", "1.1.1.1, 198.51.100.1", b),
			    "198.51.100.1");
	assert_string_equal(client("10.0.0.1", "198.51.100.1,10.0.0.7 ", b),
			    "198.51.100.1");
	assert_string_equal(client("fd00::1", "2001:db8::9", b), "2001:db8::9");
	assert_string_equal(client("10.0.0.1", NULL, b), "10.0.0.1");
	assert_string_equal(client("10.0.0.1", "", b), "10.0.0.1");
	/* Garbage: the nearest hop a trusted proxy vouched for. */
	assert_string_equal(client("10.0.0.1", "unknown", b), "10.0.0.1");
	assert_string_equal(client("10.0.0.1", "junk, 10.0.0.9", b), "10.0.0.9");
	assert_string_equal(client("10.0.0.1", "198.51.100.1:443", b),
			    "10.0.0.1");
	/* Only trusted hops: the leftmost of them. */
	assert_string_equal(client("10.0.0.1", "10.0.0.3, 10.0.0.2", b),
			    "10.0.0.3");
	assert_false(cds_client_addr(&(struct sockaddr_storage){0}, NULL,
				     "1.2.3.4", NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_client_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
