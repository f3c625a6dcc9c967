#!/usr/bin/env python3
"""Invokes one function of a running `make run` with an event fixture.

    python3 scripts/invoke.py events/auth-custom-id/200-reference-sample.json

Fills the fixture's ${…} placeholders from .local/credentials.json (and fresh server tokens from
the running /oauth/token), then runs `cargo lambda invoke` for the function the fixture belongs to
(its directory name). PORT selects the port of `make run` (default 9000).
"""
import base64
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent


def server_token(base, creds, scope):
    body = urllib.parse.urlencode({
        "grant_type": "client_credentials", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"], "scope": scope,
    }).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/oauth/token", data=body)) as r:
        return json.load(r)["access_token"]


def call(base, path, token, body, header="authorization"):
    value = f"Bearer {token}" if header == "authorization" else token
    req = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json", header: value})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def user_values(base, server):
    """USER_ID/USER_TOKEN (no external ID) and LINKED_USER_ID (holding LINKED_EXTERNAL_ID)."""
    login = "/users/login/server_custom_id"
    user_token = call(base, login, server, {"server_custom_id": "fixture-user"})["token"]
    linked_token = call(base, login, server, {"server_custom_id": "fixture-linked"})["token"]
    sub = lambda t: json.loads(base64.urlsafe_b64decode(t.split(".")[1] + "=="))["sub"]
    # Idempotent: an earlier run's link of the same pair answers 200 too.
    call(base, "/users/account/link_external_id", server,
         {"user_id": sub(linked_token), "external_account_id": "fixture-ext-a"})
    # The partner identifier the fixtures resolve, linked to the same user (idempotent too).
    partner_id = "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8"
    call(base, "/api/v2/user/link-identifier", linked_token, {"identifier": partner_id})
    return {"USER_ID": sub(user_token), "USER_TOKEN": user_token,
            "LINKED_USER_ID": sub(linked_token), "LINKED_USER_TOKEN": linked_token,
            "LINK_WITH_TOKEN": linked_token,
            "LINKED_EXTERNAL_ID": "fixture-ext-a", "PARTNER_IDENTIFIER": partner_id}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    fixture = pathlib.Path(sys.argv[1]).resolve()
    port = os.environ.get("PORT", "9000")
    base = f"http://127.0.0.1:{port}"
    creds = json.loads((ROOT / ".local" / "credentials.json").read_text())
    values = {
        "PROJECT_ID": creds["project_id"],
        "CLIENT_ID": creds["client_id"],
        "CLIENT_SECRET": creds["client_secret"],
        "BASIC_AUTH": base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode(),
        "SERVER_TOKEN": server_token(base, creds, "users:login users:link read:users update:users update:users_app_metadata delete:users read:logs read:logs_users"),
        "SERVER_TOKEN_NO_SCOPE": server_token(base, creds, "read:users"),
        "SERVER_TOKEN_LOGIN_ONLY": server_token(base, creds, "users:login"),
        "API_KEY": creds.get("api_key", ""),
    }
    text = fixture.read_text()
    if any(f"${{{p}" in text for p in ("USER_", "LINKED_", "PARTNER_", "LINK_WITH_")):
        values.update(user_values(base, values["SERVER_TOKEN"]))
    for k, v in values.items():
        text = text.replace("${" + k + "}", v)
    left = sorted(set(re.findall(r"\$\{([A-Z_]+)\}", text)))
    if left:
        # Expired and merged-user tokens are made by the fixture tests; a live stack has none.
        sys.exit(f"{fixture.name}: cannot fill {', '.join(left)} against a running stack")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(text)
    try:
        subprocess.run([str(ROOT / ".venv/bin/cargo-lambda"), "lambda", "invoke",
                        "--invoke-address", "127.0.0.1", "--invoke-port", port,
                        "--data-file", f.name, fixture.parent.name], check=True)
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    main()
