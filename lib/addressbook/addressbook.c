/*
 * addressbook.c: the address book API of addressbook.h: choose the format,
 * read the file, parse into raw contacts, normalise and merge.
 *
 * Invariants: a file is read whole into memory, at most CDS_AB_MAX_FILE_BYTES
 * (one byte more is read to tell "exactly the limit" from "over it"); the
 * region is checked once, before any contact is read, so a bad --region
 * fails the call instead of turning every number into a problem.
 */
#include "addressbook/addressbook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addressbook/csv.h"
#include "addressbook/merge.h"
#include "addressbook/rawbook.h"
#include "addressbook/textconv.h"
#include "addressbook/vcard.h"
#include "core/buf.h"

/* vCard if "BEGIN:VCARD" comes first, after an optional BOM and blanks. */
static enum cds_ab_format sniff(const char *data, size_t len)
{
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3;
		len -= 3;
	}
	while (len && (*data == ' ' || *data == '\t' || *data == '\r' ||
		       *data == '\n')) {
		data++;
		len--;
	}
	return cds_text_iprefix(data, len, "BEGIN:VCARD") ? CDS_AB_VCARD
							   : CDS_AB_CSV;
}

enum cds_err cds_addressbook_parse(struct cds_addressbook **out,
				   const char *data, size_t len,
				   enum cds_ab_format fmt, const char *region,
				   struct cds_error *err)
{
	struct cds_rawbook rb;
	enum cds_err rc;

	*out = NULL;
	if (!data && len)
		return cds_fail(err, CDS_ERR_INVALID, "no address book data");
	if (!data)
		data = "";
	if (!region)
		region = cds_default_region();
	rc = cds_region_check(region, err);
	if (rc)
		return rc;
	if (fmt == CDS_AB_AUTO)
		fmt = sniff(data, len);
	cds_rawbook_init(&rb);
	if (fmt == CDS_AB_VCARD)
		rc = cds_vcard_parse(&rb, data, len, err);
	else if (fmt == CDS_AB_CSV)
		rc = cds_csv_parse(&rb, data, len, err);
	else
		rc = cds_fail(err, CDS_ERR_INVALID, "unknown address book format %d",
			      (int)fmt);
	if (!rc)
		rc = cds_ab_merge(out, &rb, region, err);
	cds_rawbook_fini(&rb);
	return rc;
}

/* Read all of f, failing past the address book size limit. */
static enum cds_err read_all(struct cds_buf *b, FILE *f, const char *path,
			     struct cds_error *err)
{
	size_t n;

	for (;;) {
		if (cds_buf_reserve(b, 65536))
			return cds_fail(err, CDS_ERR_NOMEM, "out of memory reading '%s'",
					path);
		n = fread(b->data + b->len, 1, 65536, f);
		b->len += n;
		b->data[b->len] = '\0';
		if (b->len > CDS_AB_MAX_FILE_BYTES)
			return cds_fail(err, CDS_ERR_TOO_LARGE,
					"'%s' is over the 64 MiB address book limit",
					path);
		if (n < 65536)
			break;
	}
	if (ferror(f))
		return cds_fail(err, CDS_ERR_IO, "cannot read '%s': %s", path,
				strerror(errno));
	return CDS_OK;
}

static enum cds_ab_format format_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t n = dot ? strlen(dot) : 0;

	if (dot && (cds_text_ieq(dot, n, ".vcf") || cds_text_ieq(dot, n, ".vcard")))
		return CDS_AB_VCARD;
	if (dot && cds_text_ieq(dot, n, ".csv"))
		return CDS_AB_CSV;
	return CDS_AB_AUTO;
}

enum cds_err cds_addressbook_load(struct cds_addressbook **out,
				  const char *path, const char *region,
				  struct cds_error *err)
{
	bool std_in = path && strcmp(path, "-") == 0;
	struct cds_buf b;
	enum cds_err rc;
	FILE *f;

	*out = NULL;
	if (!path)
		return cds_fail(err, CDS_ERR_INVALID, "no address book file given");
	f = std_in ? stdin : fopen(path, "rb");
	if (!f)
		return cds_fail(err,
				errno == ENOENT ? CDS_ERR_NOT_FOUND : CDS_ERR_IO,
				"cannot open '%s': %s", path, strerror(errno));
	cds_buf_init(&b);
	rc = read_all(&b, f, std_in ? "standard input" : path, err);
	if (!std_in)
		fclose(f);
	if (!rc)
		rc = cds_addressbook_parse(out, (const char *)b.data, b.len,
					   std_in ? CDS_AB_AUTO : format_of(path),
					   region, err);
	if (rc && err && rc != CDS_ERR_NOMEM) {
		/* Say which file the line number belongs to. */
		char msg[CDS_ERROR_MSG_BYTES];

		memcpy(msg, err->msg, sizeof(msg));
		if (strncmp(msg, "line ", 5) == 0)
			cds_fail(err, rc, "%s: %s", path, msg);
	}
	cds_buf_fini(&b);
	return rc;
}

void cds_addressbook_free(struct cds_addressbook *ab)
{
	size_t i, j;
	struct cds_contact *c;

	if (!ab)
		return;
	for (i = 0; i < ab->n; i++) {
		c = &ab->contacts[i];
		free(c->name);
		for (j = 0; j < c->n_handles; j++)
			free(c->handles[j]);
		free(c->handles);
		for (j = 0; j < c->n_problems; j++)
			free(c->problems[j]);
		free(c->problems);
	}
	free(ab->contacts);
	free(ab);
}
