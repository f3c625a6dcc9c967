#!/usr/bin/env bash
# make package: build every function for arm64 (template.yaml's Architectures) with
# `sam build --beta-features` (BuildMethod rust-cargolambda: cargo-lambda cross-compiles with
# zig, release profile), into .aws-sam/build/<LogicalId>/bootstrap. `make bench` then reports
# each bootstrap's size beside the host build. Not part of make test: it is a release build of
# every function (docs/operations.md "Packaging" has the times measured here).
#
# Environment: PACKAGE="JwksFunction" builds only that resource (sam build takes one logical ID);
# AWS_DEFAULT_REGION (default us-east-1; sam needs a region, nothing is deployed).
#
# aws-sam-cli pins boto3 and botocore to exact versions, which would move moto's in .venv, so it
# gets a virtualenv of its own, $LOCAL_DIR/sam-venv; cargo-lambda comes from .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

bash scripts/venv.sh --with-cargo-lambda
SAM_VENV=$LOCAL_DIR/sam-venv
if [[ ! -x $SAM_VENV/bin/sam ]]; then
  log "installing aws-sam-cli into $SAM_VENV"
  [[ -x $SAM_VENV/bin/python ]] || python3 -m venv --without-pip "$SAM_VENV"
  .venv/bin/python -m pip --python "$SAM_VENV/bin/python" install --quiet \
    --disable-pip-version-check 'aws-sam-cli>=1.140,<2'
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  log "adding the aarch64-unknown-linux-gnu target"
  rustup target add aarch64-unknown-linux-gnu
fi

export PATH="$PWD/.venv/bin:$PATH" AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export SAM_CLI_TELEMETRY=0
args=()
[[ -n ${PACKAGE:-} ]] && args=("$PACKAGE")
log "sam build --beta-features ${args[*]} (arm64, release profile)"
start=$SECONDS
"$SAM_VENV/bin/sam" build --beta-features "${args[@]}"
log "packaged in $((SECONDS - start)) s:"
for f in .aws-sam/build/*/bootstrap; do
  [[ -f $f ]] && printf '  %-40s %s bytes\n' "$f" "$(stat -c %s "$f")"
done
