/*
 * vcard_line.h: vCard content lines (RFC 6350 3.2, RFC 2425 5.8, vCard 2.1
 * section 2.1.3): reading logical lines and splitting them into group, name,
 * parameters and value.
 *
 * Invariants: a logical line never exceeds CDS_AB_MAX_LINE_BYTES and holds no
 * NUL byte; a split property points into the line it was split from (no
 * copies), so it is valid until the next cds_vline_next.
 */
#ifndef CDS_ADDRESSBOOK_VCARD_LINE_H
#define CDS_ADDRESSBOOK_VCARD_LINE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define CDS_VPROP_MAX_PARAMS 32

struct cds_vline_reader {
	const char *data;
	size_t len, pos;
	long lineno;        /* physical line number of data[pos], 1-based */
	struct cds_buf buf; /* the current logical line */
};

void cds_vline_init(struct cds_vline_reader *r, const char *data, size_t len);
void cds_vline_fini(struct cds_vline_reader *r);

/*
 * Read the next logical line into r->buf: line breaks are CRLF, LF or CR; a
 * break followed by a space or tab is a fold (both go); a break after a
 * trailing '=' on a QUOTED-PRINTABLE property is a soft break (the '=' and
 * the break go).  *line gets the physical line the logical line starts on;
 * *eof is set when the data is exhausted.  CDS_ERR_TOO_LARGE when a logical
 * line passes CDS_AB_MAX_LINE_BYTES, CDS_ERR_INVALID on a NUL byte.
 */
enum cds_err cds_vline_next(struct cds_vline_reader *r, long *line, bool *eof,
			    struct cds_error *err) CDS_MUST_CHECK;

struct cds_vparam {
	const char *name;  /* NULL for a vCard 2.1 bare parameter ("CELL") */
	size_t name_len;
	const char *value; /* quotes removed; may hold a comma-separated list */
	size_t value_len;
};

struct cds_vprop {
	const char *group, *name, *value;
	size_t group_len, name_len, value_len;
	struct cds_vparam params[CDS_VPROP_MAX_PARAMS];
	size_t n_params;
};

/*
 * Split line[0..len) "[group.]name *(;param) : value".  CDS_ERR_INVALID
 * naming `lineno` when there is no ':' or the name is not a vCard name
 * (letters, digits, '-'), or when there are more than CDS_VPROP_MAX_PARAMS
 * parameters.
 */
enum cds_err cds_vprop_split(struct cds_vprop *p, const char *line, size_t len,
			     long lineno, struct cds_error *err) CDS_MUST_CHECK;

/* The first parameter named `name` (case-insensitive), or NULL. */
const struct cds_vparam *cds_vprop_param(const struct cds_vprop *p,
					 const char *name);

/*
 * True if the parameter list says `value` (case-insensitive): as a 2.1 bare
 * parameter, or as one item of a comma-separated value of parameter `name`.
 */
bool cds_vprop_has(const struct cds_vprop *p, const char *name,
		   const char *value);

#endif
