"""test_replicas: cds deployed as docs/operations.md "Deploying" says: one
real PostgreSQL, three cdsd replicas on it and nginx in front running
deploy/cds-balancer.nginx.conf.in with TLS (a self-signed certificate made
by the harness, replicas.py).  Through nginx over https: a handle added
through any one replica is answered by each of the others within 5 s,
asked directly and through nginx; a replica killed with kill -9 costs no
client request; a read-only POST in flight on a replica that dies is
answered by another one, an account creation gets 502 `unavailable`;
cdsd logs the address that connected to nginx, never one a client wrote
in X-Forwarded-For, and nginx keeps no handle in its logs or on disk;
nginx's own refusals have cdsd's error shape.  Replica data directories
are made by `cdsctl join` (replicas.provision): a key rotation (`key
rotate`, `key rotate --ohttp`) through any one directory is served by
every replica, with no file copied, and a dump of the database holds no
key in the clear; an account spreading its requests over the replicas
(directly, and through nginx, concurrently) gets its allowance once."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import pgserver  # noqa: E402
from apiutil import (create_account, lookup, metric_value,  # noqa: E402
                     metrics, phone, registered, wait_for)
from cdstest import eq  # noqa: E402
from clientutil import (add_account, by_handle, cds, cds_json,  # noqa: E402
                        new_key, write_book)
from replicas import Cluster, make_certificate  # noqa: E402

LIMIT = 5.0  # DESIGN.md: every replica sees every change within 5 s
PG = None  # the server of this file, started in __main__
PLAIN = ("--plain-lookup", "on")


def reader(c):
    """An account made by cdsctl, once every replica knows its token:
    (account, token, its handle)."""
    handle = "tel:+12015550199"
    acct, token = add_account(c.dirs[0], new_key(), handle)
    for i, r in enumerate(c.replicas):
        wait_for(lambda: lookup(r, token, [handle])[0] == 200, LIMIT,
                 "the reader's token known to replica %d" % i)
    return acct, token, handle


def everywhere(c, token, handle, want, t0, what):
    """handle's registration is `want` on every live replica, asked
    directly, within LIMIT seconds of t0, and then on every replica nginx
    picks (two rounds of the round robin).  Returns the slowest wait."""
    slowest = 0.0
    for i, r in enumerate(c.replicas):
        if i in c.killed:
            continue
        wait_for(lambda: registered(r, token, handle)[0] == want,
                 max(0.0, t0 + LIMIT - time.time()),
                 "%s on replica %d" % (what, i))
        slowest = max(slowest, time.time() - t0)
    for k in range(2 * len(c.replicas)):
        eq(registered(c.lb, token, handle)[0], want,
           "%s through nginx, request %d" % (what, k))
    return slowest


BOOK = [("Alice", "(201) 555-0123", ""), ("Bob", "+44 20 7946 0958", ""),
        ("Carol", "201-555-0147", "")]
ALICE_TEL, BOB_TEL, CAROL_TEL = ("tel:+12015550123", "tel:+442079460958",
                                 "tel:+12015550147")


def discover(c, token, book, *extra):
    """`cds --cacert CERT discover --json BOOK` through nginx: rows by
    handle."""
    rows, _ = cds_json(c.lb.url(), token, "--cacert", c.lb.cert, *extra,
                       "discover", book)
    return by_handle(rows)


def sealed_everywhere(c, done, t0, what):
    """Bucket answers come from sealed versions (DESIGN.md "Directory
    transparency"): wait until done() holds, then until every replica
    serves at least the version the sealer had then."""
    wait_for(done, max(0.0, t0 + LIMIT - time.time()), what)
    latest = max(r.request("GET", "/v1/transparency/head")[2]["version"]
                 for r in c.replicas)
    for i, r in enumerate(c.replicas):
        wait_for(lambda: r.request("GET", "/v1/transparency/head")[2][
            "version"] >= latest, max(0.0, t0 + LIMIT - time.time()),
            "%s: version %d on replica %d" % (what, latest, i))


def test_private_discovery_through_nginx():
    book = write_book(BOOK)
    other = tempfile.mkdtemp(prefix="cds-othercert-")
    try:
        with Cluster(3, flags=PLAIN, pg=PG) as c:
            _, token, _ = reader(c)
            alice_key = new_key()
            t0 = time.time()
            alice, _ = add_account(c.dirs[0], alice_key, ALICE_TEL)
            bob, _ = create_account(c.replicas[1], c.dirs[1], [BOB_TEL])
            for tel in (ALICE_TEL, BOB_TEL):
                everywhere(c, token, tel, True, t0, tel + " registered")

            def both():
                # nginx may send a bucket fetch to the sealer (version V)
                # and the head fetch to a follower not yet at V: the
                # follower answers V from the store, so the client never
                # fails while the replicas converge.
                rows = discover(c, token, book)
                return (rows[ALICE_TEL].get("account"),
                        rows[BOB_TEL].get("account")) == (alice, bob)
            sealed_everywhere(c, both, t0, "alice and bob sealed")
            # Each run's requests (evaluation, bucket fetches) are spread
            # over the replicas by nginx: all answer alike.
            for k in range(len(c.replicas)):
                rows = discover(c, token, book)
                eq(rows[ALICE_TEL].get("account"), alice, "alice, run %d" % k)
                eq(rows[ALICE_TEL]["identity_key"], alice_key, "her key")
                eq(rows[BOB_TEL].get("account"), bob, "bob, run %d" % k)
                eq(rows[CAROL_TEL]["registered"], False, "carol")
            # Without the certificate the client refuses the server.
            p = cds(c.lb.url(), token, "discover", book, check=False)
            eq(p.returncode, 1, "no --cacert: exit status")
            if "certificate" not in p.stderr:
                raise AssertionError("no word of the certificate: "
                                     + p.stderr)
            # Another self-signed certificate is no substitute.
            wrong, _ = make_certificate(other)
            p = cds(c.lb.url(), token, "--cacert", wrong, "discover", book,
                    check=False)
            eq(p.returncode, 1, "the wrong --cacert: exit status")
            # A file that is not there: a usage error naming it.
            missing = os.path.join(other, "missing.pem")
            p = cds(c.lb.url(), token, "--cacert", missing, "discover", book,
                    check=False)
            eq(p.returncode, 2, "--cacert missing: exit status")
            if missing not in p.stderr:
                raise AssertionError("message lacks the path: " + p.stderr)
    finally:
        os.unlink(book)
        shutil.rmtree(other, ignore_errors=True)


def test_change_through_one_reaches_the_others():
    with Cluster(3, flags=PLAIN, pg=PG) as c:
        _, token, _ = reader(c)
        for i, via in enumerate(c.replicas):
            handle = phone(10 + i)
            t0 = time.time()
            create_account(via, c.dirs[i], [handle])
            took = everywhere(c, token, handle, True, t0,
                              "an account made through replica %d" % i)
            sys.stdout.write("made through replica %d: on all in %.2f s\n"
                             % (i, took))
        # A change by cdsctl (no replica involved) reaches them all too.
        acct, _ = add_account(c.dirs[1], new_key(), phone(20))
        everywhere(c, token, phone(20), True, time.time(), "cdsctl add")
        t0 = time.time()
        c.dirs[2].ctl("account", "remove", acct)
        everywhere(c, token, phone(20), False, t0, "cdsctl remove")


def test_replica_killed():
    with Cluster(3, flags=PLAIN, pg=PG) as c:
        _, token, handle = reader(c)
        c.kill(2)
        dead = "127.0.0.1:%d" % c.replicas[2].port
        for k in range(30):
            eq(registered(c.lb, token, handle)[0], True,
               "lookup %d through nginx after kill -9" % k)
            eq(c.lb.request("GET", "/v1/params")[0], 200, "GET %d" % k)
        # The dead replica was tried (its address in the access log,
        # followed by the replica that answered instead), and no request
        # failed.
        tried = [ln for ln in c.lb.log_lines() if dead + ", " in ln]
        if not tried:
            raise AssertionError("nginx never tried the killed replica: %s"
                                 % "\n".join(c.lb.log_lines()[-10:]))
        failed = [ln for ln in c.lb.log_lines()
                  if ln.split()[3] not in ("200", "201")]
        eq(failed, [], "requests that failed")
        # Changes still reach the survivors, through nginx.
        create_account(c.lb, c.dirs[0], [phone(30)])
        everywhere(c, token, phone(30), True, time.time(), "a later account")
        # And the client discovers through nginx, again and again.
        book = write_book([("Reader", handle[len("tel:"):], "")])
        try:
            for k in range(3):
                rows = discover(c, token, book)
                eq(rows[handle]["registered"], True, "discovery %d" % k)
        finally:
            os.unlink(book)


def unread_bytes(port):
    """Bytes waiting unread in the TCP sockets of local port `port` (the
    connections of a stopped replica, accepted or still in its backlog)."""
    total = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port:
                total += int(cols[4].split(":")[1], 16)
    return total


def stuck_on(c, i, send):
    """Stop replica i (SIGSTOP), then start send() through nginx in a
    thread until one such request sits unread at replica i (the others
    went to the running replicas and finished).  send(k) sends the k-th
    attempt.  Returns (thread, box): box["reply"] will hold that request's
    answer, box["k"] is its k."""
    r = c.replicas[i]
    os.kill(r.proc.pid, signal.SIGSTOP)
    for attempt in range(3 * len(c.replicas)):
        box = {"k": attempt}
        t = threading.Thread(target=lambda: box.update(reply=send(box["k"])))
        t.start()
        wait_for(lambda: not t.is_alive() or unread_bytes(r.port) > 0, 30,
                 "the request answered or waiting at replica %d" % i)
        if t.is_alive():
            return t, box
        t.join()
    raise AssertionError("nginx never sent a request to replica %d" % i)


def test_post_in_flight_when_a_replica_dies():
    with Cluster(3, flags=PLAIN, pg=PG) as c:
        _, token, handle = reader(c)
        # A read-only POST: nginx sends it again to another replica.
        t, box = stuck_on(c, 2, lambda k: registered(c.lb, token, handle))
        c.kill(2)
        t.join()
        eq(box.get("reply"), (True, *registered(c.replicas[0], token,
                                                handle)[1:]),
           "lookup in flight answered by another replica")
        # An account creation (a handle of its own per attempt): not sent
        # again; the client hears 502.
        def create(k):
            return c.lb.request("POST", "/v1/accounts", {
                "identity_key": new_key(), "handles": [phone(40 + k)]},
                token=c.admin_token)
        t, box = stuck_on(c, 1, create)
        c.kill(1)
        t.join()
        st, _, err = box["reply"]
        eq(st, 502, "account creation in flight: status")
        eq(err["error"]["code"], "unavailable", "error code")
        # Nothing was made: the client's own retry, which goes to the
        # replica left, creates the account.
        st, _, doc = create(box["k"])
        eq(st, 201, "the client's retry: %r" % (doc,))


def exported_ips(c, ip):
    """Query-log records of address ip: the log is in the database, shared
    by every replica, so an export from any one DIR sees what all of them
    served (each DIR is asked, and each must say the same)."""
    counts = []
    for k, dd in enumerate(c.dirs):
        p = dd.ctl("legal", "export", "--order", "R-%d-%s" % (k, ip),
                   "--ip", ip)
        doc = json.loads(p.stdout)
        counts.append(doc["record_count"])
        for rec in doc["records"]:
            eq(rec["ip"], ip, "address in the record")
    eq(len(set(counts)), 1, "every replica's export sees the same log")
    return counts[0]


def test_client_address_from_nginx():
    flags = PLAIN + ("--log-ip", "full", "--durability", "sync")
    with Cluster(3, flags=flags, pg=PG) as c:
        _, token, handle = reader(c)
        secret = phone(4242)
        forged = {"X-Forwarded-For": "203.0.113.9"}
        for k in range(3):
            st, _, _ = c.lb.request("POST", "/v1/lookup",
                                    {"handles": [secret]}, token=token,
                                    headers=forged, source="127.0.0.2")
            eq(st, 200, "lookup from 127.0.0.2")
        eq(exported_ips(c, "127.0.0.2"), 3, "records of the real address")
        eq(exported_ips(c, "203.0.113.9"), 0, "records of the forged one")
        for root, _, files in os.walk(c.lb.nginx.dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    if secret.encode() in f.read():
                        raise AssertionError("nginx wrote a handle in "
                                             + name)


def test_refusals_of_nginx():
    with Cluster(2, pg=PG) as c:
        st, _, body = c.lb.request("POST", "/v1/discover",
                                   b"[" + b" " * (1 << 20) + b"]",
                                   headers={"Content-Type":
                                            "application/json"})
        eq((st, body["error"]["code"]), (413, "too_large"), "body over 1 MiB")
        st, _, body = c.lb.request("GET", "/metrics")
        eq((st, body["error"]["code"]), (404, "not_found"), "/metrics")
        c.kill(0)
        c.kill(1)
        st, _, body = c.lb.request("GET", "/v1/params")
        eq((st, body["error"]["code"]), (502, "unavailable"), "no replica")


def params(srv):
    st, _, body = srv.request("GET", "/v1/params")
    eq(st, 200, "params")
    return body["epoch"], body["public_key"]


def gateway_config(srv):
    st, _, body = srv.request("GET", "/v1/ohttp/keys", raw=True)
    eq(st, 200, "ohttp keys")
    return body


def check_dump(c):
    """pg_dump of the whole database: no key text, no secret line."""
    dump = subprocess.run([PG._tool("pg_dump"), "-d", c.uri],
                          capture_output=True, timeout=120)
    eq(dump.returncode, 0, "pg_dump: %r" % dump.stderr[-500:])
    for marker in (b"cds-oprf-key", b"cds-ohttp-keys", b"secret "):
        if marker in dump.stdout:
            raise AssertionError("the dump holds %r" % marker)
    if b"sealed" not in dump.stdout:
        raise AssertionError("the dump has no sealed table")


def test_key_rotation_reaches_all():
    with Cluster(3, flags=("--epoch-grace", "60"), pg=PG) as c:
        eq(len({params(r) for r in c.replicas}), 1,
           "one epoch and public key on every replica")
        eq(len({gateway_config(r) for r in c.replicas}), 1,
           "one gateway key config on every replica")
        # Rotate through the second replica's (joined) directory.
        eq(c.dirs[1].ctl("key", "rotate").stdout.strip(), "2", "new epoch")
        for i, r in enumerate(c.replicas):
            took = wait_for(lambda: params(r)[0] == 2, 30,
                            "replica %d serves epoch 2" % i)
            sys.stdout.write("replica %d on epoch 2 after %.1f s\n" % (i, took))
        eq(len({params(r) for r in c.replicas}), 1,
           "the same new public key everywhere")
        want = params(c.replicas[0])
        for _ in range(6):
            eq(params(c.lb), want, "epoch 2 through nginx, whichever "
               "replica answers")
        # Rotate the gateway key through the third.
        eq(c.dirs[2].ctl("key", "rotate", "--ohttp").stdout.strip(), "2",
           "new gateway key id")
        for i, r in enumerate(c.replicas):
            # application/ohttp-keys: a 2-byte length, then the key id
            wait_for(lambda: gateway_config(r)[2] == 2, 30,
                     "replica %d publishes gateway key 2" % i)
        eq(len({gateway_config(r) for r in c.replicas}), 1,
           "one new gateway key config")
        want = gateway_config(c.replicas[0])
        for _ in range(6):
            eq(gateway_config(c.lb), want, "gateway key 2 through nginx")
        check_dump(c)
        for d in c.dirs:
            if "epoch-2.key" in os.listdir(os.path.join(d.path, "keys")):
                raise AssertionError("a key file in " + d.path)


def wait_accounts(c, n):
    """Until every replica's mirror holds n accounts (asked through
    /metrics: a lookup would spend the allowance under test)."""
    for i, r in enumerate(c.replicas):
        wait_for(lambda: metric_value(metrics(r), "cds_index_accounts") == n,
                 LIMIT, "replica %d holds %d accounts" % (i, n))


def test_rate_limit_across_replicas():
    allowance = 12
    flags = PLAIN + ("--rate-allowance", str(allowance), "--rate-refill", "0")
    with Cluster(3, flags=flags, pg=PG) as c:
        _, token = add_account(c.dirs[0], new_key(), phone(1))
        wait_accounts(c, 1)
        granted = 0
        for i in range(3 * allowance):
            st, hdrs, body = lookup(c.replicas[i % 3], token, [phone(2)])
            if st == 200:
                granted += 1
            else:
                eq(st, 429, "over the allowance: %r" % body)
                if "retry-after" not in hdrs:
                    raise AssertionError("429 without Retry-After")
        eq(granted, allowance, "lookups granted over three replicas")
        # Through nginx, from eight threads at once: still the allowance.
        _, token = add_account(c.dirs[0], new_key(), phone(3))
        wait_accounts(c, 2)
        statuses = []

        def spend():
            for _ in range(6):
                statuses.append(lookup(c.lb, token, [phone(2)])[0])

        threads = [threading.Thread(target=spend) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        eq(sorted(set(statuses)), [200, 429], "granted, then refused")
        eq(statuses.count(200), allowance, "granted through nginx")


if __name__ == "__main__":
    pgserver.run_tests(globals())
