# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Source it from the repo root:
#   cd "$(dirname "$0")/.." && source scripts/lib.sh
# Then install the cleanup trap:  trap stop_all EXIT INT TERM

VENV_DIR=${VENV_DIR:-.venv}
LOCAL_DIR=${LOCAL_DIR:-.local}

# Process-group leaders started by start_bg; stop_all kills each group.
IDLINK_BG_PIDS=()

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Print a free TCP port on 127.0.0.1 (the kernel picks it; racy only in theory).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_bg LOGFILE CMD...: run CMD in the background in its own process group
# (so stop_all can kill it together with its children), output to LOGFILE.
# Sets BG_PID to the pid (= process-group id).
start_bg() {
  local logfile=$1; shift
  mkdir -p "$(dirname "$logfile")"
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  BG_PID=$!
  IDLINK_BG_PIDS+=("$BG_PID")
}

# wait_until TIMEOUT_SECONDS PID WHAT LOGFILE CMD...: run CMD until it succeeds (every half
# second; a CMD that blocks, such as a long request, sets its own pace). Returns non-zero, with the
# last lines of LOGFILE, if PID (what is starting WHAT) exits first or TIMEOUT_SECONDS pass.
wait_until() {
  local timeout=$1 pid=$2 what=$3 logfile=$4 deadline failure
  shift 4
  deadline=$((SECONDS + timeout))
  until "$@"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      failure="$what exited before it was ready"
    elif ((SECONDS >= deadline)); then
      failure="$what was not ready within ${timeout}s"
    else
      sleep 0.5
      continue
    fi
    echo "--- last lines of $logfile:" >&2
    tail -n 30 "$logfile" >&2 || true
    echo "error: $failure (see $logfile)" >&2
    return 1
  done
}

# start_moto PORT LOGFILE: start moto's server on 127.0.0.1:PORT and wait until it answers.
# Sets MOTO_PID.
start_moto() {
  local port=$1 logfile=$2
  [[ -x $VENV_DIR/bin/moto_server ]] || die "$VENV_DIR/bin/moto_server missing; run scripts/venv.sh"
  # moto behind one lock: see scripts/dynamodb_server.py for why.
  start_bg "$logfile" "$VENV_DIR/bin/python" scripts/dynamodb_server.py 127.0.0.1 "$port"
  MOTO_PID=$BG_PID
  wait_until 30 "$MOTO_PID" moto_server "$logfile" \
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/" ||
    die "could not start moto on 127.0.0.1:$port"
}

# descendants PID: print the pids of every descendant of PID (children first-level first).
descendants() {
  ps -eo pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      want[root] = 1
      do { grew = 0
        for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; grew = 1 }
      } while (grew)
      for (p in want) if (p != root) print p
    }'
}

# stop_pgroup PID: TERM the process group led by PID and every descendant process and its
# group (cargo lambda watch runs functions in process groups of their own), then KILL what is
# left after a grace period.
stop_pgroup() {
  local pid=$1 own_pgid targets=() p g i alive
  kill -0 "$pid" 2>/dev/null || return 0
  own_pgid=$(ps -o pgid= -p $$ | tr -d ' ')
  targets=("-$pid" "$pid")
  for p in $(descendants "$pid"); do
    targets+=("$p")
    g=$(ps -o pgid= -p "$p" 2>/dev/null | tr -d ' ') || true
    [[ -n $g && $g != "$own_pgid" && $g != "$pid" ]] && targets+=("-$g")
  done
  kill -TERM -- "${targets[@]}" 2>/dev/null || true
  for i in {1..50}; do
    alive=0
    for p in "${targets[@]}"; do
      [[ $p == -* ]] && continue
      kill -0 "$p" 2>/dev/null && { alive=1; break; }
    done
    ((alive)) || break
    sleep 0.1
  done
  kill -KILL -- "${targets[@]}" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# stop_all: stop everything start_bg started (newest first). Safe to call repeatedly.
stop_all() {
  local i
  for ((i = ${#IDLINK_BG_PIDS[@]} - 1; i >= 0; i--)); do
    stop_pgroup "${IDLINK_BG_PIDS[i]}"
  done
  IDLINK_BG_PIDS=()
}

# install_cleanup_trap: stop background processes on exit and on INT/TERM.
install_cleanup_trap() {
  trap stop_all EXIT
  trap 'stop_all; exit 130' INT
  trap 'stop_all; exit 143' TERM
}
