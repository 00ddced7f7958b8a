"""test_delivery: verification codes through real channels, each test
starting its own real peer on a free loopback port: an SMTP server
(python3-aiosmtpd, smtpsink.py) for e-mail handles and an SMS gateway's
webhook (http.server) for phone numbers.  A peer that refuses or is not
there is a 502 the client sees, never a silent success, and leaves no
verification behind; a peer that never answers costs the request no more
than --verify-timeout and the server no worker thread.  Also: cdsd refuses
a bad delivery configuration."""
import os
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import (create_account, expect_error, phone,  # noqa: E402
                     registered)
from cdstest import eq  # noqa: E402
from verifyutil import (Gateway, SmtpSink, ask, ask_ok, bind,  # noqa: E402
                        code_in, register, verifications_in_store,
                        wait_until)

MAIL = "mailto:alice@example.org"
TOKEN = "gw-secret-7f3a"


def token_file():
    fd, path = tempfile.mkstemp(prefix="cds-gw-token-")
    with os.fdopen(fd, "w") as f:
        f.write(TOKEN + "\n")
    return path


def test_register_by_email():
    dd = cdstest.DataDir()
    sink = SmtpSink()
    try:
        with cdstest.Server(dd, "--verify-smtp", sink.url(), "--verify-from",
                            "verify@cds.example", "--plain-lookup",
                            "on") as srv:
            vid = ask_ok(srv, MAIL)
            msgs = sink.messages()
            eq(len(msgs), 1, "one e-mail")
            m = msgs[0]
            eq(m["mail_from"], "verify@cds.example", "envelope sender")
            eq(m["rcpt_tos"], ["alice@example.org"], "envelope recipient")
            if "To: <alice@example.org>" not in m["data"]:
                raise AssertionError("headers: %r" % m["data"])
            st, _, body = register(srv, vid, code_in(m["data"]))
            eq(st, 201, "registered by e-mail: %r" % body)
            eq(registered(srv, body["token"], MAIL)[1], body["account"],
               "discoverable")
            # No channel for phone numbers here: refused up front.
            expect_error(ask(srv, phone(1)), 400, "unsupported",
                         what="phone without a gateway")
    finally:
        sink.stop()
        dd.cleanup()


def test_smtp_failures_are_502():
    dd = cdstest.DataDir()
    sink = SmtpSink(refuse=True)
    try:
        with cdstest.Server(dd, "--verify-smtp", sink.url(), "--verify-from",
                            "verify@cds.example") as srv:
            expect_error(ask(srv, MAIL), 502, "delivery_failed",
                         what="SMTP server refuses")
        closed = cdstest.free_port()   # nothing listens there
        with cdstest.Server(dd, "--verify-smtp",
                            "smtp://127.0.0.1:%d" % closed, "--verify-from",
                            "verify@cds.example") as srv:
            expect_error(ask(srv, MAIL), 502, "delivery_failed",
                         what="SMTP server down")
        eq(verifications_in_store(dd), [], "no verification left behind")
    finally:
        sink.stop()
        dd.cleanup()


def test_bind_by_sms_webhook():
    dd = cdstest.DataDir()
    gw = Gateway()
    tok = token_file()
    try:
        with cdstest.Server(dd, "--verify-sms-webhook", gw.url(),
                            "--verify-sms-token-file", tok,
                            "--plain-lookup", "on") as srv:
            acct, token = create_account(srv, dd, [phone(1)])
            vid = ask_ok(srv, phone(2), token)
            eq(len(gw.posts), 1, "one SMS")
            p = gw.posts[0]
            eq(p["path"], "/sms/send", "webhook path")
            eq(p["headers"].get("Authorization"), "Bearer " + TOKEN,
               "bearer token from the file")
            eq(p["headers"].get("Content-Type"), "application/json", "JSON")
            eq(sorted(p["body"]), ["body", "to"], "webhook fields")
            eq(p["body"]["to"], "+15550000002", "E.164 number")
            st, _, body = bind(srv, token, vid, code_in(p["body"]["body"]))
            eq(st, 200, "bound by SMS: %r" % body)
            eq(registered(srv, token, phone(2))[1], acct, "now the account's")
            gw.status = 500
            expect_error(ask(srv, phone(3), token), 502, "delivery_failed",
                         what="gateway answers 500")
            eq(len(verifications_in_store(dd)), 1,
               "the failed one left nothing")
    finally:
        gw.stop()
        os.unlink(tok)
        dd.cleanup()


def test_gateway_that_never_answers():
    """A gateway that takes the POST and never answers: the request waits
    (suspended) no longer than --verify-timeout, then gets its 502, and
    the server serves other requests meanwhile."""
    dd = cdstest.DataDir()
    gw = Gateway()
    gw.hold = True
    tok = token_file()
    try:
        with cdstest.Server(dd, "--verify-sms-webhook", gw.url(),
                            "--verify-sms-token-file", tok,
                            "--verify-timeout", "1", "--threads", "1") as srv:
            out = []
            t = threading.Thread(target=lambda: out.append(
                ask(srv, phone(4))))
            t.start()
            wait_until(lambda: gw.posts, "the gateway got the POST")
            eq(srv.request("GET", "/v1/health")[0], 200,
               "the one worker thread is not blocked")
            t.join(60)
            expect_error(out[0], 502, "delivery_failed", what="no answer")
            eq(verifications_in_store(dd), [], "nothing left behind")
    finally:
        gw.stop()
        os.unlink(tok)
        dd.cleanup()


def test_bad_delivery_configuration():
    dd = cdstest.DataDir()
    tok = token_file()
    empty = token_file()
    open(empty, "w").close()
    try:
        for flags, words in (
                (["--verify-smtp", "smtp://127.0.0.1:1"], "--verify-from"),
                (["--verify-smtp", "http://x", "--verify-from", "a@b.c"],
                 "smtp://"),
                (["--verify-smtp", "smtp://x", "--verify-from", "a@b\r\n"],
                 "--verify-from"),
                (["--verify-sms-webhook", "http://127.0.0.1:1/"],
                 "--verify-sms-token-file"),
                (["--verify-sms-webhook", "ftp://x", "--verify-sms-token-file",
                  tok], "http://"),
                (["--verify-sms-webhook", "http://x/", "--verify-sms-token-file",
                  empty], "one token"),
                (["--verify-outbox", "/nonexistent/dir"], "--verify-outbox"),
                (["--registration", "maybe"], "--registration")):
            p = cdstest.run([cdstest.exe("cdsd"), "--data", dd.path,
                             "--listen", "127.0.0.1:%d" % cdstest.free_port()]
                            + flags, check=False)
            eq(p.returncode, 2, "exit code for %r" % flags)
            if words not in p.stderr:
                raise AssertionError("%r: stderr %r" % (flags, p.stderr))
    finally:
        os.unlink(tok)
        os.unlink(empty)
        dd.cleanup()


cdstest.main(globals())
