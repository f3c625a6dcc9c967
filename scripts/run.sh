#!/usr/bin/env bash
# Run idlink locally: moto (DynamoDB API) + `cargo lambda watch` serving every function
# on http://127.0.0.1:$PORT (default 9000), with a fresh table, a signing key set and a
# dev project + server client. Stops everything on exit / Ctrl-C.
#
# Environment overrides: PORT (HTTP port, default 9000), DYNAMO_PORT (moto port, default free),
# RUST_LOG (passed to the functions, default info), LOCAL_DIR (state and logs, default .local),
# READY_FILE (written with the base URL once every function answers; used by make test).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
install_cleanup_trap

PORT=${PORT:-9000}
mkdir -p "$LOCAL_DIR"

port_in_use() {
  python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null && return 1 || return 0
}
port_in_use "$PORT" && die "port $PORT on 127.0.0.1 is in use (set PORT=... to use another one)"

log "python tooling (.venv: moto, cfn-lint, cargo-lambda)"
bash scripts/venv.sh --with-cargo-lambda

log "starting moto (DynamoDB API)"
dynamo_port=${DYNAMO_PORT:-$(free_port)}
start_moto "$dynamo_port" "$LOCAL_DIR/moto.log"
echo "moto on 127.0.0.1:$dynamo_port (log $LOCAL_DIR/moto.log)" >&2

# Everything the functions and idlink-admin read. Exported for idlink-admin, and passed
# explicitly to the functions below.
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dynamo_port"
# moto serves EventBridge (and the table's stream, and SQS) on the same port.
export AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$dynamo_port"
export IDLINK_TABLE=idlink-local
export IDLINK_EVENT_BUS=idlink-local
export IDLINK_ISSUER="http://127.0.0.1:$PORT"
# One file per secret material; each function reads only the ones it declares.
export IDLINK_SIGNING_KEYS_FILE="$PWD/$LOCAL_DIR/signing-keys.json"
export IDLINK_PUBLIC_KEYS_FILE="$PWD/$LOCAL_DIR/public-keys.json"
export IDLINK_PARTNER_PEPPER_FILE="$PWD/$LOCAL_DIR/partner-pepper.json"
# RUST_LOG is the functions' filter, passed as written; cargo lambda itself runs without it (its
# own log at its default level: at trace it writes gigabytes in minutes).
fn_rust_log=${RUST_LOG:-info}
unset RUST_LOG
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL IDLINK_SIGNING_KEYS_SECRET_ID \
  IDLINK_PUBLIC_KEYS_SECRET_ID IDLINK_PARTNER_PEPPER_SECRET_ID
fn_env_vars=(AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL_DYNAMODB
  AWS_ENDPOINT_URL_EVENTBRIDGE IDLINK_EVENT_BUS IDLINK_TABLE IDLINK_ISSUER IDLINK_SIGNING_KEYS_FILE IDLINK_PUBLIC_KEYS_FILE
  IDLINK_PARTNER_PEPPER_FILE)

log "cargo build --workspace --bins"
cargo build --workspace --bins
admin=target/debug/idlink-admin

log "creating table $IDLINK_TABLE"
"$admin" create-table

# gen-keys and gen-pepper keep what exists; the public set is derived from the private one.
log "signing keys, public keys and partner pepper in $LOCAL_DIR"
"$admin" gen-keys --out "$IDLINK_SIGNING_KEYS_FILE"
"$admin" public-keys --from "$IDLINK_SIGNING_KEYS_FILE" --out "$IDLINK_PUBLIC_KEYS_FILE"
"$admin" gen-pepper --out "$IDLINK_PARTNER_PEPPER_FILE"

log "dev project and server client -> $LOCAL_DIR/credentials.json"
"$admin" dev-setup --out "$LOCAL_DIR/credentials.json"
echo

# The table is created with its stream on; change events go to a local bus, whose rule sends
# every idlink event to a local SQS queue (its URL: events_queue_url in credentials.json).
log "change events: bus $IDLINK_EVENT_BUS -> SQS queue (events_queue_url in credentials.json)"
.venv/bin/python scripts/events_local.py setup "$AWS_ENDPOINT_URL_DYNAMODB" "$IDLINK_TABLE" \
  "$IDLINK_EVENT_BUS" "$LOCAL_DIR/credentials.json"

# cargo lambda 1.9 splits each --env-var value on commas, and reads --env-file with
# env-file-reader, where an unquoted value ends at `=`, `#` or blank (`RUST_LOG=idlink=debug,info`
# is a ParseError) and a single-quoted one is taken as written (only `\n` becomes a newline). So
# every variable goes through the env file, single-quoted.
env_file="$LOCAL_DIR/watch.env"
(umask 077 && : >"$env_file")
write_env() {
  local name=$1 value=$2
  if [[ $value == *[\'\\]* || $value == *$'\n'* ]]; then
    die "$name holds a quote, backslash or newline, which cargo lambda's env file cannot carry"
  fi
  printf "%s='%s'\n" "$name" "$value" >>"$env_file"
}
for name in "${fn_env_vars[@]}"; do
  write_env "$name" "${!name}"
done
write_env RUST_LOG "$fn_rust_log"

log "starting cargo lambda watch on 127.0.0.1:$PORT (log $LOCAL_DIR/watch.log)"
start_bg "$LOCAL_DIR/watch.log" env -u RUST_LOG .venv/bin/cargo-lambda lambda watch \
  -A 127.0.0.1 -P "$PORT" --env-file "$env_file"
watch_pid=$BG_PID

base="http://127.0.0.1:$PORT"
log "waiting for $base/.well-known/jwks.json (functions compile on first request; up to 5 min)"
# One request at a time: the first compiles the function, so it may take minutes to answer.
wait_until 300 "$watch_pid" "cargo lambda watch" "$LOCAL_DIR/watch.log" \
  curl -fs -o /dev/null --max-time 300 "$base/.well-known/jwks.json" ||
  die "jwks did not answer 200"

log "warming every function (the routes of [workspace.metadata.lambda.watch.router])"
# One request per route so no function compiles on a client's first call; any status will do.
while read -r method path; do
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 300 -X "$method" \
    -H 'content-type: application/json' --data '{}' "$base$path" || true)
  echo "$method $path -> ${status:-no answer}" >&2
done < <(python3 - <<'PY'
import re
import tomllib

with open("Cargo.toml", "rb") as f:
    router = tomllib.load(f)["workspace"]["metadata"]["lambda"]["watch"]["router"]
for path, routes in router.items():
    for route in routes:
        print(route["method"], re.sub(r"\{[^}]+\}", "warmup", path))
PY
)

# What Lambda's event source mapping does in AWS: the table's stream, batch by batch, into the
# events function (cargo lambda watch serves it at Lambda's Invoke API path).
log "feeding the table's stream to the events function (log $LOCAL_DIR/events-feed.log)"
start_bg "$LOCAL_DIR/events-feed.log" .venv/bin/python scripts/events_local.py feed \
  "$AWS_ENDPOINT_URL_DYNAMODB" "$IDLINK_TABLE" "$base/2015-03-31/functions/events/invocations"

cat <<MSG

idlink is ready at $base
  dev credentials: $PWD/$LOCAL_DIR/credentials.json
  logs:            $LOCAL_DIR/watch.log, $LOCAL_DIR/moto.log, $LOCAL_DIR/events-feed.log
  change events:   events_queue_url in credentials.json (README: "Watching change events")
Press Ctrl-C to stop.
MSG
if [[ -n ${READY_FILE:-} ]]; then
  echo "$base" >"$READY_FILE"
fi

wait "$watch_pid"
