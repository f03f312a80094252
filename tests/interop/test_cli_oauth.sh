#!/usr/bin/env bash
# cmcp --oauth against the official conformance suite's authorization
# scenarios (the suite starts an MCP server that answers 401 and its own
# authorization server, then runs `cmcp ... tools list --url URL`). The
# headless user agent follows the authorization redirect, so no person is
# needed. Uses the suite and the Node 22 pinned in tests/conformance.
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
conf=$here/../conformance
bin=${CMCP_BIN:-$here/../../build/bin}
node=$conf/node_modules/node22/bin/node
suite=$conf/node_modules/conformance-next/dist/index.js
[ -x "$node" ] && [ -f "$suite" ] || {
  echo "missing the conformance suite: run scripts/install-deps.sh" >&2
  exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# run SCENARIO: one scenario, with a token store of its own (tokens are
# for one resource server); its status.
run() {
  local out=$tmp/${1//\//_} store=$tmp/${1//\//_}.tokens.json
  if timeout -k 5 120 "$node" --no-deprecation -r "$conf/loopback_sync.cjs" \
    "$suite" client --scenario "$1" -o "$out" --command \
    "$bin/cmcp --oauth-headless --oauth-store $store tools list --url" \
    </dev/null >"$out.log" 2>&1 &&
    grep -q "OVERALL: PASSED" "$out.log" &&
    ! grep -Eq "[1-9][0-9]* (failed|warnings)" "$out.log"; then
    echo "ok   $1"
    return 0
  fi
  echo "FAIL $1"
  tail -40 "$out.log"
  return 1
}

for sc in auth/metadata-default auth/metadata-var1 \
  auth/scope-from-www-authenticate auth/token-endpoint-auth-none \
  auth/offline-access-scope auth/iss-supported; do
  run "$sc" || failed=1
done

# Each token store was written, privately, as JSON holding the token.
for store in "$tmp"/*.tokens.json; do
  if [ "$(stat -c %a "$store")" != 600 ] ||
    ! python3 -c 'import json,sys; s=json.load(open(sys.argv[1]));
assert any(x.get("access_token") for x in s["servers"])' "$store"; then
    echo "FAIL token store $store"
    failed=1
  fi
done
exit $failed
