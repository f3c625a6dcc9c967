"""schemathesis hooks for tests/openapi/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

One thing is left out of the fuzzing: a JSON request body that is not UTF-8. `cargo lambda watch`
(the local emulator `make run` serves) answers such a request with its own 500 before any
function runs (its problem+json body, and no line in the function's log), because it builds the
API Gateway event's text body from the bytes. The same bytes under a binary content type reach
the function base64-encoded and are refused with a 400, and tests/tests/hostile_input.rs sends
arbitrary bytes to every handler directly: a non-UTF-8 body is covered there, not here.

The same holds for a header value with non-ASCII bytes (an `Idempotency-Key` or
`User-Identifier` of `\xe9`): the emulator answers its own 500 before any function runs. The
functions refuse such a key with a 400 (shared/src/idempotency/tests.rs, and hostile_input.rs's
headers); here those cases are left out. Everything else schemathesis generates, malformed JSON
and malformed ASCII header values included, is sent.
"""

import schemathesis


def _is_text(body) -> bool:
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


@schemathesis.hook
def filter_body(context, body):
    return _is_text(body)


def _ascii_headers(case) -> bool:
    headers = getattr(case, "headers", None) or {}
    return all(not isinstance(v, str) or v.isascii() for v in headers.values())


@schemathesis.hook
def filter_case(context, case):
    return _is_text(getattr(case, "body", None)) and _ascii_headers(case)
