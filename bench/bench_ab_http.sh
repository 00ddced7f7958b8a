#!/bin/sh
# bench_ab_http.sh: two builds of cdsd side by side on the HTTP paths that
# matter most (single-handle lookup, 100-handle lookup, bucket GET), in
# interleaved runs A,B,A,B... so that the machine's drift hits both alike.
#
#   sh bench/bench_ab_http.sh BUILD_A BUILD_B [N] [PAIRS] [SECONDS]
#
# Each build gets its own data directory from its own `cdsctl synth --count
# N --seed 1` (the same handles; default N 200,000), so a schema migration
# in one never touches the other's.  Per pair and per build: start cdsd
# (plain lookup on, rate limits out of the way), one wrk run of SECONDS
# (default 5) per path, stop.  Prints every run, then per path the median
# of each build and the ratio B/A.  Everything it starts it stops (by PID).
set -eu

A=${1:?usage: bench_ab_http.sh BUILD_A BUILD_B [N] [PAIRS] [SECONDS]}
B=${2:?usage: bench_ab_http.sh BUILD_A BUILD_B [N] [PAIRS] [SECONDS]}
N=${3:-200000}
PAIRS=${4:-5}
DUR=${5:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
export CDS_WRK_DIR="$root/bench/wrk"
for tool in wrk curl python3; do
	command -v $tool >/dev/null || { echo "bench_ab_http: needs $tool" >&2; exit 1; }
done

work=$(mktemp -d /tmp/cds-bench-ab.XXXXXX)
pid=""
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# setup NAME BUILD: a data dir and a token for that build.
setup() {
	d="$work/$1"
	"$2/cdsctl" --data "$d" init >/dev/null
	echo "bench_ab_http: $1: registering $N synthetic accounts..." >&2
	"$2/cdsctl" --data "$d" synth --count "$N" --seed 1 --out "$work/handles.txt" >/dev/null
	"$2/cdsctl" --data "$d" account add \
		--identity-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
		mailto:bench@example.org |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' >"$d.token"
}

# The flag that turns the per-address bucket guard off, in BUILD's words
# (it counted requests before it counted bytes).
guard_off() {
	if "$1/cdsd" --help 2>&1 | grep -q -- --bucket-bytes-per-ip; then
		echo --bucket-bytes-per-ip
	else
		echo --bucket-rate-per-ip
	fi
}

# run NAME BUILD PAIR: one cdsd, one wrk run per path; appends to results.
run() {
	port=$(free_port)
	"$2/cdsd" --data "$work/$1" --listen "127.0.0.1:$port" --plain-lookup on \
		--threads 2 --rate-allowance 1e15 "$(guard_off "$2")" 0 --quiet \
		2>>"$work/$1.log" &
	pid=$!
	i=0
	until curl -sf -o /dev/null "http://127.0.0.1:$port/v1/health"; do
		i=$((i + 1)); [ $i -le 6000 ] || { echo "cdsd not up" >&2; exit 1; }
		sleep 0.1
	done
	export CDS_TOKEN=$(cat "$work/$1.token") CDS_HANDLES="$work/handles.txt"
	params=$(curl -s "http://127.0.0.1:$port/v1/params")
	export CDS_EPOCH=$(echo "$params" | python3 -c 'import json,sys; print(json.load(sys.stdin)["epoch"])')
	export CDS_PREFIX_BITS=$(echo "$params" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prefix_bits"])')
	for path in lookup1 lookup100 bucket; do
		out=$(wrk -t2 -c64 -d"${DUR}s" -s "$CDS_WRK_DIR/$path.lua" \
			"http://127.0.0.1:$port" 2>&1)
		rps=$(echo "$out" | grep '^CDS ' | tr ' ' '\n' | sed -n 's/^rps=//p')
		[ -n "$rps" ] || { echo "$out" >&2; exit 1; }
		echo "$3 $1 $path $rps" | tee -a "$work/results" >&2
	done
	kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
	pid=""
}

setup A "$A"
setup B "$B"
for p in $(seq 1 "$PAIRS"); do
	run A "$A" "$p"
	run B "$B" "$p"
done

python3 - "$work/results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    pair, who, path, rps = line.split()
    runs.setdefault((path, who), []).append(float(rps))
print("%-10s %12s %12s %8s   (req/s, median of %d runs each)" %
      ("path", "A", "B", "B/A", len(runs[("bucket", "A")])))
for path in ("lookup1", "lookup100", "bucket"):
    a = statistics.median(runs[(path, "A")])
    b = statistics.median(runs[(path, "B")])
    print("%-10s %12.0f %12.0f %8.3f" % (path, a, b, b / a))
    print("%-10s %s" % ("", "A: " + " ".join("%.0f" % x for x in runs[(path, "A")])))
    print("%-10s %s" % ("", "B: " + " ".join("%.0f" % x for x in runs[(path, "B")])))
PY
