#!/bin/sh
# bench_recheck.sh: an unchanged re-check (`cds sync` with a filled cache)
# of address books of 1,000 and 10,000 contacts against a directory of N
# handles: requests, bytes down and wall time, for two clients side by side
# against the same cdsd: BEFORE (an older `cds`, e.g. one conditional GET
# per bucket) and this build's (POST /v1/buckets with "etags", 256 buckets
# to a request).
#
#   BEFORE=/path/to/old/cds sh bench/bench_recheck.sh [N] [PAIRS]
#
# N defaults to 1,000,000 (cdsctl init --expected-handles N, so buckets
# are sized as an operator would size them); PAIRS (default 5) re-checks
# per client, interleaved before, after, before, after...; medians are
# printed with the ratio after/before.  The per-address guard is off
# (--bucket-bytes-per-ip 0) so that it measures the protocol, not the
# guard.  Everything it starts it stops (by PID).
set -eu

N=${1:-1000000}
PAIRS=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
AFTER="$BUILD/cds"
BEFORE=${BEFORE:?set BEFORE to the cds binary to compare with}

for tool in curl python3; do
	command -v $tool >/dev/null || { echo "bench_recheck: needs $tool" >&2; exit 1; }
done
for b in "$BUILD/cdsd" "$BUILD/cdsctl" "$AFTER" "$BEFORE"; do
	[ -x "$b" ] || { echo "bench_recheck: no executable $b" >&2; exit 1; }
done

work=$(mktemp -d /tmp/cds-bench-recheck.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

data="$work/data"
"$BUILD/cdsctl" --data "$data" init --expected-handles "$N" >/dev/null
echo "bench_recheck: registering $N synthetic accounts..." >&2
"$BUILD/cdsctl" --data "$data" synth --count "$N" --out "$work/handles.txt" >/dev/null
token=$("$BUILD/cdsctl" --data "$data" account add \
	--identity-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
	mailto:bench@example.org |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# Books: a seeded sample of registered numbers, plus as many unregistered
# e-mail addresses (a real book is not all registered).
for size in 1000 10000; do
	python3 - "$work/handles.txt" "$size" "$work/book$size.csv" <<'EOF'
import random, sys
handles = open(sys.argv[1]).read().split()
n = int(sys.argv[2])
reg = random.Random(n).sample(handles, n // 2)
with open(sys.argv[3], "w") as f:
    f.write("name,phone,email\n")
    for i, h in enumerate(reg):
        f.write("R%d,%s,\n" % (i, h))
    for i in range(n - len(reg)):
        f.write("U%d,,user%d@example.org\n" % (i, i))
EOF
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/cdsd" --data "$data" --listen "127.0.0.1:$port" --quiet \
	--rate-allowance 1e15 --bucket-bytes-per-ip 0 2>"$work/cdsd.log" &
pid=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$port/v1/health"; do
	i=$((i + 1))
	[ $i -le 6000 ] || { echo "bench_recheck: cdsd not up" >&2; cat "$work/cdsd.log" >&2; exit 1; }
	kill -0 $pid 2>/dev/null || { cat "$work/cdsd.log" >&2; exit 1; }
	sleep 0.1
done

# sync CLIENT CACHE BOOK: prints "requests bytes_down ms" of one sync.
sync() {
	"$1" --server "http://127.0.0.1:$port" --token "$token" --cache "$2" \
		sync "$3" 2>&1 >/dev/null | python3 -c '
import re, sys
t = sys.stdin.read()
m = re.search(r"(\d+) bytes down in (\d+) requests, ([\d.]+) ms", t)
if not m:
    sys.exit("bench_recheck: no summary: " + t)
print(m.group(2), m.group(1), m.group(3))'
}

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

printf '%-8s %-7s %9s %12s %9s\n' contacts client requests bytes_down ms
for size in 1000 10000; do
	book="$work/book$size.csv"
	sync "$BEFORE" "$work/before$size.db" "$book" >/dev/null
	sync "$AFTER" "$work/after$size.db" "$book" >/dev/null
	: >"$work/runs"
	for p in $(seq "$PAIRS"); do
		echo "before $(sync "$BEFORE" "$work/before$size.db" "$book")" >>"$work/runs"
		echo "after $(sync "$AFTER" "$work/after$size.db" "$book")" >>"$work/runs"
	done
	for c in before after; do
		grep "^$c " "$work/runs" | while read -r _ r b ms; do
			printf '%-8s %-7s %9s %12s %9s  (run)\n' "$size" "$c" "$r" "$b" "$ms"
		done
	done
	for c in before after; do
		r=$(grep "^$c " "$work/runs" | awk '{print $2}' | median)
		b=$(grep "^$c " "$work/runs" | awk '{print $3}' | median)
		ms=$(grep "^$c " "$work/runs" | awk '{print $4}' | median)
		best=$(grep "^$c " "$work/runs" | awk '{print $4}' | sort -n | head -1)
		printf '%-8s %-7s %9s %12s %9s  (median; best %s ms)\n' "$size" "$c" "$r" "$b" "$ms" "$best"
		eval "${c}_r=$r ${c}_b=$b ${c}_ms=$ms"
	done
	python3 -c "import sys; a = [float(x) for x in sys.argv[1:]]; print('%-8s ratio after/before: requests %.4f, bytes %.4f, time %.3f' % ('$size', a[3]/a[0], a[4]/a[1], a[5]/a[2]))" \
		"$before_r" "$before_b" "$before_ms" "$after_r" "$after_b" "$after_ms"
done
