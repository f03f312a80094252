#!/usr/bin/env bash
# scripts/bench-http.sh [BUILD]: the Streamable HTTP benchmarks; writes the
# "Streamable HTTP" section of docs/BENCHMARKS.md (between the http:begin
# and http:end markers) through bench/http/report.py.
#
#   a. Throughput of a stateless 2026-07-28 tools/call echo: wrk with
#      bench/http/echo-modern.lua on `cmcpd --listen`, against nginx
#      returning a static body of the same size (bench/http/nginx.conf,
#      worker_processes = cmcpd's --threads), against the TypeScript SDK 1.x
#      (bench/http/ts-sdk-server.mjs, stateless, the 2025-11-25 request of
#      bench/http/echo-legacy.lua) and the TypeScript SDK 2.x
#      (bench/http/ts2-server.mjs, the same modern request as cmcpd). The
#      four servers run side by side and are measured in turn, RUNS rounds.
#   b. Memory per legacy session holding a GET stream: bench/http/sessions.py
#      opens SESSIONS sessions on a fresh cmcpd and TS_SESSIONS on a fresh TS
#      SDK 1.x stateful server, reading each server's VmRSS, and the same
#      sessions on cmcpd with no GET stream (--no-get), RUNS rounds.
#   c. Latency p50/p99 of cmcpd at 1, 64 (from a) and 1,024 connections.
#   d. System calls per request of cmcpd and nginx (strace -c), if strace is
#      installed.
#
# Each wrk run also reads the server's CPU time (/proc) for CPU µs per
# request. Raw outputs go to a fresh temporary folder (printed). Knobs:
# RUNS (3), DURATION (10 s), CONNS (64), THREADS (2: cmcpd --threads and
# nginx worker_processes), SESSIONS (5000), TS_SESSIONS (500), WARMUP (2 s
# for cmcpd and nginx), TS_WARMUP (12 s for each TS server), NO_DOC=1 to
# print the section instead of writing docs/BENCHMARKS.md. A full run takes
# about 6.5 minutes (8 under a load average of 10). Installs
# wrk, nginx and the SDK 2.x (npm, pinned in bench/http/package.json) if
# they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${1:-build}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
SESSIONS=${SESSIONS:-5000}
TS_SESSIONS=${TS_SESSIONS:-500}
WARMUP=${WARMUP:-2}
TS_WARMUP=${TS_WARMUP:-12}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/cmcp-bench-http.XXXXXX")

say() { echo "bench-http: $*" >&2; }

# ---- tools ---------------------------------------------------------------------
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
if ((${#need_apt[@]})); then
  say "apt-get install ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -d tests/interop/node_modules/@modelcontextprotocol/sdk ]; then
  say "the TypeScript SDK 1.x is missing: running scripts/install-deps.sh"
  bash scripts/install-deps.sh
fi
if [ ! -d bench/http/node_modules/@modelcontextprotocol/server ]; then
  say "npm ci (bench/http: the TypeScript SDK 2.x)"
  (cd bench/http && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  say "configuring $BUILD (RelWithDebInfo)"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
say "building cmcpd in $BUILD"
cmake --build "$BUILD" -j 2 --target cmcpd >/dev/null
CMCPD=$BUILD/bin/cmcpd
ulimit -n 20000 2>/dev/null || true

# ---- servers -------------------------------------------------------------------
. scripts/bench-servers.sh

# Stops server process $1 and forgets it.
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do
    [ "$p" = "$1" ] || keep+=("$p")
  done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

MODERN=(-H 'Content-Type: application/json'
  -H 'Accept: application/json, text/event-stream'
  -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo'
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}')
LEGACY=(-H 'Content-Type: application/json'
  -H 'Accept: application/json, text/event-stream'
  -H 'MCP-Protocol-Version: 2025-11-25'
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}')

# check NAME URL CURL-ARGS...: one request as the benchmark sends it; the
# answer must be a 200 holding the echoed text. Keeps it in $OUT/check_NAME.
check() {
  local name=$1 url=$2
  shift 2
  curl -s -o "$OUT/check_$name.body" -w '%{http_code} %{size_download}\n' \
    "$url" "$@" >"$OUT/check_$name.txt" || true
  if ! grep -q '^200 ' "$OUT/check_$name.txt" ||
     ! grep -q '"text":"hello"' "$OUT/check_$name.body"; then
    say "$name did not answer the benchmark's request: $(cat "$OUT/check_$name.txt")"
    return 1
  fi
}

# CPU ticks (user + system, all threads) of process $1 and its children
# (nginx's workers).
ticks() {
  local p total=0 f
  for p in "$1" $(pgrep -P "$1" || true); do
    f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
    set -- $f
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }

# wrk_run FILE PID THREADS CONNS LUA URL: one measured wrk run, with the
# server's CPU ticks around it appended as a CPU line.
wrk_run() {
  local file=$1 pid=$2 t=$3 c=$4 lua=$5 url=$6 t0 t1
  say "$(basename "$file" .txt): wrk -t$t -c$c -d${DURATION}s --latency $url"
  t0=$(ticks "$pid")
  wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 10s --latency -s "$lua" "$url" \
    >"$file" 2>&1 || say "wrk failed (see $file)"
  t1=$(ticks "$pid")
  echo "CPU ticks=$((t1 - t0)) hz=$(getconf CLK_TCK) rss_kb=$(rss "$pid")" >>"$file"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date +%s)
say "raw outputs in $OUT"

P_CMCPD=$(free_port)
"$CMCPD" --listen "127.0.0.1:$P_CMCPD" --threads "$THREADS" 2>"$OUT/cmcpd.err" &
PID_CMCPD=$!
PIDS+=("$PID_CMCPD")

P_NGINX=$(free_port)
sed -e "s/^worker_processes .*/worker_processes $THREADS;/" \
  -e "s/127\.0\.0\.1:18081/127.0.0.1:$P_NGINX/" bench/http/nginx.conf >"$OUT/nginx.conf"
mkdir -p "$OUT/nginx"
"$NGINX" -p "$OUT/nginx" -c "$OUT/nginx.conf" \
  -g "daemon off; pid $OUT/nginx/nginx.pid; error_log $OUT/nginx/error.log;" &
PID_NGINX=$!
PIDS+=("$PID_NGINX")

P_TS1=$(free_port)
node bench/http/ts-sdk-server.mjs "$P_TS1" 2>"$OUT/ts1.err" &
PID_TS1=$!
PIDS+=("$PID_TS1")

P_TS2=$(free_port)
node bench/http/ts2-server.mjs "$P_TS2" 2>"$OUT/ts2.err" &
PID_TS2=$!
PIDS+=("$PID_TS2")

for p in "$P_CMCPD" "$P_NGINX" "$P_TS1" "$P_TS2"; do wait_port "$p"; done
U_CMCPD=http://127.0.0.1:$P_CMCPD/mcp
U_NGINX=http://127.0.0.1:$P_NGINX/mcp
U_TS1=http://127.0.0.1:$P_TS1/mcp
U_TS2=http://127.0.0.1:$P_TS2/mcp
check cmcpd "$U_CMCPD" "${MODERN[@]}"
check nginx "$U_NGINX" "${MODERN[@]}"
check ts1 "$U_TS1" "${LEGACY[@]}"
check ts2 "$U_TS2" "${MODERN[@]}"
C_SIZE=$(cut -d' ' -f2 "$OUT/check_cmcpd.txt")
N_SIZE=$(cut -d' ' -f2 "$OUT/check_nginx.txt")
[ "$C_SIZE" = "$N_SIZE" ] ||
  say "warning: nginx answers $N_SIZE bytes, cmcpd $C_SIZE: fix bench/http/nginx.conf"

MOD=bench/http/echo-modern.lua
LEG=bench/http/echo-legacy.lua
RSS_START="cmcpd=$(rss "$PID_CMCPD") ts1=$(rss "$PID_TS1") ts2=$(rss "$PID_TS2")"

# Warm-up, not recorded: the servers' pools, and node's JIT (a fresh TS
# server needs about 10 s of this load to reach its steady CPU per request).
for s in "cmcpd $WARMUP $MOD $U_CMCPD" "nginx $WARMUP $MOD $U_NGINX" \
  "ts1 $TS_WARMUP $LEG $U_TS1" "ts2 $TS_WARMUP $MOD $U_TS2"; do
  set -- $s
  say "warm-up $1: ${2}s"
  wrk -t2 -c"$CONNS" -d"${2}s" -s "$3" "$4" >"$OUT/warmup_$1.txt" 2>&1 || true
done

# ---- a + c: interleaved rounds -------------------------------------------------
for i in $(seq 1 "$RUNS"); do
  wrk_run "$OUT/a_cmcpd_$i.txt" "$PID_CMCPD" 2 "$CONNS" "$MOD" "$U_CMCPD"
  wrk_run "$OUT/a_nginx_$i.txt" "$PID_NGINX" 2 "$CONNS" "$MOD" "$U_NGINX"
  wrk_run "$OUT/a_ts1_$i.txt" "$PID_TS1" 2 "$CONNS" "$LEG" "$U_TS1"
  wrk_run "$OUT/a_ts2_$i.txt" "$PID_TS2" 2 "$CONNS" "$MOD" "$U_TS2"
  wrk_run "$OUT/c_cmcpd_c1_$i.txt" "$PID_CMCPD" 1 1 "$MOD" "$U_CMCPD"
  wrk_run "$OUT/c_cmcpd_c1024_$i.txt" "$PID_CMCPD" 2 1024 "$MOD" "$U_CMCPD"
done

# Still alive and still right after the load?
ALIVE=""
for s in "cmcpd $PID_CMCPD" "nginx $PID_NGINX" "ts1 $PID_TS1" "ts2 $PID_TS2"; do
  set -- $s
  kill -0 "$2" 2>/dev/null || ALIVE+=" $1:exited"
done
check cmcpd_after "$U_CMCPD" "${MODERN[@]}" || ALIVE+=" cmcpd:wrong-answer"
check ts1_after "$U_TS1" "${LEGACY[@]}" || ALIVE+=" ts1:wrong-answer"
check ts2_after "$U_TS2" "${MODERN[@]}" || ALIVE+=" ts2:wrong-answer"
RSS_END="cmcpd=$(rss "$PID_CMCPD") ts1=$(rss "$PID_TS1") ts2=$(rss "$PID_TS2")"

# System calls per request of cmcpd and nginx (strace -c over a short wrk
# run: strace slows the server, the counts per request stay exact).
HAVE_STRACE=0
if command -v strace >/dev/null; then
  HAVE_STRACE=1
  for s in "cmcpd $PID_CMCPD $U_CMCPD" "nginx $PID_NGINX $U_NGINX"; do
    set -- $s
    targets=()
    for p in "$2" $(pgrep -P "$2" || true); do targets+=(-p "$p"); done
    say "strace_$1: wrk -t2 -c$CONNS -d3s under strace -c -f"
    strace -c -f -o "$OUT/strace_$1.txt" "${targets[@]}" 2>/dev/null &
    st=$!
    sleep 0.5
    wrk -t2 -c"$CONNS" -d3s -s "$MOD" "$3" >"$OUT/strace_wrk_$1.txt" 2>&1 || true
    sleep 0.2
    kill -INT "$st" 2>/dev/null || true
    wait "$st" 2>/dev/null || true
  done
fi
for p in "$PID_TS2" "$PID_TS1" "$PID_NGINX" "$PID_CMCPD"; do stop "$p"; done

# ---- b: sessions, a fresh server per run ---------------------------------------
for i in $(seq 1 "$RUNS"); do
  port=$(free_port)
  "$CMCPD" --listen "127.0.0.1:$port" --threads "$THREADS" 2>>"$OUT/b_cmcpd.err" &
  pid=$!
  PIDS+=("$pid")
  wait_port "$port"
  say "b_cmcpd_$i: $SESSIONS sessions"
  python3 bench/http/sessions.py --port "$port" --pid "$pid" \
    --sessions "$SESSIONS" --procs 1 >"$OUT/b_cmcpd_$i.txt" 2>&1 ||
    say "sessions on cmcpd: not all held (see $OUT/b_cmcpd_$i.txt)"
  kill -0 "$pid" 2>/dev/null || echo "EXITED" >>"$OUT/b_cmcpd_$i.txt"
  stop "$pid"

  port=$(free_port)
  "$CMCPD" --listen "127.0.0.1:$port" --threads "$THREADS" 2>>"$OUT/b_cmcpd.err" &
  pid=$!
  PIDS+=("$pid")
  wait_port "$port"
  say "b_cmcpd_noget_$i: $SESSIONS sessions without a GET stream"
  python3 bench/http/sessions.py --port "$port" --pid "$pid" --no-get \
    --sessions "$SESSIONS" --procs 1 >"$OUT/b_cmcpd_noget_$i.txt" 2>&1 ||
    say "sessions on cmcpd: not all opened (see $OUT/b_cmcpd_noget_$i.txt)"
  kill -0 "$pid" 2>/dev/null || echo "EXITED" >>"$OUT/b_cmcpd_noget_$i.txt"
  stop "$pid"

  port=$(free_port)
  node bench/http/ts-sdk-server.mjs "$port" --stateful 2>>"$OUT/b_ts1.err" &
  pid=$!
  PIDS+=("$pid")
  wait_port "$port"
  say "b_ts1_$i: $TS_SESSIONS sessions"
  python3 bench/http/sessions.py --port "$port" --pid "$pid" \
    --sessions "$TS_SESSIONS" --procs 1 >"$OUT/b_ts1_$i.txt" 2>&1 ||
    say "sessions on the TS SDK: not all held (see $OUT/b_ts1_$i.txt)"
  kill -0 "$pid" 2>/dev/null || echo "EXITED" >>"$OUT/b_ts1_$i.txt"
  stop "$pid"
done

# ---- the record ----------------------------------------------------------------
{
  echo "DATE=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "NPROC=$(nproc)"
  echo "CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "KERNEL=$(uname -r)"
  echo "COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "DIRTY=$(git status --porcelain --untracked-files=no -- src tools 2>/dev/null | wc -l)"
  echo "NODE=$(node --version 2>/dev/null || echo none)"
  echo "SDK1=$(node -p "require('./tests/interop/node_modules/@modelcontextprotocol/sdk/package.json').version" 2>/dev/null || echo none)"
  echo "SDK2=$(node -p "require('./bench/http/node_modules/@modelcontextprotocol/server/package.json').version" 2>/dev/null || echo none)"
  echo "WRK=$(wrk --version 2>&1 | head -1 | cut -d' ' -f2)"
  echo "NGINX=$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')"
  echo "LOAD_BEFORE=$LOAD_BEFORE"
  echo "LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "SECONDS_TOTAL=$(($(date +%s) - STARTED))"
  echo "RUNS=$RUNS"
  echo "DURATION=$DURATION"
  echo "WARMUP=$WARMUP"
  echo "TS_WARMUP=$TS_WARMUP"
  echo "CONNS=$CONNS"
  echo "THREADS=$THREADS"
  echo "SESSIONS=$SESSIONS"
  echo "TS_SESSIONS=$TS_SESSIONS"
  echo "BODY_CMCPD=$C_SIZE"
  echo "BODY_NGINX=$N_SIZE"
  echo "ALIVE=${ALIVE# }"
  echo "RSS_START=$RSS_START"
  echo "RSS_END=$RSS_END"
  echo "CMD_CMCPD=$CMCPD --listen 127.0.0.1:PORT --threads $THREADS"
  echo "CMD_NGINX=nginx -c bench/http/nginx.conf (worker_processes $THREADS)"
  echo "CMD_TS1=node bench/http/ts-sdk-server.mjs PORT"
  echo "CMD_TS2=node bench/http/ts2-server.mjs PORT"
  echo "CMD_TS1_STATEFUL=node bench/http/ts-sdk-server.mjs PORT --stateful"
  echo "CMD_WRK=wrk -t2 -c$CONNS -d${DURATION}s --timeout 10s --latency -s LUA http://127.0.0.1:PORT/mcp"
  echo "CMD_WRK_C1=wrk -t1 -c1 -d${DURATION}s --timeout 10s --latency -s bench/http/echo-modern.lua http://127.0.0.1:PORT/mcp"
  echo "CMD_WRK_C1024=wrk -t2 -c1024 -d${DURATION}s --timeout 10s --latency -s bench/http/echo-modern.lua http://127.0.0.1:PORT/mcp"
  echo "CMD_SESSIONS=python3 bench/http/sessions.py --port PORT --pid PID --sessions N [--no-get]"
  echo "HAVE_STRACE=$HAVE_STRACE"
  echo "CMD_STRACE=strace -c -f -p PID (nginx: master and workers) during wrk -t2 -c$CONNS -d3s -s bench/http/echo-modern.lua"
  echo "OUT=$OUT"
} >"$OUT/meta.env"

if [ -z "${NO_DOC:-}" ]; then
  python3 bench/http/report.py "$OUT" docs/BENCHMARKS.md
  say "section written to docs/BENCHMARKS.md (raw outputs in $OUT)"
else
  python3 bench/http/report.py "$OUT" -
fi
