"""`Idempotency-Key` seen from outside, over plain HTTP against the running stack.

A client that retries a change with the same key gets the first answer again, byte for byte, with
`Idempotent-Replayed: true`, and nothing changes a second time; the same key with another request
is 422 in the family's envelope. No SDK sends the header, so this is the standard library, as a
studio's retry wrapper would be.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

from conftest import Idlink, token_claims, unique, unique_int

REPLAYED = "Idempotent-Replayed"


def call(idlink: Idlink, method: str, path: str, *, key: str | None, doc: dict | None = None,
         headers: dict | None = None):
    """One exchange with a server token: (status, headers, raw body bytes)."""
    h = {"Authorization": f"Bearer {idlink.server_token()}", "Content-Type": "application/json"}
    if key is not None:
        h["Idempotency-Key"] = key
    h.update(headers or {})
    body = None if doc is None else json.dumps(doc).encode()
    req = urllib.request.Request(idlink.base_url + path, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def new_key() -> str:
    return str(uuid.uuid4())


def test_a_keyed_first_login_is_replayed_and_creates_one_user(idlink: Idlink):
    # Arrange
    key = new_key()
    doc = {
        "server_custom_id": unique("idem-login"),
        "social_profile": {"platform": "steam", "user_id": str(unique_int())},
    }
    path = "/users/login/server_custom_id"

    # Act
    first = call(idlink, "POST", path, key=key, doc=doc)
    again = call(idlink, "POST", path, key=key, doc=doc)

    # Assert: the same token (same jti), marked as a replay; the first answer is not.
    assert first[0] == 200, first
    assert first[1].get(REPLAYED) is None
    assert again[0] == 200, again
    assert again[2] == first[2]
    assert again[1].get(REPLAYED) == "true"
    # One user: a login without a key lands on the user the keyed login created.
    status, body = idlink.try_login(doc["server_custom_id"])
    assert status == 200, body
    first_user = token_claims(json.loads(first[2])["token"])["sub"]
    assert token_claims(body["token"])["sub"] == first_user


def test_a_login_key_sent_with_another_body_is_422_and_creates_nobody(idlink: Idlink):
    # Arrange
    key = new_key()
    path = "/users/login/server_custom_id"
    assert call(idlink, "POST", path, key=key, doc={"server_custom_id": unique("idem-a")})[0] == 200
    steam_id = str(unique_int())
    other = {"server_custom_id": unique("idem-b"),
             "social_profile": {"platform": "steam", "user_id": steam_id}}

    # Act
    status, _, raw = call(idlink, "POST", path, key=key, doc=other)

    # Assert
    assert status == 422, raw
    assert json.loads(raw) == {
        "error": {
            "code": "002-027",
            "description": "The Idempotency-Key was used with another request.",
            "details": {"parameter": "Idempotency-Key"},
        }
    }
    # Nothing ran: the refused login's Steam account is nobody's.
    status, _, rows = call(idlink, "POST", "/users/linking_info", key=None,
                           doc={"users": [{"platform": "steam", "user_id": steam_id}]})
    assert status == 200, rows
    assert [r["xl_uid"] for r in json.loads(rows)] == [None]


def test_the_structured_field_form_of_a_key_is_the_same_key(idlink: Idlink):
    # Arrange
    key = new_key()
    doc = {"server_custom_id": unique("idem-sf")}
    path = "/users/login/server_custom_id"
    first = call(idlink, "POST", path, key=key, doc=doc)

    # Act
    again = call(idlink, "POST", path, key=f'"{key}"', doc=doc)

    # Assert
    assert first[0] == 200, first
    assert (again[0], again[2], again[1].get(REPLAYED)) == (200, first[2], "true")


def test_a_malformed_key_is_400_and_changes_nothing(idlink: Idlink):
    # Arrange
    custom_id = unique("idem-bad")

    # Act
    status, _, raw = call(
        idlink, "POST", "/users/login/server_custom_id", key="two words",
        doc={"server_custom_id": custom_id},
    )

    # Assert
    assert status == 400, raw
    body = json.loads(raw)
    assert body["error"]["code"] == "002-027"
    assert body["error"]["details"]["parameter"] == "Idempotency-Key"


def test_a_keyed_auth0_patch_is_replayed_without_applying_it_again(idlink: Idlink):
    # Arrange
    player = idlink.login()
    path = f"/api/v2/users/{player.user_id}"
    key = new_key()
    doc = {"nickname": "First", "app_metadata": {"tier": "gold"}}
    first = call(idlink, "PATCH", path, key=key, doc=doc)
    assert first[0] == 200, first
    # The state moves on: another (unkeyed) PATCH renames the player.
    moved = call(idlink, "PATCH", path, key=None, doc={"nickname": "Second"})
    assert moved[0] == 200, moved

    # Act
    again = call(idlink, "PATCH", path, key=key, doc=doc)

    # Assert: the first answer, and the later rename stands.
    assert again[0] == 200, again
    assert again[2] == first[2]
    assert again[1].get(REPLAYED) == "true"
    assert json.loads(again[2])["nickname"] == "First"
    status, _, now = call(idlink, "GET", path, key=None)
    assert status == 200, now
    assert json.loads(now)["nickname"] == "Second"


def test_an_auth0_patch_key_sent_with_another_body_is_422(idlink: Idlink):
    # Arrange
    player = idlink.login()
    path = f"/api/v2/users/{player.user_id}"
    key = new_key()
    assert call(idlink, "PATCH", path, key=key, doc={"nickname": "One"})[0] == 200

    # Act
    status, _, raw = call(idlink, "PATCH", path, key=key, doc={"nickname": "Two"})

    # Assert
    assert status == 422, raw
    body = json.loads(raw)
    assert {k: body[k] for k in ("statusCode", "error", "errorCode")} == {
        "statusCode": 422,
        "error": "Unprocessable Entity",
        "errorCode": "idempotency_key_reused",
    }
    assert body["message"]
    status, _, now = call(idlink, "GET", path, key=None)
    assert json.loads(now)["nickname"] == "One"


def test_a_keyed_auth0_link_is_replayed_and_another_identity_with_its_key_is_422(idlink: Idlink):
    # Arrange
    player = idlink.login()
    path = f"/api/v2/users/{player.user_id}/identities"
    key = new_key()
    doc = {"provider": "xbox", "user_id": str(unique_int())}

    # Act
    first = call(idlink, "POST", path, key=key, doc=doc)
    again = call(idlink, "POST", path, key=key, doc=doc)
    other = call(idlink, "POST", path, key=key, doc={"provider": "xbox", "user_id": str(unique_int())})

    # Assert
    assert first[0] == 201, first
    assert first[1].get(REPLAYED) is None
    assert (again[0], again[2], again[1].get(REPLAYED)) == (201, first[2], "true")
    assert other[0] == 422, other
    assert json.loads(other[2])["errorCode"] == "idempotency_key_reused"
    # The user holds what the first link answered: neither the replay nor the 422 linked more.
    status, _, now = call(idlink, "GET", f"/api/v2/users/{player.user_id}", key=None)
    assert status == 200, now

    def pairs(identities):
        return {(i["provider"], str(i["user_id"])) for i in identities}

    assert ("xbox", doc["user_id"]) in pairs(json.loads(first[2]))
    assert pairs(json.loads(now)["identities"]) == pairs(json.loads(first[2]))
