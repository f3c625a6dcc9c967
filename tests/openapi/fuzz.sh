#!/usr/bin/env bash
# Fuzzes the running stack against its own OpenAPI document with schemathesis (issue 16):
#   bash tests/openapi/fuzz.sh BASE_URL CREDENTIALS_JSON
# BASE_URL and CREDENTIALS_JSON are what `make run` serves and writes (http://127.0.0.1:9000,
# .local/credentials.json). The document is the one the stack serves at BASE_URL/openapi.json;
# every request carries a server token of the dev client (every scope). Zero failures of
# not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance, within FUZZ_MAX_TIME seconds (default 120). FUZZ_SEED fixes the
# random seed (to replay a run); the report (with a pytest file reproducing each failure) goes
# to FUZZ_REPORT_DIR (default .local/schemathesis).
set -euo pipefail
cd "$(dirname "$0")/../.."

base=${1:?usage: $0 BASE_URL CREDENTIALS_JSON}
creds=${2:?usage: $0 BASE_URL CREDENTIALS_JSON}
venv=${VENV_DIR:-.venv}
[[ -x $venv/bin/schemathesis ]] || bash scripts/venv.sh

token=$("$venv/bin/python" - "$base" "$creds" <<'PY'
import base64, json, sys, urllib.parse, urllib.request
base, creds = sys.argv[1], json.load(open(sys.argv[2]))
basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
req = urllib.request.Request(
    f"{base}/oauth/token",
    data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
    headers={"Authorization": f"Basic {basic}",
             "Content-Type": "application/x-www-form-urlencoded"})
print(json.load(urllib.request.urlopen(req, timeout=60))["access_token"])
PY
)

seed_args=()
[[ -n ${FUZZ_SEED:-} ]] && seed_args=(--seed "$FUZZ_SEED")
report_dir=${FUZZ_REPORT_DIR:-.local/schemathesis}
mkdir -p "$report_dir"
report_dir=$(cd "$report_dir" && pwd)
hooks=$PWD/tests/openapi/fuzz_hooks.py
schemathesis=$PWD/$venv/bin/schemathesis
[[ $venv == /* ]] && schemathesis=$venv/bin/schemathesis
# schemathesis and hypothesis keep their databases (.hypothesis/, .schemathesis/) in the working
# directory: the report directory, outside the tree `cargo lambda watch` watches (a write inside
# it would make the stack restart its functions mid-run).
cd "$report_dir"

# One worker: the stack serves each function one request at a time, on a 2-core machine.
# fuzz_hooks.py: why non-UTF-8 JSON bodies are left out (the local emulator, not idlink).
SCHEMATHESIS_HOOKS=$hooks exec "$schemathesis" run "$base/openapi.json" --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-time "${FUZZ_MAX_TIME:-120}" --workers 1 --request-timeout 30 \
  --report junit,pytest --report-dir "$report_dir" \
  --output-sanitize true "${seed_args[@]}"
