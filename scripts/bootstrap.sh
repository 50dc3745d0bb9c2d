#!/usr/bin/env bash
# bootstrap.sh - installs what pippa needs to build and test on Debian 12 with apt-get when
# run as root (otherwise prints the command to run), then returns. Safe to run again.
# chromium is only for the test that renders the `pippa compare --html` report.
set -euo pipefail
pkgs=(gcc make pkg-config clang libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev
      libssl-dev libedit-dev libstb-dev python3 python3-numpy chromium)
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
