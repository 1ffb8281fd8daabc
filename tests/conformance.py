"""Validate HTTP exchanges with the Xero sandbox against Xero's official OpenAPI spec.

The spec (`tests/specs/xero/xero_accounting.yaml`, vendored under its MIT licence) is the
independent referee: the sandbox and jobsync's client are both written here, so
agreeing with each other proves little; agreeing with Xero's own spec proves more.

`validate_exchange(ex)` returns a list of violations (empty when the exchange conforms).
Everything the validator deliberately does not check is listed in `EXEMPT`, and only there.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl

from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.datatypes import RequestParameters
from openapi_core.security.exceptions import SecurityProviderError
from openapi_core.security.factories import SecurityProviderFactory
from openapi_core.security.providers import BaseProvider
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import SecurityValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = Path(__file__).resolve().parent / "specs" / "xero" / "xero_accounting.yaml"

# The spec's only server is https://api.xero.com/api.xro/2.0; the sandbox serves the same
# paths on http://127.0.0.1:PORT, so a sandbox path is validated as if sent to this host.
SPEC_HOST = "https://api.xero.com"
API_PREFIX = "/api.xro/2.0"

EXEMPT: dict[str, Any] = {
    # Paths not under /api.xro/2.0 are outside this spec, so there is nothing to validate them
    # against: /connections (Xero's Identity API, a separate spec), /connect/token and
    # /connect/revocation (identity.xero.com's OAuth2 endpoints), /identity/connect/authorize
    # (login.xero.com's consent page). The sandbox serves them all on one port.
    "outside_api_prefix": API_PREFIX,
    # Statuses Xero really returns that the spec does not declare for most operations. When an
    # operation does declare one of them (many declare 400), its response is still validated.
    "undeclared_statuses": {
        400: "Xero answers malformed filters/bodies with 400 on operations whose spec omits it",
        401: "missing, unknown or expired token; the spec declares no 401 anywhere",
        403: "tenant not granted to the token; not declared in the spec",
        404: "unknown resource id or route; mostly not declared",
        405: "method not allowed on a known path; not declared",
        429: "rate limits (Retry-After, X-Rate-Limit-Problem); not declared",
        500: "server fault; not declared",
        503: "maintenance / overload; not declared",
    },
    # Status 0 is the sandbox's record of a connection it dropped on purpose (fault injection):
    # no response was sent, so only the request is checked.
    "no_response_status": 0,
    # A 401 is the sandbox refusing a request with no usable credentials, which the auth tests
    # send on purpose; the missing-Bearer security violation is expected there and only there.
    "security_on_status": {401},
    # Attachment uploads: the spec types the application/octet-stream body as `format: byte`, which in
    # OpenAPI means base64 text, while its own description ("Byte array of file in body of request") and
    # xero-python send the raw file. Such a body is checked only for being non-empty; its path, query,
    # headers and the response are validated as everywhere else.
    "raw_file_body": "application/octet-stream",
}


class Exchange(Protocol):
    """What the sandbox reports per request (duck-typed; the sandbox owns the real class)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


@dataclass
class RecordedExchange:
    """A plain `Exchange` for tests that build one by hand."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    status: int = 200
    response_headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    response_body: bytes = b""


class _BearerProvider(BaseProvider):
    """OAuth2 on the wire is `Authorization: Bearer <token>`.

    openapi-core has no OAuth2 provider (it warns on every request and accepts anything), so
    without this a request with no token at all would pass as conforming.
    """

    def __call__(self, parameters: RequestParameters) -> Any:
        header = parameters.header.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SecurityProviderError("missing or non-Bearer Authorization header")
        return token


class _SecurityFactory(SecurityProviderFactory):
    PROVIDERS = {**SecurityProviderFactory.PROVIDERS, "oauth2": _BearerProvider}


@dataclass(frozen=True)
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes
    content_type: str
    parameters: RequestParameters


@dataclass(frozen=True)
class _Response:
    status_code: int
    headers: Headers
    data: bytes
    content_type: str


@functools.cache
def spec() -> OpenAPI:
    """Loaded once per process (~0.4 s); each pytest-xdist worker pays it once, on first use.

    Xero's spec does not pass openapi-spec-validator, hence `spec_validator_cls=None`.
    """
    config = Config(spec_validator_cls=None, security_provider_factory=_SecurityFactory())
    return OpenAPI.from_file_path(str(SPEC_PATH), config=config)


def is_exempt_path(path: str) -> bool:
    prefix = EXEMPT["outside_api_prefix"]
    return path != prefix and not path.startswith(prefix + "/")


def validate_exchange(ex: Exchange, *, check_request: bool = True) -> list[str]:
    """Violations of the spec in one exchange, each as 'METHOD path -> status: message'.

    `check_request=False` is for tests that send spec-violating requests on purpose to see
    the sandbox reject them; the response is still checked.
    """
    if is_exempt_path(ex.path):
        return []
    request = _build_request(ex)
    where = f"{ex.method.upper()} {ex.path} -> {ex.status}"
    problems: list[str] = []
    if check_request:
        problems += _request_problems(request, ex.status)
    if ex.status != EXEMPT["no_response_status"]:
        problems += _response_problems(request, ex)
    return [f"{where}: {p}" for p in problems]


def _request_problems(request: _Request, status: int) -> list[str]:
    problems: list[str] = []
    for error in spec().iter_request_errors(request):
        if isinstance(error, PathNotFound | OperationNotFound):
            return []  # reported once, by _response_problems
        if isinstance(error, SecurityValidationError) and status in EXEMPT["security_on_status"]:
            continue
        if _raw_file(request, error):
            continue
        problems.append("request: " + _describe(error))
    return problems


def _raw_file(request: _Request, error: BaseException) -> bool:
    """An upload's raw bytes, refused only for not being base64 text (see EXEMPT["raw_file_body"])."""
    raw = request.content_type.startswith(EXEMPT["raw_file_body"]) and bool(request.body)
    return raw and type(error).__name__ == "InvalidRequestBody"


def _response_problems(request: _Request, ex: Exchange) -> list[str]:
    headers = Headers(dict(ex.response_headers))
    response = _Response(ex.status, headers, ex.response_body, _content_type(headers))
    problems: list[str] = []
    for error in spec().iter_response_errors(request, response):
        if isinstance(error, PathNotFound | OperationNotFound):
            # The sandbox refusing a route the spec lacks is right; serving one is a violation.
            return [] if ex.status in (404, 405) else [f"route not in the spec: {_short(str(error))}"]
        if isinstance(error, ResponseNotFound):
            if ex.status in EXEMPT["undeclared_statuses"]:
                continue
            problems.append(f"response: status {ex.status} is not declared for this operation")
            continue
        problems.append("response: " + _describe(error))
    return problems


def _build_request(ex: Exchange) -> _Request:
    headers = Headers(dict(ex.headers))
    query = ImmutableMultiDict(parse_qsl(ex.query or "", keep_blank_values=True))
    parameters = RequestParameters(query=query, header=headers)
    return _Request(SPEC_HOST, ex.path, ex.method.lower(), ex.body or b"", _content_type(headers), parameters)


def _content_type(headers: Headers) -> str:
    return headers.get("Content-Type", "").lower()


def _describe(error: BaseException) -> str:
    """The error plus the schema failures behind it, each with its JSON path."""
    cause = error.__cause__
    details = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    if not details:
        inner = f" ({cause})" if cause is not None and str(cause) not in str(error) else ""
        text = str(error)
        label = "" if text.startswith(type(error).__name__) else f"{type(error).__name__}: "
        return f"{label}{_short(text)}{inner}"
    parts = []
    for detail in details:
        location = "/".join(str(p) for p in getattr(detail, "absolute_path", [])) or "<root>"
        parts.append(f"at {location}: {_short(getattr(detail, 'message', str(detail)))}")
    return f"{type(error).__name__}: " + "; ".join(parts)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def json_exchange(method: str, path: str, *, request: Any = None, response: Any = None, **kw: Any) -> RecordedExchange:
    """A hand-built exchange with JSON bodies and the headers the SDK sends."""
    headers = {"Authorization": "Bearer sandbox", "xero-tenant-id": "tenant", "Accept": "application/json"}
    body = b""
    if request is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(request).encode()
    headers.update(kw.pop("headers", {}))
    response_body = b"" if response is None else json.dumps(response).encode()
    return RecordedExchange(method, path, headers=headers, body=body, response_body=response_body, **kw)
