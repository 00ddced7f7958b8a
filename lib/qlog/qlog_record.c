/*
 * qlog_record.c: turning what the request path knows into a queued record.
 *
 * This is where the IP policy is applied, before the record enters the
 * queue, so that under `truncated` or `none` the full client address never
 * reaches the writer's memory or the disk.  Invariants:
 *  1. `full` keeps the address (32 or 128 bits), `truncated` keeps the IPv4
 *     /24 or IPv6 /48 network with the host bits zeroed, `none` keeps
 *     nothing (NULL in the file, ip_bits 0).
 *  2. An IPv4-mapped IPv6 peer (::ffff:a.b.c.d, what a dual-stack socket
 *     reports for an IPv4 client) is logged as the IPv4 address: the same
 *     client gives the same text whichever socket accepted it, so an export
 *     by IP finds it.
 *  3. A request that came through the Oblivious HTTP gateway keeps no
 *     address at all, whatever the policy: its peer is the relay.
 *  4. Handles are joined with '\n', which no canonical handle contains, so
 *     a search for one handle can match it exactly, never a substring.
 */
#include "qlog/qlog_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/handle.h"
#include "core/timeutil.h"

static const char *const endpoint_names[CDS_EP__COUNT] = {
	[CDS_EP_OTHER] = "other",
	[CDS_EP_HEALTH] = "health",
	[CDS_EP_PARAMS] = "params",
	[CDS_EP_DISCOVER] = "discover",
	[CDS_EP_BUCKET_GET] = "bucket_get",
	[CDS_EP_BUCKETS_POST] = "buckets_post",
	[CDS_EP_LOOKUP] = "lookup",
	[CDS_EP_ACCOUNT_CREATE] = "account_create",
	[CDS_EP_HANDLES_UPDATE] = "handles_update",
	[CDS_EP_IDENTITY_KEY] = "identity_key",
	[CDS_EP_ACCOUNT_DELETE] = "account_delete",
	[CDS_EP_METRICS] = "metrics",
	[CDS_EP_VERIFY] = "verify",
	[CDS_EP_REGISTER] = "register",
	[CDS_EP_HANDLE_BIND] = "handle_bind",
	[CDS_EP_OHTTP] = "ohttp",
	[CDS_EP_OHTTP_KEYS] = "ohttp_keys",
	[CDS_EP_ACCOUNT_GET] = "account_get",
	[CDS_EP_THEAD] = "transparency_head",
	[CDS_EP_TCONSISTENCY] = "transparency_consistency",
	[CDS_EP_TVERSION] = "transparency_version",
	[CDS_EP_THISTORY] = "transparency_history",
};

const char *cds_endpoint_name(enum cds_endpoint ep)
{
	if ((unsigned)ep < CDS_EP__COUNT)
		return endpoint_names[ep];
	return "other";
}

const char *qlog_ip_policy_name(enum cds_qlog_ip_policy p)
{
	switch (p) {
	case CDS_QLOG_IP_FULL: return "full";
	case CDS_QLOG_IP_TRUNCATED: return "truncated";
	case CDS_QLOG_IP_NONE: return "none";
	}
	return "unknown";
}

const char *qlog_durability_name(enum cds_qlog_durability d)
{
	return d == CDS_QLOG_SYNC ? "sync" : "batch";
}

/* Zero every bit of addr[0..len) after the first `keep` bits. */
static void mask_bits(uint8_t *addr, size_t len, unsigned keep)
{
	for (size_t i = 0; i < len; i++) {
		unsigned lo = (unsigned)i * 8;

		if (lo >= keep)
			addr[i] = 0;
		else if (keep - lo < 8)
			addr[i] &= (uint8_t)(0xff << (8 - (keep - lo)));
	}
}

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/* Text of a v4 (len 4) or v6 (len 16) address with `keep` leading bits. */
static void ip_text(char out[QLOG_IP_TEXT_BYTES], const uint8_t *addr,
		    size_t len, unsigned keep)
{
	uint8_t a[16];

	memcpy(a, addr, len);
	mask_bits(a, len, keep);
	if (!inet_ntop(len == 4 ? AF_INET : AF_INET6, a, out, QLOG_IP_TEXT_BYTES))
		out[0] = '\0';
}

/* Reduce raw address bytes (4 or 16) under the policy. */
static void reduce_raw(char out[QLOG_IP_TEXT_BYTES], uint8_t *bits,
		       const uint8_t *addr, size_t len,
		       enum cds_qlog_ip_policy policy)
{
	unsigned keep;

	if (len == 16 && is_v4_mapped(addr)) {
		addr += 12;
		len = 4;
	}
	keep = policy == CDS_QLOG_IP_FULL ? (unsigned)len * 8 : len == 4 ? 24 : 48;
	ip_text(out, addr, len, keep);
	*bits = out[0] ? (uint8_t)keep : 0;
}

void qlog_ip_reduce(char out[QLOG_IP_TEXT_BYTES], uint8_t *bits,
		    const struct sockaddr *peer, enum cds_qlog_ip_policy policy)
{
	out[0] = '\0';
	*bits = 0;
	if (!peer || policy == CDS_QLOG_IP_NONE)
		return;
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)peer;

		reduce_raw(out, bits, (const uint8_t *)&in->sin_addr, 4, policy);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;

		reduce_raw(out, bits, in6->sin6_addr.s6_addr, 16, policy);
	}
}

enum cds_err cds_qlog_ip_forms(const char *ip,
			       char full[CDS_QLOG_IP_TEXT_BYTES],
			       uint8_t *full_bits,
			       char trunc[CDS_QLOG_IP_TEXT_BYTES],
			       uint8_t *trunc_bits, struct cds_error *err)
{
	uint8_t a[16];
	size_t len;

	if (inet_pton(AF_INET, ip, a) == 1)
		len = 4;
	else if (inet_pton(AF_INET6, ip, a) == 1)
		len = 16;
	else
		return cds_fail(err, CDS_ERR_INVALID,
				"'%.60s' is not an IPv4 or IPv6 address", ip);
	reduce_raw(full, full_bits, a, len, CDS_QLOG_IP_FULL);
	reduce_raw(trunc, trunc_bits, a, len, CDS_QLOG_IP_TRUNCATED);
	return CDS_OK;
}

/* Join canonical handles with '\n' into a fresh string (*out, malloc'd). */
static enum cds_err join_handles(char **out, const char *const *handles,
				 size_t n, struct cds_error *err)
{
	size_t total = 1, pos = 0;
	char *s;

	for (size_t i = 0; i < n; i++) {
		size_t len = handles[i] ? strlen(handles[i]) : 0;

		if (!handles[i] || cds_handle_check(handles[i], len, NULL, NULL))
			return cds_fail_at(err, CDS_ERR_INVALID, (long)i,
					   "query log: handle %zu is not canonical", i);
		total += len + 1;
	}
	s = malloc(total);
	if (!s)
		return cds_fail(err, CDS_ERR_NOMEM, "query log: out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(handles[i]);

		if (i)
			s[pos++] = '\n';
		memcpy(s + pos, handles[i], len);
		pos += len;
	}
	s[pos] = '\0';
	*out = s;
	return CDS_OK;
}

enum cds_err qlog_rec_build(struct qlog_rec *rec,
			    const struct cds_qlog_request *req,
			    enum cds_qlog_ip_policy policy,
			    const char *const *handles, size_t n,
			    struct cds_error *err)
{
	enum cds_err rc;

	memset(rec, 0, sizeof(*rec));
	if (handles) {
		rc = join_handles(&rec->handles, handles, n, err);
		if (rc)
			return rc;
	}
	rec->time_us = req->time_us ? req->time_us : cds_now_us();
	rec->items = req->items;
	rec->status = req->status;
	rec->endpoint = (uint8_t)((unsigned)req->endpoint < CDS_EP__COUNT
					  ? req->endpoint : CDS_EP_OTHER);
	if (req->account) {
		rec->has_account = true;
		memcpy(rec->account, req->account, CDS_ACCOUNT_ID_BYTES);
	}
	rec->via = (uint8_t)req->via;
	/* Through the gateway the peer is the relay: nothing worth keeping. */
	if (req->via == CDS_QLOG_VIA_DIRECT)
		qlog_ip_reduce(rec->ip, &rec->ip_bits, req->peer, policy);
	return CDS_OK;
}
