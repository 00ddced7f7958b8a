/*
 * deliver.h: sending verification codes through real channels, off the
 * request threads.
 *
 * Channels: e-mail handles over SMTP (libcurl; smtp:// or smtps://), phone
 * handles through an SMS gateway's HTTP webhook (a JSON POST
 * {"to":"+E164","body":"..."} with a bearer token), and, for development
 * and tests, an outbox directory that takes one JSON file per message
 * (DESIGN.md pins its shape).  A handle kind with no real channel goes to
 * the outbox when there is one; otherwise it cannot be verified.
 *
 * Why a queue: talking to an SMTP server or a gateway takes from
 * milliseconds to the timeout, and an HTTP worker thread serves many
 * connections, so it must never block on that.  The request is suspended
 * instead (daemon.c), a sender thread delivers, and the `done` callback
 * (on the sender thread) writes the true outcome into the reply and
 * resumes the request: a failed delivery reaches the client as a 502, and
 * no request waits longer than the channel timeout plus its queue time.
 *
 * Invariants:
 *  1. Every submitted message gets exactly one `done` call, also at close.
 *  2. Codes are wiped from memory once delivered or failed.
 */
#ifndef CDS_SERVER_DELIVER_H
#define CDS_SERVER_DELIVER_H

#include <stdbool.h>

#include <curl/curl.h>

#include "core/err.h"
#include "core/handle.h"
#include "server/vcode.h"

struct cds_deliver_config {
	const char *outbox;          /* directory, or NULL */
	const char *smtp_url;        /* smtp://host:port or smtps://..., or NULL */
	const char *smtp_from;       /* envelope and header From (with smtp) */
	const char *sms_url;         /* webhook URL, or NULL */
	const char *sms_token_file;  /* bearer token of the webhook */
	unsigned timeout_s;          /* per message and channel */
	unsigned senders;            /* sender threads */
	size_t queue;                /* messages waiting at most */
};

/* One message: a code for a handle. */
struct cds_message {
	char to[CDS_HANDLE_MAX_BYTES + 1];              /* canonical handle */
	char code[CDS_VCODE_DIGITS + 1];
	char verification[2 * CDS_VERIFY_ID_BYTES + 1]; /* hex id */
	unsigned ttl_s;
};

/* Called once per message on a sender thread; msg is NULL on success. */
typedef void cds_deliver_done_fn(void *ctx, enum cds_err rc, const char *msg);

struct cds_deliver;

/*
 * Check the configuration (CDS_ERR_USAGE naming the bad value: unknown URL
 * scheme, From with line breaks, token file unreadable or empty, outbox
 * not a writable directory) and start the sender threads.
 */
enum cds_err cds_deliver_new(struct cds_deliver **out,
			     const struct cds_deliver_config *c,
			     struct cds_error *err) CDS_MUST_CHECK;

/* Whether codes can be sent to handles of this kind. */
bool cds_deliver_can(const struct cds_deliver *d, enum cds_handle_kind kind);

/*
 * Queue m (copied).  CDS_ERR_BUSY (nothing queued, no callback) when the
 * queue is full or the deliverer is closing.
 */
enum cds_err cds_deliver_submit(struct cds_deliver *d,
				const struct cds_message *m,
				cds_deliver_done_fn *done, void *ctx,
				struct cds_error *err) CDS_MUST_CHECK;

/*
 * Stop taking messages (submit answers CDS_ERR_BUSY from now on), deliver
 * those queued and join the threads: every `done` has been called when it
 * returns.  Idempotent; accepts NULL.
 */
void cds_deliver_close(struct cds_deliver *d);

/* Close (if not yet) and free.  Accepts NULL. */
void cds_deliver_free(struct cds_deliver *d);

/* The text a person reads (SMS body, e-mail body), into buf. */
void cds_message_text(char *buf, size_t cap, const struct cds_message *m);

/*
 * Run a prepared libcurl transfer to `peer` (its kind, for messages) at
 * url; *status gets the peer's answer code.  CDS_ERR_NET naming both if the
 * transfer itself failed.
 */
enum cds_err cds_deliver_perform(CURL *c, const char *peer, const char *url,
				 long *status,
				 struct cds_error *err) CDS_MUST_CHECK;

/* The channels (deliver_*.c), each synchronous; the message names the peer. */
enum cds_err cds_deliver_outbox(const char *dir, const struct cds_message *m,
				struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_deliver_smtp(const char *url, const char *from,
			      const struct cds_message *m, unsigned timeout_s,
			      struct cds_error *err) CDS_MUST_CHECK;
enum cds_err cds_deliver_sms(const char *url, const char *token,
			     const struct cds_message *m, unsigned timeout_s,
			     struct cds_error *err) CDS_MUST_CHECK;

#endif
