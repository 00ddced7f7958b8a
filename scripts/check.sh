#!/bin/sh
# make check: every test, in three passes.
#   1. unit + integration tests on the normal build ($1)
#   2. the same under AddressSanitizer + UndefinedBehaviorSanitizer ($2)
#   3. a short libFuzzer run of every harness ($3)
# Ends with one line "N passed, N failed" over all passes; exits non-zero if
# anything failed.
set -u
BUILD=${1:-build}
ASAN=${2:-build-asan}
FUZZB=${3:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
here=$(cd "$(dirname "$0")" && pwd)
status=0
summary=$(mktemp)

count() { # testlog.json of one meson test run -> "passed failed"
	python3 - "$1" >>"$summary" <<'PY'
import json, sys
p = f = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL", "SKIP"):
        p += 1
    else:
        f += 1
print(p, f)
PY
}

echo "== pass 1: unit and integration tests ($BUILD)"
meson test -C "$BUILD" --print-errorlogs --num-processes 2 || status=1
count "$BUILD/meson-logs/testlog.json"

echo "== pass 2: the same under ASan+UBSan ($ASAN)"
[ -f "$ASAN/build.ninja" ] || meson setup "$ASAN" --buildtype=debug \
	-Db_sanitize=address,undefined -Db_lundef=false >/dev/null || status=1
if ninja -C "$ASAN" >/dev/null; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C "$ASAN" --print-errorlogs --num-processes 2 \
		--timeout-multiplier 4 || status=1
	count "$ASAN/meson-logs/testlog.json"
else
	echo "ASan build failed"; echo "0 1" >>"$summary"; status=1
fi

echo "== pass 3: libFuzzer, ${FUZZ_SECONDS}s per harness ($FUZZB)"
[ -f "$FUZZB/build.ninja" ] || CC=clang CXX=clang++ meson setup "$FUZZB" \
	--buildtype=debugoptimized -Dfuzz=true -Db_lundef=false >/dev/null || status=1
if ninja -C "$FUZZB" >/dev/null; then
	sh "$here/fuzz.sh" "$FUZZB" "$FUZZ_SECONDS" "$summary" || status=1
else
	echo "fuzz build failed"; echo "0 1" >>"$summary"; status=1
fi

awk '{p += $1; f += $2} END {printf "%d passed, %d failed\n", p, f}' "$summary"
rm -f "$summary"
exit $status
