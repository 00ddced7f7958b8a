/*
 * test_gateway_routes.c: what the Oblivious HTTP gateway (POST /v1/ohttp,
 * RFC 9458) refuses to run, tested through the real HTTP interface of a
 * server started in-process (lib/server/api_ohttp.c, inner_admissible).
 *
 * POST /v1/verifications sent through the gateway is answered, inside the
 * encapsulated reply, 403 "direct_only", and no code is sent: the
 * verification outbox stays empty.  The same request sent directly is
 * answered 202 and puts one message in the outbox.  A harmless inner
 * request (GET /v1/params) goes through, so the refusal is the route's.
 * The transparency routes go through too, and a raw bucket's CDS-Version
 * and CDS-Proof headers (the proof 1,024 base64 characters at 24 prefix
 * bits, here 4) come back whole inside the encapsulated reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "client/http.h"
#include "client/protocol.h"
#include "core/bhttp.h"
#include "core/bucketsbin.h"
#include "crypto/keys.h"
#include "crypto/ohttp.h"
#include "server/server.h"
#include "store/store.h"
#include "storetest.h"

#define VERIFY_BODY "{\"handle\":\"mailto:someone@example.org\"}"

struct fixture {
	char *dir, *outbox;
	struct cds_server *s;
	struct cds_http *h;
	char base[64], authority[32];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct cds_server_config c;
	struct cds_error err = {0};

	assert_non_null(f);
	f->dir = tmpdir_new();
	f->outbox = tmpdir_new();
	assert_int_equal(cds_store_create(f->dir, 4, &err), CDS_OK);
	assert_int_equal(cds_keys_init(f->dir, &err), CDS_OK);
	cds_server_config_init(&c);
	c.datadir = f->dir;
	c.listen = "127.0.0.1:0";
	c.quiet = true;
	c.verify_outbox = f->outbox;
	/* cds_server_start creates the gateway key file (gateway.c) */
	if (cds_server_start(&f->s, &c, &err))
		fail_msg("start: %s", err.msg);
	snprintf(f->authority, sizeof(f->authority), "127.0.0.1:%u",
		 cds_server_port(f->s));
	snprintf(f->base, sizeof(f->base), "http://%s", f->authority);
	assert_int_equal(cds_http_new(&f->h, f->base, NULL, 30000, 120000,
				      1 << 20, &err), CDS_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cds_http_free(f->h);
	assert_int_equal(cds_server_stop(f->s, 5000), CDS_OK);
	tmpdir_free(f->dir);
	tmpdir_free(f->outbox);
	free(f);
	return 0;
}

/* Entries in dir other than "." and "..". */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/*
 * Send method path (with a JSON body if body) through the gateway, as
 * lib/client/relay.c does, and return the inner reply's status and body.
 */
static unsigned via_gateway_as(struct fixture *f, const char *method,
			       const char *path, const char *body,
			       const char *accept, struct cds_bhttp_msg *inner)
{
	static const uint8_t none[1];
	struct cds_error err = {0};
	struct cds_ohttp_config cfg;
	struct cds_ohttp_exchange x = {0};
	struct cds_http_reply k, o;
	struct cds_bhttp_msg m;
	struct cds_buf plain, sealed, opened;
	char url[128];

	cds_http_reply_init(&k);
	cds_http_reply_init(&o);
	cds_buf_init(&plain);
	cds_buf_init(&sealed);
	cds_buf_init(&opened);

	snprintf(url, sizeof(url), "%s/v1/ohttp/keys", f->base);
	assert_int_equal(cds_http_send_to(f->h, url, NULL, CDS_OHTTP_MEDIA_KEYS,
					  none, 0, &k, &err), CDS_OK);
	assert_int_equal(k.status, 200);
	assert_int_equal(cds_ohttp_keys_pick(&cfg, k.body.data, k.body.len,
					     &err), CDS_OK);

	cds_bhttp_init(&m);
	m.method = method;
	m.scheme = "http";
	m.authority = f->authority;
	m.path = path;
	m.fields[m.n_fields++] = (struct cds_bhttp_field){"accept", accept};
	if (body) {
		m.fields[m.n_fields++] = (struct cds_bhttp_field){
			"content-type", "application/json"};
		m.content = (const uint8_t *)body;
		m.content_len = strlen(body);
	}
	assert_int_equal(cds_bhttp_encode(&plain, &m, &err), CDS_OK);
	assert_int_equal(cds_ohttp_request_seal(&x, &sealed, &cfg, plain.data,
						plain.len, NULL, &err), CDS_OK);

	snprintf(url, sizeof(url), "%s/v1/ohttp", f->base);
	assert_int_equal(cds_http_send_to(f->h, url, CDS_OHTTP_MEDIA_REQ,
					  CDS_OHTTP_MEDIA_RES, sealed.data,
					  sealed.len, &o, &err), CDS_OK);
	assert_int_equal(o.status, 200);  /* the outer answer: decapsulated */
	assert_int_equal(cds_ohttp_response_open(&x, &opened, o.body.data,
						 o.body.len, &err), CDS_OK);
	assert_int_equal(cds_bhttp_parse_response(inner, opened.data,
						  opened.len, &err), CDS_OK);

	cds_ohttp_exchange_wipe(&x);
	cds_buf_fini(&plain);
	cds_buf_fini(&sealed);
	cds_buf_fini(&opened);
	cds_http_reply_fini(&k);
	cds_http_reply_fini(&o);
	return inner->status;
}

static unsigned via_gateway(struct fixture *f, const char *method,
			    const char *path, const char *body,
			    struct cds_bhttp_msg *inner)
{
	return via_gateway_as(f, method, path, body, "application/json",
			      inner);
}

/* The error code of a JSON error reply {"error":{"code":...}}, or "". */
static void error_code(char *out, size_t cap, const uint8_t *body, size_t len)
{
	json_t *doc = json_loadb((const char *)body, len, 0, NULL);
	const char *c = json_string_value(
		json_object_get(json_object_get(doc, "error"), "code"));

	snprintf(out, cap, "%s", c ? c : "");
	json_decref(doc);
}

static void test_params_through_gateway(void **state)
{
	struct fixture *f = *state;
	struct cds_bhttp_msg r;

	cds_bhttp_init(&r);
	assert_int_equal(via_gateway(f, "GET", "/v1/params", NULL, &r), 200);
	assert_non_null(strstr((const char *)r.content, "ohttp_keys"));
	cds_bhttp_fini(&r);
}

static void test_transparency_through_gateway(void **state)
{
	struct fixture *f = *state;
	struct cds_bhttp_msg r;
	const char *v, *proof;

	cds_bhttp_init(&r);
	assert_int_equal(via_gateway(f, "GET", "/v1/transparency/head", NULL,
				     &r), 200);
	assert_non_null(strstr((const char *)r.content, "\"log_root\""));
	cds_bhttp_fini(&r);
	cds_bhttp_init(&r);
	assert_int_equal(via_gateway(f, "GET",
				     "/v1/transparency/consistency?from=1&to=1",
				     NULL, &r), 200);
	cds_bhttp_fini(&r);
	cds_bhttp_init(&r);
	assert_int_equal(via_gateway_as(f, "GET", "/v1/buckets/3?epoch=1", NULL,
					"application/octet-stream", &r), 200);
	v = cds_bhttp_field(&r, "cds-version");
	proof = cds_bhttp_field(&r, "cds-proof");
	assert_non_null(v);
	assert_string_equal(v, "1");
	assert_non_null(proof);
	assert_int_equal(strlen(proof), 4 * ((4 * 32 + 2) / 3));
	cds_bhttp_fini(&r);
}

/* POST /v1/buckets' binary answer comes through the gateway whole, with
 * its type, and parses as the client would parse it. */
static void test_binary_buckets_through_gateway(void **state)
{
	static const uint32_t prefixes[2] = {3, 0};
	struct fixture *f = *state;
	struct cds_proto_bucket got[2];
	struct cds_error err = {0};
	struct cds_bhttp_msg r;

	cds_bhttp_init(&r);
	assert_int_equal(via_gateway_as(f, "POST", "/v1/buckets",
					"{\"epoch\":1,\"prefixes\":[3,0]}",
					CDS_BUCKETSBIN_TYPE, &r), 200);
	assert_string_equal(cds_bhttp_field(&r, "content-type"),
			    CDS_BUCKETSBIN_TYPE);
	assert_int_equal(cds_proto_parse_buckets_bin(got, 1, 4, prefixes, NULL,
						     2, r.content,
						     r.content_len, &err),
			 CDS_OK);
	assert_int_equal(got[0].prefix, 3);
	assert_int_equal(got[0].version, 1);
	free(got[0].entries);
	free(got[1].entries);
	cds_bhttp_fini(&r);
}

static void test_verify_is_direct_only(void **state)
{
	struct fixture *f = *state;
	struct cds_error err = {0};
	struct cds_http_reply d;
	struct cds_bhttp_msg r;
	char code[64];

	/* through the gateway: refused, and nothing sent */
	cds_bhttp_init(&r);
	assert_int_equal(via_gateway(f, "POST", "/v1/verifications",
				     VERIFY_BODY, &r), 403);
	error_code(code, sizeof(code), r.content, r.content_len);
	assert_string_equal(code, "direct_only");
	cds_bhttp_fini(&r);
	assert_int_equal(count_files(f->outbox), 0);

	/* directly: accepted, and the code is in the outbox */
	cds_http_reply_init(&d);
	assert_int_equal(cds_http_post_json(f->h, "/v1/verifications",
					    VERIFY_BODY, strlen(VERIFY_BODY), 0,
					    NULL, &d, &err), CDS_OK);
	assert_int_equal(d.status, 202);
	cds_http_reply_fini(&d);
	assert_int_equal(count_files(f->outbox), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_through_gateway),
		cmocka_unit_test(test_transparency_through_gateway),
		cmocka_unit_test(test_binary_buckets_through_gateway),
		cmocka_unit_test(test_verify_is_direct_only),
	};
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
