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
        "SERVER_TOKEN": server_token(base, creds, "users:login users:link read:users update:users"),
        "SERVER_TOKEN_NO_SCOPE": server_token(base, creds, "read:users"),
    }
    text = fixture.read_text()
    for k, v in values.items():
        text = text.replace("${" + k + "}", v)
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
