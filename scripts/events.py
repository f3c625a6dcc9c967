#!/usr/bin/env python3
"""Writes events/<function>/<status>-<case>.json: API Gateway HTTP API (payload 2.0) events.

The same files drive the handlers' fixture tests, `cargo lambda invoke --data-file` and
`sam local invoke -e`. `${NAME}` placeholders (SERVER_TOKEN, PROJECT_ID, CLIENT_ID, CLIENT_SECRET,
BASIC_AUTH, ...) are filled by the fixture tests and by `scripts/invoke.sh`.
Run: python3 scripts/events.py
(events/events/, DynamoDB stream batches for the events function, is written by hand.)
"""
import json
import pathlib
from urllib.parse import urlencode

ROOT = pathlib.Path(__file__).resolve().parent.parent / "events"


def event(method, path, route=None, query=None, headers=None, body=None, path_params=None):
    query = query or {}
    return {
        "version": "2.0",
        "routeKey": f"{method} {route or path}",
        "rawPath": path,
        "rawQueryString": urlencode(query, safe="${}"),
        "headers": {"host": "idlink.example.com", "user-agent": "fixture", **(headers or {})},
        **({"queryStringParameters": query} if query else {}),
        **({"pathParameters": path_params} if path_params else {}),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "fixture",
            "domainName": "idlink.example.com",
            "domainPrefix": "idlink",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "fixture",
            },
            "requestId": "fixture-request",
            "routeKey": f"{method} {route or path}",
            "stage": "$default",
            "time": "23/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1795420800000,
        },
        **({"body": body} if body is not None else {}),
        "isBase64Encoded": False,
    }


def write(function, name, ev):
    d = ROOT / function
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.json").write_text(json.dumps(ev, indent=2) + "\n")


JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
SERVER = {**JSON, "authorization": "Bearer ${SERVER_TOKEN}"}

# oauth-token
T = "/oauth/token"
write("oauth-token", "200-form-body-credentials", event("POST", T, headers=FORM,
      body="grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}"))
write("oauth-token", "200-basic-auth", event("POST", T, headers={**FORM, "authorization": "Basic ${BASIC_AUTH}"},
      body="grant_type=client_credentials&scope=users%3Alogin"))
write("oauth-token", "200-xsolla-path-form-body", event("POST", "/oauth2/token", headers=FORM,
      body="grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}"))
write("oauth-token", "200-json-body-auth0-style", event("POST", T, headers=JSON,
      body=json.dumps({"grant_type": "client_credentials", "client_id": "${CLIENT_ID}",
                       "client_secret": "${CLIENT_SECRET}", "audience": None, "scope": None})))
write("oauth-token", "400-basic-and-body-credentials", event("POST", T,
      headers={**FORM, "authorization": "Basic ${BASIC_AUTH}"},
      body="grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}"))
write("oauth-token", "403-unknown-audience", event("POST", T, headers=FORM,
      body="grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}&audience=https%3A%2F%2Fexample.com%2Fapi%2Fv2%2F"))
write("oauth-token", "401-wrong-secret", event("POST", T, headers=FORM,
      body="grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=wrong"))
write("oauth-token", "400-unsupported-grant", event("POST", T, headers=FORM,
      body="grant_type=password&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}"))
write("oauth-token", "400-missing-grant-type", event("POST", T, headers=FORM,
      body="client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}"))
write("oauth-token", "400-unknown-scope", event("POST", T, headers=FORM,
      body="grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}&scope=admin"))

# jwks
write("jwks", "200-key-set", event("GET", "/.well-known/jwks.json"))

# openapi
write("openapi", "200-document", event("GET", "/openapi.json"))

# auth-custom-id
L = "/users/login/server_custom_id"
sample = {
    "attributes": [
        {"attr_type": "server", "key": "company", "permission": "private", "value": "facebook-promo"},
        {"attr_type": "server", "key": "custom-id", "permission": "private", "value": 48582},
    ],
    "server_custom_id": "1234567890asdfghjkl",
    "social_profile": {"platform": "xbox", "user_id": 4352354},
}
write("auth-custom-id", "200-reference-sample", event("POST", L, headers=SERVER,
      query={"projectId": "${PROJECT_ID}", "payload": "level-7"}, body=json.dumps(sample)))
write("auth-custom-id", "200-xsolla-server-header", event("POST", L,
      headers={**JSON, "x-server-authorization": "${SERVER_TOKEN}"},
      body=json.dumps({"server_custom_id": "player-2", "user_profile": {"nickname": " John_Doe_1337 "}})))
write("auth-custom-id", "200-with-logout", event("POST", L, headers=SERVER, query={"with_logout": "1"},
      body=json.dumps({"server_custom_id": "player-3"})))
write("auth-custom-id", "400-missing-custom-id", event("POST", L, headers=SERVER, body="{}"))
write("auth-custom-id", "400-malformed-json", event("POST", L, headers=SERVER, body="{\"server_custom_id\":"))
write("auth-custom-id", "400-custom-id-too-long", event("POST", L, headers=SERVER,
      body=json.dumps({"server_custom_id": "x" * 257})))
write("auth-custom-id", "400-empty-nickname", event("POST", L, headers=SERVER,
      body=json.dumps({"server_custom_id": "p", "user_profile": {"nickname": "   "}})))
write("auth-custom-id", "401-no-token", event("POST", L, headers=JSON,
      body=json.dumps({"server_custom_id": "p"})))
write("auth-custom-id", "401-missing-scope", event("POST", L,
      headers={**JSON, "authorization": "Bearer ${SERVER_TOKEN_NO_SCOPE}"},
      body=json.dumps({"server_custom_id": "p"})))
write("auth-custom-id", "404-foreign-project", event("POST", L, headers=SERVER,
      query={"projectId": "00000000-0000-4000-8000-000000000000"},
      body=json.dumps({"server_custom_id": "p"})))

# link-external-id
X = "/users/account/link_external_id"
write("link-external-id", "200-link", event("POST", X, headers=SERVER,
      body=json.dumps({"external_account_id": "A1234BB23", "user_id": "${USER_ID}"})))
write("link-external-id", "200-relink-same-pair", event("POST", X, headers=SERVER,
      body=json.dumps({"external_account_id": "${LINKED_EXTERNAL_ID}", "user_id": "${LINKED_USER_ID}"})))
write("link-external-id", "200-xsolla-server-header", event("POST", X,
      headers={**JSON, "x-server-authorization": "${SERVER_TOKEN}"},
      body=json.dumps({"external_account_id": "A1234BB24", "user_id": "${USER_ID}"})))
write("link-external-id", "422-external-id-taken", event("POST", X, headers=SERVER,
      body=json.dumps({"external_account_id": "${LINKED_EXTERNAL_ID}", "user_id": "${USER_ID}"})))
write("link-external-id", "422-user-has-another-external-id", event("POST", X, headers=SERVER,
      body=json.dumps({"external_account_id": "B999", "user_id": "${LINKED_USER_ID}"})))
write("link-external-id", "404-unknown-user", event("POST", X, headers=SERVER,
      body=json.dumps({"external_account_id": "A1", "user_id": "00000000-0000-4000-8000-000000000000"})))
write("link-external-id", "400-missing-external-id", event("POST", X, headers=SERVER,
      body=json.dumps({"user_id": "${USER_ID}"})))
write("link-external-id", "401-missing-scope", event("POST", X,
      headers={**JSON, "authorization": "Bearer ${SERVER_TOKEN_NO_SCOPE}"},
      body=json.dumps({"external_account_id": "A1", "user_id": "${USER_ID}"})))

# get-me
write("get-me", "200-user-details", event("GET", "/users/me", headers={"authorization": "Bearer ${USER_TOKEN}"}))
write("get-me", "401-no-token", event("GET", "/users/me"))
write("get-me", "401-server-token", event("GET", "/users/me", headers={"authorization": "Bearer ${SERVER_TOKEN}"}))

# link-identifier: one fixture per partner code it can answer (see docs/clients-and-errors.md, "Partner").
I = "/api/v2/user/link-identifier"
SAMPLE_ID = "c6fefe8d7ac0f4113876d634e8d15f65947f1b62d4859fffcd2464d2be58b2d8"
USER = {**JSON, "authorization": "Bearer ${USER_TOKEN}"}
write("link-identifier", "200-link", event("POST", I, headers=USER,
      body=json.dumps({"identifier": "A" * 20 + "b1" * 10})))
write("link-identifier", "200-relink-same-identifier", event("POST", I,
      headers={**JSON, "authorization": "Bearer ${LINKED_USER_TOKEN}"},
      body=json.dumps({"identifier": "${PARTNER_IDENTIFIER}"})))
write("link-identifier", "200-body-user-id-is-ignored", event("POST", I, headers=USER,
      body=json.dumps({"identifier": "Z" * 40, "user_id": "${LINKED_USER_ID}"})))
write("link-identifier", "400-ER053-missing-identifier", event("POST", I, headers=USER, body="{}"))
write("link-identifier", "400-ER102-identifier-too-short", event("POST", I, headers=USER,
      body=json.dumps({"identifier": "abc123"})))
write("link-identifier", "400-ER707-identifier-not-alphanumeric", event("POST", I, headers=USER,
      body=json.dumps({"identifier": "c6fefe8d-7ac0-f411-3876-d634e8d15f65947f"})))
write("link-identifier", "400-ER803-token-and-api-key", event("POST", I,
      headers={**USER, "x-api-key": "${API_KEY}"}, body=json.dumps({"identifier": SAMPLE_ID})))
write("link-identifier", "401-ER700-no-user-token", event("POST", I, headers=JSON,
      body=json.dumps({"identifier": SAMPLE_ID})))
write("link-identifier", "401-ER701-expired-user-token", event("POST", I,
      headers={**JSON, "authorization": "Bearer ${EXPIRED_USER_TOKEN}"},
      body=json.dumps({"identifier": SAMPLE_ID})))
write("link-identifier", "401-ER702-server-token-instead", event("POST", I,
      headers={**JSON, "authorization": "Bearer ${SERVER_TOKEN}"},
      body=json.dumps({"identifier": SAMPLE_ID})))
write("link-identifier", "404-ER709-user-merged", event("POST", I,
      headers={**JSON, "authorization": "Bearer ${TOMBSTONED_USER_TOKEN}"},
      body=json.dumps({"identifier": SAMPLE_ID})))
write("link-identifier", "409-ER706-identifier-in-use", event("POST", I, headers=USER,
      body=json.dumps({"identifier": "${PARTNER_IDENTIFIER}"})))
write("link-identifier", "409-ER706-user-has-another-identifier", event("POST", I,
      headers={**JSON, "authorization": "Bearer ${LINKED_USER_TOKEN}"},
      body=json.dumps({"identifier": "Q" * 64})))
write("link-identifier", "500-ER999-store-failure", event("POST", I, headers=USER,
      body=json.dumps({"identifier": SAMPLE_ID})))

# resolve-identifier
R = "/api/v2/user"
KEY = {"x-api-key": "${API_KEY}"}
BY_ID = {"user-identifier": "${PARTNER_IDENTIFIER}"}
write("resolve-identifier", "200-api-key-and-identifier", event("GET", R, headers={**KEY, **BY_ID}))
write("resolve-identifier", "200-api-key-and-user-token", event("GET", R,
      headers={**KEY, "user-authorization": "Bearer ${LINKED_USER_TOKEN}"}))
write("resolve-identifier", "200-identifier-and-token-agree", event("GET", R,
      headers={**KEY, **BY_ID, "user-authorization": "Bearer ${LINKED_USER_TOKEN}"}))
write("resolve-identifier", "200-server-token-and-identifier", event("GET", R,
      headers={"authorization": "Bearer ${SERVER_TOKEN}", **BY_ID}))
write("resolve-identifier", "400-ER102-identifier-too-long", event("GET", R,
      headers={**KEY, "user-identifier": "a" * 256}))
write("resolve-identifier", "400-ER704-no-user-named", event("GET", R, headers=KEY))
write("resolve-identifier", "400-ER707-identifier-not-alphanumeric", event("GET", R,
      headers={**KEY, "user-identifier": "c6fefe8d_7ac0_f411_3876_d634e8d15f65947f"}))
write("resolve-identifier", "400-ER803-api-key-and-token", event("GET", R,
      headers={**KEY, **BY_ID, "authorization": "Bearer ${SERVER_TOKEN}"}))
write("resolve-identifier", "401-ER700-empty-user-authorization", event("GET", R,
      headers={**KEY, "user-authorization": "Bearer "}))
write("resolve-identifier", "401-ER701-expired-user-token", event("GET", R,
      headers={**KEY, "user-authorization": "Bearer ${EXPIRED_USER_TOKEN}"}))
write("resolve-identifier", "401-ER702-invalid-user-token", event("GET", R,
      headers={**KEY, "user-authorization": "Bearer not.a.token"}))
write("resolve-identifier", "401-ER800-invalid-partner-token", event("GET", R,
      headers={"authorization": "Bearer ${USER_TOKEN}", **BY_ID}))
write("resolve-identifier", "401-ER801-expired-partner-token", event("GET", R,
      headers={"authorization": "Bearer ${EXPIRED_SERVER_TOKEN}", **BY_ID}))
write("resolve-identifier", "401-ER802-no-partner-token", event("GET", R,
      headers={"authorization": "Basic ${BASIC_AUTH}", **BY_ID}))
write("resolve-identifier", "401-ER805-wrong-api-key", event("GET", R,
      headers={"x-api-key": "idl_not-a-key", **BY_ID}))
write("resolve-identifier", "401-ER806-no-api-key", event("GET", R, headers=BY_ID))
write("resolve-identifier", "403-ER703-identifier-of-another-user", event("GET", R,
      headers={**KEY, **BY_ID, "user-authorization": "Bearer ${USER_TOKEN}"}))
write("resolve-identifier", "404-ER705-identifier-not-linked", event("GET", R,
      headers={**KEY, "user-identifier": "N" * 40}))
write("resolve-identifier", "404-ER709-user-merged", event("GET", R,
      headers={**KEY, "user-authorization": "Bearer ${TOMBSTONED_USER_TOKEN}"}))
write("resolve-identifier", "500-ER999-store-failure", event("GET", R, headers={**KEY, **BY_ID}))

# Auth0 Management: get-user, link-identity, unlink-identity
U = "/api/v2/users/{id}"
def user_event(method, suffix, route_suffix, params, headers, body=None, query=None):
    path = "/api/v2/users/" + params["id"] + suffix
    return event(method, path, route=U + route_suffix, query=query, headers=headers, body=body,
                 path_params=params)

ME = {"id": "${USER_ID}"}
SRV = {"authorization": "Bearer ${SERVER_TOKEN}"}
write("get-user", "200-server-token", user_event("GET", "", "", ME, SRV))
write("get-user", "200-own-user-token", user_event("GET", "", "", ME, {"authorization": "Bearer ${USER_TOKEN}"}))
write("get-user", "403-another-users-token", user_event("GET", "", "", {"id": "${LINKED_USER_ID}"},
      {"authorization": "Bearer ${USER_TOKEN}"}))
write("get-user", "403-missing-scope", user_event("GET", "", "", ME, {"authorization": "Bearer ${SERVER_TOKEN_LOGIN_ONLY}"}))
write("get-user", "404-unknown-user", user_event("GET", "", "", {"id": "00000000-0000-4000-8000-000000000000"}, SRV))
write("get-user", "401-no-token", user_event("GET", "", "", ME, {}))

# user-logs: the user's audit log (Auth0 "get a user's log events")
L = "/logs"
write("user-logs", "200-array", user_event("GET", L, L, ME, SRV))
write("user-logs", "200-paged-with-totals", user_event("GET", L, L, ME, SRV,
      query={"page": "0", "per_page": "10", "include_totals": "true"}))
write("user-logs", "400-per-page-too-large", user_event("GET", L, L, ME, SRV, query={"per_page": "101"}))
write("user-logs", "401-no-token", user_event("GET", L, L, ME, {}))
write("user-logs", "403-missing-scope", user_event("GET", L, L, ME, {"authorization": "Bearer ${SERVER_TOKEN_NO_SCOPE}"}))
write("user-logs", "403-user-token", user_event("GET", L, L, ME, {"authorization": "Bearer ${USER_TOKEN}"}))
write("user-logs", "404-not-a-user-id", user_event("GET", L, L, {"id": "not-a-user"}, SRV))

I2 = "/identities"
write("link-identity", "201-attach-free-identity", user_event("POST", I2, I2, ME, {**JSON, **SRV},
      json.dumps({"provider": "google-oauth2", "user_id": "108091299999329986433"})))
write("link-identity", "201-merge-by-custom-id", user_event("POST", I2, I2, ME, {**JSON, **SRV},
      json.dumps({"provider": "server_custom_id", "user_id": "fixture-linked"})))
write("link-identity", "201-link-with", user_event("POST", I2, I2, ME,
      {**JSON, "authorization": "Bearer ${USER_TOKEN}"}, json.dumps({"link_with": "${LINK_WITH_TOKEN}"})))
write("link-identity", "201-user-id-as-integer", user_event("POST", I2, I2, ME, {**JSON, **SRV},
      json.dumps({"provider": "xbox", "user_id": 4352354})))
write("link-identity", "400-unknown-property", user_event("POST", I2, I2, ME, {**JSON, **SRV},
      json.dumps({"provider": "xbox", "user_id": "1", "email": "x@example.com"})))
write("link-identity", "400-reserved-provider-nobody-holds", user_event("POST", I2, I2, ME, {**JSON, **SRV},
      json.dumps({"provider": "external_id", "user_id": "nobody"})))
write("link-identity", "400-link-with-self", user_event("POST", I2, I2, ME,
      {**JSON, "authorization": "Bearer ${USER_TOKEN}"}, json.dumps({"link_with": "${USER_TOKEN}"})))
write("link-identity", "403-user-token-for-another-user", user_event("POST", I2, I2, {"id": "${LINKED_USER_ID}"},
      {**JSON, "authorization": "Bearer ${USER_TOKEN}"}, json.dumps({"link_with": "${LINK_WITH_TOKEN}"})))
write("link-identity", "403-missing-scope", user_event("POST", I2, I2, ME,
      {**JSON, "authorization": "Bearer ${SERVER_TOKEN_LOGIN_ONLY}"}, json.dumps({"provider": "xbox", "user_id": "1"})))
write("link-identity", "409-identity-already-on-user", user_event("POST", I2, I2, ME, {**JSON, **SRV},
      json.dumps({"provider": "server_custom_id", "user_id": "fixture-user"})))
write("link-identity", "401-invalid-token", user_event("POST", I2, I2, ME,
      {**JSON, "authorization": "Bearer not.a.token"}, json.dumps({"provider": "xbox", "user_id": "1"})))

def unlink(name, params, headers):
    suffix = "/identities/" + params["provider"] + "/" + params["user_id"]
    write("unlink-identity", name, user_event("DELETE", suffix, "/identities/{provider}/{user_id}", params, headers))
unlink("200-unlink-external-id", {"id": "${LINKED_USER_ID}", "provider": "external_id", "user_id": "${LINKED_EXTERNAL_ID}"}, SRV)
unlink("400-main-identity", {"id": "${USER_ID}", "provider": "server_custom_id", "user_id": "fixture-user"}, SRV)
unlink("404-identity-not-on-user", {"id": "${USER_ID}", "provider": "xbox", "user_id": "1"}, SRV)
unlink("403-missing-scope", {"id": "${LINKED_USER_ID}", "provider": "external_id", "user_id": "${LINKED_EXTERNAL_ID}"},
       {"authorization": "Bearer ${SERVER_TOKEN_LOGIN_ONLY}"})
unlink("401-no-token", {"id": "${USER_ID}", "provider": "xbox", "user_id": "1"}, {})

# Xsolla: change-custom-id
def change_custom_id(name, custom_id, project="${PROJECT_ID}", user="${USER_ID}", headers=SERVER):
    path = f"/projects/{project}/users/{user}/server_custom_id"
    route = "/projects/{project_id}/users/{user_id}/server_custom_id"
    write("change-custom-id", name, event("PUT", path, route=route, headers=headers,
          body=json.dumps({"server_custom_id": custom_id}),
          path_params={"project_id": project, "user_id": user}))
change_custom_id("204-change", "fixture-renamed")
change_custom_id("204-same-custom-id", "fixture-user")
change_custom_id("400-null-custom-id", None)
change_custom_id("400-invalid-characters", "not allowed!")
change_custom_id("401-missing-scope", "fixture-renamed",
                 headers={**JSON, "authorization": "Bearer ${SERVER_TOKEN_NO_SCOPE}"})
change_custom_id("404-unknown-user", "fixture-renamed", user="00000000-0000-4000-8000-000000000000")
change_custom_id("404-foreign-project", "fixture-renamed", project="00000000-0000-4000-8000-000000000001")
change_custom_id("422-custom-id-taken", "fixture-linked")

# Xsolla: ban-user, unban-user
def ban(function, method, name, body=None, project="${PROJECT_ID}", user="${USER_ID}", headers=SERVER):
    path = f"/projects/{project}/users/{user}/ban"
    write(function, name, event(method, path, route="/projects/{project_id}/users/{user_id}/ban",
          headers=headers, body=None if body is None else json.dumps(body),
          path_params={"project_id": project, "user_id": user}))
NO_SCOPE = {**JSON, "authorization": "Bearer ${SERVER_TOKEN_NO_SCOPE}"}
UNKNOWN_USER = "00000000-0000-4000-8000-000000000000"
FOREIGN_PROJECT = "00000000-0000-4000-8000-000000000001"
ban("ban-user", "POST", "204-ban-for-good", {"reason": "Cheating"})
ban("ban-user", "POST", "204-ban-for-a-period", {"reason": "Toxic chat", "date_from": "2026-11-23T08:00:00+0000",
                                                 "date_to": "2099-11-30T08:00:00+0000"})
ban("ban-user", "POST", "400-missing-reason", {"date_to": "2099-11-30T08:00:00+0000"})
ban("ban-user", "POST", "400-reason-too-long", {"reason": "x" * 256})
ban("ban-user", "POST", "400-malformed-date", {"reason": "Cheating", "date_to": "next week"})
ban("ban-user", "POST", "401-missing-scope", {"reason": "Cheating"}, headers=NO_SCOPE)
ban("ban-user", "POST", "404-unknown-user", {"reason": "Cheating"}, user=UNKNOWN_USER)
ban("ban-user", "POST", "404-foreign-project", {"reason": "Cheating"}, project=FOREIGN_PROJECT)
ban("unban-user", "DELETE", "204-unban")
ban("unban-user", "DELETE", "401-missing-scope", headers=NO_SCOPE)
ban("unban-user", "DELETE", "404-unknown-user", user=UNKNOWN_USER)
ban("unban-user", "DELETE", "404-foreign-project", project=FOREIGN_PROJECT)

# Auth0 Management: update-user
def update_user(name, body, params=ME, headers={**JSON, **SRV}):
    write("update-user", name, user_event("PATCH", "", "", params, headers, json.dumps(body)))
update_user("200-merge-metadata", {"app_metadata": {"tier": "gold", "old": None}, "user_metadata": {"lang": "de"}})
update_user("200-block", {"blocked": True})
update_user("200-clear-metadata-and-rename", {"user_metadata": {}, "nickname": "Renamed"})
update_user("400-unknown-property", {"email": "x@example.com"})
update_user("400-invalid-metadata-key", {"app_metadata": {"not a key": 1}})
update_user("403-missing-scope", {"blocked": True}, headers={**JSON, "authorization": "Bearer ${SERVER_TOKEN_LOGIN_ONLY}"})
update_user("403-user-token", {"user_metadata": {"lang": "de"}}, headers={**JSON, "authorization": "Bearer ${USER_TOKEN}"})
update_user("404-unknown-user", {"blocked": True}, params={"id": UNKNOWN_USER})
update_user("401-no-token", {"blocked": True}, headers=JSON)

# Xsolla: linking-info (lookups by platform account)
LI = "/users/linking_info"
XSRV = {**JSON, "x-server-authorization": "${SERVER_TOKEN}"}
def linking_info(name, body, headers=XSRV):
    write("linking-info", name, event("POST", LI, headers=headers,
          body=body if isinstance(body, str) else json.dumps(body)))
linking_info("200-reference-sample", {"users": [{"platform": "xbox", "user_id": 4352354}]})
linking_info("200-own-project-named", {"users": [{"platform": "steam", "user_id": "76561198"}],
             "project_id": "${PROJECT_ID}", "publisher_project_id": 7})
linking_info("200-fifty-pairs", {"users": [{"platform": "steam", "user_id": str(i)} for i in range(50)]})
linking_info("400-fifty-one-pairs", {"users": [{"platform": "steam", "user_id": str(i)} for i in range(51)]})
linking_info("400-empty-list", {"users": []})
linking_info("400-platform-too-long", {"users": [{"platform": "p" * 65, "user_id": "1"}]})
linking_info("400-user-id-too-long", {"users": [{"platform": "steam", "user_id": "x" * 257}]})
linking_info("400-malformed-json", "{\"users\":")
linking_info("401-no-token", {"users": [{"platform": "steam", "user_id": "1"}]}, headers=JSON)
linking_info("401-missing-scope", {"users": [{"platform": "steam", "user_id": "1"}]},
             headers={**JSON, "x-server-authorization": "${SERVER_TOKEN_LOGIN_ONLY}"})
linking_info("404-foreign-project", {"users": [{"platform": "steam", "user_id": "1"}],
             "project_id": "00000000-0000-4000-8000-000000000001"})

# Auth0 Management: list-users (exact search)
LU = "/api/v2/users"
def list_users(name, query, headers=SRV):
    write("list-users", name, event("GET", LU, query=query, headers=headers))
list_users("200-by-custom-id-with-totals", {"q": 'identities.provider:"server_custom_id" AND identities.user_id:"fixture-user"',
           "search_engine": "v3", "page": "0", "per_page": "50", "include_totals": "true"})
list_users("200-by-user-id", {"q": 'user_id:"${USER_ID}"', "search_engine": "v3"})
list_users("200-by-external-id", {"q": "identities.provider:external_id AND identities.user_id:${LINKED_EXTERNAL_ID}"})
list_users("400-unsupported-field", {"q": 'email:"player@example.com"', "search_engine": "v3"})
list_users("400-wildcard", {"q": 'identities.provider:"steam" AND identities.user_id:7656*'})
list_users("400-per-page-over-100", {"q": 'user_id:"${USER_ID}"', "per_page": "101"})
list_users("401-no-token", {"q": 'user_id:"${USER_ID}"'}, headers={})
list_users("403-missing-scope", {"q": 'user_id:"${USER_ID}"'},
           headers={"authorization": "Bearer ${SERVER_TOKEN_LOGIN_ONLY}"})

# Xsolla: attributes-by-custom-id
AC = "/attributes/custom_id/get"
def attributes_by_custom_id(name, body, headers=XSRV):
    write("attributes-by-custom-id", name, event("POST", AC, headers=headers,
          body=body if isinstance(body, str) else json.dumps(body)))
attributes_by_custom_id("200-known-and-unknown", {"server_custom_ids": ["fixture-user", "fixture-linked", "nobody"]})
attributes_by_custom_id("200-keys-filter", {"server_custom_ids": ["fixture-user"], "keys": ["level"]})
attributes_by_custom_id("200-two-hundred-fifty-ids", {"server_custom_ids": [f"player-{i}" for i in range(250)]})
attributes_by_custom_id("400-two-hundred-fifty-one-ids", {"server_custom_ids": [f"player-{i}" for i in range(251)]})
attributes_by_custom_id("400-empty-list", {"server_custom_ids": []})
attributes_by_custom_id("400-custom-id-too-long", {"server_custom_ids": ["x" * 257]})
attributes_by_custom_id("401-no-token", {"server_custom_ids": ["fixture-user"]}, headers=JSON)
attributes_by_custom_id("401-missing-scope", {"server_custom_ids": ["fixture-user"]},
                        headers={**JSON, "x-server-authorization": "${SERVER_TOKEN_LOGIN_ONLY}"})
