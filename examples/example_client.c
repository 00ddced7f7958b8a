/*
 * example_client.c: the smallest complete use of the cds client library.
 * It includes nothing of cds but the public header <cds/client.h>.
 *
 *   example_client URL TOKEN ENTRY...
 *
 * Each ENTRY (a phone number such as "(201) 555-0123" or an e-mail address)
 * becomes one contact; the program discovers them privately and prints one
 * line per entry: the canonical handle, then "registered ACCOUNT" or
 * "not registered".  Exit 0 on success, 1 on failure, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cds/client.h>

static int fail(const char *what, const struct cds_error *err)
{
	fprintf(stderr, "example_client: %s: %s (%s)\n", what, err->msg,
		cds_strerror(err->code));
	return 1;
}

int main(int argc, char **argv)
{
	struct cds_client_options opt;
	struct cds_client_stats st;
	struct cds_client *c = NULL;
	struct cds_error err;
	int rc = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: example_client URL TOKEN ENTRY...\n");
		return 2;
	}
	cds_client_options_init(&opt);
	opt.server_url = argv[1];
	opt.token = argv[2];
	opt.region = "US";
	if (cds_client_new(&c, &opt, &err) != CDS_OK)
		return fail("cannot create the client", &err);
	for (int i = 3; i < argc && rc == 0; i++) {
		const char *entry = argv[i];
		char name[32];
		uint64_t id = 0;

		snprintf(name, sizeof(name), "contact %d", i - 2);
		if (cds_client_contact_add(c, &id, name, &entry, 1, NULL, &err))
			rc = fail(entry, &err);
	}
	if (rc == 0 && cds_client_discover(c, 0, &err) != CDS_OK)
		rc = fail("discovery failed", &err);
	for (size_t i = 0; rc == 0 && i < cds_client_result_count(c); i++) {
		const struct cds_result *r = cds_client_result_at(c, i);

		if (r->registered)
			printf("%s registered %s\n", r->handle, r->account_hex);
		else
			printf("%s not registered\n", r->handle);
	}
	if (rc == 0) {
		cds_client_get_stats(c, &st);
		fprintf(stderr, "example_client: %zu handles, %llu OPRF evaluations, "
			"%llu buckets\n", st.handles,
			(unsigned long long)st.oprf_evaluations,
			(unsigned long long)st.buckets_fetched);
	}
	cds_client_free(c);
	return rc;
}
