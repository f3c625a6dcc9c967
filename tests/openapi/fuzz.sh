#!/usr/bin/env bash
# Fuzzes the running stack against its own OpenAPI document with schemathesis (issue 16):
#   bash tests/openapi/fuzz.sh BASE_URL CREDENTIALS_JSON
# BASE_URL and CREDENTIALS_JSON are what `make run` serves and writes (http://127.0.0.1:9000,
# .local/credentials.json). The document is the one the stack serves at BASE_URL/openapi.json;
# each operation gets the credential of its security scheme (see below). Zero failures of
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

# The credentials of every security scheme, and a player to act on: a server token of the dev
# client (every scope), a player logged in with a social profile (its login token and id), the
# dev partner API key. They reach schemathesis through the environment (the config names them as
# ${VAR}), never a file.
eval "$("$venv/bin/python" - "$base" "$creds" <<'PY'
import base64, json, shlex, sys, urllib.parse, urllib.request
base, creds = sys.argv[1], json.load(open(sys.argv[2]))

def call(path, data, headers):
    req = urllib.request.Request(f"{base}{path}", data=data, headers=headers)
    return json.load(urllib.request.urlopen(req, timeout=60))

basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
server = call("/oauth/token", urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
              {"Authorization": f"Basic {basic}",
               "Content-Type": "application/x-www-form-urlencoded"})["access_token"]
login = call("/users/login/server_custom_id",
             json.dumps({"server_custom_id": "fuzz-player",
                         "social_profile": {"platform": "steam", "user_id": "fuzz-steam"}}).encode(),
             {"X-SERVER-AUTHORIZATION": server, "Content-Type": "application/json"})["token"]
claims = json.loads(base64.urlsafe_b64decode(login.split(".")[1] + "=="))
for name, value in {
    "IDLINK_FUZZ_SERVER_TOKEN": server,
    "IDLINK_FUZZ_USER_TOKEN": login,
    "IDLINK_FUZZ_API_KEY": creds["api_key"],
    "IDLINK_FUZZ_CLIENT_ID": creds["client_id"],
    "IDLINK_FUZZ_CLIENT_SECRET": creds["client_secret"],
    "IDLINK_FUZZ_PROJECT_ID": creds["project_id"],
    "IDLINK_FUZZ_USER_ID": claims["sub"],
}.items():
    print(f"export {name}={shlex.quote(value)}")
PY
)"

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
# Each security scheme of the document gets its credential; the dev project, the player's id
# and custom ID are offered for the path and query parameters that name them (often, not
# always: the rest of the time schemathesis makes its own).
cat >schemathesis.toml <<TOML
[auth.openapi.serverToken]
bearer = "\${IDLINK_FUZZ_SERVER_TOKEN}"
[auth.openapi.xsollaServerToken]
api_key = "\${IDLINK_FUZZ_SERVER_TOKEN}"
[auth.openapi.userToken]
bearer = "\${IDLINK_FUZZ_USER_TOKEN}"
[auth.openapi.partnerApiKey]
api_key = "\${IDLINK_FUZZ_API_KEY}"
[auth.openapi.clientBasic]
username = "\${IDLINK_FUZZ_CLIENT_ID}"
password = "\${IDLINK_FUZZ_CLIENT_SECRET}"

[dictionaries.project]
values = ["$IDLINK_FUZZ_PROJECT_ID"]
[dictionaries.user]
values = ["$IDLINK_FUZZ_USER_ID"]
[dictionaries.custom_id]
values = ["fuzz-player"]

[parameters]
"path.project_id" = { dictionary = "project", probability = 0.7 }
"query.projectId" = { dictionary = "project", probability = 0.7 }
"path.id" = { dictionary = "user", probability = 0.7 }
"path.user_id" = { dictionary = "user", probability = 0.5 }
"path.server_custom_id" = { dictionary = "custom_id", probability = 0.5 }
TOML

# One worker: the stack serves each function one request at a time, on a 2-core machine.
# fuzz_hooks.py: why non-UTF-8 JSON bodies are left out (the local emulator, not idlink).
SCHEMATHESIS_HOOKS=$hooks exec "$schemathesis" --config-file schemathesis.toml \
  run "$base/openapi.json" --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-time "${FUZZ_MAX_TIME:-120}" --workers 1 --request-timeout 30 \
  --report junit,pytest --report-dir "$report_dir" \
  --output-sanitize true "${seed_args[@]}"
