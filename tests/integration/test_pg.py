"""test_pg: a data directory whose store is in a real PostgreSQL (started
by pgserver.py for this file, one database per test).  `cdsctl init --store`
with a password in the URI is refused; a store made with a role that needs
a password (SCRAM, the password in a PGPASSFILE) takes accounts, an import
and synthetic accounts through cdsctl, and cdsd serves it: private
discovery with the `cds` client and plain lookup, and changes cdsctl makes
reach cdsd's answers within 5 s, as do accounts made and re-keyed through
cdsd's API (its pooled store connections).  The data directory holds no
password.  Verified handles on a PostgreSQL store: a user registers by a
code (POST /v1/verifications, POST /v1/register, the code read from cdsd's
outbox), is found by discovery and lookup, and a verified handle moves to
another account by a bind."""
import base64
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
import pgserver  # noqa: E402
from apiutil import create_account, phone, registered, wait_for  # noqa: E402
from cdstest import eq  # noqa: E402
from clientutil import (add_account, by_handle, cds_json, new_key,  # noqa: E402
                        until, write_book)
from verifyutil import Outbox, ask_ok, bind, register  # noqa: E402

LIMIT = 5.0
PG = None  # the server of this file, started in __main__
PASSWORD = "pw-never-on-disk-7f3a"

ALICE_TEL = "tel:+12015550123"
BOB_TEL = "tel:+442079460958"
CAROL_TEL = "tel:+12015550147"
BOOK = [("Alice", "(201) 555-0123", ""), ("Bob", "+44 20 7946 0958", ""),
        ("Carol", "201-555-0147", "")]


def dir_holds(path, secret):
    """Whether any file under path contains secret."""
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                if secret.encode() in f.read():
                    return True
    return False


def test_password_in_uri_refused():
    uri = PG.new_database()
    host = uri[len("postgresql://cds@"):]
    for bad in ("postgresql://cds:%s@%s" % (PASSWORD, host),
                "%s?password=%s" % (uri, PASSWORD)):
        dd = cdstest.DataDir(init=False)
        try:
            p = dd.ctl("init", "--store", bad, check=False)
            eq(p.returncode, 2, "exit status")
            for want in ("password", "PGPASSFILE"):
                if want not in p.stderr:
                    raise AssertionError("message lacks %r: %s" % (
                        want, p.stderr))
            if PASSWORD in p.stderr:
                raise AssertionError("message repeats the password")
            eq(os.listdir(dd.path), [], "nothing written to DIR")
        finally:
            dd.cleanup()
    p = cdstest.run([cdstest.exe("cdsctl"), "--data", "/tmp/x", "init",
                     "--store", "mysql://db"], check=False)
    eq(p.returncode, 2, "unknown store: exit status")


class PasswordEnv:
    """PGPASSFILE (mode 0600) for the password role, in the environment
    that cdsctl, cdsd and cds inherit from this process."""

    def __init__(self, role):
        fd, self.path = tempfile.mkstemp(prefix="cds-pgpass-")
        with os.fdopen(fd, "w") as f:
            f.write("127.0.0.1:%d:*:%s:%s\n" % (PG.port, role, PASSWORD))
        os.chmod(self.path, 0o600)
        os.environ["PGPASSFILE"] = self.path

    def close(self):
        del os.environ["PGPASSFILE"]
        os.unlink(self.path)


def write_import(path, handles):
    with open(path, "w") as f:
        f.write("handle,identity_key_b64\n")
        for h in handles:
            f.write("%s,%s\n" % (h, base64.b64encode(os.urandom(32)).decode()))


def populate(dd):
    """Accounts through cdsctl: add, import, synth.  Returns what cds needs."""
    w = {"alice_key": new_key(), "bob_key": new_key()}
    w["alice"], _ = add_account(dd, w["alice_key"], ALICE_TEL)
    w["bob"], _ = add_account(dd, w["bob_key"], BOB_TEL)
    _, w["token"] = add_account(dd, new_key(), "tel:+12015550199")
    csv = os.path.join(dd.path, "import.csv")
    write_import(csv, [phone(i) for i in range(100, 150)])
    dd.ctl("import", csv)
    os.unlink(csv)
    synth = os.path.join(dd.path, "synth.txt")
    dd.ctl("synth", "--count", "300", "--out", synth)
    with open(synth) as f:
        w["synth"] = f.read().split()
    os.unlink(synth)
    eq(len(w["synth"]), 300, "synthetic handles")
    return w


def discover(srv, token, book):
    rows, _ = cds_json(srv.url(), token, "discover", book)
    return by_handle(rows)


def check_serving(srv, w, book):
    rows = discover(srv, w["token"], book)
    eq(rows[ALICE_TEL]["account"], w["alice"], "alice by private discovery")
    eq(rows[BOB_TEL]["identity_key"], w["bob_key"], "bob's key")
    eq(rows[CAROL_TEL]["registered"], False, "carol not registered")
    for h in (phone(100), phone(149), w["synth"][0], w["synth"][-1]):
        eq(registered(srv, w["token"], h)[0], True, "plain lookup " + h)
    eq(registered(srv, w["token"], phone(150))[0], False, "not imported")


def check_changes(srv, dd, w, book):
    """cdsctl changes reach cdsd within LIMIT seconds."""
    carol, _ = add_account(dd, new_key(), CAROL_TEL)
    took = wait_for(lambda: registered(srv, w["token"], CAROL_TEL)[0], LIMIT,
                    "cdsctl account add visible to plain lookup")
    sys.stdout.write("add visible after %.2f s\n" % took)
    until(lambda: discover(srv, w["token"], book)[CAROL_TEL]["registered"],
          "carol by private discovery", timeout=LIMIT)
    dd.ctl("account", "remove", w["bob"])
    took = wait_for(lambda: not registered(srv, w["token"], BOB_TEL)[0],
                    LIMIT, "cdsctl account remove visible to plain lookup")
    sys.stdout.write("remove visible after %.2f s\n" % took)


def check_api_writes(srv, dd, w):
    """Writes through cdsd's own store connections (its pool) land in
    PostgreSQL and reach answers like cdsctl's."""
    acct, token = create_account(srv, dd, [phone(300)])
    wait_for(lambda: registered(srv, w["token"], phone(300))[0], LIMIT,
             "account made through the API visible")
    key = new_key()
    st, _, body = srv.request("PUT", "/v1/accounts/me/identity_key",
                              {"identity_key": key}, token=token)
    if st not in (200, 204):
        raise AssertionError("re-key: %d %r" % (st, body))
    wait_for(lambda: registered(srv, w["token"], phone(300))[2] == key, LIMIT,
             "re-key through the API visible")
    eq(registered(srv, w["token"], phone(300))[1], acct, "same account")


def test_serve_from_postgres():
    PG.password_role("cdsapp", PASSWORD)
    uri = PG.new_database(owner="cdsapp")
    env = PasswordEnv("cdsapp")
    dd = cdstest.DataDir(prefix_bits=6, store=uri)
    book = write_book(BOOK)
    try:
        with open(os.path.join(dd.path, "store.conf")) as f:
            if "store=%s\n" % uri not in f.read():
                raise AssertionError("store.conf does not name the database")
        eq(os.path.exists(os.path.join(dd.path, "cds.sqlite3")), False,
           "no SQLite store")
        w = populate(dd)
        eq(PG.psql(uri.rsplit("/", 1)[1], "SELECT count(*) FROM cds.handles"),
           str(3 + 50 + 300), "handles in PostgreSQL")
        with cdstest.Server(dd, "--plain-lookup", "on") as srv:
            check_serving(srv, w, book)
            check_changes(srv, dd, w, book)
            check_api_writes(srv, dd, w)
        if dir_holds(dd.path, PASSWORD):
            raise AssertionError("the data directory holds the password")
        # Without the password file, libpq has no password: a clear error.
        del os.environ["PGPASSFILE"]
        p = dd.ctl("account", "remove", w["alice"], check=False)
        os.environ["PGPASSFILE"] = env.path
        eq(p.returncode, 1, "exit status without a password")
        if "password" not in p.stderr:
            raise AssertionError("no word of the password: " + p.stderr)
    finally:
        env.close()
        dd.cleanup()
        os.unlink(book)


def test_verify_on_postgres():
    uri = PG.new_database()
    dd = cdstest.DataDir(prefix_bits=6, store=uri)
    ob = Outbox()
    book = write_book(BOOK)
    try:
        with cdstest.Server(dd, "--verify-outbox", ob.path,
                            "--plain-lookup", "on") as srv:
            vid = ask_ok(srv, ALICE_TEL)
            key = new_key()
            st, _, body = register(srv, vid, ob.code(vid), key)
            eq(st, 201, "registered: %r" % body)
            alice, token = body["account"], body["token"]
            eq(registered(srv, token, ALICE_TEL), (True, alice, key),
               "plain lookup finds the registered user")
            until(lambda: discover(srv, token, book)[ALICE_TEL]["account"]
                  == alice, "private discovery finds her", timeout=LIMIT)
            # Bob verifies Alice's number: it moves to his account.
            bob, bob_token = create_account(srv, dd, [BOB_TEL])
            vid = ask_ok(srv, ALICE_TEL, bob_token)
            st, _, body = bind(srv, bob_token, vid, ob.code(vid))
            eq(st, 200, "bound: %r" % body)
            eq(registered(srv, token, ALICE_TEL)[1], bob, "moved to bob")
            until(lambda: discover(srv, token, book)[ALICE_TEL]["account"]
                  == bob, "discovery sees the move", timeout=LIMIT)
        db = uri.rsplit("/", 1)[1]
        eq(PG.psql(db, "SELECT count(*) FROM cds.verifications"), "2",
           "verifications in PostgreSQL")
    finally:
        ob.cleanup()
        dd.cleanup()
        os.unlink(book)


if __name__ == "__main__":
    pgserver.run_tests(globals())
