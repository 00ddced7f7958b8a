"""nginxutil: a real nginx for the integration tests and benchmarks, run
from one of the project's deploy/ templates in a temporary directory of
its own (configuration, logs, temporary paths, pid file), in the
foreground, stopped and removed by close().  Standard library only.

Invariant: nothing outside self.dir is written, and close() removes it
whatever happened before.
"""
import os
import re
import shutil
import subprocess
import tempfile

import cdstest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def template(name):
    """The text of deploy/NAME."""
    with open(os.path.join(ROOT, "deploy", name)) as f:
        return f.read()


def fill(text, values):
    """text with each @KEY@ replaced by values[KEY]; a placeholder left
    over is a mistake of the caller (or a template that grew one)."""
    for key, value in values.items():
        text = text.replace("@%s@" % key, value)
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    left = re.search(r"@[A-Z_]+@", code)
    if left:
        raise AssertionError("placeholder %s left in nginx configuration"
                             % left.group(0))
    return text


class Nginx:
    """nginx in a temporary directory of its own (self.dir, also its
    prefix: relative paths in the configuration, such as log files and
    certificates, are inside it).  Put any files it needs there, then
    start()."""

    def __init__(self, prefix="cds-nginx-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.proc = None

    def start(self, conf, ready, workers=1):
        """Serve conf (an http-context configuration: a filled template)
        with `workers` worker processes; wait until ready() returns True
        (nginx answers as expected)."""
        self._write(conf, workers)
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.dir, "-c", self.path("nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cdstest.wait_started("nginx", self.proc, ready, self.error_log, 30)
        return self

    def path(self, name):
        return os.path.join(self.dir, name)

    def _write(self, conf, workers):
        d = self.dir
        with open(self.path("site.conf"), "w") as f:
            f.write(conf)
        with open(self.path("nginx.conf"), "w") as f:
            f.write("daemon off;\nworker_processes %d;\npid %s/nginx.pid;\n"
                    "error_log error.log;\n"
                    "events { worker_connections 1024; }\n"
                    "http {\n  client_body_temp_path %s/body;\n"
                    "  proxy_temp_path %s/proxy;\n"
                    "  fastcgi_temp_path %s/fcgi;\n"
                    "  uwsgi_temp_path %s/uwsgi;\n"
                    "  scgi_temp_path %s/scgi;\n"
                    "  include %s/site.conf;\n}\n" % ((workers,) + (d,) * 7))

    def error_log(self):
        try:
            with open(self.path("error.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)
