"""clientutil: helpers for the client's integration tests (test_client,
test_sync): running `cds`, registering accounts with `cdsctl`, reading
/metrics, and a tampering HTTP proxy that sits between cds and cdsd.
Standard library only.
"""
import base64
import http.client
import http.server
import json
import os
import re
import struct
import tempfile
import threading
import time

import cdstest


def new_key():
    return base64.b64encode(os.urandom(32)).decode()


def add_account(dd, key, *handles):
    """`cdsctl account add`; returns (account hex, token)."""
    out = dd.ctl("account", "add", "--identity-key", key, *handles).stdout
    doc = json.loads(out)
    return doc["account"], doc["token"]


def write_book(rows, suffix=".csv"):
    """A CSV address book (name,phone,email) in a temporary file."""
    fd, path = tempfile.mkstemp(prefix="cds-book-", suffix=suffix)
    with os.fdopen(fd, "w") as f:
        f.write("name,phone,email\n")
        for name, phone, email in rows:
            f.write("%s,%s,%s\n" % (name, phone or "", email or ""))
    return path


def cds(url, token, *args, cache=None, check=True, input=None):
    """Run `cds --server URL --token TOKEN [--cache F] ARGS...`."""
    argv = [cdstest.exe("cds"), "--server", url]
    if token is not None:
        argv += ["--token", token]
    if cache is not None:
        argv += ["--cache", cache]
    return cdstest.run(argv + list(args), check=check, input=input)


def cds_json(url, token, *args, cache=None):
    p = cds(url, token, *args, "--json", cache=cache)
    return json.loads(p.stdout), p.stderr


def by_handle(rows):
    return {r["handle"]: r for r in rows}


def summary(stderr):
    """Figures of the summary line cds prints on stderr."""
    m = re.search(r"(\d+) contacts, (\d+) handles, (\d+) registered; "
                  r"(\d+) OPRF evaluations, (\d+) buckets fetched, "
                  r"(\d+) not modified", stderr)
    if not m:
        raise AssertionError("no summary in stderr: %r" % stderr)
    keys = ("contacts", "handles", "registered", "oprf", "fetched",
            "not_modified")
    return dict(zip(keys, map(int, m.groups())))


def metric(srv, name):
    """Sum of a Prometheus counter (all label sets) from /metrics."""
    st, _, body = srv.request("GET", "/metrics", raw=True,
                              token=srv.datadir.metrics_token)
    cdstest.eq(st, 200, "GET /metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def until(fn, what, timeout=12.0):
    """Call fn until it returns a true value (the server applies store
    changes within 5 seconds); fail naming `what`."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError("timed out waiting for " + what)


class BackgroundServer:
    """A ThreadingHTTPServer on a free loopback port, serving `handler` (a
    BaseHTTPRequestHandler class) from a daemon thread until close()."""

    def serve(self, handler):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def hostport(self):
        return "127.0.0.1:%d" % self.httpd.server_address[1]

    def url(self):
        return "http://" + self.hostport()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Proxy(BackgroundServer):
    """Forward HTTP requests to a cdsd and let `alter` rewrite replies.

    alter(method, path, status, headers, body) returns (status, headers,
    body) or None to pass the reply through.  headers is a dict of the
    reply headers to send (Content-Length is recomputed)."""

    HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}

    def __init__(self, upstream, alter):
        self.upstream = upstream
        self.alter = alter
        self.seen = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in proxy.HOP and k.lower() != "host"}
                conn = http.client.HTTPConnection(
                    proxy.upstream.host, proxy.upstream.port, timeout=30)
                conn.request(self.command, self.path, body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                rh = {k: v for k, v in r.getheaders()
                      if k.lower() not in proxy.HOP}
                conn.close()
                proxy.seen.append((self.command, self.path))
                out = proxy.alter(self.command, self.path, r.status, rh, data)
                status, rh, data = out if out else (r.status, rh, data)
                self.send_response(status)
                for k, v in rh.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = forward

        self.serve(Handler)


def json_body(body):
    return json.loads(body.decode())


# POST /v1/buckets' binary answer (lib/core/bucketsbin.h), which `cds` asks
# for; written here from docs/api.md, independently of the C code.
BUCKETSBIN = "application/octet-stream"


def is_bucketsbin(hdrs):
    return any(k.lower() == "content-type" and v == BUCKETSBIN
               for k, v in hdrs.items())


def bucketsbin_decode(body):
    """The binary answer as the JSON answer's dict (base64 members)."""
    b64 = lambda b: base64.b64encode(b).decode()
    epoch, n = struct.unpack_from(">II", body, 0)
    off, items = 8, []
    for _ in range(n):
        prefix, kind, version, plen = struct.unpack_from(">IBQH", body, off)
        off += 15
        item = {"prefix": prefix, "version": version,
                "proof": b64(body[off:off + plen])}
        off += plen
        if kind == 1:
            item["not_modified"] = True
        else:
            tlen = body[off]
            item["etag"] = body[off + 1:off + 1 + tlen].decode()
            off += 1 + tlen
            (elen,) = struct.unpack_from(">I", body, off)
            item["entries"] = b64(body[off + 4:off + 4 + elen])
            off += 4 + elen
        items.append(item)
    if off != len(body):
        raise AssertionError("%d bytes after the last bucket" % (len(body) - off))
    return {"epoch": epoch, "buckets": items}


def bucketsbin_encode(doc):
    """The inverse of bucketsbin_decode."""
    out = [struct.pack(">II", doc["epoch"], len(doc["buckets"]))]
    for b in doc["buckets"]:
        proof = base64.b64decode(b["proof"])
        nm = b.get("not_modified", False)
        out.append(struct.pack(">IBQH", b["prefix"], 1 if nm else 0,
                               b["version"], len(proof)) + proof)
        if not nm:
            tag = b.get("etag", "").encode()
            entries = base64.b64decode(b["entries"])
            out.append(bytes([len(tag)]) + tag +
                       struct.pack(">I", len(entries)) + entries)
    return b"".join(out)


def buckets_doc(hdrs, body):
    """A POST /v1/buckets answer, binary or JSON, as the JSON dict."""
    return bucketsbin_decode(body) if is_bucketsbin(hdrs) else json_body(body)


def buckets_body(hdrs, doc):
    """doc in the representation the answer's headers name."""
    return bucketsbin_encode(doc) if is_bucketsbin(hdrs) else \
        json.dumps(doc).encode()
