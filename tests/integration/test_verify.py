"""test_verify: verified handles through the real API (DESIGN.md
"Verified handles"), with codes read back from cdsd's --verify-outbox.

Registration and binding by code; wrong, expired, reused and exhausted
codes; the answer to a verification is the same whether or not the handle
is registered; a verified handle moves and discovery shows the new owner;
registration closed; the per-handle limit across 10 accounts and 10
addresses, the per-address and the per-account limits (429, Retry-After,
nothing sent)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import (create_account, expect_error, new_key, phone,  # noqa: E402
                     registered, store_counts, wait_for)
from cdstest import eq  # noqa: E402
from clientutil import by_handle, cds_json, write_book  # noqa: E402
from verifyutil import (Outbox, ask, ask_ok, bind, register,  # noqa: E402
                        request_from, verifications_in_store)


def with_server(fn, *flags):
    """Run fn(srv, dd, outbox) against a cdsd with an outbox."""
    dd = cdstest.DataDir()
    ob = Outbox()
    try:
        with cdstest.Server(dd, "--verify-outbox", ob.path,
                            "--plain-lookup", "on", *flags) as srv:
            fn(srv, dd, ob)
    finally:
        ob.cleanup()
        dd.cleanup()


def test_register_by_code():
    def run(srv, dd, ob):
        st, hdrs, body = ask(srv, phone(1))
        eq(st, 202, "verification accepted")
        eq(sorted(body), ["expires_in", "verification"], "answer fields")
        eq(body["expires_in"], 600, "ten minutes")
        vid = body["verification"]
        msg = ob.message(vid)
        eq(sorted(msg), ["code", "to", "verification"], "outbox fields")
        eq((msg["to"], msg["verification"]), (phone(1), vid), "outbox")
        code = msg["code"]
        if len(code) < 6 or not code.isdigit():
            raise AssertionError("code %r" % code)
        # Only a keyed hash of the code is stored.
        rows = verifications_in_store(dd)
        eq(len(rows), 1, "one verification stored")
        if code.encode() in rows[0][1] or len(rows[0][1]) != 32:
            raise AssertionError("code stored in clear")
        wrong = "%08d" % ((int(code) + 1) % 10 ** 8)
        err = expect_error(register(srv, vid, wrong), 403, "wrong_code",
                           what="wrong code")
        if "4 attempts left" not in err["message"]:
            raise AssertionError(err)
        key = new_key()
        st, _, body = register(srv, vid, code, key)
        eq(st, 201, "registered: %r" % body)
        eq(body["handle"], phone(1), "the verified handle")
        acct, token = body["account"], body["token"]
        eq(registered(srv, token, phone(1)), (True, acct, key),
           "discoverable with its key")
        expect_error(register(srv, vid, code), 410, "used", what="reused")
        eq(store_counts(dd)[1:], (1, 1), "one account, one handle")
    with_server(run)


def test_exhausted_code():
    def run(srv, dd, ob):
        vid = ask_ok(srv, phone(2))
        code = ob.code(vid)
        wrong = "%08d" % ((int(code) + 7) % 10 ** 8)
        for left in (4, 3, 2, 1, 0):
            err = expect_error(register(srv, vid, wrong), 403, "wrong_code",
                               what="wrong code")
            if "%d attempt" % left not in err["message"]:
                raise AssertionError("attempts left %d: %r" % (left, err))
        expect_error(register(srv, vid, code), 410, "exhausted",
                     what="the right code after 5 wrong ones")
        eq(store_counts(dd)[1:], (0, 0), "nothing registered")
    with_server(run)


def test_expired_code():
    # --verify-ttl 0 (for tests): every code is born expired, so no test
    # has to wait ten minutes, or sleep at all.
    def run(srv, dd, ob):
        st, _, body = ask(srv, phone(3))
        eq((st, body["expires_in"]), (202, 0), "verification")
        vid = body["verification"]
        expect_error(register(srv, vid, ob.code(vid)), 410, "expired",
                     what="expired code")
        eq(store_counts(dd)[1:], (0, 0), "nothing registered")
    with_server(run, "--verify-ttl", "0")


def test_unknown_verification():
    def run(srv, dd, ob):
        expect_error(register(srv, "ab" * 16, "12345678"), 404,
                     "unknown_verification", what="unknown id")
    with_server(run)


def normalised(resp):
    """(status, headers but Date, body with the id blanked) of a verify."""
    st, hdrs, body = resp
    hdrs = {k: v for k, v in hdrs.items() if k != "date"}
    body = dict(body)
    if len(body.get("verification", "")) != 32:
        raise AssertionError("id %r" % body)
    body["verification"] = "x" * 32
    return st, hdrs, json.dumps(body)


def test_same_answer_registered_or_not():
    """Asking for a code never tells whether the handle is registered."""
    def run(srv, dd, ob):
        _, token = create_account(srv, dd, [phone(10)])
        _, other = create_account(srv, dd, [phone(12)])
        answers = [normalised(ask(srv, h, tok))
                   for h, tok in ((phone(10), None), (phone(11), None),
                                  (phone(12), token), (phone(13), token),
                                  (phone(10), token))]
        for a in answers[1:]:
            eq(a, answers[0], "registered and unregistered answer alike")
        eq(len(ob.files()), 5, "a code sent each time")
    with_server(run)


# Numbers libphonenumber holds valid, for the cds client's address book.
H20, H21 = "tel:+12015550120", "tel:+12015550121"


def test_handle_moves_to_verified_owner():
    def run(srv, dd, ob):
        old, old_token = create_account(srv, dd, [H20, H21])
        key = new_key()
        new, new_token = create_account(srv, dd, [phone(22)], key=key)
        vid = ask_ok(srv, H20, new_token)
        st, _, body = bind(srv, new_token, vid, ob.code(vid))
        eq(st, 200, "bound: %r" % body)
        eq(body, {"status": "ok", "account": new, "handle": H20},
           "bind answer")
        eq(registered(srv, new_token, H20), (True, new, key),
           "plain lookup shows the new owner")
        eq(registered(srv, old_token, H21)[1], old, "old keeps the rest")
        # Private discovery (the cds client) sees the move too.
        # Buckets come from sealed versions: within the seal interval.
        book = write_book([("Moved", "(201) 555-0120", None),
                           ("Stayed", "(201) 555-0121", None)])
        got = {}

        def moved():
            rows, _ = cds_json(srv.url(), old_token, "discover", "--region",
                               "US", book)
            got.update(by_handle(rows))
            return got[H20]["account"] == new
        try:
            wait_for(moved, 5, "discovery sees the move")
        finally:
            os.unlink(book)
        eq((got[H20]["account"], got[H20]["identity_key"]),
           (new, key), "discovery answers with the new account and key")
        eq(got[H21]["account"], old, "the other handle stays")
        # Binding a handle one already holds is a no-op.
        vid = ask_ok(srv, phone(22), new_token)
        eq(bind(srv, new_token, vid, ob.code(vid))[0], 200, "no-op bind")
        eq(store_counts(dd)[1:], (2, 3), "two accounts, three handles")
    with_server(run)


def test_register_moves_handle():
    """Registering with a verified handle held by another account moves
    it too (its old binding ends)."""
    def run(srv, dd, ob):
        old, old_token = create_account(srv, dd, [phone(30)])
        vid = ask_ok(srv, phone(30))
        st, _, body = register(srv, vid, ob.code(vid))
        eq(st, 201, "registered")
        eq(registered(srv, old_token, phone(30))[1], body["account"],
           "now the new account's")
    with_server(run)


def test_registration_closed():
    def run(srv, dd, ob):
        expect_error(ask(srv, phone(40)), 403, "registration_closed",
                     what="anonymous verification")
        expect_error(register(srv, "ab" * 16, "1", new_key()), 403,
                     "registration_closed", what="register")
        eq(ob.files(), [], "nothing sent")
        # An account still proves control of another handle.
        acct, token = create_account(srv, dd, [phone(41)])
        vid = ask_ok(srv, phone(42), token)
        eq(bind(srv, token, vid, ob.code(vid))[0], 200, "bound")
        eq(registered(srv, token, phone(42))[1], acct, "added by proof")
    with_server(run, "--registration", "closed")


def test_per_handle_limit_across_accounts_and_addresses():
    """At most --verify-per-handle codes an hour, whoever asks: 10 accounts
    from 10 addresses (127.0.0.2-11) get 3 codes between them."""
    def run(srv, dd, ob):
        tokens = [create_account(srv, dd, [phone(100 + i)])[1]
                  for i in range(10)]
        got = []
        for i, tok in enumerate(tokens):
            got.append(request_from(srv, "127.0.0.%d" % (i + 2), "POST",
                                    "/v1/verifications",
                                    {"handle": phone(50)}, tok))
        eq([g[0] for g in got], [202] * 3 + [429] * 7, "statuses")
        for st, hdrs, body in got[3:]:
            eq(body["error"]["code"], "rate_limited", "429 code")
            if int(hdrs.get("retry-after", "0")) < 1:
                raise AssertionError("no Retry-After: %r" % hdrs)
        eq(len(ob.files()), 3, "three codes sent, no more")
        # Anonymous askers count too, and other handles are unaffected.
        eq(request_from(srv, "127.0.0.20", "POST", "/v1/verifications",
                        {"handle": phone(50)})[0], 429, "anonymous")
        eq(ask(srv, phone(51))[0], 202, "another handle")
    with_server(run, "--verify-per-handle", "3")


def test_per_address_limit():
    def run(srv, dd, ob):
        eq(ask(srv, phone(60))[0], 202, "first")
        eq(ask(srv, phone(61))[0], 202, "second")
        st, hdrs, body = ask(srv, phone(62))
        expect_error((st, hdrs, body), 429, "rate_limited", what="third")
        if int(hdrs.get("retry-after", "0")) < 1:
            raise AssertionError("no Retry-After: %r" % hdrs)
        eq(len(ob.files()), 2, "nothing sent for the third")
        eq(request_from(srv, "127.0.0.9", "POST", "/v1/verifications",
                        {"handle": phone(62)})[0], 202, "another address")
    with_server(run, "--verify-per-ip", "2")


def test_per_account_write_limit():
    """Handle changes, key changes and verifications share one budget."""
    def run(srv, dd, ob):
        _, token = create_account(srv, dd, [phone(70), phone(71)])
        eq(srv.request("PUT", "/v1/accounts/me/identity_key",
                       {"identity_key": new_key()}, token=token)[0], 200,
           "key change")
        eq(srv.request("PUT", "/v1/accounts/me/handles",
                       {"remove": [phone(71)]}, token=token)[0], 200,
           "removal")
        vid = ask_ok(srv, phone(72), token)
        for what, resp in (
                ("verification", ask(srv, phone(73), token)),
                ("bind", bind(srv, token, vid, ob.code(vid))),
                ("key change", srv.request(
                    "PUT", "/v1/accounts/me/identity_key",
                    {"identity_key": new_key()}, token=token))):
            st, hdrs, _ = resp
            expect_error(resp, 429, "rate_limited", what=what)
            if int(hdrs.get("retry-after", "0")) < 1:
                raise AssertionError("%s: no Retry-After" % what)
        eq(len(ob.files()), 1, "one code sent")
        # Another account has its own budget.
        _, other = create_account(srv, dd, [phone(74)])
        eq(ask(srv, phone(75), other)[0], 202, "other account")
    with_server(run, "--account-writes", "3")


cdstest.main(globals())
