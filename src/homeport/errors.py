"""The one exception tree of Homeport, and the one function that shapes an error body.

    HomeportError                  an OpenAI-shaped error: status, type, param, code
    ├── InvalidRequest             400 invalid_request_error (bad field, unsupported option)
    │   └── ContextLengthExceeded  400 code=context_length_exceeded
    ├── AuthenticationFailed       401 invalid_api_key
    ├── NotFound                   404 (unknown id or model)
    ├── PayloadTooLarge            413
    ├── FailedDependency           424 external_connector_error: a server a request named (MCP) failed
    └── EngineError                500 server_error: the model failed; internals are logged, not sent

Adapters translate foreign exceptions into these with `raise ... from exc`; the API layer turns any of them into
`error_body(...)` and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError


def error_body(message: str, *, type: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class HomeportError(Exception):
    status_code = 500
    error_type = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, type=self.error_type, param=self.param, code=self.code)


class InvalidRequest(HomeportError):
    status_code = 400
    error_type = "invalid_request_error"


class ContextLengthExceeded(InvalidRequest):
    def __init__(self, message: str, *, param: str | None = "input") -> None:
        super().__init__(message, param=param, code="context_length_exceeded")


class AuthenticationFailed(HomeportError):
    status_code = 401
    error_type = "invalid_request_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_api_key")


class NotFound(HomeportError):
    status_code = 404
    error_type = "invalid_request_error"


class ModelNotFound(NotFound):
    def __init__(self, model: str) -> None:
        super().__init__(
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )


class PayloadTooLarge(HomeportError):
    status_code = 413
    error_type = "invalid_request_error"


class FailedDependency(HomeportError):
    status_code = 424
    error_type = "external_connector_error"


class EngineError(HomeportError):
    """The model failed while generating; the message sent to the client never carries internals."""


_CODES = {
    "extra_forbidden": "unknown_parameter",
    "missing": "missing_required_parameter",
    "greater_than": "invalid_value",
    "greater_than_equal": "invalid_value",
    "less_than": "invalid_value",
    "less_than_equal": "invalid_value",
    "literal_error": "invalid_value",
    "too_long": "invalid_value",
    "too_short": "invalid_value",
    "string_too_long": "string_above_max_length",
}


_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})


def param_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """('input', 0, 'content') -> 'input[0].content', the way OpenAI names a nested param."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif "[" in part or "-" in part or part in _TYPE_NAMES or part[:1].isupper():
            continue  # pydantic's names for union branches, not a place in the body
        else:
            path += f".{part}" if path else part
    return path


def invalid_request_from(exc: ValidationError | Sequence[Any], prefix: str = "") -> InvalidRequest:
    """The first problem pydantic found, worded and coded the way OpenAI's API reports it."""
    errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else exc
    # Of a union's failed branches, the one that got furthest into the value names the real problem.
    first = max(errors, key=lambda error: len(error["loc"]))
    kind = first["type"]
    param = param_path(tuple(first["loc"]), prefix)
    if kind == "extra_forbidden":
        message = f"Unknown parameter: '{param}'."
    elif kind == "missing":
        message = f"Missing required parameter: '{param}'."
    else:
        shown = repr(first.get("input"))
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        message = f"Invalid value for '{param}': {first['msg']} (got {shown})."
    code = _CODES.get(kind, "invalid_type" if kind.endswith(("_type", "_parsing")) else "invalid_value")
    return InvalidRequest(message, param=param or None, code=code)
