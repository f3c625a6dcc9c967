"""A whole session against a running stack (what `make run` serves), then its captured logs.

usage: check_session.py BASE_URL CREDENTIALS_JSON WATCH_LOG RUST_LOG

The stack must have been started with RUST_LOG set to the given directive list (scripts/test.sh
starts it at trace with commas and `=` in it). The session takes a server token (client
credentials), logs a player in by custom ID, links an external ID, links a partner identifier with
the player's token and resolves it with the partner API key. Then the log of `cargo lambda watch`
(which carries every function's output) must hold none of the secrets and raw identifiers used,
must show that the functions read RUST_LOG as written, and cargo lambda's own lines must stay at
its default level (no DEBUG/TRACE lines of its own, the whole log small).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# cargo lambda at trace wrote gigabytes in minutes; a session and the SDK suite log far less.
MAX_LOG_BYTES = 20 * 1024 * 1024


def call(method: str, url: str, *, headers: dict, body: bytes | None = None) -> tuple[int, object]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, raw.decode("utf-8", "replace")


def expect(what: str, got: tuple[int, object], status: int = 200) -> object:
    if got[0] != status:
        sys.exit(f"FAIL: {what} answered {got[0]} {got[1]}, expected {status}")
    return got[1]


def session(base: str, creds: dict) -> dict[str, str]:
    """Runs the session; answers every secret and raw identifier it sent or received."""
    used = {
        "client_secret": creds["client_secret"],
        "api_key": creds["api_key"],
        "custom ID": f"logcheckplayer{secrets.token_hex(12)}",
        "external ID": f"logcheckext{secrets.token_hex(12)}",
        "partner identifier": secrets.token_hex(32).upper(),
    }
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
    ).encode()
    token = expect(
        "POST /oauth/token",
        call("POST", f"{base}/oauth/token",
             headers={"Content-Type": "application/x-www-form-urlencoded"}, body=form),
    )["access_token"]
    used["server token"] = token
    # cargo lambda hands a form body to the function base64-encoded.
    used["token request body, base64"] = base64.b64encode(form).decode()
    server = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    login = expect(
        "POST /users/login/server_custom_id",
        call("POST", f"{base}/users/login/server_custom_id", headers=server,
             body=json.dumps({"server_custom_id": used["custom ID"]}).encode()),
    )
    used["user token"] = login["token"]
    payload = login["token"].split(".")[1]
    user_id = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]

    expect(
        "POST /users/account/link_external_id",
        call("POST", f"{base}/users/account/link_external_id", headers=server,
             body=json.dumps({"user_id": user_id,
                              "external_account_id": used["external ID"]}).encode()),
    )
    expect(
        "POST /api/v2/user/link-identifier",
        call("POST", f"{base}/api/v2/user/link-identifier",
             headers={"Authorization": f"Bearer {used['user token']}",
                      "Content-Type": "application/json"},
             body=json.dumps({"identifier": used["partner identifier"]}).encode()),
    )
    resolved = expect(
        "GET /api/v2/user (API key + User-Identifier)",
        call("GET", f"{base}/api/v2/user",
             headers={"X-Api-Key": used["api_key"],
                      "User-Identifier": used["partner identifier"]}),
    )
    if user_id not in json.dumps(resolved):
        sys.exit(f"FAIL: resolve-identifier answered {resolved}, not user {user_id}")

    # User-initiated linking: token exchange for a link token, then a social identity attached
    # by the server and unlinked with that link token.
    exchange = urllib.parse.urlencode(
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "subject_token": used["user token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        }
    ).encode()
    used["token exchange body, base64"] = base64.b64encode(exchange).decode()
    used["link token"] = expect(
        "POST /oauth/token (token exchange)",
        call("POST", f"{base}/oauth/token",
             headers={"Content-Type": "application/x-www-form-urlencoded"}, body=exchange),
    )["access_token"]
    used["steam ID"] = f"logchecksteam{secrets.token_hex(12)}"
    expect(
        "POST /api/v2/users/{id}/identities",
        call("POST", f"{base}/api/v2/users/{user_id}/identities", headers=server,
             body=json.dumps({"provider": "steam", "user_id": used["steam ID"]}).encode()),
        201,
    )
    expect(
        "DELETE /api/v2/users/{id}/identities/steam/{steam ID} (link token)",
        call("DELETE", f"{base}/api/v2/users/{user_id}/identities/steam/{used['steam ID']}",
             headers={"Authorization": f"Bearer {used['link token']}"}),
    )
    # A token's signature alone is as good as a leak of the token.
    for name in ("server token", "user token", "link token"):
        used[f"{name} signature"] = used[name].rsplit(".", 1)[1]
    return used


def main() -> None:
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    base, creds_path, log_path, rust_log = sys.argv[1].rstrip("/"), *sys.argv[2:]
    with open(creds_path) as f:
        creds = json.load(f)

    used = session(base, creds)
    time.sleep(2)  # cargo lambda relays the functions' output asynchronously

    with open(log_path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8", "replace")
    failures = []

    # Something was captured at all: every function logs the filter it read at startup.
    filters = set()
    for line in text.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            doc = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("fields"), dict):
            if "log_filter" in doc["fields"]:
                filters.add(doc["fields"]["log_filter"])
    if filters != {rust_log}:
        failures.append(
            f"the functions' startup lines name the filters {sorted(filters)}, expected exactly "
            f"[{rust_log!r}] (RUST_LOG must reach them as written)")

    for name, value in used.items():
        for form in {value, value.lower(), urllib.parse.quote(value, safe="")}:
            if form in text:
                at = text.index(form)
                failures.append(f"the {name} is in the log: …{text[max(0, at - 160):at + 40]!r}…")
                break

    own = [line for line in text.splitlines() if re.match(r"^\s*(DEBUG|TRACE)\s", line)]
    if own:
        failures.append(f"cargo lambda logs at debug/trace ({len(own)} lines), e.g. {own[0][:200]!r}")
    if len(raw) > MAX_LOG_BYTES:
        failures.append(f"the log is {len(raw)} bytes (limit {MAX_LOG_BYTES})")

    if failures:
        print(f"FAIL: {log_path} ({len(raw)} bytes, RUST_LOG={rust_log!r})", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: session ran; {len(used)} secrets and identifiers, none in {log_path} "
          f"({len(raw)} bytes); functions read RUST_LOG={rust_log!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
