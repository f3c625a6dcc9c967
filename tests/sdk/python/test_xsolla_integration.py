"""An Xsolla-style server integration, moved to idlink by changing its base URL.

Xsolla publishes no official Python server SDK: its documentation tells integrators to make raw HTTP
calls, so this integration is plain HTTP by nature (standard library only), written the way those
docs describe it:

1. "Generate JWT": form POST /oauth2/token with grant_type=client_credentials, client_id, client_secret.
2. "Auth by custom ID": POST /users/login/server_custom_id with `Content-Type: application/json` and
   `X-SERVER-AUTHORIZATION: <server JWT>` (the raw token, no scheme word), body = the reference sample.
3. "Get user details": GET /users/me as the player, `Authorization: Bearer <user JWT>`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import token_claims, unique, unique_int

# Every key of Xsolla's "get user details" response: strictly typed client models (Xsolla's own
# Android/Unity SDK models, generated clients) fail on a missing key, so all must be present.
XSOLLA_USER_DETAILS_KEYS = {
    "ban", "birthday", "connection_information", "country", "devices", "email", "external_id",
    "first_name", "last_name", "gender", "groups", "id", "last_login", "name", "nickname", "phone",
    "picture", "registered", "username", "tag", "is_anonymous", "phone_auth",
}


class XsollaServerIntegration:
    """What a studio's game server does against Xsolla Login, with idlink's base URL."""

    def __init__(self, base_url: str, client_id: str, client_secret: str):
        self.base_url = base_url
        self.client_id = client_id
        self.client_secret = client_secret

    def _call(self, method: str, path: str, *, headers: dict, body: bytes | None = None):
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), json.loads(err.read() or b"null")

    def generate_jwt(self):
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        ).encode()
        return self._call(
            "POST",
            "/oauth2/token",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=form,
        )

    def auth_by_custom_id(self, server_jwt: str, body: dict, *, extra_headers: dict | None = None):
        headers = {"Content-Type": "application/json", "X-SERVER-AUTHORIZATION": server_jwt}
        headers.update(extra_headers or {})
        return self._call(
            "POST", "/users/login/server_custom_id", headers=headers, body=json.dumps(body).encode()
        )

    def update_server_custom_id(self, server_jwt: str, project_id: str, user_id: str, custom_id):
        """ "Update server custom ID": PUT with the server JWT, 204 and no body when done."""
        headers = {"Content-Type": "application/json", "X-SERVER-AUTHORIZATION": server_jwt}
        path = f"/projects/{project_id}/users/{user_id}/server_custom_id"
        body = json.dumps({"server_custom_id": custom_id}).encode()
        return self._call("PUT", path, headers=headers, body=body)

    def new_player(self, server_jwt: str, prefix: str) -> tuple[str, str, str]:
        """A first login by a fresh custom ID: (custom ID, user JWT, user id)."""
        custom_id = unique(prefix)
        status, _, body = self.auth_by_custom_id(server_jwt, {"server_custom_id": custom_id})
        assert status == 200, body
        return custom_id, body["token"], token_claims(body["token"])["sub"]

    def get_user_details(self, user_jwt: str):
        return self._call("GET", "/users/me", headers={"Authorization": f"Bearer {user_jwt}"})

    def update_attributes_by_custom_id(
        self, server_jwt: str, project_id: str, server_custom_id: str, body: dict
    ):
        """Xsolla's "update user attributes from server" by custom ID: 204, no body."""
        path = (
            f"/projects/{urllib.parse.quote(project_id)}/server_custom_id/"
            f"{urllib.parse.quote(server_custom_id, safe='')}/attributes"
        )
        headers = {"Content-Type": "application/json", "X-SERVER-AUTHORIZATION": server_jwt}
        return self._call("POST", path, headers=headers, body=json.dumps(body).encode())

    def linking_info(self, server_jwt: str, users: list[dict]):
        """Xsolla's "get users by social ID and platform": one row per pair, in order."""
        headers = {"Content-Type": "application/json", "X-SERVER-AUTHORIZATION": server_jwt}
        body = json.dumps({"users": users}).encode()
        return self._call("POST", "/users/linking_info", headers=headers, body=body)

    def attributes_by_custom_ids(self, server_jwt: str, custom_ids: list[str], keys=None):
        """Xsolla's "get attributes by server custom IDs": one row per known custom ID."""
        headers = {"Content-Type": "application/json", "X-SERVER-AUTHORIZATION": server_jwt}
        doc: dict = {"server_custom_ids": custom_ids}
        if keys is not None:
            doc["keys"] = keys
        return self._call(
            "POST", "/attributes/custom_id/get", headers=headers, body=json.dumps(doc).encode()
        )

    def get_user(self, server_jwt: str, user_id: str):
        return self._call(
            "GET", f"/api/v2/users/{user_id}", headers={"Authorization": f"Bearer {server_jwt}"}
        )

    def ban(self, server_jwt: str, project_id: str, user_id: str, body: dict):
        """Xsolla's "ban a user": POST …/users/{user_id}/ban, 204 and no body when done."""
        headers = {"Content-Type": "application/json", "X-SERVER-AUTHORIZATION": server_jwt}
        path = f"/projects/{project_id}/users/{user_id}/ban"
        return self._call("POST", path, headers=headers, body=json.dumps(body).encode())

    def unban(self, server_jwt: str, project_id: str, user_id: str):
        """Xsolla's "unban a user": DELETE …/users/{user_id}/ban, 204 and no body when done."""
        path = f"/projects/{project_id}/users/{user_id}/ban"
        return self._call("DELETE", path, headers={"X-SERVER-AUTHORIZATION": server_jwt})

    def delete_user(self, server_jwt: str, user_id: str, project_id: str):
        """Xsolla's "delete a user": DELETE /users/{user_id}?projectId=…, server token."""
        query = urllib.parse.urlencode({"projectId": project_id})
        return self._call(
            "DELETE", f"/users/{user_id}?{query}", headers={"X-SERVER-AUTHORIZATION": server_jwt}
        )


def reference_sample(server_custom_id: str, xbox_user_id: int) -> dict:
    """The request sample of Xsolla's "auth by custom ID" reference page (IDs made unique)."""
    return {
        "attributes": [
            {"attr_type": "server", "key": "company", "permission": "private", "value": "facebook-promo"},
            {"attr_type": "server", "key": "custom-id", "permission": "private", "value": 48582},
        ],
        "server_custom_id": server_custom_id,
        "social_profile": {"platform": "xbox", "user_id": xbox_user_id},
    }


@pytest.fixture(scope="module")
def xsolla(base_url: str, creds: dict) -> XsollaServerIntegration:
    return XsollaServerIntegration(base_url, creds["client_id"], creds["client_secret"])


@pytest.fixture(scope="module")
def server_jwt(xsolla: XsollaServerIntegration) -> str:
    status, _, body = xsolla.generate_jwt()
    assert status == 200, body
    return body["access_token"]


def assert_xsolla_error(status: int, body, want_status: int, want_code: str):
    assert status == want_status, body
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == want_code, body
    assert isinstance(body["error"].get("description"), str), body


def test_generate_jwt_form_post(xsolla: XsollaServerIntegration):
    status, headers, body = xsolla.generate_jwt()
    assert status == 200, body
    assert body["token_type"].lower() == "bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert body["access_token"].count(".") == 2
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower.get("cache-control") == "no-store"
    assert lower.get("pragma") == "no-cache"


def test_custom_id_login_then_user_details(xsolla: XsollaServerIntegration, server_jwt: str, creds: dict):
    custom_id = unique("xsolla-player")
    xbox_id = unique_int()

    status, _, body = xsolla.auth_by_custom_id(server_jwt, reference_sample(custom_id, xbox_id))
    assert status == 200, body
    assert set(body) == {"token"}
    user_jwt = body["token"]
    claims = token_claims(user_jwt)
    assert claims["server_custom_id"] == custom_id
    assert claims["xsolla_login_project_id"] == creds["project_id"]

    status, _, me = xsolla.get_user_details(user_jwt)
    assert status == 200, me
    missing = XSOLLA_USER_DETAILS_KEYS - set(me)
    assert not missing, f"/users/me lacks Xsolla user-details keys: {sorted(missing)}"
    assert me["id"] == claims["sub"]
    assert isinstance(me["devices"], list)
    assert isinstance(me["groups"], list)
    assert isinstance(me["registered"], str) and isinstance(me["last_login"], str)
    assert me["ban"] is None and me["external_id"] is None
    assert isinstance(me["is_anonymous"], bool)

    # The same custom ID logs in again as the same user.
    status, _, again = xsolla.auth_by_custom_id(server_jwt, reference_sample(custom_id, xbox_id))
    assert status == 200, again
    assert token_claims(again["token"])["sub"] == claims["sub"]


def test_both_token_headers_must_agree(xsolla: XsollaServerIntegration, server_jwt: str):
    status, _, other = xsolla.generate_jwt()
    assert status == 200, other
    body = {"server_custom_id": unique("xsolla-player")}

    status, _, resp = xsolla.auth_by_custom_id(
        server_jwt, body, extra_headers={"Authorization": f"Bearer {other['access_token']}"}
    )
    assert status == 401, resp

    status, _, resp = xsolla.auth_by_custom_id(
        server_jwt, body, extra_headers={"Authorization": f"Bearer {server_jwt}"}
    )
    assert status == 200, resp


def test_xsolla_error_codes(xsolla: XsollaServerIntegration, server_jwt: str):
    # A required parameter not passed.
    status, _, body = xsolla.auth_by_custom_id(server_jwt, {})
    assert_xsolla_error(status, body, 400, "002-028")

    # A social account already linked to another user.
    xbox_id = unique_int()
    status, _, body = xsolla.auth_by_custom_id(server_jwt, reference_sample(unique("xsolla-a"), xbox_id))
    assert status == 200, body
    status, _, body = xsolla.auth_by_custom_id(server_jwt, reference_sample(unique("xsolla-b"), xbox_id))
    assert_xsolla_error(status, body, 422, "010-016")

    # An invalid token, and a server token where a user token is needed.
    status, _, body = xsolla.get_user_details("not-a-token")
    assert_xsolla_error(status, body, 401, "002-016")
    status, _, body = xsolla.get_user_details(server_jwt)
    assert_xsolla_error(status, body, 401, "002-016")


def test_write_then_remove_attributes_by_custom_id(
    xsolla: XsollaServerIntegration, server_jwt: str, creds: dict
):
    custom_id = unique("xsolla-attrs")
    status, _, login = xsolla.auth_by_custom_id(server_jwt, {"server_custom_id": custom_id})
    assert status == 200, login
    user_id = token_claims(login["token"])["sub"]
    project = creds["project_id"]

    status, _, body = xsolla.update_attributes_by_custom_id(
        server_jwt,
        project,
        custom_id,
        {
            "publisher_id": None,
            "attributes": [
                {"key": "level", "value": "12"},
                {"key": "tier", "value": "gold", "attr_type": "server", "permission": "public"},
            ],
        },
    )
    assert (status, body) == (204, None)
    status, _, user = xsolla.get_user(server_jwt, user_id)
    assert status == 200, user
    assert user["user_metadata"] == {"level": "12"}
    assert user["app_metadata"] == {"tier": "gold"}

    # Removed in the same call that writes: a key in both is kept.
    status, _, body = xsolla.update_attributes_by_custom_id(
        server_jwt,
        project,
        custom_id,
        {"publisher_id": None, "attributes": [{"key": "level", "value": "13"}],
         "removing_keys": ["tier", "level"]},
    )
    assert status == 204, body
    status, _, user = xsolla.get_user(server_jwt, user_id)
    assert status == 200, user
    assert user["user_metadata"] == {"level": "13"}
    assert user["app_metadata"] == {}

    # An unknown custom ID, and a key outside [A-Za-z0-9_].
    status, _, body = xsolla.update_attributes_by_custom_id(
        server_jwt, project, unique("nobody"), {"publisher_id": None, "attributes": []}
    )
    assert_xsolla_error(status, body, 404, "003-061")
    status, _, body = xsolla.update_attributes_by_custom_id(
        server_jwt, project, custom_id,
        {"publisher_id": None, "attributes": [{"key": "bad-key", "value": "x"}]},
    )
    assert_xsolla_error(status, body, 400, "002-027")


def test_change_custom_id_then_log_in_with_the_new_one(
    xsolla: XsollaServerIntegration, server_jwt: str, creds: dict
):
    old, new = unique("xsolla-old"), unique("xsolla-new")
    status, _, body = xsolla.auth_by_custom_id(server_jwt, {"server_custom_id": old})
    assert status == 200, body
    user_id = token_claims(body["token"])["sub"]
    old_token = body["token"]

    status, _, body = xsolla.update_server_custom_id(server_jwt, creds["project_id"], user_id, new)
    assert (status, body) == (204, None), body

    # The new custom ID logs in to the same user; the change ended the tokens of the old one.
    status, _, body = xsolla.auth_by_custom_id(server_jwt, {"server_custom_id": new})
    assert status == 200, body
    claims = token_claims(body["token"])
    assert (claims["sub"], claims["server_custom_id"]) == (user_id, new)
    status, _, me = xsolla.get_user_details(old_token)
    assert_xsolla_error(status, me, 401, "002-016")

    # The old custom ID is free: it logs in to a new user.
    status, _, body = xsolla.auth_by_custom_id(server_jwt, {"server_custom_id": old})
    assert status == 200, body
    other = token_claims(body["token"])["sub"]
    assert other != user_id

    # Taking the custom ID another user holds is refused, and nothing changes.
    status, _, body = xsolla.update_server_custom_id(server_jwt, creds["project_id"], user_id, old)
    assert_xsolla_error(status, body, 422, "010-016")
    status, _, body = xsolla.auth_by_custom_id(server_jwt, {"server_custom_id": new})
    assert status == 200 and token_claims(body["token"])["sub"] == user_id, body

    # The same custom ID again changes nothing; an unknown user is not found.
    status, _, body = xsolla.update_server_custom_id(server_jwt, creds["project_id"], user_id, new)
    assert (status, body) == (204, None), body
    status, _, body = xsolla.update_server_custom_id(
        server_jwt, creds["project_id"], "00000000-0000-4000-8000-000000000000", unique("x")
    )
    assert_xsolla_error(status, body, 404, "003-061")


def test_delete_user_frees_its_custom_id_and_ends_its_tokens(
    xsolla: XsollaServerIntegration, server_jwt: str, creds: dict
):
    custom_id, user_jwt, user_id = xsolla.new_player(server_jwt, "xsolla-deleted")

    status, _, body = xsolla.delete_user(server_jwt, user_id, creds["project_id"])

    assert (status, body) == (204, None)
    status, _, body = xsolla.get_user_details(user_jwt)
    assert_xsolla_error(status, body, 401, "002-016")
    status, _, body = xsolla.delete_user(server_jwt, user_id, creds["project_id"])
    assert_xsolla_error(status, body, 404, "003-061")
    status, _, body = xsolla.auth_by_custom_id(server_jwt, {"server_custom_id": custom_id})
    assert status == 200, body
    assert token_claims(body["token"])["sub"] != user_id, "the custom ID makes a new user"


def test_ban_refuses_login_and_tokens_shows_in_user_details_and_unban_lifts_it(
    xsolla: XsollaServerIntegration, server_jwt: str, creds: dict
):
    custom_id, user_jwt, user_id = xsolla.new_player(server_jwt, "xsolla-banned")
    project = creds["project_id"]

    # A ban that begins tomorrow does not hold yet: the player logs in and sees it coming.
    status, _, body = xsolla.ban(server_jwt, project, user_id, {
        "reason": "Scheduled", "date_from": "2099-01-01T00:00:00+0000", "date_to": "2099-01-02T00:00:00+0000",
    })
    assert (status, body) == (204, None)
    status, _, body = xsolla.get_user_details(user_jwt)
    assert status == 200, body
    assert body["ban"] == {
        "date_from": "2099-01-01T00:00:00Z", "date_to": "2099-01-02T00:00:00Z", "reason": "Scheduled",
    }

    status, _, body = xsolla.ban(server_jwt, project, user_id, {"reason": "Cheating"})
    assert (status, body) == (204, None)
    status, _, body = xsolla.auth_by_custom_id(server_jwt, {"server_custom_id": custom_id})
    assert_xsolla_error(status, body, 401, "002-040")
    status, _, body = xsolla.get_user_details(user_jwt)
    assert_xsolla_error(status, body, 401, "002-040")

    status, _, body = xsolla.unban(server_jwt, project, user_id)
    assert (status, body) == (204, None)
    status, _, body = xsolla.auth_by_custom_id(server_jwt, {"server_custom_id": custom_id})
    assert status == 200, body
    assert token_claims(body["token"])["sub"] == user_id
    status, _, body = xsolla.get_user_details(body["token"])
    assert (status, body["ban"]) == (200, None)


def test_ban_refuses_bad_input_and_unknown_users(
    xsolla: XsollaServerIntegration, server_jwt: str, creds: dict
):
    _, _, user_id = xsolla.new_player(server_jwt, "xsolla-ban-input")
    project = creds["project_id"]

    for bad in ({}, {"reason": ""}, {"reason": "x" * 256}, {"reason": "x", "date_to": "soon"}):
        status, _, body = xsolla.ban(server_jwt, project, user_id, bad)
        assert status == 400 and body["error"]["code"] in ("002-027", "002-028"), (bad, body)
    status, _, body = xsolla.ban(server_jwt, project, "00000000-0000-4000-8000-000000000000", {"reason": "x"})
    assert_xsolla_error(status, body, 404, "003-061")
    status, _, body = xsolla.unban(server_jwt, "00000000-0000-4000-8000-000000000001", user_id)
    assert_xsolla_error(status, body, 404, "003-019")


def test_linking_info_finds_players_by_platform_account(
    xsolla: XsollaServerIntegration, server_jwt: str
):
    xbox_id = unique_int()
    status, _, login = xsolla.auth_by_custom_id(
        server_jwt, reference_sample(unique("xsolla-lookup"), xbox_id)
    )
    assert status == 200, login
    user_id = token_claims(login["token"])["sub"]
    status, _, body = xsolla.linking_info(
        server_jwt,
        [{"platform": "xbox", "user_id": xbox_id}, {"platform": "steam", "user_id": unique("nobody")}],
    )
    assert status == 200, body
    assert body[0] == {
        "platform": "xbox", "user_id": str(xbox_id), "xl_uid": user_id,
        "external_account_id": None, "email": None,
    }
    assert body[1]["xl_uid"] is None, body

    too_many = [{"platform": "steam", "user_id": str(i)} for i in range(51)]
    status, _, body = xsolla.linking_info(server_jwt, too_many)
    assert_xsolla_error(status, body, 400, "002-027")


def test_attributes_by_custom_ids(xsolla: XsollaServerIntegration, server_jwt: str):
    custom_id = unique("xsolla-attr-read")
    status, _, login = xsolla.auth_by_custom_id(server_jwt, reference_sample(custom_id, unique_int()))
    assert status == 200, login
    user_id = token_claims(login["token"])["sub"]

    status, _, body = xsolla.attributes_by_custom_ids(
        server_jwt, [unique("nobody"), custom_id], keys=["custom-id"]
    )

    assert status == 200, body
    assert body == [{
        "server_custom_id": custom_id,
        "user_id": user_id,
        "attributes": [{"key": "custom-id", "value": "48582", "attr_type": "server",
                        "permission": "private", "readonly": False}],
    }]
    status, _, body = xsolla.attributes_by_custom_ids(server_jwt, [])
    assert_xsolla_error(status, body, 400, "002-027")
