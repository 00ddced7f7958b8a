/*
 * qlog_int.h: what the query-log files share inside lib/qlog (not a public
 * interface): the queued record and the IP policy.  The storage backends'
 * interface is qlog_backend.h.
 *
 * Invariant: a struct qlog_rec holds the client address only as already
 * reduced under the IP policy (qlog_record.c); nothing downstream sees more.
 */
#ifndef CDS_QLOG_QLOG_INT_H
#define CDS_QLOG_QLOG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "qlog/qlog.h"

#define QLOG_IP_TEXT_BYTES CDS_QLOG_IP_TEXT_BYTES

/* Result slot of a sync submitter, on its stack until the writer is done. */
struct qlog_waiter {
	bool done;
	enum cds_err rc;
};

/* One queued record. handles: '\n'-joined, malloc'd, owned by the record. */
struct qlog_rec {
	int64_t time_us;
	char *handles;
	struct qlog_waiter *waiter; /* NULL in batch mode */
	uint32_t items;
	uint16_t status;
	uint8_t endpoint;
	uint8_t ip_bits;            /* 0 = no address kept */
	uint8_t via;                /* enum cds_qlog_via */
	bool has_account;
	uint8_t account[CDS_ACCOUNT_ID_BYTES];
	char ip[QLOG_IP_TEXT_BYTES];
};

/* qlog_record.c */

/*
 * Reduce a peer address under the policy into text (""/0 bits when nothing
 * is kept: policy none, NULL peer, or a family other than IPv4/IPv6).
 * IPv4-mapped IPv6 addresses are treated as the IPv4 address they carry.
 */
void qlog_ip_reduce(char out[QLOG_IP_TEXT_BYTES], uint8_t *bits,
		    const struct sockaddr *peer, enum cds_qlog_ip_policy policy);

const char *qlog_ip_policy_name(enum cds_qlog_ip_policy p);
const char *qlog_durability_name(enum cds_qlog_durability d);

/* Fill rec from req under the policy; handles are joined and copied. */
enum cds_err qlog_rec_build(struct qlog_rec *rec,
			    const struct cds_qlog_request *req,
			    enum cds_qlog_ip_policy policy,
			    const char *const *handles, size_t n,
			    struct cds_error *err) CDS_MUST_CHECK;

#endif
