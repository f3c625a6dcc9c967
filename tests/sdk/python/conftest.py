"""Shared fixtures for the SDK-driven tests.

The stack under test is named by two environment variables (tests/sdk/run.sh sets both):
IDLINK_BASE_URL (e.g. http://127.0.0.1:9000) and IDLINK_CREDENTIALS (the credentials.json that
`make run` writes: project_id, client_id, client_secret, api_key, issuer, audience).

The `idlink` fixture is test *setup*, not an SDK under test: it creates players through idlink's own
login endpoint with the standard library, so that every test acts on fresh users of its own
(unique custom IDs per run) and no test depends on what the stack already holds.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[3]
BASE_URL = os.environ.get("IDLINK_BASE_URL", "http://127.0.0.1:9000").rstrip("/")
CREDENTIALS = os.environ.get("IDLINK_CREDENTIALS", str(_REPO / ".local" / "credentials.json"))


def unique(prefix: str) -> str:
    """A value no earlier run of the suite (and no other test) has used."""
    return f"{prefix}-{uuid.uuid4().hex}"


def unique_int() -> int:
    """A positive integer for a social user_id: unique per run, exact in JSON (< 2**53)."""
    return secrets.randbelow(10**15 - 10**9) + 10**9


def token_claims(token: str) -> dict:
    """The payload of a JWT, *unverified*: only for reading `sub` during setup."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class SetupError(AssertionError):
    pass


def http_json(method: str, url: str, *, headers: dict | None = None, body: bytes | None = None):
    """One plain HTTP exchange: (status, headers, parsed JSON or None)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            raw = resp.read()
            return resp.status, resp.headers, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return err.code, err.headers, parsed


@dataclass(frozen=True)
class Player:
    custom_id: str
    user_id: str
    token: str


class Idlink:
    """Setup helper: server tokens and player logins over plain HTTP."""

    def __init__(self, base_url: str, creds: dict):
        self.base_url = base_url
        self.creds = creds
        self._server_tokens: dict[str | None, str] = {}

    def server_token(self, scope: str | None = None) -> str:
        if scope not in self._server_tokens:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.creds["client_id"],
                "client_secret": self.creds["client_secret"],
            }
            if scope is not None:
                form["scope"] = scope
            self._server_tokens[scope] = self._token(form, f"scope={scope!r}")
        return self._server_tokens[scope]

    def _token(self, form: dict, what: str) -> str:
        """POST /oauth/token with a form; the access token, or a setup error naming `what`."""
        status, _, body = http_json(
            "POST",
            f"{self.base_url}/oauth/token",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urllib.parse.urlencode(form).encode(),
        )
        if status != 200:
            raise SetupError(f"setup: POST /oauth/token ({what}) -> {status} {body}")
        return body["access_token"]

    def try_login(self, custom_id: str, *, social_profile: dict | None = None) -> tuple[int, object]:
        """POST /users/login/server_custom_id; (status, body) whatever the outcome."""
        doc: dict = {"server_custom_id": custom_id}
        if social_profile is not None:
            doc["social_profile"] = social_profile
        status, _, body = http_json(
            "POST",
            f"{self.base_url}/users/login/server_custom_id",
            headers={
                "Authorization": f"Bearer {self.server_token()}",
                "Content-Type": "application/json",
            },
            body=json.dumps(doc).encode(),
        )
        return status, body

    def link_token(self, player: Player) -> str:
        """The studio's server exchanges a player's login token for a link token (RFC 8693): the
        only kind of player token that may link or unlink, for five minutes."""
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "client_id": self.creds["client_id"],
            "client_secret": self.creds["client_secret"],
            "subject_token": player.token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        }
        return self._token(form, f"token exchange for {player.user_id}")

    def login(self, custom_id: str | None = None, *, social_profile: dict | None = None) -> Player:
        """Log a player in by custom ID (the first login creates the user)."""
        custom_id = custom_id or unique("sdk-player")
        status, body = self.try_login(custom_id, social_profile=social_profile)
        if status != 200:
            raise SetupError(
                f"setup: login {custom_id!r} social_profile={social_profile} -> {status} {body}"
            )
        token = body["token"]
        return Player(custom_id=custom_id, user_id=token_claims(token)["sub"], token=token)


@pytest.fixture(scope="session")
def base_url() -> str:
    return BASE_URL


@pytest.fixture(scope="session")
def creds() -> dict:
    path = Path(CREDENTIALS)
    if not path.is_file():
        pytest.exit(f"IDLINK_CREDENTIALS: {path} does not exist (run `make run` first)", returncode=2)
    data = json.loads(path.read_text())
    missing = {"project_id", "client_id", "client_secret", "issuer", "audience"} - data.keys()
    if missing:
        pytest.exit(f"{path} lacks {sorted(missing)}", returncode=2)
    return data


@pytest.fixture(scope="session")
def domain(base_url: str) -> str:
    """host:port of the stack, the form Auth0's SDKs take as `domain`."""
    return urllib.parse.urlsplit(base_url).netloc


@pytest.fixture(scope="session", autouse=True)
def stack_is_up(base_url: str, creds: dict) -> None:
    """Stop at once, with one clear line, when nothing answers at IDLINK_BASE_URL."""
    try:
        status, _, _ = http_json("GET", f"{base_url}/.well-known/jwks.json")
    except OSError as err:
        pytest.exit(f"idlink is not answering at {base_url}: {err}", returncode=2)
    if status != 200:
        pytest.exit(f"idlink at {base_url}: GET /.well-known/jwks.json -> {status}", returncode=2)


@pytest.fixture(scope="session")
def idlink(base_url: str, creds: dict) -> Idlink:
    return Idlink(base_url, creds)
