# tests/conformance/client_lib.sh: running the official suite against
# cmcp-conformance-client. Sourced after lib.sh by the test_client_*.sh
# scripts.
#
# conf_client_run REVISION: runs every client scenario that REVISION
# requires (`client --requirements REVISION`, the suite appending each
# scenario server's URL to our command), then counts them with checks.cjs
# (a WARNING fails a scenario: each marks a SHOULD the client misses). The
# script's status is its status.

# The client scenarios REVISION requires, one a line, from `list --client`.
conf_client_list() {
  timeout -k 5 60 "$CONF_NODE" \
    "$CONF_DIR/node_modules/conformance-next/dist/index.js" \
    list --client --requirements "$1" </dev/null |
    awk '/^Client scenarios/ { on = 1; next }
         on && /^  - / { print $2; next }
         on { exit }'
}

conf_client_run() {
  local rev=$1 client=$CMCP_BIN/cmcp-conformance-client log left rc names
  log=$CONF_TMP/suite.log
  [ -x "$client" ] || conf_die "no $client (build first)"
  names=$(conf_client_list "$rev")
  [ -n "$names" ] || conf_die "the suite lists no client scenario for $rev"
  left=$(conf_left)
  # In the background and waited for, so that a signal's trap runs at once.
  (cd "$CONF_TMP" &&
    exec timeout -k 10 "$left" "$CONF_NODE" --no-deprecation \
      -r "$CONF_DIR/loopback_sync.cjs" \
      "$CONF_DIR/node_modules/conformance-next/dist/index.js" client \
      --command "$client" --requirements "$rev" -o "$CONF_TMP/out" \
      </dev/null >"$log" 2>&1) &
  CONF_SUITE_PID=$!
  wait "$CONF_SUITE_PID"
  rc=$?
  CONF_SUITE_PID=""
  case $rc in
  124 | 137) echo "conformance: timed out (budget ${CONF_BUDGET}s)" >>"$log" ;;
  esac
  # shellcheck disable=SC2086 # one name a word
  conf_count "$rc" --expect $names
}
