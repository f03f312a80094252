#!/usr/bin/env bash
# Installs what cmcp needs to build and test, if it is missing: Debian
# packages with apt-get, the Node peers with npm. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(cmake make gcc clang libclang-rt-14-dev pkg-config python3
      libuv1-dev libjson-c-dev node-llhttp libssl-dev libcmocka-dev
      libcurl4-openssl-dev nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
# Node and npm may come from outside Debian; only ask apt for them if absent.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do
    [[ "$p" == nodejs || "$p" == npm ]] || tmp+=("$p")
  done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm peers (versions pinned in each package.json): the TypeScript SDK
# for the interop tests, the conformance suite and its Node 22.
for dir in tests/interop tests/conformance; do
  [ -f "$dir/package.json" ] || continue
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package.json" -nt "$dir/node_modules" ]; then
    echo "install-deps: npm install ($dir)"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$dir/node_modules"
  fi
done
