#!/bin/sh
# bench_ab.sh: two cdsd binaries side by side on the same directory, for a
# change that must cost nothing measurable on the hot paths: bucket GETs
# and single-handle plain lookups (wrk, as bench_http.sh), interleaved
# A,B,A,B... for PAIRS pairs, with the median of each.
#
#   sh bench/bench_ab.sh CDSD_A CDSD_B [N] [SECONDS] [PAIRS]
#
# N synthetic accounts (default 100,000), SECONDS per wrk run (default 5),
# PAIRS (default 5).  The directory is made by $CDSCTL (default
# $BUILD/cdsctl): when B's store schema is newer, use A's cdsctl; each
# binary gets its own copy (B may migrate it).  Prints one line per run and
# the medians with B/A.  Stops everything it starts.
set -eu

A=$1 B=$2 N=${3:-100000} DUR=${4:-5} PAIRS=${5:-5}
THREADS=2 CONNS=64
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
export CDS_WRK_DIR="$root/bench/wrk"
work=$(mktemp -d /tmp/cds-bench-ab.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

CDSCTL=${CDSCTL:-$BUILD/cdsctl}
"$CDSCTL" --data "$work/d" init >/dev/null
"$CDSCTL" --data "$work/d" synth --count "$N" --out "$work/handles.txt" >/dev/null
export CDS_HANDLES="$work/handles.txt"
export CDS_TOKEN=$("$CDSCTL" --data "$work/d" account add \
	--identity-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
	mailto:bench@example.org |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
cp -a "$work/d" "$work/dA"
mv "$work/d" "$work/dB"

# run BINARY DIR SCRIPT: start it, one wrk run, stop it; prints requests/s.
# (Not in a subshell: $pid must stay visible to cleanup.)
run() {
	port=$(free_port)
	"$1" --data "$2" --listen "127.0.0.1:$port" --plain-lookup on \
		--threads $THREADS --rate-allowance 1e15 --bucket-bytes-per-ip 0 \
		--quiet 2>>"$work/cdsd.log" &
	pid=$!
	i=0
	until curl -sf -o /dev/null "http://127.0.0.1:$port/v1/health"; do
		i=$((i + 1))
		if [ $i -ge 3000 ] || ! kill -0 "$pid" 2>/dev/null; then
			cat "$work/cdsd.log" >&2; exit 1
		fi
		sleep 0.1
	done
	params=$(curl -s "http://127.0.0.1:$port/v1/params")
	export CDS_EPOCH=$(echo "$params" | python3 -c 'import json,sys; print(json.load(sys.stdin)["epoch"])')
	export CDS_PREFIX_BITS=$(echo "$params" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prefix_bits"])')
	wrk -t$THREADS -c$CONNS -d"${DUR}s" -s "$CDS_WRK_DIR/$3" \
		"http://127.0.0.1:$port" 2>&1 | sed -n 's/^CDS .*rps=\([0-9.]*\).*/\1/p'
	kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
	pid=""
}

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "bench_ab: A=$A"
echo "bench_ab: B=$B"
echo "bench_ab: $N handles, wrk $THREADS threads x $CONNS connections, ${DUR}s a run, $PAIRS pairs"
for script in bucket.lua lookup1.lua; do
	: >"$work/a" && : >"$work/b"
	for k in $(seq "$PAIRS"); do
		run "$A" "$work/dA" $script >"$work/r"; ra=$(cat "$work/r")
		run "$B" "$work/dB" $script >"$work/r"; rb=$(cat "$work/r")
		echo "$ra" >>"$work/a"; echo "$rb" >>"$work/b"
		printf '%-12s pair %d: A %8.0f  B %8.0f req/s\n' "$script" "$k" "$ra" "$rb"
	done
	ma=$(median <"$work/a") mb=$(median <"$work/b")
	printf '%-12s median: A %8.0f  B %8.0f req/s  B/A = %.3f\n' "$script" "$ma" "$mb" \
		"$(echo "$mb / $ma" | bc -l)"
done
