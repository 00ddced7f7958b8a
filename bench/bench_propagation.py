#!/usr/bin/env python3
"""bench_propagation.py: how long a change takes to reach every replica's
answers (DESIGN.md: within 5 s): three cdsd replicas of one PostgreSQL
store that learn of changes by polling alone (--no-change-notify) against
three that are woken by LISTEN/NOTIFY (the default), with one cdsd on
SQLite as the baseline, in one run.

    python3 bench/bench_propagation.py [CHANGES]

Starts a private PostgreSQL (tests/integration/pgserver.py) and two sets
of three replicas, each in a database of its own, made as an operator
makes them (replicas.py: `cdsctl init --store`, then `cdsctl join`; its
nginx is not used), plus one cdsd on a SQLite data directory.  Then
CHANGES times (default 100) for each PostgreSQL set, alternating between
them (poll, notify, poll, notify...): an account with a fresh handle is
made through one replica's API (replicas in turn), and each replica is
asked by plain lookup, every few milliseconds, until it answers the handle
as registered.  The SQLite baseline takes CHANGES changes first.  Prints,
per setup, the median and worst of "seen by every replica" and of "seen by
one replica", in seconds from the API's 201, and the ratio of the two
PostgreSQL medians.  BUILD=build by default.
"""
import base64
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("CDS_BUILD", os.path.join(
    ROOT, os.environ.get("BUILD", "build")))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import cdstest  # noqa: E402
import pgserver  # noqa: E402
from replicas import Cluster  # noqa: E402

CHANGES = int(sys.argv[1]) if len(sys.argv) > 1 else 100
FLAGS = ("--plain-lookup", "on", "--rate-allowance", "1000000000",
         "--rate-refill", "1000000000", "--account-writes", "1000000")
PROBE_S = 0.002


def handle(i):
    return "tel:+1201555%04d" % i


def sees(srv, token, h):
    st, _, body = srv.request("POST", "/v1/lookup", {"handles": [h]},
                              token=token)
    return st == 200 and body["results"][0]["registered"]


def one_change(servers, writer, admin, token, i):
    """Make handle i through `writer`; seconds until each server sees it."""
    key = base64.b64encode(os.urandom(32)).decode()
    st, _, body = writer.request("POST", "/v1/accounts", {
        "identity_key": key, "handles": [handle(i)]}, token=admin)
    if st != 201:
        raise SystemExit("bench_propagation: account create %d %r" % (st, body))
    t0 = time.monotonic()
    seen = [None] * len(servers)
    while None in seen:
        for k, s in enumerate(servers):
            if seen[k] is None and sees(s, token, handle(i)):
                seen[k] = time.monotonic() - t0
        if time.monotonic() - t0 > 30:
            raise SystemExit("bench_propagation: change %d not seen in 30 s" % i)
        time.sleep(PROBE_S)
    return seen


def observer(servers, admin):
    """An account whose token every server knows (its lookups probe)."""
    st, _, body = servers[0].request("POST", "/v1/accounts", {
        "identity_key": base64.b64encode(os.urandom(32)).decode(),
        "handles": ["tel:+12025550100"]}, token=admin)
    assert st == 201, body
    for s in servers:
        while not sees(s, body["token"], "tel:+12025550100"):
            time.sleep(0.05)
    return body["token"]


class Setup:
    """Servers taking changes, and what they saw."""

    def __init__(self, servers, admin, first):
        self.servers, self.admin, self.next = servers, admin, first
        self.token = observer(servers, admin)
        self.all_seen, self.each = [], []

    def change(self):
        writer = self.servers[self.next % len(self.servers)]
        seen = one_change(self.servers, writer,
                          self.admin, self.token, self.next)
        self.next += 1
        self.all_seen.append(max(seen))
        self.each.extend(seen)


def show(name, setup):
    all_seen, each = setup.all_seen, setup.each
    print("%-34s every replica: median %.3f s  worst %.3f s   "
          "one replica: median %.3f s  worst %.3f s" % (
              name, statistics.median(all_seen), max(all_seen),
              statistics.median(each), max(each)), flush=True)


def main():
    with pgserver.PgServer() as pg:
        dd = cdstest.DataDir(prefix_bits=6)
        try:
            with cdstest.Server(dd, *FLAGS) as one:
                base = Setup([one], dd.admin_token, 0)
                for _ in range(CHANGES):
                    base.change()
            with Cluster(3, flags=FLAGS + ("--no-change-notify",),
                         pg=pg) as cp, Cluster(3, flags=FLAGS, pg=pg) as cn:
                poll = Setup(cp.replicas, cp.admin_token, 5000)
                notify = Setup(cn.replicas, cn.admin_token, 7000)
                for _ in range(CHANGES):
                    poll.change()
                    notify.change()
        finally:
            dd.cleanup()
    print("%d changes each; probes every %.0f ms" % (CHANGES, PROBE_S * 1000))
    show("SQLite, one cdsd (baseline)", base)
    show("PostgreSQL, 3 replicas, polling", poll)
    show("PostgreSQL, 3 replicas, NOTIFY", notify)
    print("ratio of medians, every replica, NOTIFY / polling: %.3f" % (
        statistics.median(notify.all_seen) / statistics.median(poll.all_seen)))


if __name__ == "__main__":
    main()
