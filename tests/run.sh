#!/usr/bin/env bash
# run.sh - runs every test binary in $BUILD/tests and every tests/*.py / tests/*.mjs suite,
# and ends with the line "N passed, N failed, N skipped". Exit status 1 on any failure.
set -u
BUILD=${BUILD:-build}
export BUILD
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/pippa-tests.XXXXXX)
export PIPPA_TEST_TMP=$tmp
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
run_suite() { # name, command...
    local name=$1; shift
    local out="$tmp/$name.out" start=$SECONDS
    "$@" >"$out" 2>&1
    local rc=$?
    local line
    line=$(grep -E '^RESULT ' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        read -r _ _ p f s <<<"$line"
    else
        p=0 f=0 s=0
    fi
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
    grep -E '^(SKIP|FAIL)' "$out" | sed "s/^/  [$name] /"
    if [ "$f" -ne 0 ]; then
        echo "--- $name output (exit $rc) ---"; tail -n 60 "$out"; echo "---"
    fi
    printf '%-28s %4d passed %3d failed %3d skipped  (%ds)\n' "$name" "$p" "$f" "$s" $((SECONDS - start))
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.o|*.d) continue;; esac
    run_suite "$(basename "$t")" "$t"
done
PY=/usr/bin/python3
for t in tests/test_*.py; do
    [ -e "$t" ] || continue
    run_suite "$(basename "$t")" "$PY" "$t"
done
for t in tests/test_*.sh; do
    [ -e "$t" ] || continue
    run_suite "$(basename "$t")" bash "$t"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
