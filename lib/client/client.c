/*
 * client.c: the public client API (include/cds/client.h): creating a
 * client, its contacts, running an operation, reading results and stats.
 *
 * Invariants:
 *   1. The only global state is the one-time initialisation of libsodium,
 *      libcurl and jansson, done under pthread_once.
 *   2. Every handle a contact holds is canonical: it went through
 *      cds_client_normalize (or the address-book parser) and
 *      cds_handle_check.
 *   3. After a failed operation no results are readable: a caller can
 *      never mistake a half-finished answer for a complete one.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "addressbook/addressbook.h"
#include "client/client_impl.h"
#include "client/relay.h"
#include "core/handle.h"
#include "core/timeutil.h"

#define DEFAULT_THREADS 2
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_TIMEOUT_MS 60000
#define DEFAULT_MAX_REPLY ((size_t)256 << 20)
#define DEFAULT_MAX_WAIT_MS (5 * 60 * 1000)

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_failed;

static void global_init(void)
{
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		init_failed = 1;
	/* Seed jansson's hash before any worker thread parses JSON. */
	json_object_seed(0);
}

const char *cds_client_version(void)
{
	return CDS_VERSION; /* from meson.build's project() */
}

void cds_client_options_init(struct cds_client_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->threads = DEFAULT_THREADS;
	opt->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	opt->timeout_ms = DEFAULT_TIMEOUT_MS;
	opt->max_reply_bytes = DEFAULT_MAX_REPLY;
	opt->max_wait_ms = DEFAULT_MAX_WAIT_MS;
}

enum cds_err cds_client_region(char out[3], const char *region,
			       const char *fallback, struct cds_error *err)
{
	if (!region)
		region = fallback ? fallback : cds_default_region();
	if (strlen(region) != 2 || !isalpha((unsigned char)region[0]) ||
	    !isalpha((unsigned char)region[1]))
		return cds_fail(err, CDS_ERR_INVALID,
				"region '%.20s' is not a two-letter country code",
				region);
	out[0] = (char)toupper((unsigned char)region[0]);
	out[1] = (char)toupper((unsigned char)region[1]);
	out[2] = '\0';
	return CDS_OK;
}

static enum cds_err copy_region(char **out, const char *region,
				struct cds_error *err)
{
	char r[3];
	enum cds_err rc = cds_client_region(r, region, NULL, err);

	if (rc)
		return rc;
	*out = strdup(r);
	return *out ? CDS_OK : cds_fail(err, CDS_ERR_NOMEM, "out of memory");
}

static enum cds_err check_options(const struct cds_client_options *o,
				  struct cds_error *err)
{
	if (!o->server_url || !*o->server_url)
		return cds_fail(err, CDS_ERR_INVALID, "no server URL given");
	if (o->threads < 1 || o->threads > CDS_CLIENT_THREADS_MAX)
		return cds_fail(err, CDS_ERR_INVALID,
				"threads = %u is out of range 1..%d", o->threads,
				CDS_CLIENT_THREADS_MAX);
	if (o->connect_timeout_ms < 1 || o->timeout_ms < 1)
		return cds_fail(err, CDS_ERR_INVALID,
				"timeouts must be positive (got %ld ms and %ld ms)",
				o->connect_timeout_ms, o->timeout_ms);
	if (o->max_wait_ms < 0)
		return cds_fail(err, CDS_ERR_INVALID,
				"max_wait_ms = %ld must not be negative",
				o->max_wait_ms);
	if (o->max_reply_bytes < 4096)
		return cds_fail(err, CDS_ERR_INVALID,
				"max_reply_bytes = %zu is too small", o->max_reply_bytes);
	if (o->decoys > (1u << CDS_PREFIX_BITS_MAX))
		return cds_fail(err, CDS_ERR_INVALID,
				"decoys = %u is more than there are buckets", o->decoys);
	if (o->token && !o->insecure_http &&
	    cds_http_cleartext_remote(o->server_url))
		return cds_fail(err, CDS_ERR_INVALID,
				"refusing to send the account token in clear over "
				"'%.100s' (plain http:// to a host that is not "
				"loopback): use https://, or allow it explicitly "
				"(--insecure-http)", o->server_url);
	return CDS_OK;
}

/* Route every handle's requests through the relay (client/relay.h). */
static enum cds_err use_relay(struct cds_client *c, const char *url,
			      struct cds_error *err)
{
	enum cds_err rc = cds_relay_new(&c->relay, url, err);

	for (unsigned i = 0; !rc && i < c->threads; i++)
		cds_http_use_relay(c->http[i], c->relay);
	if (!rc)
		cds_http_use_relay(c->prefetch, c->relay);
	return rc;
}

/* Trust the CAs of ca_file on every handle (relay requests use them too).
 * The file is opened here so that a wrong path fails now, naming it,
 * rather than at the first handshake as a network error. */
static enum cds_err use_ca_file(struct cds_client *c, const char *ca_file,
				struct cds_error *err)
{
	enum cds_err rc;
	FILE *f = fopen(ca_file, "r");

	if (!f)
		return cds_fail(err, CDS_ERR_INVALID,
				"cannot read CA file '%.200s': %s", ca_file,
				strerror(errno));
	fclose(f);
	rc = cds_http_trust(c->prefetch, ca_file, err);
	for (unsigned i = 0; !rc && i < c->threads; i++)
		rc = cds_http_trust(c->http[i], ca_file, err);
	return rc;
}

static enum cds_err open_parts(struct cds_client *c,
			       const struct cds_client_options *o,
			       struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	size_t n;

	c->url = strdup(o->server_url);
	if (!c->url)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	for (unsigned i = 0; i < c->threads && !rc; i++)
		rc = cds_http_new(&c->http[i], c->url, o->token,
				  o->connect_timeout_ms, o->timeout_ms,
				  o->max_reply_bytes, err);
	if (!rc)
		rc = cds_http_new(&c->prefetch, c->url, o->token,
				  o->connect_timeout_ms, o->timeout_ms,
				  o->max_reply_bytes, err);
	if (!rc && o->ca_file)
		rc = use_ca_file(c, o->ca_file, err);
	if (!rc && o->relay_url)
		rc = use_relay(c, o->relay_url, err);
	if (!rc && o->cache_path)
		rc = cds_cache_open(&c->cache, o->cache_path, err);
	if (!rc && c->cache)
		rc = cds_cache_contacts_load(c->cache, &c->contacts, err);
	return rc;
}

enum cds_err cds_client_new(struct cds_client **out,
			    const struct cds_client_options *opt,
			    struct cds_error *err)
{
	struct cds_client *c = NULL;
	enum cds_err rc;

	cds_error_clear(err);
	*out = NULL;
	pthread_once(&init_once, global_init);
	if (init_failed)
		return cds_fail(err, CDS_ERR_INTERNAL,
				"libsodium or libcurl failed to initialise");
	rc = check_options(opt, err);
	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	cds_contacts_init(&c->contacts);
	c->decoys = opt->decoys;
	c->threads = opt->threads;
	c->max_wait_ms = opt->max_wait_ms;
	c->on_event = opt->on_event;
	c->event_ctx = opt->event_ctx;
	pthread_mutex_init(&c->event_mu, NULL);
	rc = copy_region(&c->region, opt->region, err);
	if (!rc)
		rc = open_parts(c, opt, err);
	if (rc) {
		cds_client_free(c);
		return rc;
	}
	*out = c;
	return CDS_OK;
}

void cds_client_free(struct cds_client *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CDS_CLIENT_THREADS_MAX; i++)
		cds_http_free(c->http[i]);
	cds_http_free(c->prefetch);
	cds_relay_free(c->relay);
	cds_cache_close(c->cache);
	cds_contacts_fini(&c->contacts);
	cds_client_results_clear(c);
	cds_monitor_clear(c);
	free(c->url);
	free(c->region);
	pthread_mutex_destroy(&c->event_mu);
	free(c);
}

enum cds_err cds_client_normalize(char out[CDS_CLIENT_HANDLE_BYTES],
				  const char *raw, const char *region,
				  struct cds_error *err)
{
	char cc[3];
	size_t len;
	enum cds_err rc;

	if (!raw)
		return cds_fail(err, CDS_ERR_INVALID, "no handle given");
	while (isspace((unsigned char)*raw))
		raw++;
	len = strlen(raw);
	while (len > 0 && isspace((unsigned char)raw[len - 1]))
		len--;
	if (len < CDS_CLIENT_HANDLE_BYTES &&
	    cds_handle_check(raw, len, NULL, NULL) == CDS_OK) {
		memcpy(out, raw, len);
		out[len] = '\0';
		return CDS_OK;
	}
	if (!strncasecmp(raw, "mailto:", 7))
		raw += 7;
	else if (!strncasecmp(raw, "tel:", 4))
		raw += 4;
	if (strchr(raw, '@'))
		rc = cds_email_normalize(out, CDS_CLIENT_HANDLE_BYTES, raw, err);
	else if (!(rc = cds_client_region(cc, region, NULL, err)))
		rc = cds_phone_normalize(out, CDS_CLIENT_HANDLE_BYTES, raw, cc,
					 err);
	if (!rc)
		rc = cds_handle_check(out, strlen(out), NULL, err);
	return rc;
}

/* Build a contact record from raw entries (invariant 2). */
static enum cds_err make_rec(struct cds_contact_rec *r, const char *name,
			     const char *const *raw, size_t n_raw,
			     const char *region, struct cds_error *err)
{
	char h[CDS_CLIENT_HANDLE_BYTES];
	struct cds_error e;

	memset(r, 0, sizeof(*r));
	r->name = strdup(name ? name : "");
	if (!r->name)
		return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	if (n_raw && !raw)
		return cds_fail(err, CDS_ERR_INVALID, "no entries given");
	for (size_t i = 0; i < n_raw; i++) {
		cds_error_clear(&e);
		if (cds_client_normalize(h, raw[i], region, &e))
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "contact '%.40s', entry %zu: %s",
					   r->name, i + 1, e.msg);
		if (cds_strv_add(&r->handles, &r->n_handles, h))
			return cds_fail(err, CDS_ERR_NOMEM, "out of memory");
	}
	return CDS_OK;
}

enum cds_err cds_client_contact_add(struct cds_client *c, uint64_t *id,
				    const char *name,
				    const char *const *raw, size_t n_raw,
				    const char *region, struct cds_error *err)
{
	struct cds_contact_rec r;
	enum cds_err rc;

	rc = make_rec(&r, name, raw, n_raw, region ? region : c->region, err);
	if (!rc) {
		r.id = id ? *id : 0;
		rc = cds_contacts_append(&c->contacts, &r, err);
	}
	if (!rc && id)
		*id = c->contacts.v[c->contacts.n - 1].id;
	cds_contact_rec_fini(&r);
	return rc;
}

enum cds_err cds_client_contact_update(struct cds_client *c, uint64_t id,
				       const char *name,
				       const char *const *raw, size_t n_raw,
				       const char *region,
				       struct cds_error *err)
{
	long at = cds_contacts_find(&c->contacts, id);
	struct cds_contact_rec r;
	enum cds_err rc;

	if (at < 0)
		return cds_fail(err, CDS_ERR_NOT_FOUND, "no contact with id %llu",
				(unsigned long long)id);
	rc = make_rec(&r, name, raw, n_raw, region ? region : c->region, err);
	if (!rc) {
		r.id = id;
		cds_contact_rec_fini(&c->contacts.v[at]);
		c->contacts.v[at] = r;
		memset(&r, 0, sizeof(r));
	}
	cds_contact_rec_fini(&r);
	return rc;
}

enum cds_err cds_client_contact_remove(struct cds_client *c, uint64_t id,
				       struct cds_error *err)
{
	long at = cds_contacts_find(&c->contacts, id);

	if (at < 0)
		return cds_fail(err, CDS_ERR_NOT_FOUND, "no contact with id %llu",
				(unsigned long long)id);
	cds_contacts_remove_at(&c->contacts, (size_t)at);
	return CDS_OK;
}

void cds_client_contacts_clear(struct cds_client *c)
{
	cds_contacts_clear(&c->contacts);
}

size_t cds_client_contact_count(const struct cds_client *c)
{
	return c->contacts.n;
}

int cds_client_contact_at(const struct cds_client *c, size_t i,
			  struct cds_contact_info *out)
{
	const struct cds_contact_rec *r;

	if (i >= c->contacts.n)
		return -1;
	r = &c->contacts.v[i];
	out->id = r->id;
	out->name = r->name;
	out->handles = (const char *const *)r->handles;
	out->n_handles = r->n_handles;
	out->problems = (const char *const *)r->problems;
	out->n_problems = r->n_problems;
	return 0;
}
