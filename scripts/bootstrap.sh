#!/usr/bin/env bash
# bootstrap.sh - installs what pippa needs to build and run on Debian 12 with apt-get when
# run as root (otherwise prints the command to run), then returns. Safe to run again.
#   --tests  also what the test suite needs: chromium (renders the `pippa compare --html`
#            report), PyTorch, SentencePiece and OpenBLAS (tests/test_train.py trains a tiny
#            model with tools/train/)
#   --train  also what tools/train/run.sh needs: the above plus the corpus packages
set -euo pipefail
pkgs=(gcc make pkg-config clang libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev
      libssl-dev libedit-dev libstb-dev python3 python3-numpy)
train_pkgs=(python3-torch python3-sentencepiece sentencepiece libopenblas0-openmp)
for a in "$@"; do
    case "$a" in
    --tests) pkgs+=(chromium "${train_pkgs[@]}") ;;
    --train) pkgs+=("${train_pkgs[@]}" bible-kjv bible-kjv-text diatheke sword-text-web) ;;
    *) echo "bootstrap.sh: unknown option '$a' (use --tests or --train)" >&2; exit 2 ;;
    esac
done
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm are only needed by the client tests; use whatever node the machine has.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "pippa: missing packages: ${missing[*]}" >&2
    echo "pippa: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "pippa: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
