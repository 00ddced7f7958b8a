"""pgserver: a throwaway PostgreSQL server for tests and benchmarks.

PgServer runs Debian's PostgreSQL binaries (the newest version under
/usr/lib/postgresql/*/bin, or the ones on PATH) on a cluster of its own:
`initdb` into a fresh temporary directory, `postgres` listening on a free
loopback port with its socket in that directory, trust authentication for
the one role `cds`.  It never touches a system cluster.  PostgreSQL refuses
to run as root, so as root the server runs as the `postgres` user (Debian's
package creates it) through runuser.

Used two ways:
  - from Python: `with PgServer() as pg: uri = pg.new_database()`;
  - as a wrapper for a program (meson test entries of the unit tests, and
    the import benchmark): `python3 pgserver.py [--durable] -- CMD ARGS...`
    starts a server, creates database cds_test, runs CMD with CDS_TEST_PG
    set to its libpq URI, stops the server and exits with CMD's status.

Invariant: the server is stopped and its directory removed on every way
out (exception, SIGTERM from a test runner's timeout, failing command).
"""
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdstest  # noqa: E402
from cdstest import free_port  # noqa: E402

ROLE = "cds"
START_ATTEMPTS = 5  # a free port can be taken before the server binds it


def bin_dir():
    """The bin directory of the newest installed PostgreSQL."""
    def version(path):
        m = re.search(r"/postgresql/(\d+)/bin$", path)
        return int(m.group(1)) if m else -1
    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
            if os.path.exists(os.path.join(d, "initdb"))]
    if dirs:
        return max(dirs, key=version)
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    raise RuntimeError("PostgreSQL server binaries not found "
                       "(install Debian's postgresql: make deps)")


class PgServer:
    """A private PostgreSQL cluster; a context manager."""

    def __init__(self, durable=False):
        # durable=False turns fsync off: tests need no crash safety, and
        # the shared machine is spared the flushes.  Benchmarks keep it on.
        self.durable = durable
        self.bin = bin_dir()
        self.dir = None
        self.port = None
        self.user = None
        self.n_db = 0

    def _as_owner(self, args):
        if self.user is None:
            return args
        return ["runuser", "-u", self.user, "--"] + args

    def _run(self, args, check=True):
        p = subprocess.run(self._as_owner(args), capture_output=True,
                           text=True, timeout=300)
        if check and p.returncode != 0:
            raise RuntimeError("%s exited %d: %s%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def _tool(self, name):
        return os.path.join(self.bin, name)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="cds-pg-")
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        try:
            self._run([self._tool("initdb"), "-D", self.data, "-U", ROLE,
                       "-A", "trust", "-E", "UTF8", "--locale=C",
                       "--no-sync"])
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def _start_server(self):
        """pg_ctl -w returns once the server accepts connections."""
        opts = "-k %s -h 127.0.0.1 -c fsync=%s -c max_connections=200" % (
            self.dir, "on" if self.durable else "off")
        for attempt in range(START_ATTEMPTS):
            self.port = free_port()
            p = self._run([self._tool("pg_ctl"), "-D", self.data, "-w",
                           "-t", "120", "-l", os.path.join(self.dir, "log"),
                           "-o", "%s -p %d" % (opts, self.port), "start"],
                          check=False)
            if p.returncode == 0:
                self._run([self._tool("pg_isready"), "-h", "127.0.0.1",
                           "-p", str(self.port), "-t", "60"])
                return
        raise RuntimeError("postgres did not start: %s" % self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def uri(self, dbname, role=ROLE):
        return "postgresql://%s@127.0.0.1:%d/%s" % (role, self.port, dbname)

    def psql(self, dbname, sql):
        """Run SQL in dbname; returns psql's unaligned output."""
        p = subprocess.run([self._tool("psql"), "-X", "-q", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-d", self.uri(dbname),
                            "-c", sql], capture_output=True, text=True,
                           timeout=300)
        if p.returncode != 0:
            raise RuntimeError("psql: %s" % p.stderr.strip())
        return p.stdout.strip()

    def new_database(self, name=None, owner=ROLE):
        """A fresh, empty database; returns its URI (no password)."""
        self.n_db += 1
        name = name or "cds_test_%d" % self.n_db
        self.psql("postgres", 'CREATE DATABASE "%s" OWNER "%s"' % (name, owner))
        return self.uri(name, owner)

    def password_role(self, role, password):
        """A login role that must give its password over TCP (SCRAM)."""
        self.psql("postgres", "CREATE ROLE \"%s\" LOGIN PASSWORD '%s'" % (
            role, password))
        hba = os.path.join(self.data, "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        with open(hba, "w") as f:
            f.write("host all %s 127.0.0.1/32 scram-sha-256\n%s" % (
                role, rules))
        self._run([self._tool("pg_ctl"), "-D", self.data, "reload"])
        # The reload is asynchronous: wait until the rule is in force.
        for _ in range(1000):
            if self._password_asked(role):
                return
        raise RuntimeError("pg_hba.conf reload not seen")

    def _password_asked(self, role):
        """Whether a connection as role without a password is refused."""
        p = subprocess.run([self._tool("psql"), "-X", "-w", "-d",
                            self.uri("postgres", role), "-c", "SELECT 1"],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, PGPASSWORD=""))
        return p.returncode != 0 and "password" in p.stderr

    def stop(self):
        if self.dir is None:
            return
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run([self._tool("pg_ctl"), "-D", self.data, "-w",
                       "-m", "fast", "stop"], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def stop_on_sigterm():
    """Turn SIGTERM (a test runner's timeout) into SystemExit, so that the
    `with` blocks holding servers stop them on the way out."""
    signal.signal(signal.SIGTERM, _terminate)


def run_tests(tests):
    """cdstest.main(tests) with a server of their own: tests["PG"], the
    module's PG, is that server while they run (a test file's __main__)."""
    stop_on_sigterm()
    with PgServer() as pg:
        tests["PG"] = pg
        cdstest.main(tests)


def main(argv):
    durable = False
    if argv and argv[0] == "--durable":
        durable, argv = True, argv[1:]
    if not argv or argv[0] != "--" or len(argv) < 2:
        print("usage: pgserver.py [--durable] -- CMD [ARGS...]",
              file=sys.stderr)
        return 2
    stop_on_sigterm()
    with PgServer(durable=durable) as pg:
        env = dict(os.environ, CDS_TEST_PG=pg.new_database("cds_test"))
        return subprocess.run(argv[1:], env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
