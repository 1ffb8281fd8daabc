"""A loopback job API for the generic REST source: one paging style and one auth style at a time.

Shaped like the JSON APIs the REST source is meant for (a `data` list, `updated_since`, ISO times):

    POST /oauth/token                      client credentials (form) -> {"access_token", "expires_in"}
    GET  /v1/jobs?updated_since=...&<paging>   -> {"data": [...], "meta": {...}} (+ paging headers)
    GET  /v1/jobs/{id}                     -> the job itself; 404 when unknown
    GET  /v1/jobs/{id}/lines               -> {"data": [...lines...]}
    GET  /v1/customers/{id}                -> the customer itself

With `nested=False` a listed job carries only `customer_id` and no `line_items`, so a client must
fetch lines and customers from their own paths. `throttle` answers that many 429s (Retry-After: 0)
before serving again. Standard library only: it must not share code with the connector it checks.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jobsync.sandbox.loopback import ThreadedServer

PAGING_STYLES = ("cursor_header", "cursor_body", "page", "offset")
AUTH_STYLES = ("bearer", "api_key", "basic", "oauth2_client_credentials")
TOKEN = "sandbox-token"
API_KEY = "sandbox-key"
USER, PASSWORD = "sandbox-user", "sandbox-password"
CLIENT_ID, CLIENT_SECRET = "sandbox-client", "sandbox-secret"

Reply = tuple[int, dict[str, str], Any]


class RestJobsApi(ThreadedServer):
    """The emulated job system; `jobs` are dicts with `id`, `updated_at` (ISO), `customer`, `line_items`."""

    def __init__(
        self,
        jobs: list[dict[str, Any]] | None = None,
        *,
        paging: str = "cursor_body",
        auth: str = "bearer",
        page_size: int = 2,
        nested: bool = True,
        token_lifetime: int = 3600,
    ) -> None:
        assert paging in PAGING_STYLES and auth in AUTH_STYLES
        self.jobs = list(jobs or [])
        self.paging, self.auth, self.page_size, self.nested = paging, auth, page_size, nested
        self.token_lifetime = token_lifetime
        self.throttle = 0
        self.issued: list[str] = []  # access tokens handed out, in order
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path?query, headers)
        self._lock = threading.Lock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def token_url(self) -> str:
        return self.url.removesuffix("/v1") + "/oauth/token"

    # -- serving ---------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], form: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append((method, target, headers))
            parts = urlsplit(target)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if method == "POST" and parts.path == "/oauth/token":
                return self._token(form)
            if not self._authorised(headers):
                return 401, {}, {"error": "unauthorised"}
            if self.throttle:
                self.throttle -= 1
                return 429, {"Retry-After": "0"}, {"error": "slow down"}
            return self._route(parts.path, query)

    def _token(self, form: dict[str, str]) -> Reply:
        if form.get("grant_type") != "client_credentials":
            return 400, {}, {"error": "unsupported_grant_type"}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {}, {"error": "invalid_client"}
        token = f"oauth-{len(self.issued) + 1}"
        self.issued.append(token)
        return 200, {}, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}

    def _authorised(self, headers: dict[str, str]) -> bool:
        given = headers.get("authorization", "")
        if self.auth == "api_key":
            return headers.get("x-api-key") == API_KEY
        if self.auth == "basic":
            return given == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.auth == "oauth2_client_credentials":
            return given.removeprefix("Bearer ") in self.issued
        return given == f"Bearer {TOKEN}"

    def _route(self, path: str, query: dict[str, str]) -> Reply:
        segments = path.strip("/").split("/")
        if segments[:2] == ["v1", "jobs"] and len(segments) == 2:
            return self._list(query)
        if segments[:2] == ["v1", "jobs"] and len(segments) in (3, 4):
            job = next((j for j in self.jobs if j["id"] == segments[2]), None)
            if job is None:
                return 404, {}, {"error": "no such job"}
            return (200, {}, {"data": job.get("line_items", [])}) if len(segments) == 4 else (200, {}, self._shown(job))
        if segments[:2] == ["v1", "customers"] and len(segments) == 3:
            found = [j["customer"] for j in self.jobs if j.get("customer", {}).get("id") == segments[2]]
            return (200, {}, found[0]) if found else (404, {}, {"error": "no such customer"})
        return 404, {}, {"error": "no route"}

    def _shown(self, job: dict[str, Any]) -> dict[str, Any]:
        if self.nested:
            return job
        flat = {k: v for k, v in job.items() if k not in ("customer", "line_items")}
        return flat | {"customer_id": job.get("customer", {}).get("id")}

    def _list(self, query: dict[str, str]) -> Reply:
        since = query.get("updated_since")
        chosen = [j for j in self.jobs if not since or _time(j["updated_at"]) > _time(since)]
        chosen.sort(key=lambda j: (_time(j["updated_at"]), j["id"]))
        size = self.page_size
        if self.paging == "offset":
            start, size = int(query.get("offset", 0)), int(query.get("limit", size))
        elif self.paging == "page":
            start = (int(query.get("page", 1)) - 1) * size
        else:
            start = int(query.get("cursor", "0") or 0)
        data = [self._shown(j) for j in chosen[start : start + size]]
        more = start + size < len(chosen)
        headers: dict[str, str] = {}
        meta: dict[str, Any] = {}
        if self.paging == "cursor_header" and more:
            headers["X-Next-Cursor"] = str(start + size)
        if self.paging == "cursor_body":
            meta["next_cursor"] = str(start + size) if more else None
        if self.paging == "page":
            pages = max(1, -(-len(chosen) // size))
            headers["X-Total-Pages"] = str(pages)
            meta["total_pages"] = pages
        return 200, headers, {"data": data, "meta": meta}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _handler_for(api: RestJobsApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str, form: dict[str, str]) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = api.handle(method, self.path, headers, form)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._answer("GET", {})

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            self._answer("POST", {k: v[-1] for k, v in parse_qs(raw).items()})

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    return Handler
