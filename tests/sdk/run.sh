#!/usr/bin/env bash
# usage: tests/sdk/run.sh BASE_URL CREDENTIALS_JSON
#
# Drives a running idlink stack (what `make run` serves) with the clients studios already use:
# Auth0's Python SDK, PyJWT and an Xsolla-style server integration (pytest), and Auth0's Node SDK
# v4 and jose (node --test). Installs them first (tests/sdk/setup.sh). Both runners always run;
# exits non-zero if either fails.
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 BASE_URL CREDENTIALS_JSON" >&2
  exit 2
fi

sdk_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$sdk_dir/../.." && pwd)
base_url=${1%/}
[[ -f $2 ]] || { echo "$0: credentials file $2 not found" >&2; exit 2; }
credentials=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")

bash "$sdk_dir/setup.sh"

export IDLINK_BASE_URL=$base_url IDLINK_CREDENTIALS=$credentials
cd "$repo"

echo "==> tests/sdk: pytest -q tests/sdk/python  (against $base_url)" >&2
py_rc=0
.venv/bin/python -m pytest -q tests/sdk/python || py_rc=$?

echo "==> tests/sdk: node --test tests/sdk/node/*.test.mjs  (against $base_url)" >&2
node_rc=0
node_log=$(mktemp)
trap 'rm -f "$node_log"' EXIT
# The file list is spelled out: a directory argument means "search it" on Node 20 but is taken as
# a glob pattern from Node 21 on.
node --test tests/sdk/node/*.test.mjs 2>&1 | tee "$node_log" || node_rc=$?

# The node runner's own closing counts, for the summary below.
node_pass=$(sed -n 's/^[^0-9a-z]*pass \([0-9][0-9]*\)$/\1/p' "$node_log" | tail -n 1)
node_fail=$(sed -n 's/^[^0-9a-z]*fail \([0-9][0-9]*\)$/\1/p' "$node_log" | tail -n 1)

echo >&2
echo "tests/sdk: pytest exit $py_rc; node --test exit $node_rc (pass ${node_pass:-?}, fail ${node_fail:-?})" >&2
if ((py_rc != 0 || node_rc != 0)); then
  exit 1
fi
