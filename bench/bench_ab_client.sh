#!/bin/sh
# bench_ab_client.sh: two builds' clients against one cdsd, in interleaved
# runs A,B,A,B... (private discovery of a 1,000-contact book, first sync,
# unchanged re-check), so that the machine's drift hits both alike.
#
#   sh bench/bench_ab_client.sh BUILD_A BUILD_B [N] [PAIRS] [ROUNDS]
#
# Makes a directory of N handles (default 1,000,000) with BUILD_B's
# `cdsctl synth --seed 7` and the book `make bench` uses (500 registered,
# 500 not), starts BUILD_B's cdsd (rate limits out of the way), then per
# pair runs BUILD_A's and BUILD_B's bench_client (ROUNDS rounds of
# discover, default 5) and prints one line each; at the end per figure
# the medians and the median of the pairs' ratios B/A.  The server is
# BUILD_B's for both, so what is compared is the clients (and the answers
# each asks for).  Everything it starts it stops.
set -eu

A=${1:?usage: bench_ab_client.sh BUILD_A BUILD_B [N] [PAIRS] [ROUNDS]}
B=${2:?usage: bench_ab_client.sh BUILD_A BUILD_B [N] [PAIRS] [ROUNDS]}
N=${3:-1000000}
PAIRS=${4:-5}
ROUNDS=${5:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/cds-abclient.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$B/cdsctl" --data "$work/data" init --expected-handles "$N" >/dev/null
"$B/cdsctl" --data "$work/data" synth --count "$N" --seed 7 \
	--out "$work/handles.txt" >/dev/null 2>&1
python3 - "$work/handles.txt" "$work/book.csv" <<'PY'
import random, sys
handles = [l.strip()[4:] for l in open(sys.argv[1]) if l.strip()]
reg = random.Random(1).sample(handles, 500)
with open(sys.argv[2], "w") as f:
    f.write("Name,Phone\n")
    for i, h in enumerate(reg):
        f.write("Registered %d,%s\n" % (i, h))
    for i in range(500):
        f.write("Unknown %d,+4420794%05d\n" % (i, i))
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$B/cdsd" --data "$work/data" --listen "127.0.0.1:$port" --quiet \
	--rate-allowance 1000000000 --bucket-bytes-per-ip 0 2>"$work/cdsd.log" &
pid=$!
until curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1; do
	kill -0 "$pid" 2>/dev/null || { cat "$work/cdsd.log"; exit 1; }
	sleep 0.5
done
tok=$("$B/cdsctl" --data "$work/data" account add \
	--identity-key "$(head -c 32 /dev/urandom | base64)" tel:+19995550100 |
	sed 's/.*"token": *"\([^"]*\)".*/\1/')
# The new account reaches the server's answers within a moment.
until curl -fsS -H "Authorization: Bearer $tok" \
	"http://127.0.0.1:$port/v1/accounts/me" >/dev/null 2>&1; do
	sleep 0.2
done

one() { # $1 = A or B, $2 = build, $3 = pair
	"$2/bench/bench_client" --elements 200 --rounds "$ROUNDS" \
		--server "http://127.0.0.1:$port" --token "$tok" \
		--book "$work/book.csv" 2>&1 |
	awk -v v="$1" -v i="$3" '
		/wall/ { best = $3; med = $6 }
		/per round/ { bytes = $(NF - 2) }
		/^  first / { first = $2 }
		/^  unchanged / { unch = $2; ubytes = $4 }
		END { printf "%s %d discover_median %s discover_best %s bytes %s first %s unchanged %s unchanged_bytes %s\n",
		      v, i, med, best, bytes, first, unch, ubytes }'
}
for i in $(seq "$PAIRS"); do
	one A "$A" "$i"
	one B "$B" "$i"
done | tee "$work/runs.txt"
python3 - "$work/runs.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
val = lambda r, k: float(r[r.index(k) + 1])
A = [r for r in rows if r[0] == "A"]
B = [r for r in rows if r[0] == "B"]
for k in ("discover_median", "discover_best", "bytes", "first", "unchanged",
          "unchanged_bytes"):
    a = [val(r, k) for r in A]
    b = [val(r, k) for r in B]
    q = sorted(y / x for x, y in zip(a, b))
    print("%-16s A %12.1f  B %12.1f  B/A per pair: median %.3f (%.3f-%.3f)"
          % (k, statistics.median(a), statistics.median(b),
             statistics.median(q), q[0], q[-1]))
PY
