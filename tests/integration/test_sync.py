"""test_sync: `cds sync` with its cache against a real cdsd: the first sync
spends one OPRF evaluation per handle, an unchanged one spends none and
gets 304s, a new contact costs exactly one; registration, removal and
re-keying show up as changes; after `cdsctl key rotate` everything is
re-evaluated once (and a stale epoch's 409 is retried); a cache from another
server starts afresh; --watch repeats until SIGINT."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from cdstest import eq  # noqa: E402
from clientutil import (Proxy, add_account, by_handle, cds,  # noqa: E402
                        metric, new_key, summary, until, write_book)

ALICE_TEL = "tel:+12015550123"
ALICE_MAIL = "mailto:alice@example.org"
BOB_TEL = "tel:+442079460958"
CAROL_TEL = "tel:+12015550147"
HANDLES = 4


class World:
    def __init__(self, *flags):
        self.dd = cdstest.DataDir(prefix_bits=8)
        self.alice_key = new_key()
        self.alice, self.alice_token = add_account(
            self.dd, self.alice_key, ALICE_TEL, ALICE_MAIL)
        self.bob, _ = add_account(self.dd, new_key(), BOB_TEL)
        _, self.token = add_account(self.dd, new_key(), "tel:+12015550199")
        self.srv = cdstest.Server(self.dd, "--epoch-grace", "2", *flags)
        self.book = write_book([
            ("Alice", "(201) 555-0123", "alice@example.org"),
            ("Bob", "+44 20 7946 0958", ""),
            ("Carol", "201-555-0147", ""),
        ])
        self.cache = os.path.join(self.dd.path, "client-cache.sqlite3")

    def sync(self, *args, url=None):
        """One `cds sync --json`: (rows by handle, stderr, summary)."""
        p = cds(url or self.srv.url(), self.token, "sync", "--json", *args,
                self.book, cache=self.cache)
        return by_handle(json.loads(p.stdout)), p.stderr, summary(p.stderr)

    def evaluated(self):
        return metric(self.srv, "cds_oprf_elements_evaluated_total")

    def not_modified(self):
        return metric(self.srv, "cds_bucket_not_modified_total")

    def epoch(self):
        return self.srv.request("GET", "/v1/params")[2]["epoch"]

    def add_contact(self, name, phone):
        with open(self.book, "a") as f:
            f.write("%s,%s,\n" % (name, phone))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.srv.stop()
        else:
            self.srv.kill()
            sys.stderr.write("--- cdsd stderr ---\n" + self.srv.stderr()[-3000:])
        self.dd.cleanup()
        os.unlink(self.book)


def test_costs():
    with World() as w:
        e0 = w.evaluated()
        rows, err, s = w.sync()
        eq(s["oprf"], HANDLES, "first sync: one evaluation per handle")
        eq(w.evaluated() - e0, HANDLES, "server counted the same")
        eq(rows[ALICE_TEL]["account"], w.alice, "alice found")
        eq(rows[CAROL_TEL]["registered"], False, "carol not registered")
        for h in (ALICE_TEL, ALICE_MAIL, BOB_TEL):
            if "new: " not in err or h not in err:
                raise AssertionError("first sync does not report %s: %s"
                                     % (h, err))
        eq(os.stat(w.cache).st_mode & 0o777, 0o600, "cache mode")

        e1, n1 = w.evaluated(), w.not_modified()
        rows2, err2, s2 = w.sync()
        eq(rows2, rows, "unchanged results")
        eq(s2["oprf"], 0, "unchanged sync spends no OPRF")
        eq(w.evaluated() - e1, 0, "server evaluated nothing")
        eq(s2["fetched"], 0, "no bucket bodies")
        if s2["not_modified"] < 1:
            raise AssertionError("no 304s: %r" % s2)
        eq(w.not_modified() - n1, s2["not_modified"], "server 304 count")
        if "new: " in err2 or "gone: " in err2:
            raise AssertionError("unchanged sync reports changes: " + err2)

        w.add_contact("Dave", "(201) 555-0188")
        e2 = w.evaluated()
        rows3, _, s3 = w.sync()
        eq(s3["oprf"], 1, "a new contact costs one evaluation")
        eq(w.evaluated() - e2, 1, "server evaluated one")
        eq(rows3["tel:+12015550188"]["registered"], False, "dave")
        # A contact that leaves the book is forgotten by the cache.
        with open(w.book) as f:
            lines = [ln for ln in f if not ln.startswith("Dave,")]
        with open(w.book, "w") as f:
            f.writelines(lines)
        _, _, s4 = w.sync()
        eq(s4["handles"], HANDLES, "dave gone from the book")


def changes_until(w, needle, what):
    """Sync until stderr contains needle; return that sync's rows."""
    def attempt():
        rows, err, _ = w.sync()
        return (rows, err) if needle in err else None
    return until(attempt, what)


def test_changes():
    with World() as w:
        w.sync()
        carol, _ = add_account(w.dd, new_key(), CAROL_TEL)
        rows, err = changes_until(w, "new: Carol <%s>" % CAROL_TEL,
                                  "carol registered")
        eq(rows[CAROL_TEL]["account"], carol, "carol's account")
        w.dd.ctl("account", "remove", w.bob)
        rows, _ = changes_until(w, "gone: Bob <%s>" % BOB_TEL, "bob gone")
        eq(rows[BOB_TEL]["registered"], False, "bob unregistered")
        rekey = new_key()
        st, _, body = w.srv.request("PUT", "/v1/accounts/me/identity_key",
                                    {"identity_key": rekey},
                                    token=w.alice_token)
        if st not in (200, 204):
            raise AssertionError("re-key: %d %r" % (st, body))
        rows, err = changes_until(w, "IDENTITY KEY CHANGED", "alice re-keyed")
        eq(rows[ALICE_TEL]["identity_key"], rekey, "new key")
        for h in (ALICE_TEL, ALICE_MAIL):
            if h not in err:
                raise AssertionError("key change of %s not reported" % h)
        _, err, s = w.sync()
        if "CHANGED" in err or "new: " in err or "gone: " in err:
            raise AssertionError("changes reported twice: " + err)
        eq(s["oprf"], 0, "changes cost no OPRF")


def test_rotation():
    with World() as w:
        w.sync()
        w.dd.ctl("key", "rotate")
        until(lambda: w.epoch() == 2, "epoch 2 served")
        e0 = w.evaluated()
        rows, err, s = w.sync()
        eq(s["oprf"], HANDLES, "rotation: everything re-evaluated once")
        eq(w.evaluated() - e0, HANDLES, "server count after rotation")
        if "new: " in err or "gone: " in err or "CHANGED" in err:
            raise AssertionError("rotation reported as changes: " + err)
        _, _, s2 = w.sync()
        eq(s2["oprf"], 0, "then nothing")
        if s2["not_modified"] < 1:
            raise AssertionError("no 304s after rotation: %r" % s2)
        # After the grace period the old epoch is gone (409) and sync is
        # unaffected.
        until(lambda: w.srv.request("GET", "/v1/buckets/0?epoch=1")[0] == 409,
              "epoch 1 retired")
        rows2, _, s3 = w.sync()
        eq(rows2, rows, "results stable")
        eq(s3["oprf"], 0, "still nothing")


def test_stale_epoch_retried():
    """The client is told an epoch the server no longer serves (as if it
    rotated between /v1/params and /v1/discover): 409, refetch, retry."""
    with World() as w:
        stale = w.srv.request("GET", "/v1/params")[2]
        w.dd.ctl("key", "rotate")
        until(lambda: w.epoch() == 2, "epoch 2 served")
        until(lambda: w.srv.request("GET", "/v1/buckets/0?epoch=1")[0] == 409,
              "epoch 1 retired")
        state = {"stale_sent": False}

        def alter(method, path, status, hdrs, body):
            if path == "/v1/params" and not state["stale_sent"]:
                state["stale_sent"] = True
                return status, hdrs, json.dumps(stale).encode()
            return None
        with Proxy(w.srv, alter) as px:
            rows, _, s = w.sync(url=px.url())
            eq(sum(1 for m, p in px.seen if p == "/v1/params"), 2,
               "params fetched twice")
        eq(s["oprf"], HANDLES, "evaluated in the current epoch")
        eq(rows[ALICE_TEL]["account"], w.alice, "alice found")


def test_other_server_starts_afresh():
    with World() as w:
        w.sync()
        with Proxy(w.srv, lambda *a: None) as px:
            _, err, s = w.sync(url=px.url())
        if "started afresh" not in err:
            raise AssertionError("no fresh start reported: " + err)
        eq(s["oprf"], HANDLES, "fresh cache evaluates everything")
        _, _, s = w.sync()  # and back: afresh once more
        eq(s["oprf"], HANDLES, "back to the first URL")


def test_watch():
    with World() as w:
        p = subprocess.Popen(
            [cdstest.exe("cds"), "--server", w.srv.url(), "--token", w.token,
             "--cache", w.cache, "sync", "--watch", "--interval", "1",
             w.book],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Wait for two rounds on stderr (no fixed sleep), then interrupt.
        lines = []
        deadline = time.time() + 120
        while sum("cds: sync:" in ln for ln in lines) < 2:
            line = p.stderr.readline()
            if not line or time.time() > deadline:
                p.kill()
                raise AssertionError("fewer than two rounds: %s" % lines)
            lines.append(line)
        p.send_signal(signal.SIGINT)
        out, rest = p.communicate(timeout=60)
        err = "".join(lines) + rest
        eq(p.returncode, 0, "exit after SIGINT")
        rounds = err.count("cds: sync:")
        if rounds < 2:
            raise AssertionError("expected repeated syncs, got %d: %s"
                                 % (rounds, err))
        if out.count("HANDLE") != rounds:
            raise AssertionError("one table per round: " + out)


def test_sync_usage():
    with World() as w:
        for args in (["sync", "--interval", "5", w.book],
                     ["sync", "--watch", "-"],
                     ["sync", "--watch", "--interval", "0", w.book]):
            p = cdstest.run([cdstest.exe("cds"), "--server", w.srv.url(),
                             "--token", w.token, "--cache", w.cache] + args,
                            check=False)
            eq(p.returncode, 2, "usage %r" % args)
        # A cache file that is something else is refused, untouched.
        other = os.path.join(w.dd.path, "not-a-cache")
        with open(other, "w") as f:
            f.write("hello\n" * 200)
        p = cds(w.srv.url(), w.token, "sync", w.book, cache=other,
                check=False)
        eq(p.returncode, 1, "foreign cache")
        if "not a cds cache" not in p.stderr:
            raise AssertionError(p.stderr)
        with open(other) as f:
            eq(f.read(), "hello\n" * 200, "foreign file untouched")


if __name__ == "__main__":  # test_ohttp.py imports World
    cdstest.main(globals())
