/*
 * bench_addressbook.c: address-book import speed on the client.
 *
 *   bench_addressbook [--count N] [--rounds R]
 *
 * Generates in memory an address book of N contacts (default 10,000; two
 * phone numbers and one e-mail each, in a mix of national and international
 * forms; one card in ten is vCard 2.1 with QUOTED-PRINTABLE names), as vCard
 * and as the same contacts in Google-style CSV, and times
 * cds_addressbook_parse (parse, normalise with libphonenumber, merge) over
 * R rounds (default 3), printing contacts/s, and the cost of one
 * cds_phone_normalize alone, which dominates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addressbook/addressbook.h"
#include "core/buf.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static const char *const area[] = { "201", "212", "415", "312", "646", "617" };

/* Contact i's two numbers and e-mail, written as people write them. */
static void numbers(size_t i, char a[40], char b[40], char mail[64])
{
	unsigned x = (unsigned)(i * 7919u + 12345u);

	snprintf(a, 40, "(%s) %03u-%04u", area[i % 6], 200 + x % 800,
		 (unsigned)(i % 10000));
	if (i % 3 == 0)
		snprintf(b, 40, "+44 7400 %06u", (unsigned)(i % 1000000));
	else if (i % 3 == 1)
		snprintf(b, 40, "0049 151 %08u", (unsigned)(i % 100000000));
	else
		snprintf(b, 40, "+1 %s %03u %04u", area[(i + 1) % 6],
			 200 + (x >> 8) % 800, (unsigned)((i * 31) % 10000));
	snprintf(mail, 64, "Person.%zu@Example%zu.ORG", i, i % 97);
}

static int gen_vcard(struct cds_buf *b, size_t n)
{
	char a[40], c[40], m[64];
	size_t i;
	int bad = 0;

	for (i = 0; i < n && !bad; i++) {
		numbers(i, a, c, m);
		if (i % 10 == 0)
			bad |= cds_buf_appendf(b,
				"BEGIN:VCARD\r\nVERSION:2.1\r\n"
				"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller %zu;J=C3=B6rg;;;\r\n"
				"TEL;CELL;PREF:%s\r\nTEL;WORK:%s\r\nEMAIL;INTERNET:%s\r\n"
				"END:VCARD\r\n", i, a, c, m) != CDS_OK;
		else
			bad |= cds_buf_appendf(b,
				"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Person;Number %zu;;;\r\n"
				"FN:Number %zu Person\r\n"
				"item1.TEL;type=CELL;type=pref:%s\r\nitem1.X-ABLabel:mobile\r\n"
				"TEL;TYPE=HOME:%s\r\nEMAIL;TYPE=INTERNET:%s\r\n"
				"NOTE:A note long enough to be folded by the exporter at seventy-fiv\r\n"
				" e characters, as they do.\r\nEND:VCARD\r\n", i, i, a, c, m) != CDS_OK;
	}
	return bad;
}

static int gen_csv(struct cds_buf *b, size_t n)
{
	char a[40], c[40], m[64];
	size_t i;
	int bad;

	bad = cds_buf_appendf(b, "Name,Given Name,Family Name,Notes,"
			      "E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,"
			      "Phone 1 - Value,Phone 2 - Type,Phone 2 - Value\r\n") != CDS_OK;
	for (i = 0; i < n && !bad; i++) {
		numbers(i, a, c, m);
		bad |= cds_buf_appendf(b, "Number %zu Person,Number %zu,Person,"
				       "\"a note, quoted\",* Home,%s,Mobile,%s,Work,%s\r\n",
				       i, i, m, a, c) != CDS_OK;
	}
	return bad;
}

/* Seconds per round of parsing b as fmt; -1 on failure. */
static double time_parse(const struct cds_buf *b, enum cds_ab_format fmt,
			 int rounds, size_t *contacts, size_t *handles)
{
	struct cds_addressbook *ab;
	struct cds_error err;
	double t0 = now();
	size_t i;
	int r;

	for (r = 0; r < rounds; r++) {
		cds_error_clear(&err);
		if (cds_addressbook_parse(&ab, (const char *)b->data, b->len, fmt,
					  "US", &err) != CDS_OK) {
			fprintf(stderr, "bench_addressbook: %s\n", err.msg);
			return -1;
		}
		*contacts = ab->n;
		*handles = 0;
		for (i = 0; i < ab->n; i++)
			*handles += ab->contacts[i].n_handles;
		cds_addressbook_free(ab);
	}
	return (now() - t0) / rounds;
}

static double time_phone(size_t n)
{
	char a[40], c[40], m[64], out[64];
	struct cds_error err;
	double t0 = now();
	size_t i;

	for (i = 0; i < n; i++) {
		numbers(i, a, c, m);
		if (cds_phone_normalize(out, sizeof(out), a, "US", &err) != CDS_OK) {
			fprintf(stderr, "bench_addressbook: %s\n", err.msg);
			return -1;
		}
	}
	return (now() - t0) / (double)n;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_addressbook [--count N >= 1] [--rounds R >= 1]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct cds_buf vcf, csv;
	long count = 10000, rounds = 3;
	size_t nc = 0, nh = 0;
	double tv, tc, tp;
	char *end;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		long *v = !strcmp(argv[i], "--count") ? &count :
			  !strcmp(argv[i], "--rounds") ? &rounds : NULL;

		if (!v)
			return usage();
		*v = strtol(argv[i + 1], &end, 10);
		if (*end || *v < 1 || *v > 1000000)
			return usage();
	}
	if (i != argc)
		return usage();
	cds_buf_init(&vcf);
	cds_buf_init(&csv);
	if (gen_vcard(&vcf, (size_t)count) || gen_csv(&csv, (size_t)count)) {
		fprintf(stderr, "bench_addressbook: out of memory\n");
		return 1;
	}
	printf("bench_addressbook: %ld contacts (2 numbers + 1 e-mail each), "
	       "%ld rounds, region US\n", count, rounds);
	tv = time_parse(&vcf, CDS_AB_VCARD, (int)rounds, &nc, &nh);
	if (tv < 0)
		return 1;
	printf("vCard parse+normalise:  %10.0f contacts/s (%.1f MB/s, %zu contacts, %zu handles)\n",
	       (double)nc / tv, (double)vcf.len / tv / 1e6, nc, nh);
	tc = time_parse(&csv, CDS_AB_CSV, (int)rounds, &nc, &nh);
	if (tc < 0)
		return 1;
	printf("CSV parse+normalise:    %10.0f contacts/s (%.1f MB/s, %zu contacts, %zu handles)\n",
	       (double)nc / tc, (double)csv.len / tc / 1e6, nc, nh);
	tp = time_phone((size_t)count);
	if (tp < 0)
		return 1;
	printf("phone normalise alone:  %10.0f numbers/s (%.2f us each)\n", 1 / tp,
	       tp * 1e6);
	cds_buf_fini(&vcf);
	cds_buf_fini(&csv);
	return 0;
}
