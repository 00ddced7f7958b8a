#!/usr/bin/env python3
"""bench_follower.py: what a PostgreSQL follower replica costs, this build
against a baseline build, side by side in one run (issue 13 follow-up:
followers keep no working index).

    OLD_BUILD=/path/to/old/build python3 bench/bench_follower.py [N] [PAIRS]

Starts a PostgreSQL, makes a store of N synthetic handles (`cdsctl synth`,
default 200,000, 2^10 buckets) and one sealer (this build, `cdsd --threads
2`) that seals the first version.  Then PAIRS times (default 3) it starts
a follower from a new joined data directory with the baseline's cdsd, then one
with this build's (alternating, so that the machine's load touches both
alike), waits until it serves the sealer's latest version, and reads its
resident memory (VmRSS, /proc), its OPRF evaluations for index entries
(cds_index_evaluations_total) and the seconds from its start until it
serves; it stops each follower before the next.  Prints every run and the
medians, with this build's over the baseline's.  Everything it starts it
stops.  BUILD=build by default.
"""
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
from apiutil import metric_value, metrics, wait_for  # noqa: E402
from replicas import JoinedDir  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
PAIRS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
NEW = cdstest.BUILD
OLD = os.environ.get("OLD_BUILD")
FLAGS = ("--threads", "2", "--quiet")


def version(srv):
    st, _, h = srv.request("GET", "/v1/transparency/head")
    return h["version"] if st == 200 else 0


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("bench_follower: no VmRSS for %d" % pid)


def follower(build, uri, first, want):
    """One follower run with build's cdsd, from a data directory of its own
    (no index snapshot left by an earlier run): (MiB, evaluations,
    seconds)."""
    dd = JoinedDir(uri, first)
    cdstest.BUILD = build
    t0 = time.monotonic()
    try:
        with cdstest.Server(dd, *FLAGS) as srv:
            wait_for(lambda: version(srv) >= want, 1800, "follower serving")
            secs = time.monotonic() - t0
            evals = metric_value(metrics(srv), "cds_index_evaluations_total")
            return rss_kib(srv.proc.pid) / 1024.0, int(evals), secs
    finally:
        cdstest.BUILD = NEW
        dd.cleanup()


def main():
    if not OLD or not os.path.exists(os.path.join(OLD, "cdsd")):
        raise SystemExit("bench_follower: set OLD_BUILD to a build "
                         "directory holding the baseline's cdsd")
    with pgserver.PgServer() as pg:
        uri = pg.new_database()
        first = cdstest.DataDir(prefix_bits=10, store=uri)
        try:
            first.ctl("synth", "--count", str(N))
            with cdstest.Server(first, *FLAGS) as sealer:
                wait_for(lambda: version(sealer) >= 1, 1800, "first version")
                want = version(sealer)
                print("sealer: %.1f MiB resident, %d evaluations" % (
                    rss_kib(sealer.proc.pid) / 1024.0, int(metric_value(
                        metrics(sealer), "cds_index_evaluations_total"))))
                runs = {"old": [], "new": []}
                for i in range(PAIRS):
                    for name, build in (("old", OLD), ("new", NEW)):
                        r = follower(build, uri, first, want)
                        runs[name].append(r)
                        print("pair %d %s follower: %.1f MiB, %d "
                              "evaluations, serving after %.1f s" % (
                                  i + 1, name, *r), flush=True)
            for k, what in enumerate(("MiB resident", "evaluations",
                                      "s to serve")):
                o = statistics.median(r[k] for r in runs["old"])
                n = statistics.median(r[k] for r in runs["new"])
                print("median %s: baseline %.1f, this build %.1f (%s)" % (
                    what, o, n, "%.2fx" % (n / o) if o else "-"))
        finally:
            first.cleanup()


if __name__ == "__main__":
    main()
