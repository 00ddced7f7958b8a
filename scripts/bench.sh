#!/bin/sh
# make bench: every benchmark program, figures on stdout.
#
#   sh scripts/bench.sh [BUILD]
#   BENCH_SIZES="1000000 10000000" sh scripts/bench.sh    (the full run)
#
# Component benchmarks first (OPRF, address books, query log, import), then
# for each directory size N in $BENCH_SIZES (default 1,000,000): a data
# directory of N synthetic handles, the index build figures, the cost of
# sealing directory-transparency versions over N handles, and end-to-end
# private discovery and sync of a 1,000-contact address book (half of it
# registered) against a real cdsd on loopback.  Last, the HTTP throughput
# benchmark with its nginx and redis baselines (bench/bench_http.sh).
set -eu
B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SIZES=${BENCH_SIZES:-1000000}
HTTP_N=${BENCH_HTTP_N:-1000000}
HTTP_SECONDS=${BENCH_HTTP_SECONDS:-10}
# BENCH_QUICK=1: tiny sizes, to check the scripts, not to measure.
Q=${BENCH_QUICK:-0}
if [ "$Q" = 1 ]; then QLOG_N=20000 IMPORT_N=20000 ROUNDS=1; else
	QLOG_N=1000000 IMPORT_N=1000000 ROUNDS=5; fi

say() { printf '\n==== %s\n' "$*"; }

say "machine"
printf 'cpu: %s, %s cores; memory: %s\n' \
	"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$(nproc)" \
	"$(free -h | awk '/^Mem:/ {print $2}')"
printf 'date: %s; commit: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	"$(git rev-parse --short HEAD 2>/dev/null || echo '?')"

say "OPRF (bench_oprf)"
"$B/bench/bench_oprf" $ROUNDS
say "client crypto (bench_client)"
"$B/bench/bench_client" --elements 1000 --rounds 3
say "address books (bench_addressbook)"
"$B/bench/bench_addressbook" --count 10000
say "query log writer (bench_qlog)"
"$B/bench/bench_qlog" --count $QLOG_N --threads 2 --mode batch
"$B/bench/bench_qlog" --count 20000 --threads 8 --mode sync
"$B/bench/bench_qlog" --count $((QLOG_N / 10)) --threads 2 --handles 100 --mode batch
say "Oblivious HTTP crypto (bench_ohttp)"
"$B/bench/bench_ohttp" $ROUNDS
say "Oblivious HTTP end to end, direct vs relay (bench/bench_relay.py)"
BUILD="$B" python3 bench/bench_relay.py 100000 5 3
say "replicas: one direct, two behind nginx with TLS (bench/bench_replicas.py)"
BUILD="$B" python3 bench/bench_replicas.py $ROUNDS 5 64
say "bulk import (bench_import)"
"$B/bench/bench_import" -n $IMPORT_N --cdsctl "$B/cdsctl"

for N in $SIZES; do
	work=$(mktemp -d /tmp/cds-bench.XXXXXX)
	say "directory of $N handles ($work)"
	"$B/cdsctl" --data "$work/data" init --expected-handles "$N" >/dev/null
	t0=$(date +%s.%N)
	"$B/cdsctl" --data "$work/data" synth --count "$N" --seed 7 \
		--out "$work/handles.txt" 2>/dev/null >/dev/null
	echo "synth: $N accounts in $(echo "$(date +%s.%N) - $t0" | bc) s"
	say "index (bench_index --data, N=$N)"
	"$B/bench/bench_index" --data "$work/data"
	say "sealing transparency versions (bench_seal, N=$N)"
	"$B/bench/bench_seal" "$N"
	# A 1,000-contact address book: 500 registered, 500 not.
	python3 - "$work/handles.txt" "$work/book.csv" <<'PY'
import random, sys
handles = [l.strip()[4:] for l in open(sys.argv[1]) if l.strip()]
rnd = random.Random(1)
reg = rnd.sample(handles, 500)
with open(sys.argv[2], "w") as f:
    f.write("Name,Phone\n")
    for i, h in enumerate(reg):
        f.write("Registered %d,%s\n" % (i, h))
    for i in range(500):  # +1 201 555 01xx-style numbers outside the synth range
        f.write("Unknown %d,+4420794%05d\n" % (i, i))
PY
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$B/cdsd" --data "$work/data" --listen "127.0.0.1:$port" --quiet \
		--rate-allowance 1000000000 --bucket-bytes-per-ip 0 2>"$work/cdsd.log" &
	pid=$!
	t0=$(date +%s.%N)
	until curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1; do
		kill -0 $pid 2>/dev/null || { cat "$work/cdsd.log"; exit 1; }
		sleep 0.5
	done
	echo "cdsd ready in $(echo "$(date +%s.%N) - $t0" | bc) s (first start: evaluates every handle for the first version)"
	tok=$("$B/cdsctl" --data "$work/data" account add \
		--identity-key "$(head -c 32 /dev/urandom | base64)" tel:+19995550100 |
		sed 's/.*"token": *"\([^"]*\)".*/\1/')
	sleep 2 # the new account reaches the server's cache
	say "end-to-end private discovery and sync, 1,000 contacts, N=$N"
	"$B/bench/bench_client" --rounds $ROUNDS --server "http://127.0.0.1:$port" \
		--token "$tok" --book "$work/book.csv"
	kill -TERM $pid; wait $pid 2>/dev/null || true
	rm -rf "$work"
done

say "HTTP throughput (bench/bench_http.sh $HTTP_N $HTTP_SECONDS)"
BUILD=$B sh "$(dirname "$0")/../bench/bench_http.sh" "$HTTP_N" "$HTTP_SECONDS"
