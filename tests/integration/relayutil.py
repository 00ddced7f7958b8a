"""relayutil: Oblivious HTTP helpers for the integration tests: a real nginx
relay configured from deploy/ohttp-relay.nginx.conf.in, and a recording
HTTP server (to see what a relay forwards, or to capture encapsulated
requests).  Standard library only.
"""
import http.client
import http.server

import cdstest
import nginxutil
from clientutil import BackgroundServer


class NginxRelay:
    """nginx running the project's relay configuration in front of
    upstream ("host:port"), on a free loopback port, in a temporary
    directory.  url() is the relay resource a client is given."""

    def __init__(self, upstream):
        self.port = cdstest.free_port()
        conf = nginxutil.fill(
            nginxutil.template("ohttp-relay.nginx.conf.in"),
            {"RELAY_LISTEN": "127.0.0.1:%d" % self.port,
             "GATEWAY_SCHEME": "http", "GATEWAY": upstream,
             "ACCESS_LOG": "access.log"})
        self.nginx = nginxutil.Nginx(prefix="cds-relay-")
        self.dir = self.nginx.dir
        self.access_log = self.nginx.path("access.log")
        try:
            self.nginx.start(conf, lambda: self.request("GET", "/")[0] == 404)
        except BaseException:
            self.nginx.close()
            raise

    def error_log(self):
        return self.nginx.error_log()

    def log_lines(self):
        with open(self.access_log) as f:
            return f.read().splitlines()

    def url(self):
        return "http://127.0.0.1:%d/ohttp" % self.port

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def close(self):
        self.nginx.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Recorder(BackgroundServer):
    """An HTTP server that records every request (method, path, headers,
    body).  With upstream (a cdstest.Server) it acts as a minimal relay:
    GET goes to /v1/ohttp/keys, POST to /v1/ohttp; without, it answers 200
    with an empty body.  keys: a list of bodies to answer GETs with instead,
    one per GET, the last one for good (a relay that hands out a key
    configuration of its own, or a stale one)."""

    def __init__(self, upstream=None, keys=None):
        self.seen = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                rec.seen.append((self.command, self.path,
                                 dict(self.headers.items()), body))
                status, ctype, data = 200, "text/plain", b""
                if keys is not None and self.command == "GET":
                    data = keys.pop(0) if len(keys) > 1 else keys[0]
                    status, ctype = 200, "application/ohttp-keys"
                elif upstream is not None:
                    path = ("/v1/ohttp/keys" if self.command == "GET"
                            else "/v1/ohttp")
                    hdrs = {"Content-Type": self.headers.get(
                        "Content-Type", "")} if body else {}
                    status, h, data = upstream.request(
                        self.command, path, body=body or None,
                        headers=hdrs, raw=True)
                    ctype = h.get("content-type", "")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = handle_one

        self.serve(Handler)

    def url(self):
        return "http://%s/ohttp" % self.hostport()
