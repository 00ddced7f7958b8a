"""test_ohttp: Oblivious HTTP (RFC 9458) end to end: `cds --relay` through a
real nginx relay (configured from deploy/ohttp-relay.nginx.conf.in) to a
real cdsd answers discover and sync exactly as directly, spends no OPRF on
an unchanged re-check, leaves no address in the query log (via 'ohttp')
and no handle, element or bucket in nginx's log; the relay forwards no
client-identifying header; the gateway refuses unknown key ids, flipped
ciphertext bytes, other AEAD ids and other media types, with one answer
for every cause; keys rotate with a grace period; a relay that hands out a
key configuration other than the server's published one is refused."""
import base64
import glob
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from cdstest import eq  # noqa: E402
from clientutil import (add_account, by_handle, cds, new_key,  # noqa: E402
                        summary, until)
from relayutil import NginxRelay, Recorder  # noqa: E402
from test_sync import ALICE_TEL, BOB_TEL, CAROL_TEL, HANDLES, World  # noqa

KEY_PROBLEM = "https://iana.org/assignments/http-problem-types#ohttp-key"


def run_json(w, relay, cmd, cache=None):
    """`cds [--relay R] CMD --json BOOK`: (rows by handle, summary)."""
    extra = ["--relay", relay] if relay else []
    p = cds(w.srv.url(), w.token, *extra, cmd, "--json", w.book, cache=cache)
    return by_handle(cdstest.json.loads(p.stdout)), summary(p.stderr)


def log_rows(dd):
    """Every query-log record: (endpoint, ip, ip_bits, via, account)."""
    rows = []
    for f in sorted(glob.glob(os.path.join(dd.path, "querylog", "*.sqlite3"))):
        db = sqlite3.connect("file:%s?mode=ro" % f, uri=True)
        try:
            rows += db.execute("SELECT endpoint, ip, ip_bits, via, account"
                               " FROM records ORDER BY id").fetchall()
        finally:
            db.close()
    return rows


def relay_log_clean(relay, secrets):
    """nginx's access log: only our format, only /ohttp (and the readiness
    probe's /), no secret text."""
    line_re = re.compile(r"^127\.0\.0\.1 \[[^\]]+\] (GET|POST) /(ohttp)? "
                         r"\d{3} \d+ \d+ [0-9.]+$")
    lines = relay.log_lines()
    if not lines:
        raise AssertionError("nginx logged nothing")
    for ln in lines:
        if not line_re.match(ln):
            raise AssertionError("unexpected relay log line: %r" % ln)
        for s in secrets:
            if s in ln:
                raise AssertionError("relay log holds %r: %r" % (s, ln))


def test_discover_through_nginx_relay():
    with World() as w, NginxRelay("127.0.0.1:%d" % w.srv.port) as relay:
        direct, s_direct = run_json(w, None, "discover")
        via, s_via = run_json(w, relay.url(), "discover")
        eq(via, direct, "same answers through the relay")
        eq(via[ALICE_TEL]["account"], w.alice, "alice registered")
        eq(via[CAROL_TEL]["registered"], False, "carol unregistered")
        eq((s_via["oprf"], s_via["registered"]),
           (s_direct["oprf"], s_direct["registered"]), "same costs")
        def gateway_rows():
            rows = [r for r in log_rows(w.dd) if r[3] == "ohttp"]
            eps = {r[0] for r in rows}
            return rows if {"discover", "params"} <= eps else None
        rows = until(gateway_rows, "discover and params logged via gateway")
        for ep, ip, bits, _, _ in rows:
            eq((ip, bits), (None, 0), "no address for %s via gateway" % ep)
        # the log commits in order: the direct run's records are in too
        direct_rows = [r for r in log_rows(w.dd) if r[3] is None]
        for r in direct_rows:
            if r[1] is None:
                raise AssertionError("a direct record lost its address")
        acct = [r[4] for r in direct_rows if r[0] == "discover"]
        eq(len(acct), 1, "one direct discover record")
        disc = [r for r in rows if r[0] == "discover"]
        eq(disc[0][4], acct[0], "the account is still known to the server")
        relay_log_clean(relay, [h.split(":")[1].lstrip("+")
                                for h in (ALICE_TEL, BOB_TEL, CAROL_TEL)] +
                        ["tel", "mailto", "bucket", "/v1/", w.token])


def test_sync_through_nginx_relay():
    with World() as w, NginxRelay("127.0.0.1:%d" % w.srv.port) as relay:
        direct_cache = w.cache + ".direct"
        relay_cache = w.cache + ".relay"
        direct, s1 = run_json(w, None, "sync", cache=direct_cache)
        via, s2 = run_json(w, relay.url(), "sync", cache=relay_cache)
        eq(via, direct, "first sync: same answers")
        eq(s2["oprf"], HANDLES, "first sync through the relay: one each")
        again, s3 = run_json(w, relay.url(), "sync", cache=relay_cache)
        eq(again, via, "unchanged")
        eq(s3["oprf"], 0, "unchanged re-check spends no OPRF")
        if s3["not_modified"] < 1:
            raise AssertionError("no 304s through the relay: %r" % s3)
        carol, _ = add_account(w.dd, new_key(), CAROL_TEL)
        w.dd.ctl("account", "remove", w.bob)

        def changed():
            rows, _ = run_json(w, relay.url(), "sync", cache=relay_cache)
            return rows if rows[CAROL_TEL]["registered"] and \
                not rows[BOB_TEL]["registered"] else None
        rows = until(changed, "changes seen through the relay")
        eq(rows[CAROL_TEL]["account"], carol, "carol's account")
        direct2, _ = run_json(w, None, "sync", cache=direct_cache)
        eq(rows, direct2, "changed contacts: same answers as directly")


def test_large_discovery_through_nginx_relay():
    """600 contacts: request and reply bodies well past nginx's default
    in-memory buffers, which the relay must still never spill to disk."""
    with World("--rate-allowance", "100000") as w, \
            NginxRelay("127.0.0.1:%d" % w.srv.port) as relay:
        with open(w.book, "a") as f:
            for i in range(600):
                f.write("n%d,+1201%d%06d,\n" % (i, 2 + i % 8, 100000 + i))
        direct, _ = run_json(w, None, "discover")
        via, s = run_json(w, relay.url(), "discover")
        eq(via, direct, "same answers through the relay")
        if s["oprf"] < 600:
            raise AssertionError("not a large request: %r" % s)
        tmp = [os.path.join(dp, f) for dp, _, fs in os.walk(relay.dir)
               for f in fs if os.sep + "body" in dp or os.sep + "proxy" in dp]
        eq(tmp, [], "no temporary body files on the relay")


def test_key_check_costs_one_round_trip():
    """The key configuration is fetched once and checked with the
    discovery's own GET /v1/params (its answer serves both): through a
    relay a discovery sends what it sends directly, every request
    encapsulated, plus the one key fetch."""
    with World() as w:
        p = cds(w.srv.url(), w.token, "discover", "--json", w.book)
        m = re.search(r"in (\d+) requests", p.stderr)
        if not m:
            raise AssertionError("no request count: %r" % p.stderr)
        with Recorder(upstream=w.srv) as rec:
            run_json(w, rec.url(), "discover")
            seen = [(m, p) for m, p, _, _ in rec.seen]
        eq(seen[0], ("GET", "/ohttp"), "the key configuration first")
        eq(seen[1:], [("POST", "/ohttp")] * int(m.group(1)),
           "then the direct run's requests, each encapsulated")


def test_relay_forwards_no_client_header():
    with Recorder() as gw, NginxRelay(gw.hostport()) as relay:
        spy = {"X-Forwarded-For": "198.51.100.7",
               "Forwarded": "for=198.51.100.7", "Via": "1.1 spy",
               "User-Agent": "identifying-agent/1.0", "Cookie": "id=42",
               "X-Real-IP": "198.51.100.7",
               "Content-Type": "message/ohttp-req"}
        st, _, _ = relay.request("POST", "/ohttp", body=b"\x01" * 80,
                                 headers=spy)
        eq(st, 200, "relay forwards an encapsulated request")
        st, _, _ = relay.request("GET", "/ohttp", headers=spy)
        eq(st, 200, "relay forwards the key fetch")
        eq([(m, p) for m, p, _, _ in gw.seen],
           [("POST", "/v1/ohttp"), ("GET", "/v1/ohttp/keys")], "paths")
        eq(gw.seen[0][3], b"\x01" * 80, "body passed unchanged")
        allowed = {"host", "connection", "content-type", "content-length",
                   "accept"}
        for _, _, hdrs, _ in gw.seen:
            extra = {k.lower() for k in hdrs} - allowed
            eq(extra, set(), "headers the gateway got beyond the media type")
            for v in hdrs.values():
                if "198.51.100.7" in v or "spy" in v or "identifying" in v:
                    raise AssertionError("client detail forwarded: %r" % v)
        n = len(gw.seen)
        st, _, _ = relay.request("POST", "/ohttp", body=b"{}",
                                 headers={"Content-Type": "application/json"})
        eq(st, 415, "other media types refused by the relay")
        st, _, _ = relay.request("PUT", "/ohttp", body=b"x",
                                 headers={"Content-Type": "message/ohttp-req"})
        eq(st, 415, "other methods refused by the relay")
        st, _, _ = relay.request("GET", "/v1/params")
        eq(st, 404, "no other path")
        eq(len(gw.seen), n, "nothing refused reached the gateway")


def captured_request(w):
    """A real encapsulated request of `cds --relay`, captured by a relay."""
    with Recorder(upstream=w.srv) as rec:
        run_json(w, rec.url(), "discover")
        posts = [b for m, _, _, b in rec.seen if m == "POST"]
    if not posts:
        raise AssertionError("no encapsulated request captured")
    return posts[-1]


def post_ohttp(w, body, ctype="message/ohttp-req"):
    return w.srv.request("POST", "/v1/ohttp", body=body,
                         headers={"Content-Type": ctype} if ctype else {},
                         raw=True)


def declared_too_large(w):
    """Status of a POST /v1/ohttp declaring 64 MiB (the body is never
    sent: the server answers from the headers and closes)."""
    conn = cdstest.http.client.HTTPConnection(w.srv.host, w.srv.port,
                                              timeout=30)
    try:
        conn.putrequest("POST", "/v1/ohttp")
        conn.putheader("Content-Type", "message/ohttp-req")
        conn.putheader("Content-Length", str(64 << 20))
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_gateway_refusals():
    with World() as w:
        req = captured_request(w)
        st, h, body = post_ohttp(w, req)
        eq((st, h["content-type"]), (200, "message/ohttp-res"),
           "a captured request replays (RFC 9458 §6.5; see threat model)")
        problems = []
        bad = {
            "unknown key id": bytes([req[0] ^ 0x55]) + req[1:],
            "flipped ciphertext byte": req[:-1] + bytes([req[-1] ^ 1]),
            "flipped enc byte": req[:10] + bytes([req[10] ^ 1]) + req[11:],
            "other AEAD id": req[:6] + bytes([req[6] ^ 2]) + req[7:],
            "unsupported AEAD id": req[:5] + b"\x00\x02" + req[7:],
            "other KEM": req[:1] + b"\x00\x21" + req[3:],
            "truncated": req[:20],
            "empty": b"",
        }
        for what, b in bad.items():
            st, h, body = post_ohttp(w, b)
            eq(st, 400, what)
            eq(h["content-type"], "application/problem+json", what)
            doc = cdstest.json.loads(body)
            eq(doc["type"], KEY_PROBLEM, what + ": problem type")
            eq(doc["error"]["code"], "ohttp_key", what + ": error code")
            problems.append(body)
        eq(len(set(problems)), 1, "one answer whatever the cause")
        st, _, _ = post_ohttp(w, req, ctype="application/json")
        eq(st, 415, "JSON to the gateway")
        st, _, _ = post_ohttp(w, req, ctype=None)
        eq(st, 415, "no media type")
        st, _, _ = w.srv.request("GET", "/v1/ohttp")
        eq(st, 405, "GET on the gateway")
        eq(declared_too_large(w), 413, "over the body limit")
        rows = until(lambda: [r for r in log_rows(w.dd) if r[0] == "ohttp"],
                     "refusals logged")
        for ep, ip, bits, via, acct in rows:
            eq((ip, bits, via, acct), (None, 0, "ohttp", None),
               "a refused gateway request: no address, no account")


def test_keys_published_and_rotated():
    with World() as w:
        st, h, keys = w.srv.request("GET", "/v1/ohttp/keys", raw=True)
        eq((st, h["content-type"]), (200, "application/ohttp-keys"), "keys")
        eq(keys[2], 1, "first key id")
        st, _, wk = w.srv.request("GET", "/.well-known/ohttp-gateway",
                                  raw=True)
        eq((st, wk), (200, keys), "well-known location")
        p = w.srv.request("GET", "/v1/params")[2]
        eq(base64.b64decode(p["ohttp_keys"]), keys, "params publish them")
        old = captured_request(w)
        path = os.path.join(w.dd.path, "keys", "ohttp-gateway.keys")
        eq(os.stat(path).st_mode & 0o777, 0o600, "key file mode")
        out = w.dd.ctl("key", "rotate", "--ohttp").stdout.strip()
        eq(out, "2", "new key id printed")
        until(lambda: w.srv.request("GET", "/v1/ohttp/keys",
                                    raw=True)[2][2] == 2, "new key served")
        eq(post_ohttp(w, old)[0], 200, "the old key decrypts in its grace")
        lines = w.dd.ctl("key", "list", "--ohttp").stdout.splitlines()
        eq([ln.split()[3] for ln in lines], ["2", "1"], "key list --ohttp")
        if "(current)" not in lines[0] or "retired 20" not in lines[1]:
            raise AssertionError("key list --ohttp states: %r" % lines)
        rows, _ = run_json(w, None, "discover")
        via, _ = run_json(w, captured_url(w), "discover")
        eq(via, rows, "clients use the new key")
        p = w.dd.ctl("key", "rotate", "--bogus", check=False)
        eq(p.returncode, 2, "unknown rotate option is a usage error")


def captured_url(w):
    """A fresh recording relay in front of w (closed at exit)."""
    rec = Recorder(upstream=w.srv)
    w_relays.append(rec)
    return rec.url()


w_relays = []


def test_stale_key_config_refetched():
    """A config the gateway no longer has (rotated past its grace): the
    client gets 400, fetches the configuration again, and goes on."""
    with World() as w:
        keys = w.srv.request("GET", "/v1/ohttp/keys", raw=True)[2]
        stale = keys[:2] + bytes([keys[2] ^ 0x80]) + keys[3:]
        direct, _ = run_json(w, None, "discover")
        with Recorder(upstream=w.srv, keys=[stale, keys]) as rec:
            via, _ = run_json(w, rec.url(), "discover")
            gets = [m for m, _, _, _ in rec.seen if m == "GET"]
        eq(via, direct, "answers after the refetch")
        eq(len(gets), 2, "the configuration fetched twice")


def test_relay_with_its_own_key_config_refused():
    with World() as w:
        keys = w.srv.request("GET", "/v1/ohttp/keys", raw=True)[2]
        # The real config first (so requests decrypt), then one more: not
        # what the server publishes.
        other = keys + bytes([0, 5, 9, 0, 0x10, 0xab, 0xcd])
        with Recorder(upstream=w.srv, keys=[other]) as rec:
            p = cds(w.srv.url(), w.token, "--relay", rec.url(), "discover",
                    w.book, check=False)
        eq(p.returncode, 1, "refused")
        if "differs from the one the server publishes" not in p.stderr:
            raise AssertionError("no key mismatch message: " + p.stderr)
        p = cds(w.srv.url(), w.token, "--relay", "ftp://x", "discover",
                w.book, check=False)
        eq(p.returncode, 2, "a relay URL that is not http(s) is a usage error")


if __name__ == "__main__":
    try:
        cdstest.main(globals())
    finally:
        for r in w_relays:
            r.close()
