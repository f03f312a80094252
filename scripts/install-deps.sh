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

# The npm peers for the interop tests (versions pinned in package.json).
if [ -f tests/interop/package.json ]; then
  if [ ! -d tests/interop/node_modules ] || \
     [ tests/interop/package.json -nt tests/interop/node_modules ]; then
    echo "install-deps: npm install (tests/interop)"
    (cd tests/interop && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    touch tests/interop/node_modules
  fi
fi
