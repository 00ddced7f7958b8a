#!/usr/bin/env python3
"""bench_replicas.py: OPRF throughput of cdsd replicas, one alone and two
behind nginx, side by side in one run (docs/operations.md "Deploying").

    python3 bench/bench_replicas.py [ROUNDS] [WRK_SECONDS] [BATCH]

Starts the deployment of tests/integration/replicas.py (a PostgreSQL, two
cdsd replicas with rate limits out of the way, nginx with TLS in front
balancing both) and a second nginx, alike, in front of replica 0 only.
Then, ROUNDS times (default 5) in this order, wrk (2 threads, 32
connections, WRK_SECONDS each, default 5) posts the same batch of BATCH
blinded elements (default 64) to POST /v1/discover:

    r0       replica 0 directly (plain HTTP)
    r1       replica 1 directly
    lb1      nginx (https) in front of replica 0 alone
    lb2      nginx (https) balancing replicas 0 and 1

and prints, for each, the median and best OPRF elements per second, the
ratio of its median to r0's, and the CPU time spent per element by the
replicas and by nginx (user + system, from /proc, medians).  The rounds
interleave the four, so that a change in the machine's load touches all
alike.  On a machine shared with other work the throughput figures carry
that work's noise; the CPU time per element does much less, and says what
a replica and nginx cost wherever there are cores to give them.
Everything it starts it stops.  BUILD=build by default.
"""
import base64
import ctypes
import ctypes.util
import json
import os
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("CDS_BUILD", os.path.join(
    ROOT, os.environ.get("BUILD", "build")))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import cdstest  # noqa: E402
from apiutil import wait_for  # noqa: E402
from replicas import Balancer, Cluster  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
WRK_S = int(sys.argv[2]) if len(sys.argv) > 2 else 5
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 64
FLAGS = ("--threads", "2", "--rate-allowance", "1e15", "--quiet")


def blinded_elements(n):
    """n random ristretto255 points (base64), as a client's blinded
    elements look to the server: libsodium's own generator."""
    sodium = ctypes.CDLL(ctypes.util.find_library("sodium"))
    if sodium.sodium_init() < 0:
        raise SystemExit("bench_replicas: libsodium failed to initialise")
    out = []
    for _ in range(n):
        p = ctypes.create_string_buffer(32)
        sodium.crypto_core_ristretto255_random(p)
        out.append(base64.b64encode(p.raw).decode())
    return out


def cpu_seconds(pids):
    """User + system CPU seconds used so far by the processes pids."""
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def nginx_workers(lb):
    """Process ids of the worker processes of a Balancer's nginx."""
    pid = lb.nginx.proc.pid
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


def wrk(url, env):
    """(requests per second, requests) of one wrk run; no errors allowed."""
    out = cdstest.run(
        ["wrk", "-t2", "-c32", "-d%ds" % WRK_S, "--timeout", "30s", "-s",
         os.path.join(ROOT, "bench", "wrk", "discover.lua"), url],
        env=dict(os.environ, CDS_WRK_DIR=os.path.join(ROOT, "bench", "wrk"),
                 **env))
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("CDS ")][0]
    kv = dict(f.split("=") for f in line.split()[1:])
    if int(kv["errors"]):
        raise SystemExit("bench_replicas: wrk errors at %s: %s" % (url, line))
    return float(kv["rps"]), int(kv["requests"])


def measure(url, env, cdsd_pids, nginx_pids):
    """One wrk run: (elements/s, cdsd CPU us per element, nginx CPU us per
    element)."""
    c0, n0 = cpu_seconds(cdsd_pids), cpu_seconds(nginx_pids)
    rps, requests = wrk(url, env)
    elements = requests * BATCH
    return (rps * BATCH,
            (cpu_seconds(cdsd_pids) - c0) * 1e6 / elements,
            (cpu_seconds(nginx_pids) - n0) * 1e6 / elements)


def report(results):
    base = statistics.median(r[0] for r in results["r0"])
    print("%-5s %12s %12s %7s %14s %14s" % (
        "", "median el/s", "best el/s", "vs r0", "cdsd CPU us/el",
        "nginx CPU us/el"))
    for name, runs in results.items():
        rate = statistics.median(r[0] for r in runs)
        print("%-5s %12.0f %12.0f %6.2fx %14.1f %14.1f" % (
            name, rate, max(r[0] for r in runs), rate / base,
            statistics.median(r[1] for r in runs),
            statistics.median(r[2] for r in runs)))


def main():
    with tempfile.TemporaryDirectory(prefix="cds-bench-replicas-") as work, \
            Cluster(2, flags=FLAGS, workers=2) as c:
        lb1 = Balancer(["127.0.0.1:%d" % c.replicas[0].port], workers=2)
        try:
            token = json.loads(c.dirs[0].ctl(
                "account", "add", "--identity-key", "A" * 43 + "=",
                "mailto:bench@example.org").stdout)["token"]
            _, _, params = c.replicas[0].request("GET", "/v1/params")
            body = os.path.join(work, "discover.json")
            with open(body, "w") as f:
                json.dump({"epoch": params["epoch"],
                           "elements": blinded_elements(BATCH)}, f)
            env = {"CDS_DISCOVER_BODY": body, "CDS_TOKEN": token}
            # The token reaches every replica through the store (5 s).
            with open(body) as f:
                doc = f.read()
            for r in c.replicas:
                wait_for(lambda: r.request(
                    "POST", "/v1/discover", doc, token=token,
                    headers={"Content-Type": "application/json"})[0] == 200,
                    30, "the token accepted by " + r.url())
            targets = {"r0": c.replicas[0].url(), "r1": c.replicas[1].url(),
                       "lb1": lb1.url(), "lb2": c.lb.url()}
            cdsd_pids = [r.proc.pid for r in c.replicas]
            nginx_pids = nginx_workers(lb1) + nginx_workers(c.lb)
            print("bench_replicas: %d rounds, wrk 2 threads x 32 connections"
                  " %d s each, %d elements per request, %d cores, load "
                  "average %.1f" % (ROUNDS, WRK_S, BATCH, os.cpu_count(),
                                    os.getloadavg()[0]))
            results = {k: [] for k in targets}
            for _ in range(ROUNDS):
                for name, url in targets.items():
                    results[name].append(measure(url, env, cdsd_pids,
                                                 nginx_pids))
            report(results)
            print("load average at the end %.1f" % os.getloadavg()[0])
        finally:
            lb1.close()


if __name__ == "__main__":
    main()
