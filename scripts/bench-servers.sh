# Sourced by scripts/bench-http.sh and scripts/bench-overload.sh (from the
# repository root, after they define say): the servers they start and the
# ports those listen on. Every PID appended to PIDS is killed on exit.

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do
    kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Prints a TCP port on 127.0.0.1 that is free now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits (at most 15 s) until 127.0.0.1:$1 accepts connections.
wait_port() {
  local i
  for i in $(seq 1 150); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  say "nothing listens on port $1"
  return 1
}
