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
#
# Besides requests/s, each run records cdsd's CPU time per request (all its
# threads, and the query-log writer's, thread cds-qlog, from /proc): on
# this shared machine other work moves requests/s a lot more than it moves
# the CPU a request costs.
#
# Environment: A_ARGS, B_ARGS: extra cdsd options of each side, so that
# one build can be compared with itself, e.g. the query log's cost:
#   B_ARGS='--retention-days 0' sh bench/bench_ab_http.sh build build
# PATHS: the wrk scripts to run (default "lookup1 lookup100 bucket").
# A_STORE, B_STORE: "sqlite" (the default) or "pg": that side's data
# directory is made by `cdsctl init --store` on a database of its own in
# the PostgreSQL server of CDS_TEST_PG, so run the script under
# tests/integration/pgserver.py, e.g. the query log's cost on PostgreSQL:
#   python3 tests/integration/pgserver.py --durable -- env A_STORE=pg \
#     B_STORE=pg B_ARGS='--retention-days 0' sh bench/bench_ab_http.sh build build
# A PostgreSQL side also reports the server's CPU per request (all the
# processes of CDS_TEST_PG's cluster: the rate charge and the query log's
# COPY are spent there, not in cdsd).
set -eu

A=${1:?usage: bench_ab_http.sh BUILD_A BUILD_B [N] [PAIRS] [SECONDS]}
B=${2:?usage: bench_ab_http.sh BUILD_A BUILD_B [N] [PAIRS] [SECONDS]}
N=${3:-200000}
PAIRS=${4:-5}
DUR=${5:-5}
A_ARGS=${A_ARGS:-}
B_ARGS=${B_ARGS:-}
PATHS=${PATHS:-lookup1 lookup100 bucket}
A_STORE=${A_STORE:-sqlite}
B_STORE=${B_STORE:-sqlite}
root=$(cd "$(dirname "$0")/.." && pwd)
export CDS_WRK_DIR="$root/bench/wrk"
for tool in wrk curl python3; do
	command -v $tool >/dev/null || { echo "bench_ab_http: needs $tool" >&2; exit 1; }
done
for store in "$A_STORE" "$B_STORE"; do
	case $store in
	sqlite) ;;
	pg) if [ -z "${CDS_TEST_PG:-}" ] || ! command -v psql >/dev/null; then
		echo "bench_ab_http: a pg side needs psql and CDS_TEST_PG (run under tests/integration/pgserver.py)" >&2
		exit 1
	fi ;;
	*) echo "bench_ab_http: A_STORE, B_STORE: sqlite or pg, not '$store'" >&2; exit 1 ;;
	esac
done

work=$(mktemp -d /tmp/cds-bench-ab.XXXXXX)
pid=""
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# store_args NAME STORE: the `cdsctl init` options of a side: for pg, a
# fresh database named after the side in CDS_TEST_PG's server.
store_args() {
	[ "$2" = pg ] || return 0
	db=bench_ab_$(echo "$1" | tr '[:upper:]' '[:lower:]')
	psql -X -q -v ON_ERROR_STOP=1 -d "$CDS_TEST_PG" -c "CREATE DATABASE $db" >&2
	echo "--store ${CDS_TEST_PG%/*}/$db"
}

# setup NAME BUILD STORE: a data dir and a token for that build.
setup() {
	d="$work/$1"
	# shellcheck disable=SC2046 # store_args is a list of options
	"$2/cdsctl" --data "$d" init $(store_args "$1" "$3") >/dev/null
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

# cpu_ticks PID [THREAD]: CPU clock ticks (user + system) used so far by
# PID's threads, or only by those named THREAD.
cpu_ticks() {
	cat /proc/"$1"/task/*/stat 2>/dev/null | awk -v want="${2:-}" '{
		name = $0; sub(/^[0-9]+ \(/, "", name); sub(/\) [A-Z] .*$/, "", name)
		rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
		if (want == "" || name == want) t += f[12] + f[13]
	} END { print t + 0 }'
}

# The postmaster of CDS_TEST_PG's cluster, for db_ticks; empty without a
# pg side.
db_pm=""
find_db() {
	[ "$A_STORE" = pg ] || [ "$B_STORE" = pg ] || return 0
	dir=$(psql -X -A -t -d "$CDS_TEST_PG" -c 'SHOW data_directory')
	db_pm=$(head -n 1 "$dir/postmaster.pid")
}

# db_ticks: CPU clock ticks used so far by the cluster: its live processes
# (the postmaster's children, found afresh each time since connections
# come and go) and those that have exited (the postmaster reaps them, so
# their time is in its cutime and cstime).
db_ticks() {
	[ -n "$db_pm" ] || { echo 0; return; }
	# cat, not awk, meets the processes that exit while it reads.
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$db_pm" '{
		pid = $1; sub(/^.*\) /, ""); split($0, f, " ")
		if (pid == pm) t += f[12] + f[13] + f[14] + f[15]
		else if (f[2] == pm) t += f[12] + f[13]
	} END { print t + 0 }'
}

# run NAME BUILD PAIR EXTRA_ARGS: one cdsd, one wrk run per path; appends
# "pair name path rps cpu_us_per_request writer_us_per_request
# db_us_per_request" to results.
run() {
	port=$(free_port)
	# shellcheck disable=SC2086 # EXTRA_ARGS is a list of options
	"$2/cdsd" --data "$work/$1" --listen "127.0.0.1:$port" --plain-lookup on \
		--threads 2 --rate-allowance 1e15 "$(guard_off "$2")" 0 --quiet \
		$4 2>>"$work/$1.log" &
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
	for path in $PATHS; do
		d0=$(db_ticks)
		c0=$(cpu_ticks "$pid"); w0=$(cpu_ticks "$pid" cds-qlog)
		out=$(wrk -t2 -c64 -d"${DUR}s" -s "$CDS_WRK_DIR/$path.lua" \
			"http://127.0.0.1:$port" 2>&1)
		c1=$(cpu_ticks "$pid"); w1=$(cpu_ticks "$pid" cds-qlog)
		d1=$(db_ticks)
		rps=$(echo "$out" | grep '^CDS ' | tr ' ' '\n' | sed -n 's/^rps=//p')
		[ -n "$rps" ] || { echo "$out" >&2; exit 1; }
		echo "$3 $1 $path $rps" | awk -v c=$((c1 - c0)) -v w=$((w1 - w0)) \
			-v d=$((d1 - d0)) -v hz="$(getconf CLK_TCK)" -v dur="$DUR" '{
			n = $4 * dur; if (n < 1) n = 1
			printf "%s %s %s %s %.1f %.1f %.1f\n", $1, $2, $3, $4,
				c * 1e6 / hz / n, w * 1e6 / hz / n, d * 1e6 / hz / n
		}' | tee -a "$work/results" >&2
	done
	kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
	pid=""
}

setup A "$A" "$A_STORE"
setup B "$B" "$B_STORE"
find_db
for p in $(seq 1 "$PAIRS"); do
	run A "$A" "$p" "$A_ARGS"
	run B "$B" "$p" "$B_ARGS"
done

python3 - "$work/results" $PATHS <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    pair, who, path, rps, cpu, writer, db = line.split()
    r = runs.setdefault((path, who), {"rps": [], "cpu": [], "writer": [],
                                      "db": []})
    for k, v in (("rps", rps), ("cpu", cpu), ("writer", writer), ("db", db)):
        r[k].append(float(v))
med = statistics.median
paths = sys.argv[2:]
print("%-10s %12s %12s %8s   (req/s, median of %d runs each)" %
      ("path", "A", "B", "B/A", len(runs[(paths[0], "A")]["rps"])))
for path in paths:
    a, b = runs[(path, "A")], runs[(path, "B")]
    print("%-10s %12.0f %12.0f %8.3f" % (path, med(a["rps"]), med(b["rps"]),
                                          med(b["rps"]) / med(a["rps"])))
    print("%-10s %s" % ("", "A: " + " ".join("%.0f" % x for x in a["rps"])))
    print("%-10s %s" % ("", "B: " + " ".join("%.0f" % x for x in b["rps"])))
    print("%-10s cdsd CPU us/request, median: A %.1f (writer %.1f)  "
          "B %.1f (writer %.1f)  B/A %.3f" % (
              "", med(a["cpu"]), med(a["writer"]), med(b["cpu"]),
              med(b["writer"]), med(b["cpu"]) / med(a["cpu"])))
    if max(a["db"] + b["db"]) > 0:
        # The whole request's CPU: cdsd's plus the database server's.
        ta = [c + d for c, d in zip(a["cpu"], a["db"])]
        tb = [c + d for c, d in zip(b["cpu"], b["db"])]
        print("%-10s PostgreSQL CPU us/request, median: A %.1f  B %.1f; "
              "cdsd + PostgreSQL: A %.1f  B %.1f  B/A %.3f" % (
                  "", med(a["db"]), med(b["db"]), med(ta), med(tb),
                  med(tb) / med(ta)))
PY
