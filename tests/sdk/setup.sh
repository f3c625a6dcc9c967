#!/usr/bin/env bash
# Installs what the client-SDK tests need, into the project's git-ignored places:
#   - Python: tests/sdk/python/requirements.txt (auth0-python 6.x, PyJWT[crypto], pytest) into .venv/
#   - Node:   tests/sdk/node/package-lock.json (auth0 4.x, jose) into tests/sdk/node/node_modules/ (npm ci)
# Idempotent and quick when nothing changed: each half records a checksum of its inputs and skips
# the install while that checksum and the installed packages are still there. Runs from anywhere.
set -euo pipefail

sdk_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$sdk_dir/../.." && pwd)
venv="$repo/.venv"
pip="$(dirname "$0")/../../.venv/bin/pip"
node_dir="$sdk_dir/node"

log() { printf '==> tests/sdk: %s\n' "$*" >&2; }
die() { printf 'tests/sdk/setup.sh: %s\n' "$*" >&2; exit 1; }

checksum() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------- Python (.venv)
if [[ ! -x $pip ]]; then
  command -v python3 >/dev/null || die "python3 not found"
  log "creating $venv"
  python3 -m venv "$venv"
fi
req="$sdk_dir/python/requirements.txt"
py_stamp="$venv/.idlink-sdk-tests.sha256"
py_sum=$(checksum "$req")
if [[ -f $py_stamp && $(cat "$py_stamp") == "$py_sum" ]] &&
  "$venv/bin/python" -c 'import auth0.management, auth0.authentication, jwt, cryptography, pytest' 2>/dev/null; then
  log "python SDK deps already installed"
else
  log "installing python SDK deps into .venv ($(grep -v '^#' "$req" | xargs))"
  "$pip" install --quiet --disable-pip-version-check -r "$req"
  printf '%s\n' "$py_sum" >"$py_stamp"
fi

# ---------------------------------------------------------------- Node (tests/sdk/node/node_modules)
command -v node >/dev/null || die "node not found (Node 20 or newer is needed)"
command -v npm >/dev/null || die "npm not found"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "Node $(node --version) is too old: Node 20 or newer is needed"

node_stamp="$node_dir/node_modules/.idlink-sdk-tests.sha256"
node_sum=$(checksum "$node_dir/package.json" "$node_dir/package-lock.json")
if [[ -f $node_stamp && $(cat "$node_stamp") == "$node_sum" &&
  -f $node_dir/node_modules/auth0/package.json && -f $node_dir/node_modules/jose/package.json ]]; then
  log "node SDK deps already installed"
else
  log "npm ci in tests/sdk/node"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$node_sum" >"$node_stamp"
fi
