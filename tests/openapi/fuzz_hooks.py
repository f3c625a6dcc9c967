"""schemathesis hooks for tests/openapi/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

One thing is left out of the fuzzing: a JSON request body that is not UTF-8. `cargo lambda watch`
(the local emulator `make run` serves) answers such a request with its own 500 before any
function runs (its problem+json body, and no line in the function's log), because it builds the
API Gateway event's text body from the bytes. The same bytes under a binary content type reach
the function base64-encoded and are refused with a 400, and tests/tests/hostile_input.rs sends
arbitrary bytes to every handler directly: a non-UTF-8 body is covered there, not here.
Everything else schemathesis generates, malformed JSON included, is sent.
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


@schemathesis.hook
def filter_case(context, case):
    return _is_text(getattr(case, "body", None))
