#!/usr/bin/env bash
# test_quantize.sh - `pippa quantize` end to end: byte identity with llama-quantize's fixture
# files (sha256 from llamacpp-ref.json), the QAT embedding shrink, requantize refusal, the
# progress/summary output, shape fallbacks on a generated 1B-wide model, that the outputs
# load in `pippa inspect` and run in `pippa logits`, and every usage/input error's text.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PIPPA="$BUILD/pippa"
GEN="$BUILD/pippa-gen"
PY=/usr/bin/python3
FX=${PIPPA_FIXTURES:-../shared/fixtures}
tmp=$(mktemp -d "${PIPPA_TEST_TMP:-/tmp}/quantize.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
check() { # name, condition-command...
    local name=$1; shift
    if "$@"; then ok "$name"; else bad "$name" "$*"; fi
}
VALID='F32, F16, BF16, Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q5_1, Q5_0, Q4_K_M, Q4_K_S, Q4_1, Q4_0, Q3_K_L, Q3_K_M, Q3_K_S, Q2_K'

# --- usage errors: exit 2, one line naming the problem ---
"$PIPPA" quantize a.gguf b.gguf Q9_K >/dev/null 2>"$tmp/err"; rc=$?
check "unknown type exit 2" test "$rc" -eq 2
check "unknown type message" grep -qxF "pippa: unknown type 'Q9_K' (valid: $VALID)" "$tmp/err"
"$PIPPA" quantize a.gguf b.gguf >/dev/null 2>"$tmp/err"; check "missing type exit 2" test $? -eq 2
check "missing type message" grep -qx "pippa: expected IN.gguf OUT.gguf TYPE" "$tmp/err"
"$PIPPA" quantize a.gguf b.gguf Q4_0 --bogus >/dev/null 2>&1; check "bad option exit 2" test $? -eq 2
"$PIPPA" quantize a.gguf b.gguf Q4_0 -t 0 >/dev/null 2>"$tmp/err"; check "bad threads exit 2" test $? -eq 2
check "bad threads message" grep -qx "pippa: -t needs a thread count between 1 and 1024" "$tmp/err"
"$PIPPA" quantize a.gguf b.gguf Q4_0 --token-embedding-type iq2_xs >/dev/null 2>"$tmp/err"
check "bad embedding type exit 2" test $? -eq 2
check "bad embedding type message" grep -q "^pippa: --token-embedding-type: unknown or unsupported type 'iq2_xs' (valid: F32, F16" "$tmp/err"
"$PIPPA" quantize --help >"$tmp/out" 2>&1; check "help exit 0" test $? -eq 0
check "help names the Q2_K/Q3_K fallback" grep -q "Q2_K/Q3_K->Q4_0" "$tmp/out"

# --- input errors: exit 1 ---
"$PIPPA" quantize "$tmp/missing.gguf" "$tmp/o.gguf" Q4_0 >/dev/null 2>"$tmp/err"; rc=$?
check "missing input exit 1" test "$rc" -eq 1
check "missing input message" grep -qxF "pippa: $tmp/missing.gguf: cannot open: No such file or directory" "$tmp/err"
check "missing input no output" test ! -e "$tmp/o.gguf"
printf 'GGUF junk' >"$tmp/junk.gguf"
"$PIPPA" quantize "$tmp/junk.gguf" "$tmp/o.gguf" Q4_0 >/dev/null 2>"$tmp/err"; rc=$?
check "unreadable input exit 1" test "$rc" -eq 1
check "unreadable input one line" test "$(wc -l <"$tmp/err")" -eq 1
check "unreadable input names file" grep -q "^pippa: junk.gguf: " "$tmp/err"
"$GEN" --shape fx --layers 1 --vocab 512 -o "$tmp/small.gguf" >/dev/null 2>&1
"$PIPPA" quantize "$tmp/small.gguf" "$tmp/./small.gguf" Q4_0 >/dev/null 2>"$tmp/err"; rc=$?
check "same file exit 1" test "$rc" -eq 1
check "same file message" grep -qxF "pippa: $tmp/./small.gguf: the output would overwrite the input; choose another output path" "$tmp/err"
ln -s "$tmp/small.gguf" "$tmp/link.gguf"
"$PIPPA" quantize "$tmp/small.gguf" "$tmp/link.gguf" Q4_0 >/dev/null 2>&1; check "same file via symlink exit 1" test $? -eq 1

# --- generated 1B-wide model: shape fallbacks, untied output, runs ---
"$GEN" --shape 1b --layers 2 --vocab 512 --ff 512 --untied --type f16 -o "$tmp/g1b.gguf" >/dev/null 2>&1
check "gen 1b" test -s "$tmp/g1b.gguf"
"$PIPPA" quantize "$tmp/g1b.gguf" "$tmp/g1b.q4km.gguf" q4_k_m -t 2 >"$tmp/out" 2>"$tmp/err"; rc=$?
check "1b Q4_K_M exit 0" test "$rc" -eq 0
"$PIPPA" inspect "$tmp/g1b.q4km.gguf" >"$tmp/insp" 2>&1
check "1b inspect exit 0" test $? -eq 0
check "1b output.weight Q8_0" grep -Eq '^ +[0-9]+ +output\.weight +Q8_0 ' "$tmp/insp"
check "1b token_embd Q5_0" grep -Eq '^ +[0-9]+ +token_embd\.weight +Q5_0 ' "$tmp/insp"
check "1b attn_q Q5_0" grep -Eq '^ +[0-9]+ +blk\.0\.attn_q\.weight +Q5_0 ' "$tmp/insp"
check "1b attn_v layer 0 Q5_0" grep -Eq '^ +[0-9]+ +blk\.0\.attn_v\.weight +Q5_0 ' "$tmp/insp"
# n_layer 2: use_more_bits(1, 2) holds, so layer 1 gets Q6_K, which falls back to Q8_0
check "1b attn_v layer 1 Q8_0 (Q6_K fallback)" grep -Eq '^ +[0-9]+ +blk\.1\.attn_v\.weight +Q8_0 ' "$tmp/insp"
check "1b ffn_down layer 1 Q6_K" grep -Eq '^ +[0-9]+ +blk\.1\.ffn_down\.weight +Q6_K ' "$tmp/insp"
check "1b attn_output Q4_K" grep -Eq '^ +[0-9]+ +blk\.1\.attn_output\.weight +Q4_K ' "$tmp/insp"
check "1b summary counts fallbacks" grep -Eq '^output: .*\(Q4_K_M, [0-9]+ of [0-9]+ tensors converted, [0-9]+ by shape fallback\)$' "$tmp/out"
"$PIPPA" logits "$tmp/g1b.q4km.gguf" --tokens 2,10,20,30 --top 1 >"$tmp/lg" 2>&1
check "1b Q4_K_M runs in logits" grep -Eq '^pos 3: [0-9]+:' "$tmp/lg"
"$PIPPA" quantize "$tmp/g1b.gguf" "$tmp/g1b.q2k.gguf" Q2_K >/dev/null 2>&1
"$PIPPA" inspect "$tmp/g1b.q2k.gguf" >"$tmp/insp" 2>&1
check "1b Q2_K attn_q Q4_0 (fallback)" grep -Eq '^ +[0-9]+ +blk\.0\.attn_q\.weight +Q4_0 ' "$tmp/insp"

if [ ! -f "$FX/fx.f32.gguf" ]; then
    echo "SKIP fixtures: $FX not found"
    skip=$((skip + 1))
else
    # --- presets: whole-file sha256 as recorded by the fixture author ---
    for m in Q8_0 Q6_K Q5_K_M Q5_1 Q5_0 Q4_K_M Q4_K_S Q4_1 Q4_0 Q3_K_M Q2_K F16 BF16; do
        "$PIPPA" quantize "$FX/fx.f32.gguf" "$tmp/fx.$m.gguf" "$m" -t 2 >"$tmp/out.$m" 2>&1
        want=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["models"]["fx."+sys.argv[2]]["sha256"])' "$FX/llamacpp-ref.json" "$m")
        got=$(sha256sum "$tmp/fx.$m.gguf" | cut -d' ' -f1)
        check "fx.$m sha256" test "$got" = "$want"
    done
    "$PIPPA" quantize "$FX/fx.f32.gguf" "$tmp/qat.gguf" Q4_0 --pure --token-embedding-type f16 >/dev/null 2>&1
    check "fx.qat-q4_0 identical" cmp -s "$tmp/qat.gguf" "$FX/fx.qat-q4_0.gguf"

    # --- progress output when not a terminal: plain lines, then the summary ---
    o="$tmp/out.Q4_0"
    check "progress 80 lines" test "$(grep -c '^\[[ 0-9]*/80\] ' "$o")" -eq 80
    check "progress no CR" sh -c "! grep -q \$'\\r' '$o'"
    check "progress line" grep -Eq '^\[ 3/80\] blk\.0\.attn_k\.weight +F32 -> Q4_0 +256x64 +0\.07 MB -> 0\.01 MB$' "$o"
    check "progress copy line" grep -Eq '^\[ 1/80\] output_norm\.weight +F32 +256 +0\.00 MB \(copied\)$' "$o"
    check "summary input" grep -Eq '^input: +.*fx\.f32\.gguf +27\.12 MB$' "$o"
    check "summary output" grep -Eq '^output: +.*fx\.Q4_0\.gguf +4\.19 MB +\(Q4_0, 43 of 80 tensors converted\)$' "$o"
    check "summary time" grep -Eq '^time: +[0-9.]+ s, 2 threads$' "$o"

    # --- QAT: refuse to requantize, then shrink only the embeddings ---
    "$PIPPA" quantize "$FX/fx.qat-q4_0.gguf" "$tmp/rq.gguf" Q4_K_M >/dev/null 2>"$tmp/err"; rc=$?
    check "requantize refused exit 1" test "$rc" -eq 1
    check "requantize refused message" grep -qx "pippa: fx.qat-q4_0.gguf: tensor 'blk.0.attn_k.weight' is already Q4_0; converting it to Q4_K would requantize it (lossy): use --allow-requantize" "$tmp/err"
    check "requantize refused no output" test ! -e "$tmp/rq.gguf"
    "$PIPPA" quantize "$FX/fx.qat-q4_0.gguf" "$tmp/rq.gguf" Q4_K_M --allow-requantize >/dev/null 2>"$tmp/err"; rc=$?
    check "requantize allowed exit 0" test "$rc" -eq 0
    check "requantize warning" grep -qx "pippa: warning: requantizing 42 already quantized tensors (quality is lower than quantizing the original F32/F16/BF16 model)" "$tmp/err"

    "$PIPPA" quantize "$FX/fx.qat-q4_0.gguf" "$tmp/shrink.gguf" Q4_0 --pure --token-embedding-type q6_k >"$tmp/out" 2>"$tmp/err"; rc=$?
    check "qat shrink exit 0" test "$rc" -eq 0
    check "qat shrink no warning" test ! -s "$tmp/err"
    check "qat shrink summary" grep -Eq '\(Q4_0, 1 of 80 tensors converted\)$' "$tmp/out"
    check "qat shrink tensors" "$PY" - "$FX/fx.qat-q4_0.gguf" "$tmp/shrink.gguf" <<'PYEOF'
import struct, sys
def tensors(path):
    b = open(path, "rb").read()
    o = 24
    nt, nkv = struct.unpack_from("<QQ", b, 8)
    def s(o):
        n, = struct.unpack_from("<Q", b, o); return b[o+8:o+8+n].decode(), o + 8 + n
    sizes = {0: 4, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    def val(t, o):
        if t == 8: return s(o)[1]
        if t == 9:
            et, n = struct.unpack_from("<IQ", b, o); o += 12
            for _ in range(n): o = val(et, o)
            return o
        return o + sizes[t]
    for _ in range(nkv):
        _, o = s(o); t, = struct.unpack_from("<I", b, o); o = val(t, o + 4)
    info = []
    for _ in range(nt):
        name, o = s(o); nd, = struct.unpack_from("<I", b, o); o += 4 + 8 * nd
        ty, off = struct.unpack_from("<IQ", b, o); o += 12
        info.append((name, ty, off))
    data = (o + 31) // 32 * 32
    ends = [x[2] for x in info[1:]] + [len(b) - data]
    return {n: (t, b[data + off:data + e]) for (n, t, off), e in zip(info, ends)}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert list(a) == list(b)
assert b["token_embd.weight"][0] == 14 and a["token_embd.weight"][0] == 1
for n in a:
    if n != "token_embd.weight":
        assert a[n][1].rstrip(b"\0") == b[n][1].rstrip(b"\0"), n
PYEOF
    "$PIPPA" logits "$tmp/shrink.gguf" --prompt "The quick brown fox jumps over the lazy dog." --top 1 --generate 3 --json >"$tmp/json" 2>&1
    check "qat shrink runs in logits" "$PY" - "$tmp/json" "$FX/llamacpp-ref.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1])); ref = json.load(open(sys.argv[2]))
run = ref["models"]["fx.qat-q4_0"]["runs"]["a"]["exact"]
assert d["positions"][-1]["top"][0][0] == run["top10"][-1]["ids"][0]
assert d["generated"] == run["greedy"][:3], d["generated"]
PYEOF
    "$PIPPA" logits "$tmp/fx.Q4_K_M.gguf" --prompt "The quick brown fox jumps over the lazy dog." --top 1 --generate 3 --json >"$tmp/json" 2>&1
    check "fx.Q4_K_M output runs in logits" "$PY" - "$tmp/json" "$FX/llamacpp-ref.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1])); ref = json.load(open(sys.argv[2]))
run = ref["models"]["fx.Q4_K_M"]["runs"]["a"]["exact"]
assert d["positions"][-1]["top"][0][0] == run["top10"][-1]["ids"][0]
assert d["generated"] == run["greedy"][:3], d["generated"]
PYEOF
    "$PIPPA" inspect "$tmp/fx.Q2_K.gguf" >"$tmp/insp" 2>&1
    check "fx.Q2_K inspect" grep -q "general.file_type  *UINT32 10$" "$tmp/insp"
fi

echo "RESULT quantize-cli $pass $fail $skip"
[ "$fail" -eq 0 ]
