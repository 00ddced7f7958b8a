/*
 * request.c: what a handler reads of its request besides the body, the
 * same whether the request came on a connection or encapsulated through
 * the Oblivious HTTP gateway.  This is the seam that lets api_ohttp.c run
 * every route's handler unchanged: handlers never ask libmicrohttpd for a
 * header or an argument themselves.
 */
#include "server/server_int.h"

#include <string.h>

const char *cds_req_header(const struct cds_req *rq, const char *name)
{
	if (rq->inner)
		return cds_bhttp_field(rq->inner, name);
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *cds_req_query(const struct cds_req *rq, const char *name)
{
	const char *p = rq->query;
	size_t n = strlen(name);

	if (!rq->inner)
		return MHD_lookup_connection_value(rq->conn,
						   MHD_GET_ARGUMENT_KIND, name);
	for (size_t i = 0; p && i < rq->n_query; i++, p += strlen(p) + 1)
		if (!strncmp(p, name, n) && (p[n] == '=' || p[n] == '\0'))
			return p[n] ? p + n + 1 : p + n;
	return NULL;
}
