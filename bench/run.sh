#!/usr/bin/env bash
# make bench: build every function with the release profile that deploys, the two references
# (bench/references: hello-world and the AWS-example) with the same profile in their own
# workspace, start the local DynamoDB API, and run the harness (bench/harness). Prints one table
# and writes target/bench/results.json. Not part of make test.
#
# Environment: RUNS (cold starts per binary, default 30), BENCH_LOAD=0 to skip the 20 s load
# through make run (it builds and starts the whole `make run` stack: a debug build, cargo lambda).
# FUNCTIONS="auth-custom-id jwks": an experiment's run: build and measure only these functions
# beside hello-world (the AWS-example, criterion and the load are skipped), so that trying a
# profile or feature change costs one or two release builds instead of every function's.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
install_cleanup_trap

RUNS=${RUNS:-30}
BENCH_LOAD=${BENCH_LOAD:-1}
out=target/bench
mkdir -p "$out" "$LOCAL_DIR"

FUNCTIONS=${FUNCTIONS:-}
functions=()
if [[ -n $FUNCTIONS ]]; then
  read -ra functions <<<"$FUNCTIONS"
  BENCH_LOAD=0
else
  for dir in functions/*/; do
    [[ -f $dir/Cargo.toml ]] && functions+=("$(basename "$dir")")
  done
fi
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done

# Only the functions (and idlink-admin) in this build, so that no other member's features
# (tests' `memory`, the harness's) are unified into what deploys.
log "release build: ${functions[*]} idlink-admin"
cargo build --release "${packages[@]}" -p idlink
grep -q "AWS_LC_SYS_NO_JITTER_ENTROPY': '1'" target/release/build/aws-lc-sys-*/output ||
  die "aws-lc-sys was not built with AWS_LC_SYS_NO_JITTER_ENTROPY=1 (see .cargo/config.toml)"

log "release build: references (own workspace and target dir: default SDK features, aws-config, jitter entropy)"
references=()
[[ -n $FUNCTIONS ]] && references=(-p hello-world)
(cd bench/references &&
  AWS_LC_SYS_NO_JITTER_ENTROPY=0 CARGO_TARGET_DIR="$PWD/../../target/references" cargo build --release --locked "${references[@]}")
if [[ -z $FUNCTIONS ]]; then
  grep -q "AWS_LC_SYS_NO_JITTER_ENTROPY': '0'" target/references/release/build/aws-lc-sys-*/output ||
    die "the AWS-example's aws-lc-sys was not built with jitter entropy"
fi

log "release build: harness"
cargo build --release -p idlink-bench

if [[ -z $FUNCTIONS ]]; then
  log "criterion: handler CPU with the in-memory store"
  cargo bench -p idlink-bench --bench handlers -- --noplot
fi

bash scripts/venv.sh
log "starting the local DynamoDB API"
port=$(free_port)
start_moto "$port" "$LOCAL_DIR/moto-bench.log"
export IDLINK_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB

# The three secret materials; the harness finds the public set and the pepper beside keys.json.
rm -f "$out/keys.json" "$out/public-keys.json" "$out/partner-pepper.json"
target/release/idlink-admin gen-keys --out "$out/keys.json" >/dev/null
target/release/idlink-admin public-keys --from "$out/keys.json" --out "$out/public-keys.json"
target/release/idlink-admin gen-pepper --out "$out/partner-pepper.json"

load_args=()
if [[ $BENCH_LOAD == 1 ]]; then
  bash bench/load.sh "$out/load.json"
  load_args=(--load "$out/load.json")
fi

only_args=()
if [[ -n $FUNCTIONS ]]; then
  only_args=(--only "$(IFS=,; echo "${functions[*]}")")
fi

log "harness: $RUNS cold starts per binary, interleaved"
target/release/idlink-bench run --root "$PWD" --functions target/release \
  --references target/references/release --keys "$PWD/$out/keys.json" \
  --moto "http://127.0.0.1:$port" --runs "$RUNS" "${load_args[@]}" "${only_args[@]}"
