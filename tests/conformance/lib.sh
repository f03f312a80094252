# tests/conformance/lib.sh: what the conformance runs share. Sourced by
# tests/conformance/test_*.sh (ctest runs each with CMCP_BIN and CMCP_SRC).
#
# A run: conf_setup NAME; conf_start_server; conf_suite PKG ARGS... (once or
# more); conf_count ...; its status is the script's. Each run has its own
# temporary folder and its own server on a port the kernel picks, so runs
# can go in parallel (ctest -j). The server is stopped on every way out
# (EXIT trap, which INT/TERM/HUP go through), and runs under `timeout` too,
# so that it cannot outlive a run killed with SIGKILL by more than a bound.
#
# The pinned suite and Node 22 come from tests/conformance/package.json,
# installed by scripts/install-deps.sh (`make test` runs it first).

set -u -o pipefail

CONF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CMCP_SRC=${CMCP_SRC:-$(cd "$CONF_DIR/../.." && pwd)}
CMCP_BIN=${CMCP_BIN:-$CMCP_SRC/build/bin}
CONF_NODE=$CONF_DIR/node_modules/node22/bin/node

# Seconds a whole run may take (under ctest's 1200 s, so that the traps
# run); seconds the server may wait to be ready; seconds it may take to stop.
CONF_BUDGET=${CMCP_CONF_BUDGET:-900}
CONF_READY_S=15
CONF_STOP_S=10

CONF_NAME=""
CONF_TMP=""
CONF_URL=""
CONF_SERVER_PID=""
CONF_SUITE_PID=""
CONF_START=$SECONDS

conf_say() { printf '%s: %s\n' "$CONF_NAME" "$*"; }
conf_die() { printf '%s: %s\n' "$CONF_NAME" "$*" >&2; exit 1; }

# conf_setup NAME: checks what the run needs, makes its temporary folder and
# arms the traps. Exits non-zero when something is missing.
conf_setup() {
  CONF_NAME=$1
  [ -x "$CMCP_BIN/cmcp-everything" ] ||
    conf_die "no $CMCP_BIN/cmcp-everything (build first)"
  [ -x "$CONF_NODE" ] ||
    conf_die "no Node 22 at $CONF_NODE (run scripts/install-deps.sh)"
  local pkg
  for pkg in conformance-stable conformance-next; do
    [ -f "$CONF_DIR/node_modules/$pkg/dist/index.js" ] ||
      conf_die "no $pkg in $CONF_DIR/node_modules (run scripts/install-deps.sh)"
  done
  CONF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmcp-conf-$CONF_NAME.XXXXXX") ||
    conf_die "mktemp failed"
  trap conf_cleanup EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Stops a suite still running and the server (TERM, then KILL after
# CONF_STOP_S), and removes the temporary folder (kept when
# CMCP_CONF_KEEP=1). Runs on every exit.
conf_cleanup() {
  local i
  if [ -n "$CONF_SUITE_PID" ]; then
    # timeout(1) leads its own process group: Node and its children too.
    kill -TERM -- "-$CONF_SUITE_PID" "$CONF_SUITE_PID" 2>/dev/null
    wait "$CONF_SUITE_PID" 2>/dev/null
    CONF_SUITE_PID=""
  fi
  if [ -n "$CONF_SERVER_PID" ] && kill -0 "$CONF_SERVER_PID" 2>/dev/null; then
    kill -TERM "$CONF_SERVER_PID" 2>/dev/null
    for ((i = 0; i < CONF_STOP_S * 10; i++)); do
      kill -0 "$CONF_SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    # timeout(1) leads its own process group: this reaches the server too.
    kill -KILL -- "-$CONF_SERVER_PID" 2>/dev/null
    wait "$CONF_SERVER_PID" 2>/dev/null
  fi
  CONF_SERVER_PID=""
  if [ -n "$CONF_TMP" ] && [ "${CMCP_CONF_KEEP:-0}" != 1 ]; then
    rm -rf "$CONF_TMP"
  elif [ -n "$CONF_TMP" ]; then
    conf_say "results kept in $CONF_TMP"
  fi
}

# Seconds left of the run's budget.
conf_left() { echo $((CONF_BUDGET - (SECONDS - CONF_START))); }

# 0 if GET /health on 127.0.0.1:$1 answers 200 within 2 s (bash's
# /dev/tcp, so that nothing beyond bash is needed).
conf_health() {
  local status=""
  {
    exec 3<>"/dev/tcp/127.0.0.1/$1" &&
      printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$1" >&3 &&
      IFS= read -r -t 2 status <&3
  } 2>/dev/null
  exec 3>&-
  [[ "$status" == "HTTP/1.1 200"* ]]
}

# Starts cmcp-everything on 127.0.0.1 with a port the kernel picks (the
# server prints "cmcp: listening on http://127.0.0.1:PORT/mcp"), then waits
# for GET /health to answer 200. Sets CONF_URL. Exits non-zero when the
# server dies or is not ready within CONF_READY_S.
conf_start_server() {
  local log=$CONF_TMP/server.log port="" i
  timeout -k 5 "$((CONF_BUDGET + 60))" \
    "$CMCP_BIN/cmcp-everything" --listen 127.0.0.1:0 "$@" \
    </dev/null >"$log" 2>&1 &
  CONF_SERVER_PID=$!
  for ((i = 0; i < CONF_READY_S * 10; i++)); do
    kill -0 "$CONF_SERVER_PID" 2>/dev/null ||
      conf_die "cmcp-everything exited: $(tail -n 5 "$log")"
    if [ -z "$port" ]; then
      port=$(sed -n 's|^cmcp: listening on http://127\.0\.0\.1:\([0-9]*\)/mcp$|\1|p' \
        "$log" | head -n 1)
    fi
    if [ -n "$port" ] && conf_health "$port"; then
      CONF_URL=http://127.0.0.1:$port/mcp
      conf_say "cmcp-everything ready at $CONF_URL"
      return 0
    fi
    sleep 0.1
  done
  conf_die "cmcp-everything not ready after ${CONF_READY_S}s: $(tail -n 5 "$log")"
}

# conf_suite PKG LOG ARGS...: runs the pinned suite PKG (conformance-stable
# or conformance-next) as `server --url CONF_URL -o CONF_TMP/out ARGS...`
# under Node 22 with the loopback preload, in CONF_TMP, its output in
# CONF_TMP/LOG, bounded by the budget left. Returns the suite's status
# (124 or 137 for a timeout).
conf_suite() {
  local pkg=$1 log=$CONF_TMP/$2 left rc
  shift 2
  left=$(conf_left)
  if ((left < 10)); then
    echo "conformance: no time left in the run's budget" >"$log"
    return 124
  fi
  # In the background and waited for, so that a signal's trap runs at once
  # (bash defers traps until a foreground command ends).
  (cd "$CONF_TMP" &&
    exec timeout -k 10 "$left" "$CONF_NODE" -r "$CONF_DIR/loopback.cjs" \
      "$CONF_DIR/node_modules/$pkg/dist/index.js" server \
      --url "$CONF_URL" -o "$CONF_TMP/out" "$@" </dev/null >"$log" 2>&1) &
  CONF_SUITE_PID=$!
  wait "$CONF_SUITE_PID"
  rc=$?
  CONF_SUITE_PID=""
  case $rc in
  124 | 137) echo "conformance: timed out (budget ${CONF_BUDGET}s)" >>"$log" ;;
  esac
  return $rc
}

# conf_list_server PKG PREFIX: the names of PKG's server scenarios that start
# with PREFIX, one a line, from `list --server`.
conf_list_server() {
  timeout -k 5 60 "$CONF_NODE" "$CONF_DIR/node_modules/$1/dist/index.js" \
    list --server </dev/null |
    sed -n "s|^  - \\($2[^ ]*\\)\\( .*\\)\\{0,1\\}\$|\\1|p"
}

# conf_count SUITE_STATUS ARGS...: prints one line per scenario and the
# closing "N passed, N failed" (tests/conformance/checks.cjs, ARGS as its
# own after OUT_DIR), shows the suite's and the server's last output when
# something failed, and returns 0 only if every scenario passed and the
# suite itself exited 0.
conf_count() {
  local suite_rc=$1 rc
  shift
  "$CONF_NODE" "$CONF_DIR/checks.cjs" "$CONF_TMP/out" "$@"
  rc=$?
  if ((suite_rc != 0)); then
    conf_say "the suite exited with status $suite_rc"
    rc=1
  fi
  if ((rc != 0)); then
    local f
    for f in "$CONF_TMP"/*.log; do
      echo "---- last lines of $(basename "$f")"
      tail -n 30 "$f"
    done
  fi
  conf_say "done in $((SECONDS - CONF_START))s"
  return $rc
}
