"""test_client_hardening: the `cds` client's two refusals (issue 8):

- the server presenting another OPRF public key for an epoch the cache has
  pinned is a hard error that names the possible tagging, and the cache is
  left as it was (not silently started afresh);
- the account token is never sent over plain http:// to a host that is not
  loopback, unless --insecure-http is given (checked with a real receiver
  on this machine's non-loopback address, when it has one)."""
import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import cdstest  # noqa: E402
from cdstest import eq  # noqa: E402
from clientutil import (Proxy, add_account, cds, metric,  # noqa: E402
                        new_key, summary, write_book)


def other_public_key():
    """A valid ristretto255 point that is not the server's key: the RFC
    9497 vectors' server public key."""
    with open(os.path.join(cdstest.DATA, "vectors",
                           "rfc9497_ristretto255_sha512.json")) as f:
        pk = json.load(f)["VOPRF"]["pkSm"]
    return base64.b64encode(bytes.fromhex(pk)).decode()


def test_same_epoch_key_change_is_tagging_error():
    dd = cdstest.DataDir(prefix_bits=4)
    book = write_book([("Alice", "(201) 555-0123", "")])
    try:
        add_account(dd, new_key(), "tel:+12015550123")
        _, token = add_account(dd, new_key(), "tel:+12015550199")
        cache = os.path.join(dd.path, "cache.sqlite3")
        tag = {"on": False}

        def alter(method, path, status, headers, body):
            if not tag["on"] or not path.startswith("/v1/params"):
                return None
            doc = json.loads(body)
            doc["public_key"] = other_public_key()
            return status, headers, json.dumps(doc).encode()

        with cdstest.Server(dd) as srv, Proxy(srv, alter) as px:
            p = cds(px.url(), token, "sync", book, cache=cache)
            eq(summary(p.stderr)["oprf"], 1, "first sync evaluates")
            tag["on"] = True
            p = cds(px.url(), token, "sync", book, cache=cache, check=False)
            eq(p.returncode, 1, "exit code")
            for w in ("tagging", "epoch 1"):
                if w not in p.stderr:
                    raise AssertionError("stderr %r lacks %r" % (p.stderr, w))
            tag["on"] = False
            p = cds(px.url(), token, "sync", book, cache=cache)
            eq(summary(p.stderr)["oprf"], 0, "the cache was kept")
            if "afresh" in p.stderr:
                raise AssertionError("cache restarted: " + p.stderr)
    finally:
        os.unlink(book)
        dd.cleanup()


def local_non_loopback_ipv4():
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        addr = line.split()[3].split("/")[0]
        if not addr.startswith("127."):
            return addr
    return None


def params_requests(srv):
    """GET /v1/params requests served: the first thing cds asks."""
    st, _, body = srv.request("GET", "/metrics", raw=True,
                              token=srv.datadir.metrics_token)
    eq(st, 200, "metrics")
    return sum(float(line.rsplit(" ", 1)[1])
               for line in body.decode().splitlines()
               if line.startswith('cds_http_requests_total{endpoint="params"'))


def test_no_token_over_cleartext_to_remote_host():
    book = write_book([("Alice", "(201) 555-0123", "")])
    try:
        for url in ["http://192.0.2.77:9", "http://[2001:db8::1]:9",
                    "http://example.org", "http://user@10.0.0.1/"]:
            p = cds(url, "x.secret", "discover", book, check=False)
            eq(p.returncode, 2, "refused: " + url)
            if "in clear" not in p.stderr or "--insecure-http" not in p.stderr:
                raise AssertionError(p.stderr)
        # Without a token nothing secret is at stake: no refusal.
        p = cds("http://192.0.2.77:9", None, "discover", book, check=False)
        if "in clear" in p.stderr:
            raise AssertionError("refused without a token: " + p.stderr)
        addr = local_non_loopback_ipv4()
        if addr is None:
            print("(no non-loopback address: server part skipped)")
            return
        # A real cdsd on all interfaces, reached by a non-loopback address.
        dd = cdstest.DataDir(prefix_bits=4)
        try:
            _, token = add_account(dd, new_key(), "tel:+12015550199")
            port = cdstest.free_port()
            srv = cdstest.Server(dd, "--listen", "0.0.0.0:%d" % port,
                                 wait=False)
            srv.port = port
            srv.wait_ready()
            with srv:
                url = "http://%s:%d" % (addr, port)
                p = cds(url, token, "discover", book, check=False)
                eq(p.returncode, 2, "refused: " + p.stderr)
                eq(params_requests(srv), 0, "nothing reached the server")
                p = cdstest.run([cdstest.exe("cds"), "--server", url,
                                 "--token", token, "--insecure-http",
                                 "discover", book], check=False)
                eq(p.returncode, 0, "allowed: " + p.stderr)
                if metric(srv, "cds_oprf_elements_evaluated_total") != 1:
                    raise AssertionError("no authenticated discovery")
        finally:
            dd.cleanup()
    finally:
        os.unlink(book)


def test_loopback_http_allowed():
    dd = cdstest.DataDir(prefix_bits=4)
    book = write_book([("Alice", "(201) 555-0123", "")])
    try:
        _, token = add_account(dd, new_key(), "tel:+12015550199")
        with cdstest.Server(dd) as srv:
            for host in ("127.0.0.1", "localhost"):
                p = cds("http://%s:%d" % (host, srv.port), token, "discover",
                        book, check=False)
                eq(p.returncode, 0, host + ": " + p.stderr)
    finally:
        os.unlink(book)
        dd.cleanup()


cdstest.main(globals())
