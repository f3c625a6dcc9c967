#!/usr/bin/env bash
# Everything CI checks: make lint (formatting, clippy), the test suite against a local moto
# DynamoDB, cfn-lint on the SAM template, the client SDKs against the stack of make run, and
# schemathesis against that stack's OpenAPI document.
# Exits non-zero at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
install_cleanup_trap

step() { printf '\n\033[1;34m=== %s\033[0m\n' "$*" >&2; }

step "1/7 make lint (cargo fmt --check, clippy -D warnings)"
make --no-print-directory lint

step "2/7 python tooling (.venv: moto, cfn-lint, cargo-lambda)"
bash scripts/venv.sh --with-cargo-lambda

step "3/7 start moto (DynamoDB API)"
mkdir -p "$LOCAL_DIR"
port=${DYNAMO_PORT:-$(free_port)}
start_moto "$port" "$LOCAL_DIR/moto-test.log"
echo "moto on 127.0.0.1:$port (pid $MOTO_PID, log $LOCAL_DIR/moto-test.log)" >&2
export IDLINK_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB

if cargo nextest --version >/dev/null 2>&1; then
  step "4/7 cargo nextest run --workspace"
  cargo nextest run --workspace --no-fail-fast
else
  step "4/7 cargo test --workspace --all-targets"
  cargo test --workspace --all-targets --no-fail-fast
fi

step "5/7 cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml

# The stack `make run` serves (every function under cargo lambda watch, on its own DynamoDB API),
# on free ports, driven by the clients studios already use: Auth0's SDKs, PyJWT, jose, and an
# Xsolla-style server integration. It runs at trace, RUST_LOG given as a directive list (commas
# and `=`, as `make run` must pass it on), and a whole session's secrets must then be absent
# from the captured logs (tests/logs/check_session.py).
step "6/7 client SDKs and the logs of the real stack (tests/sdk, tests/logs)"
sdk_dir="$LOCAL_DIR/sdk-stack"
rm -rf "$sdk_dir"
mkdir -p "$sdk_dir"
sdk_port=$(free_port)
stack_rust_log="trace,lambda_runtime=trace,idlink=trace"
start_bg "$sdk_dir/run.log" env LOCAL_DIR="$sdk_dir" PORT="$sdk_port" DYNAMO_PORT= \
  READY_FILE="$PWD/$sdk_dir/ready" RUST_LOG="$stack_rust_log" bash scripts/run.sh
stack_pid=$BG_PID
wait_until 900 "$stack_pid" "the local stack" "$sdk_dir/run.log" test -s "$sdk_dir/ready" ||
  die "the local stack did not come up"
sdk_rc=0
bash tests/sdk/run.sh "$(cat "$sdk_dir/ready")" "$sdk_dir/credentials.json" || sdk_rc=$?
.venv/bin/python tests/logs/check_session.py "$(cat "$sdk_dir/ready")" \
  "$sdk_dir/credentials.json" "$sdk_dir/watch.log" "$stack_rust_log"
((sdk_rc == 0)) || die "tests/sdk failed"

# The same stack fuzzed from the document it serves (after the log check, so that check reads
# the SDK session alone): zero failures, bounded by FUZZ_MAX_TIME (default 120 s).
step "7/7 schemathesis against the stack's /openapi.json (tests/openapi/fuzz.sh)"
FUZZ_REPORT_DIR="$sdk_dir/schemathesis" \
  bash tests/openapi/fuzz.sh "$(cat "$sdk_dir/ready")" "$sdk_dir/credentials.json" ||
  die "schemathesis found failures (report: $sdk_dir/schemathesis)"

step "all checks passed"
