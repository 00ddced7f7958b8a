"""replicas: cds deployed beyond one machine, for tests and benchmarks.

One real PostgreSQL (pgserver.py), N `cdsd` replicas serving from it (each
with its own data directory and free loopback port, trusting nginx's
X-Forwarded-For), and nginx in front running deploy/cds-balancer.nginx.conf.in:
TLS with a self-signed certificate made here with the openssl command,
balancing the replicas.

    with Cluster(3) as c:
        c.lb.request("GET", "/v1/health")      # https, through nginx
        c.replicas[1].request(...)             # one replica (cdstest.Server)
        c.kill(2)                              # kill -9 one replica

Invariants:
  1. Every replica's data directory comes from provision(), the one place
     that knows how a replica joins a deployment (`cdsctl join`).
  2. close() (the context manager's exit) stops nginx, every cdsd and the
     PostgreSQL server started here, and removes every directory made
     here, whatever happened before; a replica that exited other than by
     kill() or a clean SIGTERM fails it.
Standard library only.
"""
import http.client
import os
import signal
import ssl
import sys

import cdstest
import nginxutil
import pgserver

TEMPLATE = "cds-balancer.nginx.conf.in"
START_ATTEMPTS = 5  # a free port can be taken before nginx binds it


class JoinedDir(cdstest.DataDir):
    """A replica's data directory made by `cdsctl join --store URI --kek
    FIRST/keys/kek`: the KEK is the only file it shares with the first.
    Its admin token is the first's (the token's hash is in the database,
    so it works on every replica)."""

    def __init__(self, uri, first):
        super().__init__(init=False)
        self.first = first
        self.ctl("join", "--store", uri, "--kek",
                 os.path.join(first.path, "keys", "kek"))

    @property
    def admin_token(self):
        return self.first.admin_token


def provision(uri, n, prefix_bits=None):
    """n data directories (cdstest.DataDir) for replicas of the store at
    uri, as an operator makes them: the first by `cdsctl init --store
    URI`, the others by `cdsctl join` (the OPRF epochs, the gateway keys
    and the verification key are sealed in the database: no key file is
    copied).  The caller cleans the directories up."""
    first = cdstest.DataDir(prefix_bits=prefix_bits, store=uri)
    dirs = [first]
    try:
        for _ in range(n - 1):
            dirs.append(JoinedDir(uri, first))
    except BaseException:
        for dd in dirs:
            dd.cleanup()
        raise
    return dirs


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 and localhost, and its key,
    in directory; returns (certificate path, key path)."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    cdstest.run(["openssl", "req", "-x509", "-newkey", "ec",
                 "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", cert, "-days", "2",
                 "-subj", "/CN=cds test balancer",
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
    return cert, key


def balancer_conf(port, upstreams):
    """The deploy template filled in: TLS on 127.0.0.1:port, one `server`
    line per upstream ("host:port"), files relative to nginx's prefix."""
    lines = []
    for line in nginxutil.template(TEMPLATE).splitlines():
        if "@REPLICA@" in line and not line.lstrip().startswith("#"):
            lines += [line.replace("@REPLICA@", u) for u in upstreams]
        else:
            lines.append(line)
    return nginxutil.fill("\n".join(lines) + "\n", {
        "LISTEN": "127.0.0.1:%d" % port, "CERT": "cert.pem",
        "KEY": "key.pem", "ACCESS_LOG": "access.log"})


class Balancer:
    """nginx terminating TLS in front of upstreams, on a free loopback
    port.  request() speaks https to it and trusts only its certificate
    (self.cert, for clients that need the file)."""

    def __init__(self, upstreams, workers=1):
        for attempt in range(START_ATTEMPTS):
            self.nginx = nginxutil.Nginx(prefix="cds-lb-")
            try:
                self._start(upstreams, workers)
                return
            except BaseException as e:
                self.nginx.close()
                if (attempt == START_ATTEMPTS - 1 or
                        "Address already in use" not in str(e)):
                    raise

    def _start(self, upstreams, workers):
        self.port = cdstest.free_port()
        self.cert, _ = make_certificate(self.nginx.dir)
        self.tls = ssl.create_default_context(cafile=self.cert)
        self.nginx.start(balancer_conf(self.port, upstreams),
                         lambda: self.request("GET", "/v1/health")[0] == 200,
                         workers)

    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, token=None, headers=None,
                raw=False, timeout=30, source=None):
        """One request over https: see cdstest.exchange().  source: the
        loopback address to connect from (another client than 127.0.0.1)."""
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=timeout, context=self.tls,
            source_address=(source, 0) if source else None)
        return cdstest.exchange(conn, method, path, body, token, headers, raw)

    def log_lines(self):
        with open(self.nginx.path("access.log")) as f:
            return f.read().splitlines()

    def error_log(self):
        return self.nginx.error_log()

    def close(self):
        self.nginx.close()


class Cluster:
    """PostgreSQL (pg, or one started here), n replicas started with
    `cdsd FLAGS... --trusted-proxy 127.0.0.1` and a Balancer in front.

    Attributes: pg, uri (the database), dirs (cdstest.DataDir, one per
    replica), replicas (cdstest.Server), lb (Balancer)."""

    def __init__(self, n=3, flags=(), prefix_bits=6, pg=None, workers=1):
        self.own_pg = pg is None
        self.pg = pg
        self.dirs, self.replicas, self.lb = [], [], None
        self.killed = set()
        try:
            if self.own_pg:
                self.pg = pgserver.PgServer().start()
            self.uri = self.pg.new_database()
            self.dirs = provision(self.uri, n, prefix_bits)
            for dd in self.dirs:
                self.replicas.append(cdstest.Server(
                    dd, "--trusted-proxy", "127.0.0.1/32", *flags))
            self.lb = Balancer(["127.0.0.1:%d" % r.port
                                for r in self.replicas], workers)
        except BaseException:
            self.close(failed=True)
            raise

    @property
    def admin_token(self):
        return self.dirs[0].admin_token

    def kill(self, i):
        """kill -9 replica i: no drain, no goodbye to PostgreSQL."""
        self.replicas[i].proc.send_signal(signal.SIGKILL)
        self.replicas[i].proc.wait()
        self.killed.add(i)

    def close(self, failed=False):
        """Stop everything (see the module's invariant 2)."""
        errors = []
        if self.lb is not None:
            self.lb.close()
            self.lb = None
        for i, r in enumerate(self.replicas):
            try:
                r.stop(expect=None if (failed or i in self.killed) else 0)
            except AssertionError as e:
                errors.append("replica %d: %s" % (i, e))
            if failed:
                sys.stderr.write("--- replica %d stderr ---\n%s" % (
                    i, r.stderr()[-3000:]))
        self.replicas = []
        for dd in self.dirs:
            dd.cleanup()
        self.dirs = []
        if self.own_pg and self.pg is not None:
            self.pg.stop()
            self.pg = None
        if errors and not failed:
            raise AssertionError("; ".join(errors))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(failed=exc_type is not None)


def main(argv):
    """`python3 replicas.py [N]`: start a cluster, print where it is, and
    keep it up until Ctrl-C or SIGTERM (for trying things by hand)."""
    pgserver.stop_on_sigterm()
    n = int(argv[0]) if argv else 3
    with Cluster(n, flags=("--plain-lookup", "on")) as c:
        print("balancer %s (certificate %s)" % (c.lb.url(), c.lb.cert))
        for i, r in enumerate(c.replicas):
            print("replica %d %s data %s" % (i, r.url(), c.dirs[i].path))
        print("store %s; admin token %s" % (c.uri, c.admin_token), flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
