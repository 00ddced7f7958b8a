/*
 * store_pg_copy.c: COPY ... FROM STDIN in PostgreSQL's binary format, the
 * fast way to put many rows in (bulk import and synth).
 *
 * The format (PostgreSQL manual, "COPY", Binary Format): an 11-byte
 * signature, a 32-bit flags field and a 32-bit header-extension length;
 * then per row a 16-bit field count and per field a 32-bit length (-1 for
 * NULL) and the value in the type's binary form (int8: 8 bytes big-endian;
 * text and bytea: the bytes); then a 16-bit -1.  All integers big-endian.
 *
 * Invariant: rows are buffered and sent FLUSH_BYTES at a time; a failure
 * to grow the buffer or to send marks the COPY failed, and pg_copy_end
 * then cancels it, so the server never sees a partial row as complete.
 */
#include "store/store_pg.h"

#include <endian.h>
#include <string.h>

/*
 * Small enough that the server starts on a COPY's first rows while the
 * client makes the next ones (1 MiB of account rows took the client
 * ~10 ms, during which the server waited, at each of a batch's three
 * COPYs), large enough that a send is a few hundred rows.
 */
#define FLUSH_BYTES (64u << 10)

static const char signature[11] = "PGCOPY\n\377\r\n";

static void put(struct pg_copy *c, const void *p, size_t n)
{
	if (!c->failed && cds_buf_append(&c->buf, p, n) != CDS_OK)
		c->failed = true;
}

static void put_i16(struct pg_copy *c, int16_t v)
{
	uint16_t be = htobe16((uint16_t)v);

	put(c, &be, sizeof(be));
}

static void put_i32(struct pg_copy *c, int32_t v)
{
	uint32_t be = htobe32((uint32_t)v);

	put(c, &be, sizeof(be));
}

void pg_copy_flush(struct pg_copy *c)
{
	if (!c->failed && c->buf.len > 0 &&
	    PQputCopyData(c->conn, (const char *)c->buf.data,
			  (int)c->buf.len) != 1)
		c->failed = true;
	cds_buf_reset(&c->buf);
}

enum cds_err pg_copy_begin(struct pg_copy *c, PGconn *conn, const char *sql,
			   struct cds_error *err)
{
	PGresult *r = PQexec(conn, sql);
	enum cds_err rc = CDS_OK;

	*c = (struct pg_copy){.conn = conn};
	cds_buf_init(&c->buf);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		rc = pg_fail(conn, r, "start a bulk copy", err);
	PQclear(r);
	if (rc)
		return rc;
	put(c, signature, sizeof(signature));
	put_i32(c, 0); /* flags */
	put_i32(c, 0); /* header extension length */
	return CDS_OK;
}

void pg_copy_row(struct pg_copy *c, int fields)
{
	if (c->buf.len >= FLUSH_BYTES)
		pg_copy_flush(c);
	put_i16(c, (int16_t)fields);
}

void pg_copy_bytes(struct pg_copy *c, const void *p, size_t len)
{
	put_i32(c, (int32_t)len);
	put(c, p, len);
}

void pg_copy_text(struct pg_copy *c, const char *s)
{
	pg_copy_bytes(c, s, strlen(s));
}

void pg_copy_i64(struct pg_copy *c, int64_t v)
{
	uint64_t be = htobe64((uint64_t)v);

	pg_copy_bytes(c, &be, sizeof(be));
}

void pg_copy_null(struct pg_copy *c)
{
	put_i32(c, -1);
}

/* The COPY's result; then drain the connection to its idle state. */
static enum cds_err copy_result(struct pg_copy *c, const char *what,
				char sqlstate[6], struct cds_error *err)
{
	enum cds_err rc = CDS_OK;
	PGresult *r;
	bool first = true;

	while ((r = PQgetResult(c->conn)) != NULL) {
		if (first && PQresultStatus(r) != PGRES_COMMAND_OK) {
			rc = pg_fail(c->conn, r, what, err);
			if (sqlstate)
				snprintf(sqlstate, 6, "%s", pg_sqlstate(r));
		}
		first = false;
		PQclear(r);
	}
	return rc;
}

enum cds_err pg_copy_end(struct pg_copy *c, const char *what,
			 char sqlstate[6], struct cds_error *err)
{
	bool cancel;
	enum cds_err rc;

	if (sqlstate)
		sqlstate[0] = '\0';
	put_i16(c, -1);
	pg_copy_flush(c);
	cancel = c->failed;
	if (PQputCopyEnd(c->conn, cancel ? "cancelled by cds (out of memory "
					   "or connection lost)" : NULL) != 1)
		cancel = true;
	rc = copy_result(c, what, sqlstate, err);
	cds_buf_fini(&c->buf);
	if (cancel && !rc)
		rc = pg_fail(c->conn, NULL, what, err);
	return rc;
}
