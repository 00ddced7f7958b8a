/*
 * cds_print.c: printing results.  Results go to stdout (a table, or the
 * JSON array DESIGN.md pins: name, handle, registered, and account and
 * identity_key when registered); problems, changes and the summary go to
 * stderr, so that stdout stays machine-readable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cds.h"

#define FP_BYTES 8
#define FP_HEX_BYTES (2 * FP_BYTES + 1)
#define KEY_B64_BYTES \
	sodium_base64_ENCODED_LEN(CDS_CLIENT_IDENTITY_KEY_BYTES, \
				  sodium_base64_VARIANT_ORIGINAL)

/* Short fingerprint of an identity key: FP_BYTES of SHA-256, in hex. */
static void key_fp(char out[FP_HEX_BYTES], const uint8_t *key)
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, key, CDS_CLIENT_IDENTITY_KEY_BYTES);
	sodium_bin2hex(out, FP_HEX_BYTES, h, FP_BYTES);
}

/* A JSON string of s; bytes that are not UTF-8 become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *result_json(const struct cds_result *r)
{
	char b64[KEY_B64_BYTES];
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "name", jstr(r->name));
	json_object_set_new(o, "handle", json_string(r->handle));
	json_object_set_new(o, "registered", json_boolean(r->registered));
	if (r->registered) {
		sodium_bin2base64(b64, sizeof(b64), r->identity_key,
				  sizeof(r->identity_key),
				  sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(o, "account", json_string(r->account_hex));
		json_object_set_new(o, "identity_key", json_string(b64));
	}
	return o;
}

static void print_json(const struct cds_client *c)
{
	json_t *arr = json_array();
	char *text;

	for (size_t i = 0; arr && i < cds_client_result_count(c); i++)
		json_array_append_new(arr, result_json(cds_client_result_at(c, i)));
	text = arr ? json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (text) {
		fputs(text, stdout);
		fputc('\n', stdout);
	} else {
		fputs("cds: out of memory printing JSON\n", stderr);
	}
	free(text);
	json_decref(arr);
}

/* Columns a UTF-8 string takes: its code points (no wide characters). */
static size_t columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Print s left-aligned in a field of w columns, then the gap. */
static void cell(const char *s, size_t w)
{
	size_t n = columns(s);

	fputs(s, stdout);
	for (; n < w + 2; n++)
		putchar(' ');
}

/* Widest name (at most 30 columns) and handle of the results. */
static void widths(const struct cds_client *c, size_t *name, size_t *handle)
{
	*name = 4;
	*handle = 6;
	for (size_t i = 0; i < cds_client_result_count(c); i++) {
		const struct cds_result *r = cds_client_result_at(c, i);
		size_t n = columns(r->name), h = columns(r->handle);

		*name = n > *name ? n : *name;
		*handle = h > *handle ? h : *handle;
	}
	if (*name > 30)
		*name = 30;
}

static void print_table(const struct cds_client *c, bool changes)
{
	size_t nw, hw;
	char fp[FP_HEX_BYTES];

	widths(c, &nw, &hw);
	cell("NAME", nw);
	cell("HANDLE", hw);
	cell("REGISTERED", 10);
	cell("ACCOUNT", 32);
	printf(changes ? "%-16s  CHANGE\n" : "KEY\n", "KEY");
	for (size_t i = 0; i < cds_client_result_count(c); i++) {
		const struct cds_result *r = cds_client_result_at(c, i);

		if (r->registered)
			key_fp(fp, r->identity_key);
		cell(r->name[0] ? r->name : "-", nw);
		cell(r->handle, hw);
		cell(r->registered ? "yes" : "no", 10);
		cell(r->registered ? r->account_hex : "-", 32);
		if (changes)
			printf("%-16s  %s", r->registered ? fp : "-",
			       cds_change_name(r->change));
		else
			fputs(r->registered ? fp : "-", stdout);
		putchar('\n');
	}
}

void cds_print_results(const struct cds_client *c, bool json, bool changes)
{
	if (json)
		print_json(c);
	else
		print_table(c, changes);
	fflush(stdout);
}

void cds_print_problems(const struct cds_client *c)
{
	struct cds_contact_info ci;

	for (size_t i = 0; cds_client_contact_at(c, i, &ci) == 0; i++)
		for (size_t j = 0; j < ci.n_problems; j++)
			fprintf(stderr, "cds: contact '%s': skipped %s\n",
				ci.name[0] ? ci.name : "(no name)", ci.problems[j]);
}

void cds_print_changes(const struct cds_client *c)
{
	struct cds_client_stats st;
	char was[FP_HEX_BYTES], now[FP_HEX_BYTES];

	cds_client_get_stats(c, &st);
	if (st.cache_reset)
		fprintf(stderr, "cds: the cache held results from another server "
			"or key and was started afresh\n");
	for (size_t i = 0; i < cds_client_result_count(c); i++) {
		const struct cds_result *r = cds_client_result_at(c, i);

		switch (r->change) {
		case CDS_CHANGE_NEW:
			fprintf(stderr, "cds: new: %s <%s> is registered (account %s)\n",
				r->name, r->handle, r->account_hex);
			break;
		case CDS_CHANGE_GONE:
			fprintf(stderr, "cds: gone: %s <%s> is no longer registered\n",
				r->name, r->handle);
			break;
		case CDS_CHANGE_KEY:
			key_fp(was, r->previous_identity_key);
			key_fp(now, r->identity_key);
			fprintf(stderr,
				"cds: *** IDENTITY KEY CHANGED *** %s <%s>: key %s (account %s) "
				"is now key %s (account %s): verify before trusting\n",
				r->name, r->handle, was, r->previous_account_hex, now,
				r->account_hex);
			break;
		case CDS_CHANGE_UNCHANGED:
			break;
		}
	}
}

void cds_print_summary(const struct cds_client *c, const char *what)
{
	struct cds_client_stats st;

	cds_client_get_stats(c, &st);
	fprintf(stderr,
		"cds: %s: %zu contacts, %zu handles, %zu registered; "
		"%llu OPRF evaluations, %llu buckets fetched, %llu not modified",
		what, st.contacts, st.handles, st.registered,
		(unsigned long long)st.oprf_evaluations,
		(unsigned long long)st.buckets_fetched,
		(unsigned long long)st.buckets_not_modified);
	if (st.decoys)
		fprintf(stderr, " (%llu decoys)", (unsigned long long)st.decoys);
	if (st.plain_lookups)
		fprintf(stderr, ", %llu handles sent in the clear",
			(unsigned long long)st.plain_lookups);
	fprintf(stderr, "; %llu bytes down in %llu requests, %.1f ms",
		(unsigned long long)st.bytes_down,
		(unsigned long long)st.requests, st.wall_us / 1000.0);
	if (st.waits)
		fprintf(stderr, " (%.1f s of it waiting out %llu refusals)",
			(double)st.waited_ms / 1e3,
			(unsigned long long)st.waits);
	if (st.problems)
		fprintf(stderr, "; %zu address-book entries skipped (above)",
			st.problems);
	fputc('\n', stderr);
}
