#!/bin/sh
# Install the Debian packages cds needs to build, test, run the demo and the
# benchmarks.  As root, missing ones are installed with apt-get; otherwise the
# command to run is printed and the script fails.
set -eu

PKGS="build-essential pkg-config meson ninja-build clang libclang-rt-14-dev
libsodium-dev libsqlite3-dev libpq-dev libmicrohttpd-dev libjansson-dev
libcurl4-openssl-dev libssl-dev libphonenumber-dev libprotobuf-dev libcmocka-dev
sqlite3 curl python3 bc python3-aiosmtpd python3-cryptography nginx-light
postgresql openssl"
# nginx-light: the Oblivious HTTP relay of tests/integration/test_ohttp.py
# and `make demo` (deploy/ohttp-relay.nginx.conf.in)
# postgresql: the server the PostgreSQL store tests start (tests/integration/pgserver.py)
# openssl: the self-signed certificate of the replicas' nginx
# (tests/integration/replicas.py); test_install runs systemd-analyze verify
# only where systemd is installed
# Only for `make bench` (baselines to compare with): wrk redis-server nginx
[ "${CDS_BENCH_DEPS:-0}" = 1 ] && PKGS="$PKGS wrk redis-server redis-tools"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
