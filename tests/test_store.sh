#!/usr/bin/env bash
# test_store.sh - models by name end to end: create from a Modelfile (params/template layer
# digests equal Ollama's), list/show/cp/rm output, run by name with the model's parameters,
# the read-only Ollama store (used, never written), and pulls from a real HTTP registry
# (tests/registry/registry.py on 127.0.0.1): full pull + run, parallel ranged parts, a
# dropped connection that resumes, in-run retries, a corrupt blob, hostile manifests,
# redirects to another host, 404s, unreachable hosts and the --insecure rule.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PIPPA="$PWD/$BUILD/pippa"
GEN="$PWD/$BUILD/pippa-gen"
PY=/usr/bin/python3
FX=${PIPPA_FIXTURES:-../shared/fixtures}
tmp=$(mktemp -d "${PIPPA_TEST_TMP:-/tmp}/store.XXXXXX")
srv_pid=""
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "$*"; fi; }
# never the real stores
export HOME="$tmp/home"
export PIPPA_MODELS="$tmp/models" OLLAMA_MODELS="$tmp/ollama"
mkdir -p "$HOME"

"$GEN" --layers 2 --embd 64 --heads 2 --heads-kv 1 --head-dim 32 --ff 128 --vocab 512 -o "$tmp/tiny.gguf" >/dev/null 2>&1
check "generated a tiny model" test -s "$tmp/tiny.gguf"

# ---- create: Ollama's exact layer bytes -------------------------------------------------
mkdir -p "$tmp/mf"
cp "$tmp/tiny.gguf" "$tmp/mf/tiny.gguf"
cat >"$tmp/mf/Modelfile" <<'MF'
# gemma3's library parameters, in another order and case
from ./tiny.gguf
PARAMETER top_p 0.95
parameter stop "<end_of_turn>"
PARAMETER temperature 1
PARAMETER top_k 64
TEMPLATE """{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if or (eq .Role "user") (eq .Role "system") }}<start_of_turn>user
{{ .Content }}<end_of_turn>
{{ if $last }}<start_of_turn>model
{{ end }}
{{- else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- end }}
{{- end }}"""
MF
(cd "$tmp" && "$PIPPA" create g3 -f mf/Modelfile >"$tmp/out" 2>"$tmp/err"); rc=$?
check "create exit 0" test $rc -eq 0
check "create says success" grep -qx "success" "$tmp/out"
B="$PIPPA_MODELS/blobs"
check "params blob = gemma3 library params (sha256:3116c5225075...)" \
    test -f "$B/sha256-3116c52250752e00dd06b16382e952bd33c34fd79fc4fe3a5d2c77cf7de1b14b"
check "params blob is 77 bytes" test "$(stat -c %s "$B/sha256-3116c52250752e00dd06b16382e952bd33c34fd79fc4fe3a5d2c77cf7de1b14b" 2>/dev/null)" = 77
check "template blob = gemma3 library template (sha256:e0a42594d802...)" \
    test -f "$B/sha256-e0a42594d802e5d31cdc786deb4823edb8adff66094d49de8fffe976d753e348"
M="$PIPPA_MODELS/manifests/registry.ollama.ai/library/g3/latest"
check "manifest at Ollama's path" test -f "$M"
check "manifest compact, no trailing newline" test "$(tail -c 1 "$M" | od -An -c | tr -d ' ')" = "}"
mdig=$(sha256sum "$tmp/tiny.gguf" | cut -d' ' -f1)
check "model layer is the file's sha256" grep -q "\"digest\":\"sha256:$mdig\"" "$M"
check "model blob copied" cmp -s "$tmp/tiny.gguf" "$B/sha256-$mdig"
cfg=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"][7:])' "$M")
check "config blob starts like Ollama's" grep -q '^{"model_format":"gguf","model_family":"gemma3","model_families":\["gemma3"\],"model_type":"' "$B/sha256-$cfg"
check "config rootfs lists the layers" grep -q "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":\[\"sha256:$mdig\"" "$B/sha256-$cfg"
check "config ends with a newline" test "$(tail -c 1 "$B/sha256-$cfg" | od -An -c | tr -d ' ')" = '\n'

# run by name: the library template is not "custom"
"$PIPPA" run g3 "hi" -p num_predict=2 >/dev/null 2>"$tmp/err"; rc=$?
check "run g3 by name" test $rc -eq 0
check "gemma3 template: no warning" test ! -s "$tmp/err"

# ---- Modelfile errors carry file:line ------------------------------------------------------
mfe() { # name, expected stderr line, Modelfile text
    printf '%s' "$3" >"$tmp/mf/Bad"
    (cd "$tmp/mf" && "$PIPPA" create bad -f Bad >/dev/null 2>"$tmp/err"); local rc=$?
    check "$1 exit 1" test $rc -eq 1
    check "$1 message" grep -qxF "$2" "$tmp/err"
}
mfe "bad int" "pippa: Bad:3: PARAMETER top_k: expected integer, got 'x'" $'FROM ./tiny.gguf\n# c\nPARAMETER top_k x\n'
mfe "bad float" "pippa: Bad:2: PARAMETER temperature: expected number, got 'hot'" $'FROM ./tiny.gguf\nPARAMETER temperature hot\n'
mfe "unknown parameter" "pippa: Bad:2: unknown parameter 'colour'" $'FROM ./tiny.gguf\nPARAMETER colour red\n'
mfe "adapter" "pippa: Bad:2: ADAPTER is not supported yet (LoRA)" $'FROM ./tiny.gguf\nADAPTER ./lora.gguf\n'
mfe "no FROM" "pippa: Bad: no FROM line" $'SYSTEM hi\n'
mfe "unterminated" "pippa: Bad:2: SYSTEM: unterminated \"\"\" (no closing \"\"\")" $'FROM ./tiny.gguf\nSYSTEM """abc\n'
mfe "FROM missing model" "pippa: create 'bad': FROM nosuchmodel: model 'nosuchmodel:latest' not found" $'FROM nosuchmodel\n'
mfe "FROM traversal" "pippa: create 'bad': FROM ../../x: invalid model name '../../x': namespace must start with a letter, digit or '_', not '.'" $'FROM ../../x\n'
check "failed creates list nothing" test -z "$("$PIPPA" list | grep '^bad')"
printf 'FROM ./tiny.gguf\nPARAMETER mirostat 1\n' >"$tmp/mf/Dep"
(cd "$tmp/mf" && "$PIPPA" create dep -f Dep >/dev/null 2>"$tmp/err"); rc=$?
check "deprecated parameter accepted" test $rc -eq 0
check "deprecated parameter warning" grep -qxF "Dep:2: warning: parameter mirostat is deprecated" "$tmp/err"
# --quantize: the model layer is exactly what `pippa quantize` writes
"$PIPPA" quantize "$tmp/tiny.gguf" "$tmp/tiny-q8.gguf" q8_0 >/dev/null 2>&1
q8=$(sha256sum "$tmp/tiny-q8.gguf" | cut -d' ' -f1)
(cd "$tmp/mf" && "$PIPPA" create q -f Modelfile --quantize q8_0 >"$tmp/out" 2>&1); rc=$?
check "--quantize exit 0" test $rc -eq 0
check "--quantize model layer = pippa quantize output" grep -q "\"digest\":\"sha256:$q8\"" "$PIPPA_MODELS/manifests/registry.ollama.ai/library/q/latest"
check "--quantize status" grep -qx "quantizing model to Q8_0" "$tmp/out"
check "--quantize show" grep -qE '^    quantization +Q8_0$' <("$PIPPA" show q)
check "--quantize leaves no temporary file" test -z "$(ls -A "$PIPPA_MODELS/blobs" | grep -v '^sha256-[0-9a-f]*$')"
"$PIPPA" run q "hi" -p num_predict=2 >/dev/null 2>&1; check "run the quantized model" test $? -eq 0
printf 'FROM q\n' >"$tmp/mf/Requant"
"$PIPPA" create q2 -f "$tmp/mf/Requant" --quantize q4_0 >/dev/null 2>"$tmp/err"; rc=$?
check "--quantize of a quantized model refused" test $rc -eq 1
check "--quantize refusal message" grep -q "^pippa: create 'q2': --quantize needs an F32, F16 or BF16 model; .* is already quantized$" "$tmp/err"
check "--quantize refusal lists nothing" test -z "$("$PIPPA" list | grep '^q2:')"
"$PIPPA" create q3 -f "$tmp/mf/Requant" --quantize bogus >/dev/null 2>"$tmp/err"; rc=$?
check "--quantize bad type exit 2" test $rc -eq 2
check "--quantize bad type message" grep -q "^pippa: create: --quantize: unknown type 'bogus'" "$tmp/err"
"$PIPPA" create ../evil -f "$tmp/mf/Modelfile" >/dev/null 2>"$tmp/err"; rc=$?
check "create traversal name refused" test $rc -eq 1
check "create traversal message" grep -qxF "pippa: invalid model name '../evil': namespace must start with a letter, digit or '_', not '.'" "$tmp/err"
check "nothing written outside the store" test ! -e "$tmp/evil"

# ---- FROM another model + SYSTEM/MESSAGE, parameters in effect ---------------------------
cat >"$tmp/mf/Child" <<'MF'
FROM g3
PARAMETER num_predict 3
PARAMETER temperature 0
REQUIRES 0.14.0
SYSTEM You are a tiny test model.
MESSAGE user hello
MESSAGE assistant hi there
MF
(cd "$tmp/mf" && "$PIPPA" create me/child:v1 -f Child >"$tmp/out" 2>&1); rc=$?
check "create FROM a model" test $rc -eq 0
check "FROM model reuses the model layer" grep -q "using existing layer sha256:$mdig" "$tmp/out"
"$PIPPA" show me/child:v1 --parameters >"$tmp/out"
printf '%-30s %s\n' num_predict 3 stop '"<end_of_turn>"' temperature 0 top_k 64 top_p 0.95 >"$tmp/want"
check "show --parameters merged over the base" cmp -s "$tmp/out" "$tmp/want"
"$PIPPA" run me/child:v1 "x" --verbose >/dev/null 2>"$tmp/err"; rc=$?
check "run child exit 0" test $rc -eq 0
check "num_predict 3 from the params layer" grep -qx "eval count:           3 token(s)" "$tmp/err"
"$PIPPA" run me/child:v1 "x" -p num_predict=1 --verbose >/dev/null 2>"$tmp/err"
check "-p overrides the params layer" grep -qx "eval count:           1 token(s)" "$tmp/err"
"$PIPPA" run ../shared/../x "x" >/dev/null 2>&1
"$PIPPA" run tiny-nope "x" >/dev/null 2>"$tmp/err"; rc=$?
check "run unknown name exit 1" test $rc -eq 1
check "run unknown name message" grep -qxF "pippa: model 'tiny-nope:latest' not found; try 'pippa pull tiny-nope'" "$tmp/err"
# system + MESSAGEs are in the prompt: more prompt tokens than the parent for the same input
"$PIPPA" run g3 "x" -p num_predict=1 --verbose >/dev/null 2>"$tmp/e1"
"$PIPPA" run me/child:v1 "x" -p num_predict=1 --verbose >/dev/null 2>"$tmp/e2"
p1=$(sed -n 's/^prompt eval count: *\([0-9]*\).*/\1/p' "$tmp/e1"); p2=$(sed -n 's/^prompt eval count: *\([0-9]*\).*/\1/p' "$tmp/e2")
check "SYSTEM and MESSAGEs reach the prompt ($p1 < $p2)" test "${p1:-0}" -lt "${p2:-0}"
printf '/show system\n/bye\n' | "$PIPPA" run me/child:v1 --interactive >"$tmp/out" 2>&1
check "REPL /show system shows the model's SYSTEM" grep -qx "You are a tiny test model." "$tmp/out"
# a custom template warns once
printf 'FROM g3\nTEMPLATE {{ .Prompt }}\n' >"$tmp/mf/Custom"
(cd "$tmp/mf" && "$PIPPA" create custom -f Custom >/dev/null 2>&1)
"$PIPPA" run custom "x" -p num_predict=1 >/dev/null 2>"$tmp/err"
check "custom TEMPLATE warning" grep -qxF "pippa: warning: model 'custom:latest': custom TEMPLATE is not supported yet; using the Gemma 3 chat format" "$tmp/err"
check "warning once" test "$(wc -l <"$tmp/err")" -eq 1
if [ -d "$FX" ]; then
    printf 'FROM %s\nPARAMETER num_predict 5\nPARAMETER temperature 0\nPARAMETER stop """\n"""\n' "$(cd "$FX" && pwd)/fx.f32.gguf" >"$tmp/mf/Stop"
    "$PIPPA" create fxstop -f "$tmp/mf/Stop" >/dev/null 2>&1
    "$PIPPA" run fxstop "hello" >"$tmp/out" 2>/dev/null
    check "stop from the params layer (fx echoes newlines; stop at the first)" test "$(od -An -c "$tmp/out" | tr -d ' \n')" = '\n'
    "$PIPPA" run fxstop "hello" -p stop=zz >"$tmp/out" 2>/dev/null
    check "-p stop replaces the model's stop" test "$(od -An -c "$tmp/out" | tr -d ' \n')" = '\n\n\n\n\n\n'
    "$PIPPA" rm fxstop >/dev/null
else
    skip=$((skip + 1)); echo "SKIP stop via params: fixtures not found"
fi

# ---- list / show / cp / rm ---------------------------------------------------------------
"$PIPPA" list >"$tmp/out"
check "list header" grep -qE '^NAME +ID +SIZE +MODIFIED$' "$tmp/out"
id=$(sha256sum "$M" | cut -c1-12)
check "list row: name, manifest id, size, modified" grep -qE "^g3:latest +$id +[0-9.]+ KB +(Less than a second|[0-9]+ seconds?) ago$" "$tmp/out"
check "list shows namespaced name" grep -q "^me/child:v1 " "$tmp/out"
"$PIPPA" show g3 >"$tmp/out"
check "show Model block" grep -qE '^    architecture +gemma3$' "$tmp/out"
check "show context length" grep -qE '^    context length +[0-9]+$' "$tmp/out"
check "show embedding length" grep -qE '^    embedding length +64$' "$tmp/out"
check "show quantization" grep -qE '^    quantization +F32$' "$tmp/out"
check "show capabilities" grep -qx '    completion' "$tmp/out"
check "show parameters" grep -qE '^    stop +"<end_of_turn>"$' "$tmp/out"
printf '/show parameters\n/set parameter top_k 5\n/show parameters\n/bye\n' | "$PIPPA" run g3 -i >"$tmp/out" 2>&1
check "repl lists the model's parameters" grep -qE '^top_k +64$' "$tmp/out"
check "repl model stop quoted" grep -qE '^stop +"<end_of_turn>"$' "$tmp/out"
check "repl user parameters after the model's" grep -qE '^top_k +5$' "$tmp/out"
"$PIPPA" show me/child:v1 >"$tmp/out"
check "show requires" grep -qE '^    requires +0.14.0$' "$tmp/out"
check "show System block" grep -qx '    You are a tiny test model.' "$tmp/out"
"$PIPPA" show me/child:v1 --modelfile >"$tmp/out"
check "show --modelfile FROM blob" grep -qx "FROM $B/sha256-$mdig" "$tmp/out"
check "show --modelfile SYSTEM" grep -qx "SYSTEM You are a tiny test model." "$tmp/out"
check "show --modelfile MESSAGE" grep -qx "MESSAGE assistant hi there" "$tmp/out"
check "show --modelfile PARAMETER" grep -qx "PARAMETER stop <end_of_turn>" "$tmp/out"

# show --modelfile is a Modelfile create reads back exactly: every value quoted, so a
# parameter value with a newline cannot add a SYSTEM line (issue 21)
cat >"$tmp/mf/Modelfile.rt" <<'MF'
FROM ./tiny.gguf
PARAMETER stop "a
SYSTEM injected by a parameter value"
PARAMETER stop "a
PARAM"
PARAMETER stop " lead and trail "
PARAMETER stop "say \"hi\"
bye"
PARAMETER stop "back\\slash\\"
PARAMETER temperature 0.7
PARAMETER top_k 64
TEMPLATE """{{ .Prompt }} "quoted" \ back
"""
SYSTEM "in \"\"\" side\""
LICENSE """line 1
line 2"""
LICENSE MIT
MESSAGE user "x\"\"\"y"
MESSAGE assistant " spaced "
REQUIRES 0.14.0
MF
(cd "$tmp/mf" && "$PIPPA" create rt -f Modelfile.rt >/dev/null 2>"$tmp/err"); rc=$?
check "create with quoted values" test $rc -eq 0
"$PIPPA" show rt --modelfile >"$tmp/rt.mf" 2>/dev/null
"$PIPPA" create rt2 -f <("$PIPPA" show rt --modelfile 2>/dev/null) >/dev/null 2>"$tmp/err"; rc=$?
check "create -f <(show --modelfile) exit 0" test $rc -eq 0
"$PIPPA" show rt2 --modelfile >"$tmp/rt2.mf" 2>/dev/null
check "the re-created model's Modelfile is the same" cmp -s <(tail -n +4 "$tmp/rt.mf") <(tail -n +4 "$tmp/rt2.mf")
"$PIPPA" show rt2 --system >"$tmp/out" 2>/dev/null
check "no SYSTEM injected by a parameter value" test "$(cat "$tmp/out")" = 'in """ side"'
"$PIPPA" list >"$tmp/out"
rt_id=$(awk '$1 == "rt:latest" {print $2}' "$tmp/out"); rt2_id=$(awk '$1 == "rt2:latest" {print $2}' "$tmp/out")
check "the re-created model is the same model (same manifest id)" test -n "$rt_id" -a "$rt_id" = "$rt2_id"
check "show --modelfile quotes a value with a newline" grep -qx 'PARAMETER stop "a' "$tmp/rt.mf"
printf 'FROM ./tiny.gguf\nPARAMETER stop "a\nSYSTEM injected by a parameter value"\n' >"$tmp/mf/Modelfile.inj"
(cd "$tmp/mf" && "$PIPPA" create inj -f Modelfile.inj >/dev/null 2>&1)
"$PIPPA" create inj2 -f <("$PIPPA" show inj --modelfile) >/dev/null 2>&1; rc=$?
check "re-create from a stop value with a newline exit 0" test $rc -eq 0
check "re-created model has no SYSTEM" test -z "$("$PIPPA" show inj2 --system 2>&1)"
check "re-created model keeps the stop value" test "$("$PIPPA" show inj2 --parameters 2>&1)" = "$("$PIPPA" show inj --parameters 2>&1)"
"$PIPPA" rm rt rt2 inj inj2 >/dev/null 2>&1

"$PIPPA" show me/child:v1 --system >"$tmp/out"
check "show --system" grep -qx "You are a tiny test model." "$tmp/out"
"$PIPPA" show g3 --template | head -c 40 >"$tmp/out"
check "show --template" grep -q '^{{- range \$i' "$tmp/out"
"$PIPPA" show g3 --system --license >/dev/null 2>&1; check "show two flags exit 2" test $? -eq 2
"$PIPPA" cp g3 G3-Copy:x >"$tmp/out"; rc=$?
check "cp exit 0" test $rc -eq 0
check "cp message" grep -qxF "copied 'g3' to 'G3-Copy:x'" "$tmp/out"
"$PIPPA" run g3-copy:X "x" -p num_predict=1 >/dev/null 2>&1; check "names are case-insensitive" test $? -eq 0
"$PIPPA" rm g3-copy:x >"$tmp/out"; rc=$?
check "rm exit 0" test $rc -eq 0
check "rm message" grep -qxF "deleted 'g3-copy:x'" "$tmp/out"
check "rm keeps shared blobs" test -f "$B/sha256-$mdig"
"$PIPPA" rm nosuch >/dev/null 2>"$tmp/err"; rc=$?
check "rm unknown exit 1" test $rc -eq 1
check "rm unknown message" grep -qxF "pippa: model 'nosuch:latest' not found" "$tmp/err"
"$PIPPA" rm g3 me/child:v1 dep custom q >/dev/null
check "rm last users prunes blobs" test -z "$(ls "$B")"
check "rm leaves no manifests" test -z "$(find "$PIPPA_MODELS/manifests" -type f)"

# ---- the read-only Ollama store ----------------------------------------------------------
PIPPA_MODELS="$OLLAMA_MODELS" OLLAMA_MODELS="" "$PIPPA" create gemma3:27b-it-qat -f "$tmp/mf/Modelfile" >/dev/null 2>&1
snap() { (cd "$OLLAMA_MODELS" && find . -printf '%p %s %T@ %m\n' | sort && find . -type f -exec sha256sum {} + | sort); }
snap >"$tmp/snap1"
"$PIPPA" list >"$tmp/out"
check "list shows Ollama's models" grep -q "^gemma3:27b-it-qat " "$tmp/out"
"$PIPPA" run gemma3:27b-it-qat "hi" -p num_predict=2 >/dev/null 2>"$tmp/err"; rc=$?
check "run a model pulled by Ollama" test $rc -eq 0
"$PIPPA" show gemma3:27b-it-qat --parameters >/dev/null; check "show an Ollama model" test $? -eq 0
"$PIPPA" rm gemma3:27b-it-qat >/dev/null 2>"$tmp/err"; rc=$?
check "rm refuses Ollama's store" test $rc -eq 1
check "rm refusal message" grep -q "^pippa: model 'gemma3:27b-it-qat' is in the Ollama store" "$tmp/err"
"$PIPPA" cp gemma3:27b-it-qat mine >/dev/null; check "cp from Ollama's store into ours" test -f "$PIPPA_MODELS/manifests/registry.ollama.ai/library/mine/latest"
"$PIPPA" run mine "hi" -p num_predict=1 >/dev/null 2>&1; check "run the copy (blobs read from Ollama's store)" test $? -eq 0
"$PIPPA" rm mine >/dev/null
snap >"$tmp/snap2"
check "Ollama's store was never written" cmp -s "$tmp/snap1" "$tmp/snap2"

# ---- name parsing at the CLI ---------------------------------------------------------------
for n in '../x' 'a/../../b' '/abs' '.hidden' 'x:y:z' 'a b' 'ns.dot/m' "$(printf 'a\tb')"; do
    "$PIPPA" show "$n" >/dev/null 2>"$tmp/err"; rc=$?
    check "show '$n' refused" test $rc -eq 1
    check "show '$n' one line 'invalid model name'" test "$(grep -c "^pippa: invalid model name '" "$tmp/err")" = 1 -a "$(wc -l <"$tmp/err")" = 1
done

# ---- pulls from a local registry -----------------------------------------------------------
# publish: a store's model laid out as registry files
PIPPA_MODELS="$tmp/pub" OLLAMA_MODELS="" "$PIPPA" create tiny -f "$tmp/mf/Modelfile" >/dev/null 2>&1
R="$tmp/reg"
mkdir -p "$R/manifests/library/tiny" "$R/blobs"
cp "$tmp/pub/blobs/"* "$R/blobs/"
cp "$tmp/pub/manifests/registry.ollama.ai/library/tiny/latest" "$R/manifests/library/tiny/latest"
pub_manifest="$R/manifests/library/tiny/latest"
start_registry() { # args for registry.py
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
    rm -f "$tmp/port" "$tmp/reglog"; : >"$tmp/reglog"
    "$PY" tests/registry/registry.py --root "$R" --port-file "$tmp/port" --log "$tmp/reglog" "$@" &
    srv_pid=$!
    for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
    PORT=$(cat "$tmp/port")
    HOSTP="127.0.0.1:$PORT"
}
fresh() { export PIPPA_MODELS="$tmp/client$1" OLLAMA_MODELS=""; }
start_registry
check "registry started" test -n "$PORT"
fresh 1
"$PIPPA" pull "http://$HOSTP/library/tiny" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "http without --insecure refused" test $rc -eq 1
check "http refusal message" grep -qxF "pippa: pull '$HOSTP/library/tiny:latest': http:// registries are insecure; use --insecure to allow $HOSTP" "$tmp/err"
"$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "pull exit 0" test $rc -eq 0
check "pull status lines" test "$(grep -vc '^pulling [0-9a-f]\{12\}: 100%' "$tmp/out")" -eq 4
check "pull says success" test "$(tail -n 1 "$tmp/out")" = success
check "pull sent the manifest Accept header" grep -q "^GET /v2/library/tiny/manifests/latest - application/vnd.docker.distribution.manifest.v2+json" "$tmp/reglog"
check "pulled manifest is the registry's bytes" cmp -s "$pub_manifest" "$PIPPA_MODELS/manifests/$HOSTP/library/tiny/latest"
check "pulled model blob" cmp -s "$tmp/tiny.gguf" "$PIPPA_MODELS/blobs/sha256-$mdig"
check "no partial files left" test -z "$(ls "$PIPPA_MODELS/blobs" | grep partial)"
"$PIPPA" list >"$tmp/out"
check "list shows the pulled model" grep -q "^$HOSTP/library/tiny:latest " "$tmp/out"
"$PIPPA" run "$HOSTP/library/tiny" "hi" -p num_predict=3 --verbose >/dev/null 2>"$tmp/err"; rc=$?
check "run the pulled model by name" test $rc -eq 0
check "run pulled: 3 tokens" grep -qx "eval count:           3 token(s)" "$tmp/err"
: >"$tmp/reglog"
"$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >"$tmp/out" 2>&1
check "second pull downloads no blob" test -z "$(grep '/blobs/' "$tmp/reglog")"

# parallel ranged parts
fresh 2
: >"$tmp/reglog"
PIPPA_PULL_PART_SIZE=100000 "$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "ranged pull exit 0" test $rc -eq 0
nranges=$(grep -c "blobs/sha256:$mdig bytes=[1-9]" "$tmp/reglog")
check "ranged pull used several parts ($nranges)" test "$nranges" -ge 3
check "ranged pull blob intact" cmp -s "$tmp/tiny.gguf" "$PIPPA_MODELS/blobs/sha256-$mdig"

# a dropped connection: error, nothing listed, partial kept; the next pull resumes
start_registry --drop-after 200000 --drop-times 1
fresh 3
PIPPA_PULL_RETRIES=0 "$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "dropped pull fails" test $rc -eq 1
check "dropped pull error names the host" grep -q "^pippa: $HOSTP: download of sha256:$mdig failed" "$tmp/err"
check "dropped pull: one line" test "$(wc -l <"$tmp/err")" -eq 1
check "dropped pull lists nothing" test -z "$("$PIPPA" list | tail -n +2)"
check "dropped pull keeps the partial file" test -f "$PIPPA_MODELS/blobs/sha256-$mdig-partial"
check "dropped pull saved its offsets" grep -q '"Completed":200000' "$PIPPA_MODELS/blobs/sha256-$mdig-partial-0"
check "dropped pull: no final blob" test ! -e "$PIPPA_MODELS/blobs/sha256-$mdig"
: >"$tmp/reglog"
"$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "resumed pull exit 0" test $rc -eq 0
check "resumed from byte 200000" grep -q "blobs/sha256:$mdig bytes=200000-" "$tmp/reglog"
check "resumed blob intact" cmp -s "$tmp/tiny.gguf" "$PIPPA_MODELS/blobs/sha256-$mdig"
check "resumed: partial files gone" test -z "$(ls "$PIPPA_MODELS/blobs" | grep partial)"
check "resumed pull listed" grep -q "^$HOSTP/library/tiny:latest" <("$PIPPA" list)

# retry within one pull
start_registry --drop-after 100000 --drop-times 1
fresh 4
PIPPA_PULL_RETRIES=2 "$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "pull retries a dropped part" test $rc -eq 0
check "retried blob intact" cmp -s "$tmp/tiny.gguf" "$PIPPA_MODELS/blobs/sha256-$mdig"

# a blob whose bytes do not match its digest
start_registry --corrupt "$mdig"
fresh 5
"$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "corrupt blob rejected" test $rc -eq 1
check "corrupt blob message" grep -q "^pippa: $HOSTP: blob sha256:$mdig: digest mismatch (got sha256:[0-9a-f]\{64\}); the download was deleted$" "$tmp/err"
check "corrupt blob: nothing listed" test -z "$("$PIPPA" list | tail -n +2)"
check "corrupt blob: no blob or partial left" test -z "$(ls "$PIPPA_MODELS/blobs" | grep "$mdig")"

# hostile manifests
start_registry
fresh 6
evil() { # name, manifest JSON, expected error substring
    mkdir -p "$R/manifests/library/$1"
    printf '%s' "$2" >"$R/manifests/library/$1/latest"
    "$PIPPA" pull --insecure "http://$HOSTP/library/$1" >/dev/null 2>"$tmp/err"; local rc=$?
    check "manifest $1 rejected" test $rc -eq 1
    check "manifest $1 message" grep -qF "$3" "$tmp/err"
    check "manifest $1 one line" test "$(wc -l <"$tmp/err")" -eq 1
}
L='"mediaType":"application/vnd.ollama.image.model","size":1'
C='"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:'"$mdig"'","size":1}'
evil trav1 '{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:../../x","size":1},"layers":[]}' \
    "config.digest: invalid digest 'sha256:../../x' (want sha256:<64 lowercase hex>)"
evil trav2 '{"schemaVersion":2,'"$C"',"layers":[{'"$L"',"digest":"sha256:../../../../tmp/evil"}]}' \
    "layers[0].digest: invalid digest 'sha256:../../../../tmp/evil'"
evil upper '{"schemaVersion":2,'"$C"',"layers":[{'"$L"',"digest":"sha256:'"$(echo "$mdig" | tr a-f A-F)"'"}]}' \
    "layers[0].digest: invalid digest"
evil short '{"schemaVersion":2,'"$C"',"layers":[{'"$L"',"digest":"sha256:abc"}]}' "layers[0].digest: invalid digest 'sha256:abc'"
evil algo '{"schemaVersion":2,'"$C"',"layers":[{'"$L"',"digest":"md5:'"$mdig"'"}]}' "layers[0].digest: invalid digest"
evil negsize '{"schemaVersion":2,'"$C"',"layers":[{"mediaType":"m","digest":"sha256:'"$mdig"'","size":-5}]}' \
    "layers[0].size: expected a non-negative integer"
evil schema1 '{"schemaVersion":1}' "manifest: schemaVersion must be 2"
evil garbage 'this is not json' "bad manifest JSON"
check "hostile manifests wrote nothing" test -z "$(find "$PIPPA_MODELS" -type f 2>/dev/null)"
check "no file escaped the store" test ! -e "$tmp/x" -a ! -e /tmp/evil

# 404, unreachable host, bad names
"$PIPPA" pull --insecure "http://$HOSTP/library/nope:1b" >/dev/null 2>"$tmp/err"; rc=$?
check "404 exit 1" test $rc -eq 1
check "404 message" grep -qxF "pippa: pull model manifest for '$HOSTP/library/nope:1b': file does not exist ($HOSTP: HTTP 404)" "$tmp/err"
"$PIPPA" pull --insecure "http://127.0.0.1:1/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "unreachable exit 1" test $rc -eq 1
check "unreachable names the host" grep -q "^pippa: pull model manifest for '127.0.0.1:1/library/tiny:latest': cannot reach 127.0.0.1:1: " "$tmp/err"
"$PIPPA" pull 'sha256:../../x' >/dev/null 2>"$tmp/err"; rc=$?
check "pull bad name exit 1" test $rc -eq 1
check "pull bad name message" grep -q "^pippa: invalid model name 'sha256:../../x': " "$tmp/err"

# a redirect to another host (the CDN case)
start_registry --redirect
fresh 7
"$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "redirected pull exit 0" test $rc -eq 0
check "blobs came from the redirect target" grep -q "^GET /cdn/sha256:$mdig" "$tmp/reglog"
check "redirected blob intact" cmp -s "$tmp/tiny.gguf" "$PIPPA_MODELS/blobs/sha256-$mdig"

# a redirect on the same host is followed
start_registry --redirect-same
fresh 10
"$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "same-host redirect exit 0" test $rc -eq 0
check "same-host redirect followed" grep -q "^GET /cdn/sha256:$mdig" "$tmp/reglog"
check "same-host redirect blob intact" cmp -s "$tmp/tiny.gguf" "$PIPPA_MODELS/blobs/sha256-$mdig"

# a registry that wants a bearer token (anonymous token from the 401's realm)
start_registry --auth
fresh 11
"$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "token pull exit 0" test $rc -eq 0
check "token fetched from the realm" grep -q "^GET /token?service=test&scope=repository%3Alibrary%2Ftiny%3Apull" "$tmp/reglog"
check "token pull blob intact" cmp -s "$tmp/tiny.gguf" "$PIPPA_MODELS/blobs/sha256-$mdig"

# a server that ignores Range must not corrupt a multi-part download
start_registry --ignore-range
fresh 8
PIPPA_PULL_PART_SIZE=100000 "$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "Range ignored: refused" test $rc -eq 1
check "Range ignored: message" grep -q "the server ignored the Range header" "$tmp/err"

# blobs Ollama already has are not downloaded
start_registry
export PIPPA_MODELS="$tmp/client9" OLLAMA_MODELS="$tmp/pub"
snap_pub() { (cd "$tmp/pub" && find . -type f -exec sha256sum {} + | sort); }
snap_pub >"$tmp/p1"
"$PIPPA" pull --insecure "http://$HOSTP/library/tiny" >/dev/null 2>"$tmp/err"; rc=$?
check "pull reusing Ollama's blobs exit 0" test $rc -eq 0
check "no blob downloaded" test -z "$(grep '/blobs/' "$tmp/reglog")"
"$PIPPA" run "$HOSTP/library/tiny" "hi" -p num_predict=1 >/dev/null 2>&1; check "run it" test $? -eq 0
snap_pub >"$tmp/p2"
check "Ollama's store unchanged by pull" cmp -s "$tmp/p1" "$tmp/p2"

echo "RESULT store_cli $pass $fail $skip"
[ $fail -eq 0 ]
