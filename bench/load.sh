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
ready="$PWD/$LOCAL_DIR/bench-ready"
rm -f "$ready"
start_bg "$LOCAL_DIR/bench-run.log" env PORT="$port" READY_FILE="$ready" bash scripts/run.sh
wait_until 900 "$BG_PID" "make run" "$LOCAL_DIR/bench-run.log" test -s "$ready" ||
  die "make run did not come up"
log "load: 20 s, concurrency 16, returning logins"
target/release/idlink-bench load "http://127.0.0.1:$port" "$LOCAL_DIR/credentials.json" "$out"
