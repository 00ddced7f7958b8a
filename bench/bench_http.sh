#!/bin/sh
# bench_http.sh: HTTP throughput of cdsd, side by side with the ceilings
# DESIGN.md measures against (nginx serving a static file of a bucket's size,
# redis-server answering SISMEMBER).
#
#   sh bench/bench_http.sh [N] [SECONDS]     (BUILD=build by default)
#
# Makes a data directory with `cdsctl synth --count N` (default 1,000,000),
# starts cdsd with plain lookup on and rate limits out of the way, and runs
# wrk (2 threads, 64 connections, SECONDS each, default 10) for single-handle
# lookups, batches of 100 and bucket GETs; then nginx and redis on free
# loopback ports with temporary configurations.  Prints requests/s,
# handles/s, p50 and p99.  Everything it starts it stops (by PID).
set -eu

N=${1:-1000000}
DUR=${2:-10}
THREADS=2
CONNS=64
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$root/build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
export CDS_WRK_DIR="$root/bench/wrk"

for tool in wrk curl python3; do
	command -v $tool >/dev/null || { echo "bench_http: needs $tool" >&2; exit 1; }
done
[ -x "$BUILD/cdsd" ] && [ -x "$BUILD/cdsctl" ] ||
	{ echo "bench_http: build $BUILD/cdsd and cdsctl first" >&2; exit 1; }

work=$(mktemp -d /tmp/cds-bench-http.XXXXXX)
chmod 755 "$work"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # URL, seconds
	i=0
	until curl -sf -o /dev/null "$1"; do
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || { echo "bench_http: $1 not up" >&2; exit 1; }
		sleep 0.1
	done
}

# run_wrk LABEL ITEMS_PER_REQUEST SCRIPT URL
run_wrk() {
	out=$(wrk -t$THREADS -c$CONNS -d"${DUR}s" -s "$CDS_WRK_DIR/$3" "$4" 2>&1) ||
		{ echo "$out" >&2; exit 1; }
	line=$(echo "$out" | grep '^CDS ') || { echo "$out" >&2; exit 1; }
	echo "$line" | awk -v label="$1" -v items="$2" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%-34s %10.0f %12s %8.3f %8.3f %s\n", label, v["rps"],
			items ? sprintf("%.0f", v["rps"] * items) : "-",
			v["p50_ms"], v["p99_ms"],
			((v["errors"] + 0) > 0 ? "(" v["errors"] " errors)" : "")
	}'
}

# --- cdsd ----------------------------------------------------------------
data="$work/data"
mkdir "$data"
"$BUILD/cdsctl" --data "$data" init >/dev/null
echo "bench_http: registering $N synthetic accounts..." >&2
"$BUILD/cdsctl" --data "$data" synth --count "$N" --out "$work/handles.txt" >/dev/null
export CDS_HANDLES="$work/handles.txt"
export CDS_TOKEN=$("$BUILD/cdsctl" --data "$data" account add \
	--identity-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
	mailto:bench@example.org |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

port=$(free_port)
"$BUILD/cdsd" --data "$data" --listen "127.0.0.1:$port" --plain-lookup on \
	--threads $THREADS --rate-allowance 1e15 --bucket-bytes-per-ip 0 \
	--quiet 2>"$work/cdsd.log" &
pids="$pids $!"
wait_http "http://127.0.0.1:$port/v1/health" 1800
params=$(curl -s "http://127.0.0.1:$port/v1/params")
export CDS_EPOCH=$(echo "$params" | python3 -c 'import json,sys; print(json.load(sys.stdin)["epoch"])')
export CDS_PREFIX_BITS=$(echo "$params" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prefix_bits"])')
# The size of a typical bucket response: the mean over 32 buckets.
bucket_bytes=$(python3 - "$port" "$CDS_EPOCH" "$CDS_PREFIX_BITS" <<'PY'
import sys, urllib.request
port, epoch, bits = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = 1 << bits
sizes = [len(urllib.request.urlopen("http://127.0.0.1:%s/v1/buckets/%d?epoch=%s"
                                    % (port, (i * 7919) % n, epoch)).read())
         for i in range(32)]
print(sum(sizes) // len(sizes))
PY
)

printf 'cds HTTP benchmark: %s handles, prefix bits %s, wrk %d threads x %d connections, %s s each\n' \
	"$N" "$CDS_PREFIX_BITS" $THREADS $CONNS "$DUR"
printf '%-34s %10s %12s %8s %8s\n' "test" "req/s" "handles/s" "p50 ms" "p99 ms"
run_wrk "cdsd lookup, 1 handle" 1 lookup1.lua "http://127.0.0.1:$port"
run_wrk "cdsd lookup, 100 handles" 100 lookup100.lua "http://127.0.0.1:$port"
run_wrk "cdsd bucket GET ($bucket_bytes B)" 0 bucket.lua "http://127.0.0.1:$port"

# The same lookups with the query log off (--retention-days 0), to show what
# logging costs (DESIGN.md: under 5%).  The restart loads the published view
# from the store and copies it (no evaluation).
cdsd_pid=${pids##* }
kill -TERM "$cdsd_pid"; wait "$cdsd_pid" 2>/dev/null || true
pids=${pids% *}
port=$(free_port)
"$BUILD/cdsd" --data "$data" --listen "127.0.0.1:$port" --plain-lookup on \
	--threads $THREADS --rate-allowance 1e15 --bucket-bytes-per-ip 0 \
	--retention-days 0 --quiet 2>>"$work/cdsd.log" &
pids="$pids $!"
wait_http "http://127.0.0.1:$port/v1/health" 1800
run_wrk "cdsd lookup, 1 handle, log off" 1 lookup1.lua "http://127.0.0.1:$port"
run_wrk "cdsd lookup, 100 handles, log off" 100 lookup100.lua "http://127.0.0.1:$port"

# --- nginx: a static file the size of a bucket response -------------------
if command -v nginx >/dev/null; then
	nport=$(free_port)
	mkdir -p "$work/www" "$work/nginx/logs"
	chmod -R a+rX "$work/www"
	head -c "$bucket_bytes" /dev/zero | tr '\0' 'A' >"$work/www/bucket.json"
	cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes $THREADS;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	default_type application/json;
	client_body_temp_path $work/nginx/body;
	proxy_temp_path $work/nginx/proxy;
	fastcgi_temp_path $work/nginx/fastcgi;
	uwsgi_temp_path $work/nginx/uwsgi;
	scgi_temp_path $work/nginx/scgi;
	server {
		listen 127.0.0.1:$nport;
		root $work/www;
	}
}
CONF
	nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx/stderr" &
	pids="$pids $!"
	wait_http "http://127.0.0.1:$nport/bucket.json" 30
	run_wrk "nginx static file ($bucket_bytes B)" 0 static.lua \
		"http://127.0.0.1:$nport/bucket.json"
else
	echo "nginx: not installed (skipped)"
fi

# --- redis SISMEMBER ------------------------------------------------------
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
	rport=$(free_port)
	redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$work" >"$work/redis.log" 2>&1 &
	pids="$pids $!"
	i=0
	until redis-cli -p "$rport" ping >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -le 100 ] || { echo "redis not up" >&2; exit 1; }
		sleep 0.1
	done
	head -n 10000 "$CDS_HANDLES" | sed 's/^/SADD handles /' |
		redis-cli -p "$rport" >/dev/null
	member=$(head -n 1 "$CDS_HANDLES")
	for pipe in 1 100; do
		n=$((DUR * (pipe == 1 ? 90000 : 2000000)))
		redis-benchmark -p "$rport" -c $CONNS --threads $THREADS -n "$n" \
			-P $pipe -q SISMEMBER handles "$member" 2>/dev/null |
			tr '\r' '\n' | grep 'requests per second' | tail -1 |
			awk -v label="redis SISMEMBER -P $pipe" '{
				rps = $0; sub(/.*: /, "", rps); sub(/ requests.*/, "", rps)
				p50 = "-"; if (match($0, /p50=[0-9.]+/)) p50 = substr($0, RSTART + 4, RLENGTH - 4)
				printf "%-34s %10.0f %12.0f %8s %8s\n", label, rps, rps, p50, "-"
			}'
	done
else
	echo "redis: not installed (skipped)"
fi
