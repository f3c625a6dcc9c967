#!/usr/bin/env bash
# Everything CI checks: formatting, clippy, the test suite against a local moto DynamoDB,
# and cfn-lint on the SAM template. Exits non-zero at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
install_cleanup_trap

step() { printf '\n\033[1;34m=== %s\033[0m\n' "$*" >&2; }

step "1/6 cargo fmt --check"
cargo fmt --all -- --check

step "2/6 cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

step "3/6 python tooling (.venv: moto, cfn-lint)"
bash scripts/venv.sh

step "4/6 start moto (DynamoDB API)"
mkdir -p "$LOCAL_DIR"
port=${DYNAMO_PORT:-$(free_port)}
start_moto "$port" "$LOCAL_DIR/moto-test.log"
echo "moto on 127.0.0.1:$port (pid $MOTO_PID, log $LOCAL_DIR/moto-test.log)" >&2
export IDLINK_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB

if cargo nextest --version >/dev/null 2>&1; then
  step "5/6 cargo nextest run --workspace"
  cargo nextest run --workspace --no-fail-fast
else
  step "5/6 cargo test --workspace --all-targets"
  cargo test --workspace --all-targets --no-fail-fast
fi

step "6/6 cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml

step "all checks passed"
