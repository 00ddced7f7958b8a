"""test_install: `meson install --destdir` of this build puts exactly the
programs (bindir), the systemd unit (PREFIX/lib/systemd/system), the
sysusers.d entry, the man pages (mandir) and the documentation with the
deploy/ templates (share/doc/cds) where Debian expects them, and nothing
else; the installed programs run; the installed unit has its paths filled
in and passes `systemd-analyze verify` without a warning (when systemd-analyze
is installed); every command and option that the programs' --help texts
name is in their man page."""
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

import cdstest
from cdstest import eq

MESON = shutil.which("meson") or "meson"

DOCS = ["README.md", "api.md", "architecture.md", "benchmarks.md", "cli.md",
        "client.md", "operations.md", "protocol.md", "querylog.md",
        "threat-model.md"]
TEMPLATES = ["cds-balancer.nginx.conf.in", "cdsd.env.example",
             "ohttp-relay.nginx.conf.in"]
MANS = {"cds": "man1/cds.1", "cdsd": "man8/cdsd.8", "cdsctl": "man8/cdsctl.8"}


def options():
    """The build's install directories, each absolute (prefix joined)."""
    p = cdstest.run([MESON, "introspect", cdstest.BUILD, "--buildoptions"])
    opts = {o["name"]: o["value"] for o in json.loads(p.stdout)}
    prefix = opts["prefix"]
    d = {k: os.path.join(prefix, opts[k])
         for k in ("bindir", "mandir", "datadir")}
    d["prefix"] = prefix
    d["unitdir"] = opts["systemdunitdir"] or os.path.join(
        prefix, "lib", "systemd", "system")
    d["sysusersdir"] = opts["sysusersdir"] or os.path.join(
        prefix, "lib", "sysusers.d")
    return d


def expected(d):
    """Every file the install must make (absolute, without DESTDIR)."""
    doc = os.path.join(d["datadir"], "doc", "cds")
    files = [os.path.join(d["bindir"], p) for p in ("cds", "cdsctl", "cdsd")]
    files += [os.path.join(d["unitdir"], "cdsd@.service"),
              os.path.join(d["sysusersdir"], "cds.conf")]
    files += [os.path.join(d["mandir"], m) for m in MANS.values()]
    files += [os.path.join(doc, f) for f in DOCS]
    files += [os.path.join(doc, "deploy", f) for f in TEMPLATES]
    return sorted(files)


class Installed:
    """`meson install --destdir` of the build into a temporary directory."""

    def __init__(self):
        self.dest = tempfile.mkdtemp(prefix="cds-install-")
        try:
            cdstest.run([MESON, "install", "-C", cdstest.BUILD, "--destdir",
                         self.dest, "--no-rebuild", "--quiet"])
        except BaseException:
            self.close()
            raise

    def path(self, absolute):
        return os.path.join(self.dest, absolute.lstrip("/"))

    def files(self):
        out = []
        for root, _, names in os.walk(self.dest):
            for n in names:
                out.append("/" + os.path.relpath(os.path.join(root, n),
                                                 self.dest))
        return sorted(out)

    def close(self):
        shutil.rmtree(self.dest, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_files_land():
    d = options()
    with Installed() as inst:
        eq(inst.files(), expected(d), "installed files")
        for prog in ("cds", "cdsctl", "cdsd"):
            exe = inst.path(os.path.join(d["bindir"], prog))
            if not os.stat(exe).st_mode & stat.S_IXUSR:
                raise AssertionError(prog + " installed without x bit")
            p = cdstest.run([exe, "--help"])
            if not p.stdout.startswith("usage: " + prog):
                raise AssertionError("installed %s --help: %r" % (
                    prog, p.stdout[:80]))


def installed_unit(inst, d):
    with open(inst.path(os.path.join(d["unitdir"], "cdsd@.service"))) as f:
        return f.read()


def test_unit_paths_filled_in():
    d = options()
    with Installed() as inst:
        unit = installed_unit(inst, d)
        if re.search(r"@[A-Z_]+@", unit):
            raise AssertionError("placeholder left in the unit")
        want = "ExecStart=%s/cdsd --data /var/lib/cds/%%i $CDSD_OPTIONS" % (
            d["bindir"])
        if want not in unit.splitlines():
            raise AssertionError("no line %r in the unit" % want)
        for line in ("User=cds", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "PrivateTmp=yes", "LimitCORE=0",
                     "ReadWritePaths=/var/lib/cds/%i", "Restart=on-failure",
                     "KillSignal=SIGTERM"):
            if line not in unit.splitlines():
                raise AssertionError("unit lacks %r" % line)
        with open(inst.path(os.path.join(d["sysusersdir"], "cds.conf"))) as f:
            if not re.search(r"^u cds ", f.read(), re.M):
                raise AssertionError("sysusers.d does not make the user cds")


def test_systemd_analyze_verify():
    tool = shutil.which("systemd-analyze")
    if not tool:
        print("systemd-analyze not installed: verify skipped")
        return
    d = options()
    with Installed() as inst:
        # An instance of the template, as installed, except that cdsd is
        # the installed copy in DESTDIR (verify checks it is executable).
        unit = installed_unit(inst, d).replace(
            "ExecStart=" + d["bindir"], "ExecStart=" + inst.path(d["bindir"]))
        path = os.path.join(inst.dest, "cdsd@a.service")
        with open(path, "w") as f:
            f.write(unit)
        p = subprocess.run([tool, "verify", "--man=no", path],
                           capture_output=True, text=True, timeout=120)
        eq((p.returncode, p.stderr.strip()), (0, ""), "systemd-analyze verify")


def help_texts(argv, command=()):
    """(command words, --help text) of argv and of every command it
    lists, recursively."""
    out = cdstest.run(argv + list(command) + ["--help"]).stdout
    texts = [(command, out)]
    listing = out.split("\nCommands:\n", 1)
    if len(listing) == 2:
        for line in listing[1].split("\n\n", 1)[0].splitlines():
            texts += help_texts(argv, command + (line.split()[0],))
    return texts


def test_man_pages_cover_help():
    pages = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                         "..", "docs", "man")
    for prog, page in MANS.items():
        with open(os.path.join(pages, os.path.basename(page))) as f:
            man = f.read().replace("\\-", "-")
        argv = [cdstest.exe(prog)] + (["--data", "/nonexistent"]
                                      if prog == "cdsctl" else [])
        missing = set()
        for command, text in help_texts(argv):
            if command and " ".join(command) not in man:
                missing.add(" ".join(command))
            missing |= {o for o in re.findall(r"--[a-z][a-z0-9-]*", text)
                        if o not in man}
        eq(sorted(missing), [], "commands and options of %s --help missing "
           "from %s" % (
            prog, page))


if __name__ == "__main__":
    cdstest.main(globals())
