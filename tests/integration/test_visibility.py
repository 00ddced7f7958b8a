"""test_visibility: changes `cdsctl` makes to the store while cdsd runs reach
answers within 5 seconds (DESIGN.md), through the server's change polling:
account add and remove, seen by plain lookup and by the bucket index."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from apiutil import (create_account, new_key, phone, registered,  # noqa: E402
                     wait_for)
from cdstest import eq  # noqa: E402

LIMIT = 5.0


def bucket_version(srv, epoch, prefix):
    st, hdrs, _ = srv.request("GET", "/v1/buckets/%d?epoch=%d" % (
        prefix, epoch))
    eq(st, 200, "bucket fetch")
    return hdrs["etag"]


def test_cdsctl_add_and_remove_visible():
    dd = cdstest.DataDir(prefix_bits=0)
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            _, token = create_account(srv, dd, [phone(1)])
            etag0 = bucket_version(srv, 1, 0)
            key = new_key()
            out = dd.ctl("account", "add", "--identity-key", key, phone(2),
                         "mailto:carol@example.org").stdout
            acct = json.loads(out)["account"]
            took = wait_for(
                lambda: registered(srv, token, phone(2))[0], LIMIT,
                "cdsctl account add visible to lookup")
            eq(registered(srv, token, "mailto:carol@example.org"),
               (True, acct, key), "second handle and key")
            wait_for(lambda: bucket_version(srv, 1, 0) != etag0, LIMIT,
                     "the bucket changed")
            sys.stdout.write("add visible after %.2f s\n" % took)
            dd.ctl("account", "remove", acct)
            took = wait_for(
                lambda: not registered(srv, token, phone(2))[0], LIMIT,
                "cdsctl account remove visible to lookup")
            eq(registered(srv, token, "mailto:carol@example.org")[0], False,
               "all handles gone")
            sys.stdout.write("remove visible after %.2f s\n" % took)
    finally:
        dd.cleanup()


def test_removed_account_token_refused():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            acct, token = create_account(srv, dd, [phone(1)])
            dd.ctl("account", "remove", acct)

            def refused():
                st, _, _ = srv.request("POST", "/v1/lookup",
                                       {"handles": [phone(1)]}, token=token)
                return st == 401
            wait_for(refused, LIMIT, "removed account's token refused")
    finally:
        dd.cleanup()


def test_many_changes_in_a_row():
    dd = cdstest.DataDir()
    try:
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            _, token = create_account(srv, dd, [phone(1)])
            t0 = time.time()
            for i in range(10, 20):
                dd.ctl("account", "add", "--identity-key", new_key(),
                       phone(i))
            wait_for(lambda: all(registered(srv, token, phone(i))[0]
                                 for i in range(10, 20)),
                     LIMIT, "ten accounts added by cdsctl")
            sys.stdout.write("10 adds visible %.2f s after the first\n" % (
                time.time() - t0))
    finally:
        dd.cleanup()


cdstest.main(globals())
