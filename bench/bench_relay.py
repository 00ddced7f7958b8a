#!/usr/bin/env python3
"""bench_relay.py: Oblivious HTTP end to end, side by side with the direct
path, in one run (DESIGN.md "Figures": through a relay at most 1.25x).

    python3 bench/bench_relay.py [N] [PAIRS] [WRK_SECONDS]

Makes a data directory with `cdsctl synth --count N` (default 100,000),
starts cdsd (rate limits out of the way) and an nginx relay configured from
deploy/ohttp-relay.nginx.conf.in, then:

 1. gateway throughput: wrk (2 threads, 32 connections, WRK_SECONDS each,
    default 3) on GET /v1/buckets/P?epoch=E direct, and on POST /v1/ohttp
    carrying the same fetch encapsulated (replayed; `bench_ohttp --seal`);
 2. a 1,000-contact private discovery (500 registered, 500 not) with
    `cds discover`, direct and with --relay;
 3. an unchanged `cds sync` of the same book (caches filled first), direct
    and with --relay.

Each comparison runs as PAIRS interleaved pairs (direct, relay, direct,
relay..., default 5) and prints best and median of each and the ratio of
the medians.  For the discovery and the sync it also prints where the
time goes: the median CPU time (user + system) and minor page faults per
run of each process, the client (`cds`), cdsd and the nginx worker, from
getrusage and /proc.  Everything it starts it stops.  BUILD=build by
default.
"""
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

# the relay exactly as the integration tests run it (deploy/ config)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
import cdstest  # noqa: E402
from relayutil import NginxRelay  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
PAIRS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
WRK_S = int(sys.argv[3]) if len(sys.argv) > 3 else 3
procs = []


def run(*args, env=None):
    return cdstest.run(list(args), env=env)


def wait_http(url, status=200, timeout=600, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit("bench_relay: the server exited %d" %
                             proc.returncode)
        try:
            with urllib.request.urlopen(url) as r:
                if r.status == status:
                    return
        except urllib.error.HTTPError as e:
            if e.code == status:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("bench_relay: %s not up" % url)


def start(args, **kw):
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, **kw)
    procs.append(p)
    return p


def wrk(script, url, env):
    out = run("wrk", "-t2", "-c32", "-d%ds" % WRK_S, "-s",
              os.path.join(ROOT, "bench", "wrk", script), url,
              env=dict(os.environ, CDS_WRK_DIR=os.path.join(ROOT, "bench",
                                                           "wrk"), **env))
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("CDS ")][0]
    kv = dict(f.split("=") for f in line.split()[1:])
    if int(kv["errors"]):
        raise SystemExit("bench_relay: wrk errors: " + line)
    return float(kv["rps"])


def pairs(label, unit, a, b, higher_better=False, names=("direct", "relay")):
    """PAIRS interleaved runs of a() and b(); print best, median, ratio."""
    xs, ys = [], []
    for _ in range(PAIRS):
        xs.append(a())
        ys.append(b())
    best = max if higher_better else min
    mx, my = statistics.median(xs), statistics.median(ys)
    print("%-38s %s best %9.1f median %9.1f | %s best %9.1f "
          "median %9.1f %s | %s/%s %.2fx"
          % (label, names[0], best(xs), mx, names[1], best(ys), my, unit,
             names[1], names[0], my / mx))
    return xs, ys


def proc_usage(pid):
    """(CPU ms, minor page faults) of a live process so far, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return ((int(fields[11]) + int(fields[12])) * 1000.0 / tick,
            int(fields[7]))


def child_usage():
    """(CPU ms, minor page faults) of our finished children so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000.0, r.ru_minflt


class Costs:
    """Per-run CPU and page faults of the client, cdsd and nginx's worker,
    kept per label ("direct", "relay") for cost_table()."""

    def __init__(self, srv_pid, nginx_pid):
        self.pids = {"cdsd": srv_pid, "nginx": nginx_pid}
        self.runs = {}

    def timed(self, label, argv):
        before = {n: proc_usage(p) for n, p in self.pids.items()}
        before["cds"] = child_usage()
        t0 = time.monotonic()
        run(*argv)
        ms = (time.monotonic() - t0) * 1000
        after = {n: proc_usage(p) for n, p in self.pids.items()}
        after["cds"] = child_usage()
        self.runs.setdefault(label, []).append(
            {n: (after[n][0] - before[n][0], after[n][1] - before[n][1])
             for n in after})
        return ms

    def table(self, what):
        for label, runs in self.runs.items():
            print("  %-7s %-6s" % (what, label) + "".join(
                " | %s %6.1f ms CPU %6d faults" % (
                    n, statistics.median(r[n][0] for r in runs),
                    statistics.median(r[n][1] for r in runs))
                for n in ("cds", "cdsd", "nginx")))
        self.runs = {}


def nginx_worker(master):
    """The pid of nginx's (one) worker process."""
    with open("/proc/%d/task/%d/children" % (master, master)) as f:
        return int(f.read().split()[0])


def make_book(work, handles_file):
    reg = [ln.strip() for ln in open(handles_file)][:500]
    known = set(reg)
    rnd = random.Random(7)
    unreg = []
    while len(unreg) < 500:
        h = "tel:+1201%d%06d" % (rnd.randrange(2, 10), rnd.randrange(10 ** 6))
        if h not in known:
            unreg.append(h)
            known.add(h)
    path = os.path.join(work, "book.csv")
    with open(path, "w") as f:
        f.write("name,phone\n")
        for i, h in enumerate(reg + unreg):
            f.write("c%d,%s\n" % (i, h[4:]))
    return path


def main():
    work = tempfile.mkdtemp(prefix="cds-bench-relay-")
    nginx = None
    data = os.path.join(work, "data")
    ctl = os.path.join(BUILD, "cdsctl")
    try:
        run(ctl, "--data", data, "init", "--expected-handles", str(N))
        print("bench_relay: registering %d synthetic accounts..." % N,
              file=sys.stderr)
        run(ctl, "--data", data, "synth", "--count", str(N), "--out",
            os.path.join(work, "handles.txt"))
        token = json.loads(run(ctl, "--data", data, "account", "add",
                               "--identity-key", "A" * 43 + "=",
                               "mailto:bench@example.org").stdout)["token"]
        port = cdstest.free_port()
        url = "http://127.0.0.1:%d" % port
        srv = start([os.path.join(BUILD, "cdsd"), "--data", data, "--listen",
               "127.0.0.1:%d" % port, "--threads", "2", "--rate-allowance",
               "1e15", "--bucket-bytes-per-ip", "0", "--quiet"])
        wait_http(url + "/v1/health", proc=srv)
        nginx = NginxRelay("127.0.0.1:%d" % port)
        relay = nginx.url()
        params = json.loads(urllib.request.urlopen(url + "/v1/params").read())
        keys = os.path.join(work, "keys.bin")
        with open(keys, "wb") as f:
            f.write(urllib.request.urlopen(url + "/v1/ohttp/keys").read())
        path = "/v1/buckets/%d?epoch=%d" % (
            random.Random(3).randrange(1 << params["prefix_bits"]),
            params["epoch"])
        req = os.path.join(work, "req.bin")
        with open(req, "wb") as f:
            f.write(subprocess.run(
                [os.path.join(BUILD, "bench", "bench_ohttp"), "--seal", keys,
                 path], check=True, capture_output=True).stdout)
        print("bench_relay: %d handles, prefix bits %d, %d interleaved pairs,"
              " wrk 2 threads x 32 connections %d s each"
              % (N, params["prefix_bits"], PAIRS, WRK_S))
        pairs("bucket fetch: GET vs POST /v1/ohttp", "req/s",
              lambda: wrk("get_path.lua", url, {"CDS_PATH": path}),
              lambda: wrk("ohttp.lua", url, {"CDS_OHTTP_REQ": req}),
              higher_better=True, names=("GET", "ohttp"))
        book = make_book(work, os.path.join(work, "handles.txt"))
        cds = [os.path.join(BUILD, "cds"), "--server", url, "--token", token]
        via = cds[:3] + ["--relay", relay] + cds[3:]
        costs = Costs(srv.pid, nginx_worker(nginx.nginx.proc.pid))
        pairs("1,000-contact private discovery", "ms",
              lambda: costs.timed("direct", cds + ["discover", "--json",
                                                   book]),
              lambda: costs.timed("relay", via + ["discover", "--json",
                                                  book]))
        costs.table("discover")
        cd, cr = os.path.join(work, "cd.sqlite3"), os.path.join(work, "cr.sqlite3")
        run(*(cds + ["--cache", cd, "sync", "--json", book]))
        run(*(via + ["--cache", cr, "sync", "--json", book]))
        pairs("unchanged sync of 1,000 contacts", "ms",
              lambda: costs.timed("direct", cds + ["--cache", cd, "sync",
                                                   "--json", book]),
              lambda: costs.timed("relay", via + ["--cache", cr, "sync",
                                                  "--json", book]))
        costs.table("sync")
    finally:
        if nginx:
            nginx.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
