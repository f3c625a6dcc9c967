"""PyJWT verifies idlink user tokens through the published key set, issuer and audience checked."""

from __future__ import annotations

import jwt
import pytest

from conftest import Idlink


@pytest.fixture(scope="module")
def jwks_client(base_url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(f"{base_url}/.well-known/jwks.json")


def test_user_token_verifies_with_jwks(jwks_client: jwt.PyJWKClient, idlink: Idlink, creds: dict):
    player = idlink.login()

    key = jwks_client.get_signing_key_from_jwt(player.token)
    claims = jwt.decode(
        player.token,
        key,
        algorithms=["ES256"],
        issuer=creds["issuer"],
        audience=creds["project_id"],
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )

    assert jwt.get_unverified_header(player.token)["kid"] == key.key_id
    assert claims["sub"] == player.user_id
    assert claims["server_custom_id"] == player.custom_id
    assert claims["xsolla_login_project_id"] == creds["project_id"]
    assert claims["type"] == "server_custom_id"
    assert claims["exp"] > claims["iat"]


def test_issuer_is_the_base_url(creds: dict, base_url: str):
    assert creds["issuer"].rstrip("/") == base_url


def test_wrong_audience_is_refused(jwks_client: jwt.PyJWKClient, idlink: Idlink, creds: dict):
    player = idlink.login()
    key = jwks_client.get_signing_key_from_jwt(player.token)
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(
            player.token,
            key,
            algorithms=["ES256"],
            issuer=creds["issuer"],
            audience="00000000-0000-4000-8000-000000000000",
        )


def test_wrong_issuer_is_refused(jwks_client: jwt.PyJWKClient, idlink: Idlink, creds: dict):
    player = idlink.login()
    key = jwks_client.get_signing_key_from_jwt(player.token)
    with pytest.raises(jwt.InvalidIssuerError):
        jwt.decode(
            player.token,
            key,
            algorithms=["ES256"],
            issuer="https://login.xsolla.com",
            audience=creds["project_id"],
        )


def test_tampered_token_is_refused(jwks_client: jwt.PyJWKClient, idlink: Idlink, creds: dict):
    player = idlink.login()
    other = idlink.login()
    key = jwks_client.get_signing_key_from_jwt(player.token)
    header, _, signature = player.token.split(".")
    forged = ".".join([header, other.token.split(".")[1], signature])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, key, algorithms=["ES256"], issuer=creds["issuer"], audience=creds["project_id"])
