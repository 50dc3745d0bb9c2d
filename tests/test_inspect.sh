#!/usr/bin/env bash
# test_inspect.sh - `pippa inspect` on the fixtures (skipped when absent), on the fuzz seed
# files, on malformed files (exit 1, one line on stderr) and with bad usage (exit 2).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PIPPA="$BUILD/pippa"
PY=/usr/bin/python3
FX=${PIPPA_FIXTURES:-../shared/fixtures}
tmp=$(mktemp -d "${PIPPA_TEST_TMP:-/tmp}/inspect.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
check() { # name, condition-command...
    local name=$1; shift
    if "$@"; then ok "$name"; else bad "$name" "$*"; fi
}

# --- malformed inputs: exit 1, exactly one line on stderr naming the file ---
printf 'GGML\003\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' >"$tmp/bad.gguf"
"$PIPPA" inspect "$tmp/bad.gguf" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "bad magic exit 1" test "$rc" -eq 1
check "bad magic one line" test "$(wc -l <"$tmp/err")" -eq 1
check "bad magic message" grep -qx 'pippa: bad.gguf: not a GGUF file (magic 0x4c4d4747)' "$tmp/err"
check "bad magic no stdout" test ! -s "$tmp/out"

# truncated copy of a valid seed: tensor data missing
seed=fuzz/corpus/fuzz_gguf/seed-mini.gguf
head -c 1000 "$seed" >"$tmp/trunc.gguf"
"$PIPPA" inspect "$tmp/trunc.gguf" >/dev/null 2>"$tmp/err"; rc=$?
check "truncated exit 1" test "$rc" -eq 1
check "truncated one line" test "$(wc -l <"$tmp/err")" -eq 1
check "truncated message" grep -q "^pippa: trunc.gguf: tensor '.*': data \[.*) lies past the end of the file (1000 bytes)$" "$tmp/err"

"$PIPPA" inspect "$tmp/missing.gguf" >/dev/null 2>"$tmp/err"; rc=$?
check "missing file exit 1" test "$rc" -eq 1
check "missing file message" grep -q "missing.gguf: cannot open: No such file" "$tmp/err"

# --- usage errors: exit 2 ---
"$PIPPA" inspect >/dev/null 2>&1; check "no file exit 2" test $? -eq 2
"$PIPPA" inspect --bogus "$seed" >/dev/null 2>&1; check "bad option exit 2" test $? -eq 2
"$PIPPA" inspect "$seed" "$seed" >/dev/null 2>&1; check "two files exit 2" test $? -eq 2

# --- a seed file (always present) ---
"$PIPPA" inspect fuzz/corpus/fuzz_gguf/seed-types.gguf >"$tmp/out" 2>&1; rc=$?
check "seed exit 0" test "$rc" -eq 0
check "seed alignment" grep -q "^seed-types.gguf: GGUF v3, alignment 64, 768 bytes" "$tmp/out"
check "seed int16 array" grep -Eq '^  t\.a_i16 +\[INT16 x 3\] 1, -2, 3$' "$tmp/out"
check "seed int8" grep -Eq '^  t\.i8 +INT8 -5$' "$tmp/out"
check "seed tensor row" grep -Eq '^  1 +t4 +I32 +2x2x2x2 +64 +64$' "$tmp/out"
"$PIPPA" inspect fuzz/corpus/fuzz_gguf/seed-types.gguf --json >"$tmp/json" 2>&1
check "seed json" "$PY" - "$tmp/json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
m = d["metadata"]
assert d["alignment"] == 64 and d["file_size"] == 768 and d["version"] == 3, d
assert m["t.u64"] == 1 << 40 and m["t.i8"] == -5 and m["t.f64"] == 3.25 and m["t.bool"] is True
assert m["t.a_bool"] == {"type": "BOOL", "count": 3, "head": [True, False, True]}, m["t.a_bool"]
assert m["t.a_empty"] == {"type": "UINT8", "count": 0, "head": []}
assert [t["name"] for t in d["tensors"]] == ["t3", "t4", "iq4nl"]
assert d["tensors"][0] == {"name": "t3", "type": "BF16", "ne": [4, 3, 2], "bytes": 48, "offset": 0}
assert d["types"]["IQ4_NL"] == {"count": 1, "bytes": 18}
assert d["n_params"] == 24 + 16 + 32
EOF

# --- fixtures ---
if [ ! -d "$FX" ]; then
    skip=$((skip + 1)); echo "SKIP fixtures: $FX not found"
else
    for f in "$FX"/fx.*.gguf; do
        name=$(basename "$f")
        "$PIPPA" inspect "$f" >"$tmp/out" 2>"$tmp/err"; rc=$?
        if [ $rc -ne 0 ]; then bad "$name" "exit $rc: $(cat "$tmp/err")"; continue; fi
        last=$(tail -n 1 "$tmp/out")
        case "$last" in
            "gemma3 6.76M · "*" MB") ok "$name summary" ;;
            *) bad "$name summary" "$last" ;;
        esac
    done
    "$PIPPA" inspect "$FX/fx.qat-q4_0.gguf" >"$tmp/out"
    last=$(tail -n 1 "$tmp/out")
    check "qat summary" test "$last" = "gemma3 6.76M · Q4_0 weights + F16 token embeddings (QAT layout) · 5.43 MB"
    check "qat mentions Q4_0 F16 QAT" bash -c '[[ "$1" == *Q4_0* && "$1" == *F16* && "$1" == *QAT* ]]' _ "$last"
    check "qat tokens line" grep -Eq '^  tokenizer\.ggml\.tokens +\[STRING x 4096\] "<pad>", "<eos>", "<bos>", \.\.\.$' "$tmp/out"
    check "qat block_count" grep -Eq '^  gemma3\.block_count +UINT32 6$' "$tmp/out"
    check "qat types Q4_0" grep -Eq '^  Q4_0 +42 tensors +3,207,168 bytes$' "$tmp/out"
    check "qat params" grep -q '^parameters: 6,757,376 (6.76M)$' "$tmp/out"
    check "qat file size" grep -q '^file size:  5,428,160 bytes (5.43 MB)$' "$tmp/out"
    "$PIPPA" inspect "$FX/fx.Q4_K_M.gguf" | tail -n 1 >"$tmp/out"
    check "Q4_K_M summary" grep -qx 'gemma3 6.76M · Q4_K weights (38 of 42) + Q6_K token embeddings · 4.33 MB' "$tmp/out"
    "$PIPPA" inspect "$FX/fx.Q4_0.gguf" --json >"$tmp/json"
    check "Q4_0 json" "$PY" - "$tmp/json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"file", "version", "alignment", "file_size", "n_params", "summary", "metadata",
                  "tensors", "types", "run"}, sorted(d)
assert d["run"] == {"ok": True, "num_ctx": 2048, "kv_cache_bytes": 932608, "kv_cache_bytes_without_rings": 3145728,
                    "context_length": 2048}, d["run"]
assert d["file"] == "fx.Q4_0.gguf" and d["file_size"] == 4191168 and d["alignment"] == 32
assert d["n_params"] == 6757376
assert len(d["tensors"]) == 80
m = d["metadata"]
assert m["gemma3.block_count"] == 6 and m["general.architecture"] == "gemma3"
assert abs(m["gemma3.attention.layer_norm_rms_epsilon"] - 1e-6) < 1e-12
assert m["tokenizer.ggml.tokens"]["type"] == "STRING" and m["tokenizer.ggml.tokens"]["count"] == 4096
assert m["tokenizer.ggml.tokens"]["head"][:3] == ["<pad>", "<eos>", "<bos>"]
assert m["tokenizer.ggml.add_bos_token"] is True
emb = [t for t in d["tensors"] if t["name"] == "token_embd.weight"][0]
assert emb["type"] == "Q6_K" and emb["ne"] == [256, 4096] and emb["bytes"] == 4096 * 210
assert d["types"]["Q4_0"]["count"] == 42 and d["types"]["F32"]["count"] == 37
assert sum(t["count"] for t in d["types"].values()) == 80
assert "Q4_0 weights + Q6_K token embeddings" in d["summary"]
EOF
fi

echo "RESULT test_inspect.sh $pass $fail $skip"
[ "$fail" -eq 0 ]
