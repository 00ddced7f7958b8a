#!/bin/sh
# Run every libFuzzer harness in build dir $1 for $2 seconds each, starting
# from its seed corpus (tests/fuzz/seeds/<name>/) when there is one.  New
# crashes are written as crash-* in the working directory and fail the run.
# With $3, append "passed failed" (harness counts) to that file.
set -u
FUZZB=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
summary=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0
for f in "$FUZZB"/tests/fuzz/fuzz_*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	name=$(basename "$f" | sed 's/^fuzz_//')
	corpus=$(mktemp -d)
	seeds="$root/tests/fuzz/seeds/$name"
	[ -d "$seeds" ] || seeds=""
	printf '%-24s ' "$name"
	if "$f" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "$corpus" $seeds \
		>"$corpus.log" 2>&1; then
		pass=$((pass + 1))
		grep -E 'stat::number_of_executed_units' "$corpus.log" |
			awk '{printf "ok, %s runs\n", $2}'
	else
		fail=$((fail + 1))
		echo "FAILED"
		tail -40 "$corpus.log"
	fi
	rm -rf "$corpus" "$corpus.log"
done
[ -n "$summary" ] && echo "$pass $fail" >>"$summary"
[ "$fail" -eq 0 ]
