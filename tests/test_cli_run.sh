#!/usr/bin/env bash
# test_cli_run.sh - `pippa run` one-shot and piped, the REPL driven through a pipe
# (/set parameter, /show parameters, multi-line input, /clear, unknown commands), the
# --verbose statistics, bad arguments (exit 2) and bad models (exit 1), and `pippa logits`.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PIPPA="$BUILD/pippa"
PY=/usr/bin/python3
FX=${PIPPA_FIXTURES:-../shared/fixtures}
tmp=$(mktemp -d "${PIPPA_TEST_TMP:-/tmp}/run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "$*"; fi; }

# --- argument errors need no model ---
"$PIPPA" run >/dev/null 2>"$tmp/err"; check "no model exit 2" test $? -eq 2
check "no model message" grep -q "^pippa: run: missing MODEL" "$tmp/err"
"$PIPPA" run m.gguf -p top_k=x </dev/null >/dev/null 2>"$tmp/err"; check "bad -p exit 2" test $? -eq 2
check "bad -p message" grep -qx "pippa: run: option 'top_k': expected integer, got 'x'" "$tmp/err"
"$PIPPA" run m.gguf -p nonsense </dev/null >/dev/null 2>"$tmp/err"; check "-p without = exit 2" test $? -eq 2
"$PIPPA" run m.gguf -p colour=red </dev/null >/dev/null 2>"$tmp/err"; check "unknown parameter exit 2" test $? -eq 2
check "unknown parameter message" grep -qx "pippa: run: unknown parameter 'colour'" "$tmp/err"
"$PIPPA" run m.gguf --frobnicate </dev/null >/dev/null 2>"$tmp/err"; check "unknown flag exit 2" test $? -eq 2
"$PIPPA" run "$tmp/none.gguf" "hi" >/dev/null 2>"$tmp/err"; check "missing file exit 1" test $? -eq 1
check "missing file message" grep -q "none.gguf: cannot open: No such file" "$tmp/err"
printf 'not a gguf at all, just text that is long enough to be read' >"$tmp/junk.gguf"
"$PIPPA" run "$tmp/junk.gguf" "hi" >/dev/null 2>"$tmp/err"; check "junk file exit 1" test $? -eq 1
check "junk file one line" test "$(wc -l <"$tmp/err")" -eq 1

# --- the kernel set, chosen once in main (PIPPA_KERNELS, a global --kernels NAME) ---
PIPPA_KERNELS=bogus "$PIPPA" --version >/dev/null 2>&1; check "bad PIPPA_KERNELS: --version still works" test $? -eq 0
PIPPA_KERNELS=bogus "$PIPPA" list >/dev/null 2>"$tmp/err"; check "bad PIPPA_KERNELS exit 2" test $? -eq 2
check "bad PIPPA_KERNELS message" grep -qx "pippa: PIPPA_KERNELS: unknown kernels 'bogus' (expected auto, generic, avx2, avx512f or avx512)" "$tmp/err"
"$PIPPA" run m.gguf --kernels avx9 </dev/null >/dev/null 2>"$tmp/err"; check "bad --kernels exit 2" test $? -eq 2
check "bad --kernels message" grep -q "^pippa: --kernels: unknown kernels 'avx9'" "$tmp/err"
"$PIPPA" run m.gguf --kernels </dev/null >/dev/null 2>"$tmp/err"; check "--kernels without NAME exit 2" test $? -eq 2

if [ ! -d "$FX" ]; then
    skip=$((skip + 1)); echo "SKIP fixtures: $FX not found"
    echo "RESULT cli_run $pass $fail $skip"; [ $fail -eq 0 ]; exit
fi
M="$FX/fx.f32.gguf"

# --- one-shot: fx echoes its last prompt token ("\n" after the chat template) ---
"$PIPPA" run "$M" "Hello there" -p num_predict=6 -p temperature=0 >"$tmp/out" 2>"$tmp/err"; rc=$?
check "one-shot exit 0" test $rc -eq 0
check "one-shot output is 6 newlines + final newline" test "$(od -An -c "$tmp/out" | tr -d ' \n')" = '\n\n\n\n\n\n\n'
check "one-shot quiet stderr" test ! -s "$tmp/err"
echo "The sea" | "$PIPPA" run "$M" -p num_predict=3 -p temperature=0 --verbose >"$tmp/out" 2>"$tmp/err"; rc=$?
check "piped exit 0" test $rc -eq 0
for label in "total duration:" "load duration:" "prompt eval count:    " "prompt eval duration:" "prompt eval rate:" \
             "eval count:           3 token(s)" "eval duration:" "eval rate:" "seed:"; do
    check "verbose '$label'" grep -q "^$label" "$tmp/err"
done
check "verbose kv size" grep -q "KV cache .* for num_ctx 2048" "$tmp/err"
"$PIPPA" run "$M" "x" -p num_predict=2 -p seed=77 --verbose >/dev/null 2>"$tmp/err"
check "seed printed" grep -qx "seed:                 77" "$tmp/err"
"$PIPPA" run "$M" "x" -p num_predict=1 --verbose >/dev/null 2>"$tmp/err1"
"$PIPPA" run "$M" "x" -p num_predict=1 --verbose >/dev/null 2>"$tmp/err2"
check "fresh random seed per run" test "$(grep '^seed:' "$tmp/err1")" != "$(grep '^seed:' "$tmp/err2")"

# --- the REPL through a pipe ---
printf '%s\n' '/set parameter temperature 0' '/set parameter num_predict 2' '/set parameter stop a b' \
    '/set parameter top_k x' '/show parameters' '/set system Be brief.' '/show system' \
    '"""' 'first line' 'second line' '"""' '/clear' '/show system' '/bogus' '/show info' 'hi' '/bye' 'never read' |
    "$PIPPA" run "$M" -i >"$tmp/out" 2>"$tmp/err"; rc=$?
check "repl exit 0" test $rc -eq 0
check "repl set temperature" grep -qx "Set parameter 'temperature' to '0'" "$tmp/out"
check "repl set stop words" grep -qx "Set parameter 'stop' to 'a, b'" "$tmp/out"
check "repl bad value" grep -qx "Couldn't set parameter: option 'top_k': expected integer, got 'x'" "$tmp/out"
check "repl show parameters" grep -Eqx "temperature +0" "$tmp/out"
check "repl show num_predict" grep -Eqx "num_predict +2" "$tmp/out"
check "repl stop listed" grep -Eqx 'stop +"b"' "$tmp/out"
check "repl system set" grep -qx "Set system message." "$tmp/out"
check "repl system shown twice (kept by /clear)" test "$(grep -cx 'Be brief.' "$tmp/out")" -eq 2
check "repl clear" grep -qx "Cleared session context" "$tmp/out"
check "repl unknown" grep -qx "Unknown command '/bogus'. Type /? for help" "$tmp/out"
check "repl info" grep -Eq "^ +architecture +gemma3$" "$tmp/out"
check "repl stderr clean" test ! -s "$tmp/err"

# --- inspect reports whether pippa can run a file and its KV cache at a num_ctx ---
"$PIPPA" inspect "$FX/fx.qat-q4_0.gguf" --num-ctx 1024 >"$tmp/out" 2>&1
check "inspect kv line" grep -qx "run: KV cache 670.46 KB (F16) at num_ctx 1024, 1.57 MB without sliding-window rings; trained context 2048" "$tmp/out"
"$PIPPA" inspect "$FX/fx.qat-q4_0.gguf" --num-ctx 0 >/dev/null 2>&1; check "inspect bad num-ctx exit 2" test $? -eq 2

# --- bench (speeds are measured, never asserted: only the shape of the output) ---
"$PIPPA" bench "$FX/fx.Q4_0.gguf" -p 16 -n 4 -r 2 -t 1 --json >"$tmp/bench" 2>"$tmp/err"
check "bench exit 0" test $? -eq 0
check "bench json" "$PY" - "$tmp/bench" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["test"] for r in rows] == ["pp16", "tg4"], rows
for r in rows:
    assert r["tok_s"] > 0 and r["sd"] >= 0 and r["threads"] == 1 and r["model"] == "fx.Q4_0.gguf"
assert rows[1]["bytes_per_token"] > 4000000 and rows[1]["read_bandwidth"] > 1e9
PYEOF
"$PIPPA" bench "$FX/fx.Q4_0.gguf" -p 8 -n 0 -r 1 >"$tmp/out" 2>&1
check "bench table" grep -Eq '^\| fx.Q4_0.gguf +\| +4.19 MB \| +6.76M \| .* \| +pp8 \| ' "$tmp/out"
"$PIPPA" bench "$FX/fx.Q4_0.gguf" -r 0 >/dev/null 2>"$tmp/err"; check "bench bad reps exit 2" test $? -eq 2
check "bench bad reps message" grep -qx "pippa: bench: -r: expected an integer in \[1, 1000\], got '0'" "$tmp/err"

# --- logits ---
"$PIPPA" logits "$M" --prompt "The quick brown fox jumps over the lazy dog." --top 5 --generate 3 --positions 0,10 --json >"$tmp/json" 2>"$tmp/err"
check "logits exit 0" test $? -eq 0
check "logits json" "$PY" - "$tmp/json" "$FX/llamacpp-ref.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1])); ref = json.load(open(sys.argv[2]))
assert d["tokens"] == ref["prompt_ids"]["a"], d["tokens"]
assert [p["pos"] for p in d["positions"]] == [0, 10]
run = ref["models"]["fx.f32"]["runs"]["a"]["exact"]
want = {e["pos"]: e for e in run["top10"]}
for p in d["positions"]:
    ids = [t[0] for t in p["top"]]
    assert ids[0] == want[p["pos"]]["ids"][0], (ids, want[p["pos"]]["ids"])
    for (i, l) in p["top"]:
        j = want[p["pos"]]["ids"].index(i)
        assert abs(l - want[p["pos"]]["logits"][j]) < 0.01
assert d["generated"] == run["greedy"][:3]
PYEOF
"$PIPPA" logits "$M" --prompt "x" --positions 5 >/dev/null 2>"$tmp/err"; check "logits bad position exit 2" test $? -eq 2
check "logits bad position message" grep -q "positions in \[0, 2)" "$tmp/err"
"$PIPPA" logits "$M" --prompt "x" --top -1 >/dev/null 2>"$tmp/err"; check "logits bad top exit 2" test $? -eq 2

# --kernels is taken anywhere before `--`, never after it (there it is prompt text)
"$PIPPA" tokenize "$M" --kernels generic "hi" --json >"$tmp/k1" 2>&1; check "--kernels after the command" test $? -eq 0
"$PIPPA" tokenize "$M" --json -- "--kernels" >"$tmp/k2" 2>&1; check "--kernels after -- is text" test $? -eq 0
"$PIPPA" tokenize "$M" --json -- "x" >"$tmp/k3" 2>&1
check "--kernels after -- tokenized" test "$(cat "$tmp/k2")" != "$(cat "$tmp/k3")"
PIPPA_KERNELS=generic "$PIPPA" bench "$M" -p 8 -n 0 -r 1 >"$tmp/kb" 2>&1
check "PIPPA_KERNELS=generic reaches bench" grep -q "| generic |" "$tmp/kb"
"$PIPPA" bench "$M" -p 8 -n 0 -r 1 --kernels generic >"$tmp/kb" 2>&1
check "--kernels generic reaches bench" grep -q "| generic |" "$tmp/kb"

echo "RESULT cli_run $pass $fail $skip"
[ $fail -eq 0 ]
