"""Validates recorded exchanges (an events/ fixture's request, its handler's answer) against the
OpenAPI document with openapi-core. Run by tests/tests/openapi.rs:

    python check_exchanges.py docs/openapi.yaml exchanges.json

Every answer must validate (status listed for the operation, content type and body as
documented, headers by their schemas). Every request must validate too, except those the fixture
means to be refused for their input (answered 400 or 401): the document may refuse those.
Prints "<n> exchanges valid" and exits 0, or lists every mismatch and exits 1.
"""

import base64
import json
import sys
from urllib.parse import parse_qsl

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

HOST = "https://idlink.example.com"
REFUSED_FOR_INPUT = (400, 401)


def request_of(event):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    body = event.get("body") or ""
    data = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    return MockRequest(
        HOST,
        event["requestContext"]["http"]["method"],
        event["rawPath"],
        args=parse_qsl(event.get("rawQueryString") or "", keep_blank_values=True),
        headers=headers,
        data=data,
        content_type=headers.get("content-type", "application/json" if data else ""),
    )


def response_of(exchange):
    headers = {k.lower(): v for k, v in exchange["headers"].items()}
    return MockResponse(
        exchange["body"].encode(),
        status_code=exchange["status"],
        headers=headers,
        content_type=headers.get("content-type", ""),
    )


def problem(error):
    """The error and its causes (openapi-core nests the schema errors)."""
    parts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        parts.append(f"{type(error).__name__}: {str(error)[:300]}")
        for inner in getattr(error, "schema_errors", None) or []:
            parts.append(f"  - {'/'.join(map(str, inner.absolute_path))}: {inner.message}")
        error = error.__cause__ or error.__context__
    return "\n    ".join(parts)


def main():
    spec_path, exchanges_path = sys.argv[1], sys.argv[2]
    api = OpenAPI.from_file_path(spec_path)  # validates the document itself first
    with open(exchanges_path) as f:
        exchanges = json.load(f)
    failures, refused = [], []
    for ex in exchanges:
        name = f"{ex['function']}/{ex['fixture']}"
        req = request_of(ex["event"])
        try:
            api.validate_request(req)
        except Exception as e:  # noqa: BLE001 - every validation error is reported
            if ex["status"] in REFUSED_FOR_INPUT:
                refused.append(f"{name} ({type(e).__name__})")
            else:
                failures.append(f"{name}: request (answered {ex['status']}):\n    {problem(e)}")
        try:
            api.validate_response(req, response_of(ex))
        except Exception as e:  # noqa: BLE001
            failures.append(f"{name}: answer {ex['status']}:\n    {problem(e)}")
    if failures:
        print(f"{len(failures)} mismatches with {spec_path}:")
        print("\n".join(failures))
        sys.exit(1)
    print(
        f"{len(exchanges)} exchanges valid "
        f"({len(refused)} requests refused for their input, as their fixtures mean)"
    )
    for name in refused:
        print(f"  refused: {name}")


if __name__ == "__main__":
    main()
