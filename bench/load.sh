#!/usr/bin/env bash
# The bounded load of make bench: start `make run` (scripts/run.sh) on a free 127.0.0.1 port,
# wait until it is ready, run 20 s of returning logins from 16 callers, stop it.
# Usage: bench/load.sh OUT_JSON
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
install_cleanup_trap

out=$1
port=$(free_port)
log "make run on 127.0.0.1:$port for the load (log $LOCAL_DIR/bench-run.log)"
start_bg "$LOCAL_DIR/bench-run.log" env PORT="$port" bash scripts/run.sh
run_pid=$BG_PID
deadline=$((SECONDS + 900))
until grep -q "idlink is ready" "$LOCAL_DIR/bench-run.log" 2>/dev/null; do
  kill -0 "$run_pid" 2>/dev/null || { tail -n 30 "$LOCAL_DIR/bench-run.log" >&2; die "make run exited"; }
  ((SECONDS < deadline)) || die "make run was not ready within 15 minutes"
  sleep 2
done
log "load: 20 s, concurrency 16, returning logins"
target/release/idlink-bench load "http://127.0.0.1:$port" "$LOCAL_DIR/credentials.json" "$out"
