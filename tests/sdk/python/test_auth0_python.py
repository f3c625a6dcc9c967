"""Auth0's official Python SDK (auth0-python 6.x) against idlink, unchanged.

- Authentication: `GetToken(domain, client_id, client_secret, protocol="http").client_credentials(aud)`
  (a JSON body with `"organization": null`, which idlink must treat as absent).
- Management: the generated client `auth0.management.Auth0(base_url=..., token=...)`. The hand-written
  `ManagementClient(domain=...)` wrapper hard-codes `https://{domain}/api/v2`, so a plain-HTTP local
  stack is reached through the generated client's `base_url`, the documented way to point it elsewhere.
"""

from __future__ import annotations

import http

import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)

from conftest import Idlink, http_json, unique, unique_int


# --------------------------------------------------------------------------- helpers

# The generated client retries 408/409/429/5xx twice with exponential backoff (about 3 s in all).
# A 409 here is a final answer, so the conflict cases skip those retries to keep the suite fast.
NO_RETRY = {"max_retries": 0}


def assert_auth0_error(err: ApiError, status: int, error_code: str, message: str | None = None) -> dict:
    """Auth0's error envelope: {statusCode, error (reason phrase), message, errorCode}."""
    assert err.status_code == status, err
    body = err.body
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    assert body.get("statusCode") == status, body
    assert body.get("error") == http.HTTPStatus(status).phrase, body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert body.get("errorCode") == error_code, body
    if message is not None:
        assert body["message"] == message, body
    return body


def identity_keys(identities) -> set[tuple[str, str]]:
    return {(i.provider, str(i.user_id)) for i in identities}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def get_token(domain: str, creds: dict) -> GetToken:
    return GetToken(domain, creds["client_id"], creds["client_secret"], protocol="http")


@pytest.fixture(scope="module")
def mgmt_token(get_token: GetToken, creds: dict) -> str:
    return get_token.client_credentials(creds["audience"])["access_token"]


@pytest.fixture(scope="module")
def management_url(base_url: str) -> str:
    return f"{base_url}/api/v2"


@pytest.fixture(scope="module")
def mgmt(management_url: str, mgmt_token: str) -> Auth0:
    return Auth0(base_url=management_url, token=mgmt_token)


@pytest.fixture
def as_token(management_url: str):
    """A Management client acting with any bearer token (a user's, a narrowed server token, junk)."""

    def make(token: str) -> Auth0:
        return Auth0(base_url=management_url, token=token)

    return make


# --------------------------------------------------------------------------- authentication API


def test_client_credentials_grant(get_token: GetToken, creds: dict):
    token = get_token.client_credentials(creds["audience"])
    assert token["token_type"] == "Bearer"
    assert isinstance(token["expires_in"], int) and token["expires_in"] > 0
    assert token["access_token"].count(".") == 2
    assert {"read:users", "update:users"} <= set(token["scope"].split())


def test_client_credentials_wrong_secret(domain: str, creds: dict):
    bad = GetToken(domain, creds["client_id"], "not-the-secret", protocol="http")
    with pytest.raises(Auth0Error) as info:
        bad.client_credentials(creds["audience"])
    assert info.value.status_code == 401
    assert info.value.error_code == "invalid_client"


def test_client_credentials_unknown_audience(get_token: GetToken, base_url: str):
    audience = f"{base_url}/not-the-api/"
    with pytest.raises(Auth0Error) as info:
        get_token.client_credentials(audience)
    assert info.value.status_code == 403
    assert info.value.error_code == "access_denied"
    assert info.value.message == f"Service not found: {audience}"


# --------------------------------------------------------------------------- users.get


def test_users_get(mgmt: Auth0, idlink: Idlink):
    steam_id = unique("steam")
    player = idlink.login(social_profile={"platform": "steam", "user_id": steam_id})

    user = mgmt.users.get(player.user_id)

    assert user.user_id == player.user_id
    assert identity_keys(user.identities) == {
        ("server_custom_id", player.custom_id),
        ("steam", steam_id),
    }
    social = {i.provider: i.is_social for i in user.identities}
    assert social == {"server_custom_id": False, "steam": True}


def test_users_get_own_user_with_user_token(as_token, idlink: Idlink):
    player = idlink.login()
    user = as_token(player.token).users.get(player.user_id)
    assert user.user_id == player.user_id


# --------------------------------------------------------------------------- users.list (exact search)


def test_users_list_finds_a_player_by_identity_exactly(mgmt: Auth0, idlink: Idlink):
    steam_id = unique("steam")
    player = idlink.login(social_profile={"platform": "steam", "user_id": steam_id})
    idlink.login(social_profile={"platform": "steam", "user_id": steam_id + "0"})

    page = mgmt.users.list(
        q=f'identities.provider:"steam" AND identities.user_id:"{steam_id}"',
        search_engine="v3",
    )

    # The SDK asks include_totals=true and reads Auth0's paged object.
    assert (page.response.start, page.response.length, page.response.total) == (0, 1, 1)
    users = list(page)  # iterating asks the next page too, which is empty
    assert [u.user_id for u in users] == [player.user_id]
    assert identity_keys(users[0].identities) == {
        ("server_custom_id", player.custom_id),
        ("steam", steam_id),
    }


def test_users_list_sees_a_merge_at_once(mgmt: Auth0, idlink: Idlink):
    primary = idlink.login()
    xbox_id = unique_int()
    secondary = idlink.login(social_profile={"platform": "xbox", "user_id": xbox_id})
    q = f"identities.provider:xbox AND identities.user_id:{xbox_id}"
    assert [u.user_id for u in mgmt.users.list(q=q, search_engine="v3")] == [secondary.user_id]

    mgmt.users.identities.link(primary.user_id, provider="xbox", user_id=str(xbox_id))

    assert [u.user_id for u in mgmt.users.list(q=q, search_engine="v3")] == [primary.user_id]
    assert list(mgmt.users.list(q=f'user_id:"{secondary.user_id}"', search_engine="v3")) == []


def test_users_list_refuses_a_search_it_cannot_answer_exactly(mgmt: Auth0):
    with pytest.raises(BadRequestError) as info:
        mgmt.users.list(q='email:"player@example.com"', search_engine="v3")
    body = assert_auth0_error(info.value, 400, "invalid_query_string")
    assert "identities.provider" in body["message"], body


# --------------------------------------------------------------------------- users.identities.link


def test_link_server_side_merges_the_holder(mgmt: Auth0, idlink: Idlink):
    primary = idlink.login()
    steam_id = unique("steam")
    secondary = idlink.login(social_profile={"platform": "steam", "user_id": steam_id})

    resp = mgmt.users.identities.with_raw_response.link(
        primary.user_id, provider="server_custom_id", user_id=secondary.custom_id
    )

    assert resp.status_code == 201
    assert identity_keys(resp.data) == {
        ("server_custom_id", primary.custom_id),
        ("server_custom_id", secondary.custom_id),
        ("steam", steam_id),
    }
    # The secondary's custom ID now logs in as the primary, and the secondary is gone.
    assert idlink.login(secondary.custom_id).user_id == primary.user_id
    assert identity_keys(mgmt.users.get(primary.user_id).identities) == identity_keys(resp.data)
    with pytest.raises(NotFoundError) as info:
        mgmt.users.get(secondary.user_id)
    assert_auth0_error(info.value, 404, "inexistent_user")


def test_link_attaches_unheld_identity_with_integer_user_id(mgmt: Auth0, idlink: Idlink):
    player = idlink.login()
    xbox_id = unique_int()

    resp = mgmt.users.identities.with_raw_response.link(player.user_id, provider="xbox", user_id=xbox_id)

    assert resp.status_code == 201
    assert identity_keys(resp.data) == {("server_custom_id", player.custom_id), ("xbox", str(xbox_id))}
    assert identity_keys(mgmt.users.get(player.user_id).identities) == identity_keys(resp.data)
    # The same integer again, now as a string: the identity is already on the user.
    with pytest.raises(ConflictError) as info:
        mgmt.users.identities.link(
            player.user_id, provider="xbox", user_id=str(xbox_id), request_options=NO_RETRY
        )
    assert_auth0_error(info.value, 409, "identity_conflict")


def test_link_with_link_tokens(as_token, idlink: Idlink):
    primary = idlink.login()
    secondary = idlink.login()
    # The studio's server exchanges each player's login token for a link token (RFC 8693).
    primary_link = idlink.link_token(primary)
    secondary_link = idlink.link_token(secondary)

    resp = as_token(primary_link).users.identities.with_raw_response.link(
        primary.user_id, link_with=secondary_link
    )

    assert resp.status_code == 201
    assert identity_keys(resp.data) == {
        ("server_custom_id", primary.custom_id),
        ("server_custom_id", secondary.custom_id),
    }
    assert idlink.login(secondary.custom_id).user_id == primary.user_id

    # Replaying the link_with token is refused. (The merge ended the primary's earlier tokens: log in
    # again.) Spent token (`invalid_body`) and merged-away secondary (`inexistent_user`) are both 400s.
    again = idlink.login(primary.custom_id)
    with pytest.raises(BadRequestError) as info:
        as_token(idlink.link_token(again)).users.identities.link(again.user_id, link_with=secondary_link)
    assert info.value.body.get("errorCode") in {"invalid_body", "inexistent_user"}, info.value.body
    assert_auth0_error(info.value, 400, info.value.body["errorCode"])


def test_a_login_token_can_neither_link_nor_be_linked(as_token, idlink: Idlink):
    victim = idlink.login()
    attacker = idlink.login()

    # A player's login token travels (game servers, partners, logs): it links nothing.
    with pytest.raises(ForbiddenError) as info:
        as_token(victim.token).users.identities.link(victim.user_id, link_with=idlink.link_token(attacker))
    assert_auth0_error(info.value, 403, "insufficient_scope")
    # Nor is a login token a proof of the second account.
    with pytest.raises(BadRequestError) as info:
        as_token(idlink.link_token(victim)).users.identities.link(victim.user_id, link_with=attacker.token)
    assert_auth0_error(info.value, 400, "invalid_body")

    assert idlink.login(attacker.custom_id).user_id == attacker.user_id


# --------------------------------------------------------------------------- users.identities.delete


def test_unlink_identity(mgmt: Auth0, as_token, idlink: Idlink):
    steam_id = unique("steam")
    player = idlink.login(social_profile={"platform": "steam", "user_id": steam_id})

    resp = mgmt.users.identities.with_raw_response.delete(player.user_id, "steam", steam_id)

    assert resp.status_code == 200
    assert identity_keys(resp.data) == {("server_custom_id", player.custom_id)}
    assert identity_keys(mgmt.users.get(player.user_id).identities) == {("server_custom_id", player.custom_id)}
    # Unlinking ended the user's tokens.
    with pytest.raises(UnauthorizedError) as info:
        as_token(player.token).users.get(player.user_id)
    assert_auth0_error(info.value, 401, "invalid_token")
    # The unlinked identity is a standalone user now, not a free identity: another login cannot take it.
    status, body = idlink.try_login(unique("sdk-other"), social_profile={"platform": "steam", "user_id": steam_id})
    assert status == 422 and body["error"]["code"] == "010-016", (status, body)


def test_a_player_cannot_remove_what_the_studio_set(mgmt: Auth0, as_token, idlink: Idlink):
    primary = idlink.login()
    secondary = idlink.login()
    mgmt.users.identities.link(primary.user_id, provider="server_custom_id", user_id=secondary.custom_id)
    player = idlink.login(primary.custom_id)

    for token in (player.token, idlink.link_token(player)):
        with pytest.raises(ForbiddenError) as info:
            as_token(token).users.identities.delete(player.user_id, "server_custom_id", secondary.custom_id)
        assert_auth0_error(info.value, 403, "operation_not_permitted")
    assert ("server_custom_id", secondary.custom_id) in identity_keys(mgmt.users.get(player.user_id).identities)


def test_unlink_identity_not_on_user(mgmt: Auth0, idlink: Idlink):
    player = idlink.login()
    # The generated client maps no 404 for this call: it raises the base ApiError.
    with pytest.raises(ApiError) as info:
        mgmt.users.identities.delete(player.user_id, "steam", unique("steam"))
    assert_auth0_error(info.value, 404, "inexistent_identity")


# --------------------------------------------------------------------------- error classes


def test_bad_request_main_identity_cannot_be_removed(mgmt: Auth0, idlink: Idlink):
    player = idlink.login(social_profile={"platform": "steam", "user_id": unique("steam")})
    with pytest.raises(BadRequestError) as info:
        mgmt.users.identities.delete(player.user_id, "server_custom_id", player.custom_id)
    assert_auth0_error(info.value, 400, "operation_not_permitted", "Main identity cannot be removed.")


def test_bad_request_last_identity_cannot_be_removed(mgmt: Auth0, idlink: Idlink):
    player = idlink.login()
    with pytest.raises(BadRequestError) as info:
        mgmt.users.identities.delete(player.user_id, "server_custom_id", player.custom_id)
    assert_auth0_error(info.value, 400, "operation_not_permitted")


def test_bad_request_unknown_body_property(mgmt: Auth0, idlink: Idlink):
    player = idlink.login()
    with pytest.raises(BadRequestError) as info:
        mgmt.users.identities.link(
            player.user_id,
            provider="xbox",
            user_id=unique_int(),
            request_options={"additional_body_parameters": {"not_in_auth0_schema": True}},
        )
    assert_auth0_error(info.value, 400, "invalid_body")
    # Refused before writing: the identity was not attached.
    assert identity_keys(mgmt.users.get(player.user_id).identities) == {("server_custom_id", player.custom_id)}


def test_bad_request_secondary_account_not_found(as_token, idlink: Idlink, mgmt: Auth0):
    primary = idlink.login()
    secondary = idlink.login()
    holder = idlink.login()
    primary_link = idlink.link_token(primary)
    secondary_link = idlink.link_token(secondary)
    # The secondary is merged into a third user: its (still unexpired) token names a user that is gone.
    mgmt.users.identities.link(holder.user_id, provider="server_custom_id", user_id=secondary.custom_id)

    with pytest.raises(BadRequestError) as info:
        as_token(primary_link).users.identities.link(primary.user_id, link_with=secondary_link)
    assert_auth0_error(info.value, 400, "inexistent_user")


def test_bad_request_linking_unknown_idlink_identity(mgmt: Auth0, idlink: Idlink):
    player = idlink.login()
    with pytest.raises(BadRequestError) as info:
        mgmt.users.identities.link(player.user_id, provider="server_custom_id", user_id=unique("nobody"))
    assert_auth0_error(info.value, 400, "operation_not_permitted")


def test_unauthorized_invalid_token(as_token, idlink: Idlink):
    player = idlink.login()
    with pytest.raises(UnauthorizedError) as info:
        as_token("not-a-token").users.get(player.user_id)
    assert_auth0_error(info.value, 401, "invalid_token")


def test_forbidden_insufficient_scope(as_token, idlink: Idlink):
    player = idlink.login()
    login_only = as_token(idlink.server_token(scope="users:login"))

    with pytest.raises(ForbiddenError) as info:
        login_only.users.get(player.user_id)
    body = assert_auth0_error(info.value, 403, "insufficient_scope")
    assert "read:users" in body["message"]

    with pytest.raises(ForbiddenError) as info:
        login_only.users.identities.link(player.user_id, provider="xbox", user_id=unique_int())
    body = assert_auth0_error(info.value, 403, "insufficient_scope")
    assert "update:users" in body["message"]
    assert "update:current_user_identities" in body["message"]


def test_forbidden_user_token_on_another_user(as_token, idlink: Idlink):
    player = idlink.login()
    other = idlink.login()
    with pytest.raises(ForbiddenError) as info:
        as_token(player.token).users.get(other.user_id)
    assert_auth0_error(info.value, 403, "operation_not_permitted")


def test_not_found_unknown_user(mgmt: Auth0):
    with pytest.raises(NotFoundError) as info:
        mgmt.users.get("00000000-0000-4000-8000-000000000000")
    assert_auth0_error(info.value, 404, "inexistent_user")


def test_conflict_identity_already_on_user(mgmt: Auth0, idlink: Idlink):
    steam_id = unique("steam")
    player = idlink.login(social_profile={"platform": "steam", "user_id": steam_id})
    with pytest.raises(ConflictError) as info:
        mgmt.users.identities.link(
            player.user_id, provider="steam", user_id=steam_id, request_options=NO_RETRY
        )
    assert_auth0_error(info.value, 409, "identity_conflict")


# --------------------------------------------------------------------------- users.delete


def test_users_delete(mgmt: Auth0, idlink: Idlink):
    player = idlink.login(social_profile={"platform": "steam", "user_id": unique("steam")})

    resp = mgmt.users.with_raw_response.delete(player.user_id)

    assert resp.status_code == 204
    with pytest.raises(NotFoundError) as info:
        mgmt.users.get(player.user_id)
    assert_auth0_error(info.value, 404, "inexistent_user")
    # Auth0's spec lists no 404 for a delete, so the SDK raises its generic ApiError.
    with pytest.raises(ApiError) as info:
        mgmt.users.delete(player.user_id, request_options=NO_RETRY)
    assert_auth0_error(info.value, 404, "inexistent_user")
    assert idlink.login(player.custom_id).user_id != player.user_id, "the custom ID makes a new user"


def test_users_delete_needs_delete_users(as_token, idlink: Idlink):
    player = idlink.login()
    read_only = as_token(idlink.server_token("read:users"))

    with pytest.raises(ForbiddenError) as info:
        read_only.users.delete(player.user_id)

    assert_auth0_error(
        info.value, 403, "insufficient_scope", "Insufficient scope, expected any of: delete:users"
    )
    assert read_only.users.get(player.user_id).user_id == player.user_id


# --------------------------------------------------------------------------- users.update


def test_users_update_merges_metadata_by_auth0s_rules(mgmt: Auth0, idlink: Idlink):
    player = idlink.login()
    mgmt.users.update(
        player.user_id,
        app_metadata={"tier": "gold", "stats": {"wins": 1, "losses": 3}},
        user_metadata={"lang": "de", "theme": "dark"},
    )

    updated = mgmt.users.update(
        player.user_id,
        app_metadata={"stats": {"wins": 2}, "tier": None, "season": 4},
        user_metadata={},
        nickname="Renamed",
    )

    assert updated.app_metadata == {"stats": {"wins": 2}, "season": 4}
    assert not updated.user_metadata
    assert updated.nickname == "Renamed"
    assert updated.blocked is False
    fetched = mgmt.users.get(player.user_id)
    assert (fetched.app_metadata, fetched.nickname) == (updated.app_metadata, "Renamed")


def test_users_update_blocked_stops_logins_and_tokens_until_unblocked(mgmt: Auth0, idlink: Idlink):
    player = idlink.login()

    blocked = mgmt.users.update(player.user_id, blocked=True)

    assert blocked.blocked is True
    assert mgmt.users.get(player.user_id).blocked is True
    status, body = idlink.try_login(player.custom_id)
    assert (status, body["error"]["code"]) == (401, "002-040"), body
    status, _, body = http_json(
        "GET", f"{idlink.base_url}/users/me", headers={"Authorization": f"Bearer {player.token}"}
    )
    assert (status, body["error"]["code"]) == (401, "002-040"), body

    assert mgmt.users.update(player.user_id, blocked=False).blocked is False
    assert idlink.login(player.custom_id).user_id == player.user_id


def test_users_update_needs_update_users(as_token, idlink: Idlink):
    player = idlink.login()
    read_only = as_token(idlink.server_token("read:users"))
    metadata_only = as_token(idlink.server_token("update:users_app_metadata"))

    with pytest.raises(ForbiddenError) as info:
        read_only.users.update(player.user_id, blocked=True)
    assert_auth0_error(info.value, 403, "insufficient_scope")
    with pytest.raises(ForbiddenError):
        metadata_only.users.update(player.user_id, blocked=True)
    assert metadata_only.users.update(player.user_id, app_metadata={"k": 1}).app_metadata == {"k": 1}
    with pytest.raises(ForbiddenError):
        as_token(player.token).users.update(player.user_id, user_metadata={"k": 1})


def test_users_update_bad_metadata_and_unknown_users(mgmt: Auth0, idlink: Idlink):
    player = idlink.login()

    with pytest.raises(BadRequestError) as info:
        mgmt.users.update(player.user_id, app_metadata={"not a key": 1})
    assert_auth0_error(info.value, 400, "invalid_body")
    with pytest.raises(BadRequestError) as info:
        mgmt.users.update(player.user_id, email="x@example.com")
    assert_auth0_error(info.value, 400, "invalid_body")
    with pytest.raises(NotFoundError) as info:
        mgmt.users.update("00000000-0000-4000-8000-000000000000", blocked=True)
    assert_auth0_error(info.value, 404, "inexistent_user")


# --------------------------------------------------------------------------- users.logs.list


def test_users_logs_list_newest_first_and_a_merge_in_both_logs(mgmt: Auth0, idlink: Idlink, creds: dict):
    primary = idlink.login()
    steam_id = unique("steam")
    secondary = idlink.login(social_profile={"platform": "steam", "user_id": steam_id})
    mgmt.users.identities.link(primary.user_id, provider="server_custom_id", user_id=secondary.custom_id)

    # The SDK sends include_totals=true and pages until a page comes back empty.
    primary_logs = list(mgmt.users.logs.list(primary.user_id, per_page=1))
    pager = mgmt.users.logs.list(secondary.user_id)
    secondary_logs = list(pager)

    assert [log.type for log in primary_logs] == ["user_merged", "user_created"]
    assert [log.type for log in secondary_logs] == ["user_merged_away", "user_created"]
    assert pager.response.total == 2
    merged = primary_logs[0]
    assert merged.user_id == primary.user_id
    assert merged.client_id == creds["client_id"]
    assert merged.details["other_user_id"] == secondary.user_id
    moved = {(i["provider"], i["user_id"]) for i in merged.details["identities"]}
    assert moved == {("server_custom_id", secondary.custom_id), ("steam", steam_id)}
    assert secondary_logs[0].details["identities"] == merged.details["identities"]
    assert merged.log_id and merged.log_id != primary_logs[1].log_id


def test_users_logs_list_needs_a_log_scope(as_token, idlink: Idlink):
    player = idlink.login()
    read_users = as_token(idlink.server_token("read:users"))
    logs_users = as_token(idlink.server_token("read:logs_users"))

    with pytest.raises(ForbiddenError) as info:
        list(read_users.users.logs.list(player.user_id))

    assert_auth0_error(
        info.value, 403, "insufficient_scope", "Insufficient scope, expected any of: read:logs, read:logs_users"
    )
    assert [log.type for log in logs_users.users.logs.list(player.user_id)] == ["user_created"]
