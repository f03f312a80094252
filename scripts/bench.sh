#!/usr/bin/env bash
# scripts/bench.sh [BUILD]: runs the benchmarks and writes the results
# section of docs/BENCHMARKS.md (`make bench` calls it).
#
#   1. bench_engine: CPU ns per tools/call echo in the engine, both eras
#      interleaved, and under callgrind the instructions per request and the
#      hot functions of each era.
#   2. bench_stdio: echo round trips/s through cmcpd --stdio (legacy and
#      modern) and through the TypeScript SDK server bench/ts/echo-server.mjs,
#      interleaved (cmcpd legacy, TS, cmcpd modern; RUNS rounds), a sweep
#      of window sizes on cmcpd legacy, and cmcpd under callgrind for the
#      instructions per round trip.
#
# Raw outputs go to BUILD/bench-results/. Environment knobs (defaults keep
# a full run under ~5 minutes on 2 cores): RUNS (5), STDIO_COUNT (200000),
# TS_COUNT (50000), WINDOW (64), MAX_SECONDS (60), SWEEP_WINDOWS ("1 8 64
# 512"), SWEEP_COUNT (50000), SWEEP_RUNS (3), NO_CALLGRIND=1 to skip
# callgrind, NO_DOC=1 to leave docs/BENCHMARKS.md alone.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BUILD=${1:-build}
RUNS=${RUNS:-5}
STDIO_COUNT=${STDIO_COUNT:-200000}
TS_COUNT=${TS_COUNT:-50000}
WINDOW=${WINDOW:-64}
MAX_SECONDS=${MAX_SECONDS:-60}
SWEEP_WINDOWS=${SWEEP_WINDOWS:-1 8 64 512}
SWEEP_COUNT=${SWEEP_COUNT:-50000}
SWEEP_RUNS=${SWEEP_RUNS:-3}
JOBS=${JOBS:-2}
OUT=$BUILD/bench-results

say() { echo "bench: $*" >&2; }

# ---- build what is missing ------------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  say "configuring $BUILD (RelWithDebInfo)"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
say "building cmcpd, bench_engine, bench_stdio in $BUILD"
cmake --build "$BUILD" -j "$JOBS" --target cmcpd bench_engine bench_stdio \
  >/dev/null
BIN=$BUILD/bin
if [ ! -d tests/interop/node_modules/@modelcontextprotocol/sdk ]; then
  say "the TypeScript SDK is missing: running scripts/install-deps.sh"
  bash scripts/install-deps.sh
fi
HAVE_NODE=1
command -v node >/dev/null || HAVE_NODE=0
HAVE_CG=1
if [ -n "${NO_CALLGRIND:-}" ] || ! command -v valgrind >/dev/null ||
   ! command -v callgrind_annotate >/dev/null; then
  HAVE_CG=0
fi

rm -rf "$OUT"
mkdir -p "$OUT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date +%s)

# ---- 1. engine ---------------------------------------------------------------
ENGINE_CMD="$BIN/bench_engine --requests 5000 --reps 21 --warmup 3"
say "$ENGINE_CMD"
$ENGINE_CMD >"$OUT/engine.txt"

# callgrind: collect only inside feed_batch_<era> (warm-up and timed reps:
# CG_REQUESTS * 2 requests), so setup and the handshake are left out.
CG_REQUESTS=2000
CG_FED=$((CG_REQUESTS * 2))
if [ "$HAVE_CG" = 1 ]; then
  for era in legacy modern; do
    cmd="valgrind --tool=callgrind --callgrind-out-file=$OUT/callgrind.engine.$era"
    cmd+=" --toggle-collect=feed_batch_$era $BIN/bench_engine --era $era"
    cmd+=" --requests $CG_REQUESTS --reps 1 --warmup 1"
    say "$cmd"
    $cmd >"$OUT/cg_engine_$era.log" 2>&1
    callgrind_annotate --auto=no --threshold=100 "$OUT/callgrind.engine.$era" \
      >"$OUT/cg_engine_${era}_self.txt" 2>/dev/null
    callgrind_annotate --auto=no --inclusive=yes --threshold=100 \
      "$OUT/callgrind.engine.$era" >"$OUT/cg_engine_${era}_incl.txt" 2>/dev/null
  done
fi

# ---- 2. stdio -------------------------------------------------------------------
CMCPD="$BIN/cmcpd --stdio"
TS="node bench/ts/echo-server.mjs"
STDIO_ARGS="--window $WINDOW --max-seconds $MAX_SECONDS"
C_LEGACY=("$BIN/bench_stdio" --server "$CMCPD" --count "$STDIO_COUNT" $STDIO_ARGS)
C_MODERN=("$BIN/bench_stdio" --server "$CMCPD" --count "$STDIO_COUNT" $STDIO_ARGS --modern)
C_TS=("$BIN/bench_stdio" --server "$TS" --count "$TS_COUNT" $STDIO_ARGS)

# Runs one stdio benchmark; a failed run is kept (its RESULT says so).
stdio_run() {
  local name=$1
  shift
  say "$name: $*"
  "$@" >"$OUT/$name.txt" 2>"$OUT/$name.err" || say "$name failed (see $OUT/$name.err)"
}

for i in $(seq 1 "$RUNS"); do
  stdio_run "stdio_cmcpd_legacy_$i" "${C_LEGACY[@]}"
  if [ "$HAVE_NODE" = 1 ]; then
    stdio_run "stdio_ts_legacy_$i" "${C_TS[@]}"
  fi
  stdio_run "stdio_cmcpd_modern_$i" "${C_MODERN[@]}"
done

# Window sweep: how batching changes the rate and the CPU per round trip
# (cmcpd legacy; windows interleaved, SWEEP_RUNS rounds).
for i in $(seq 1 "$SWEEP_RUNS"); do
  for w in $SWEEP_WINDOWS; do
    stdio_run "stdio_sweep_w${w}_$i" "$BIN/bench_stdio" --server "$CMCPD" \
      --count "$SWEEP_COUNT" --window "$w" --max-seconds "$MAX_SECONDS"
  done
done

CG_STDIO_COUNT=5000
CG_STDIO_WARMUP=500
if [ "$HAVE_CG" = 1 ]; then
  cg="valgrind --tool=callgrind --callgrind-out-file=$OUT/callgrind.stdio"
  stdio_run cg_stdio "$BIN/bench_stdio" --server "$cg $CMCPD" \
    --count "$CG_STDIO_COUNT" --warmup "$CG_STDIO_WARMUP" --max-seconds 120
  callgrind_annotate --auto=no --threshold=100 "$OUT/callgrind.stdio" \
    >"$OUT/cg_stdio_self.txt" 2>/dev/null || true
  callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$OUT/callgrind.stdio" \
    >"$OUT/cg_stdio_incl.txt" 2>/dev/null || true
fi

# ---- the record -----------------------------------------------------------------
# Prints a command line, double-quoting the arguments that hold spaces.
quote() {
  local a line=""
  for a in "$@"; do
    case $a in
      *" "*) line+=" \"$a\"" ;;
      *) line+=" $a" ;;
    esac
  done
  echo "${line# }"
}
{
  echo "DATE=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "NPROC=$(nproc)"
  echo "CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "KERNEL=$(uname -r)"
  echo "COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "DIRTY=$(git status --porcelain --untracked-files=no -- src tools 2>/dev/null | wc -l)"
  echo "NODE=$(node --version 2>/dev/null || echo none)"
  echo "SDK=$(node -p "require('./tests/interop/node_modules/@modelcontextprotocol/sdk/package.json').version" 2>/dev/null || echo none)"
  echo "LOAD_BEFORE=$LOAD_BEFORE"
  echo "LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "SECONDS_TOTAL=$(($(date +%s) - STARTED))"
  echo "RUNS=$RUNS"
  echo "SWEEP_WINDOWS=$SWEEP_WINDOWS"
  echo "SWEEP_RUNS=$SWEEP_RUNS"
  echo "CMD_SWEEP=$BIN/bench_stdio --server \"$CMCPD\" --count $SWEEP_COUNT --window W --max-seconds $MAX_SECONDS"
  echo "HAVE_CG=$HAVE_CG"
  echo "CG_FED=$CG_FED"
  echo "CG_STDIO_FED=$((CG_STDIO_COUNT + CG_STDIO_WARMUP + 1))"
  echo "CMD_ENGINE=$ENGINE_CMD"
  echo "CMD_CG_ENGINE=valgrind --tool=callgrind --toggle-collect=feed_batch_legacy $BIN/bench_engine --era legacy --requests $CG_REQUESTS --reps 1 --warmup 1 (and likewise modern)"
  echo "CMD_STDIO_LEGACY=$(quote "${C_LEGACY[@]}")"
  echo "CMD_STDIO_MODERN=$(quote "${C_MODERN[@]}")"
  echo "CMD_STDIO_TS=$(quote "${C_TS[@]}")"
  echo "CMD_CG_STDIO=$BIN/bench_stdio --server \"valgrind --tool=callgrind $CMCPD\" --count $CG_STDIO_COUNT --warmup $CG_STDIO_WARMUP"
} >"$OUT/meta.env"

if [ -z "${NO_DOC:-}" ]; then
  python3 bench/report.py "$OUT" docs/BENCHMARKS.md
  say "results written to docs/BENCHMARKS.md (raw outputs in $OUT)"
else
  python3 bench/report.py "$OUT" -
fi
