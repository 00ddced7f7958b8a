/*
 * iplimit.h: a flood guard for the free endpoints (bucket fetches).
 *
 * Bucket fetches are not charged to accounts (DESIGN.md), but one address
 * must not be able to saturate the server with them: each client address
 * (an IPv4 address, or an IPv6 /64, since one host usually owns a whole
 * /64) gets a token bucket of `rate` per second with a `burst`, counted in
 * bytes sent.  A request is admitted while the balance is positive and
 * its reply is debited once its size is known, which may leave a debt
 * (down to -burst): so the guard never builds a reply it then refuses,
 * and an address that went over waits until it has paid its debt.
 *
 * The same table serves any other key of up to CDS_IPLIMIT_KEY_BYTES bytes
 * (cds_iplimit_take_key): the server limits each account's writes and each
 * address's verifications with instances of their own.
 *
 * Memory is bounded: a fixed table; when a probe window is full, the
 * longest-idle entry is replaced (so a flood from very many addresses can
 * reset others' buckets, which only ever makes the guard more lenient).
 */
#ifndef CDS_SERVER_IPLIMIT_H
#define CDS_SERVER_IPLIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

#define CDS_IPLIMIT_KEY_BYTES 16

struct cds_iplimit;

/* rate <= 0 makes a guard that lets everything through. */
enum cds_err cds_iplimit_new(struct cds_iplimit **out, double rate,
			     double burst,
			     struct cds_error *err) CDS_MUST_CHECK;
void cds_iplimit_free(struct cds_iplimit *il);

/*
 * May peer send a request at now_us?  true while its balance is positive;
 * false with *retry_after_s (>= 1) the seconds until it is again.  A NULL
 * or non-IP peer, or a guard without limit, always may.
 */
bool cds_iplimit_admit(struct cds_iplimit *il, const struct sockaddr *peer,
		       int64_t now_us, uint32_t *retry_after_s);

/*
 * Take n tokens for peer at now_us: true if allowed; false with
 * *retry_after_s set if not.  A NULL or non-IP peer is always allowed.
 */
bool cds_iplimit_take(struct cds_iplimit *il, const struct sockaddr *peer,
		      double n, int64_t now_us, uint32_t *retry_after_s);

/* Debit n (bytes sent) from peer's balance, down to -burst at most. */
void cds_iplimit_charge(struct cds_iplimit *il, const struct sockaddr *peer,
			double n, int64_t now_us);

/* The same for an arbitrary key of len <= CDS_IPLIMIT_KEY_BYTES bytes. */
bool cds_iplimit_take_key(struct cds_iplimit *il, const uint8_t *key,
			  size_t len, double n, int64_t now_us,
			  uint32_t *retry_after_s);

#endif
