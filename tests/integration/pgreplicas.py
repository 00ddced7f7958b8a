"""pgreplicas.py: several cdsd replicas of one PostgreSQL store, as an
operator makes them: the first data directory by `cdsctl init --store
URL`, every other one by `cdsctl join --store URL --kek FIRST/keys/kek`
(no file copied by hand), one cdsd on each.  For test_pg_replicas.py and
bench/bench_propagation.py; the PostgreSQL server comes from pgserver.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdstest  # noqa: E402


class JoinedDir(cdstest.DataDir):
    """A data directory made by `cdsctl join`."""

    def __init__(self, uri, kek):
        super().__init__(init=False)
        self.ctl("join", "--store", uri, "--kek", kek)

    @property
    def admin_token(self):
        raise AssertionError("a joined directory holds no admin token")


class Replicas:
    """n data directories of one fresh database, and a cdsd on each
    (flags passed to every one).  dirs[0] made the store."""

    def __init__(self, pg, n, *flags, prefix_bits=6):
        self.uri = pg.new_database()
        self.db = self.uri.rsplit("/", 1)[1]
        self.dirs = [cdstest.DataDir(prefix_bits=prefix_bits, store=self.uri)]
        self.kek = os.path.join(self.dirs[0].path, "keys", "kek")
        self.servers = []
        try:
            for _ in range(n - 1):
                self.dirs.append(JoinedDir(self.uri, self.kek))
            for d in self.dirs:
                self.servers.append(cdstest.Server(d, *flags))
        except BaseException:
            self.close()
            raise

    @property
    def first(self):
        return self.dirs[0]

    def close(self):
        for s in self.servers:
            if s.proc.poll() is None:
                s.stop(expect=None)
        for d in self.dirs:
            d.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            for i, s in enumerate(self.servers):
                sys.stderr.write("--- replica %d stderr ---\n%s" % (
                    i, s.stderr()[-3000:]))
        self.close()
