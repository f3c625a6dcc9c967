#!/usr/bin/env bash
# Ensure .venv holds the local tooling: moto (DynamoDB API server), cfn-lint, openapi-core (the
# OpenAPI exchange test, tests/tests/openapi.rs) and schemathesis (the fuzzing of make test);
# with --with-cargo-lambda also cargo-lambda. Idempotent: does nothing when present.
set -euo pipefail
cd "$(dirname "$0")/.."

with_cargo_lambda=0
for arg in "$@"; do
  case $arg in
    --with-cargo-lambda) with_cargo_lambda=1 ;;
    -h | --help) echo "usage: $0 [--with-cargo-lambda]"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

VENV=.venv
pkgs=()
[[ -x $VENV/bin/moto_server && -x $VENV/bin/cfn-lint ]] || pkgs+=('moto[server]>=5,<6' 'cfn-lint>=1,<2')
[[ -x $VENV/bin/schemathesis ]] && "$VENV/bin/python" -c 'import openapi_core' 2>/dev/null ||
  pkgs+=('openapi-core>=0.19,<0.20' 'schemathesis>=4,<5')
if ((with_cargo_lambda)) && [[ ! -x $VENV/bin/cargo-lambda ]]; then
  pkgs+=('cargo-lambda>=1.9,<1.10')
fi
((${#pkgs[@]})) || exit 0

if [[ ! -x $VENV/bin/python ]]; then
  echo "==> creating $VENV" >&2
  python3 -m venv "$VENV"
fi
echo "==> installing into $VENV: ${pkgs[*]}" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${pkgs[@]}"
