"""How the generic REST source authenticates and pages: the parts that vary from one API to the next.

Auth modes: `bearer` and `api_key` (a static secret from `source.api_key`), `basic` (username and
password), `oauth2_client_credentials` (a token fetched from `token_url` with the client id and
secret, cached until shortly before it expires) and `none`.

Paging styles, all driven by what the previous page said rather than by a count we guess:

- `next_page`: the body carries the next page number at `next_page_path` (null at the end).
- `page`: page numbers counted from 1; the total comes from a header or a JSON path, else
  an empty page ends the walk.
- `offset`: `offset`/`limit` parameters; a short page ends the walk.
- `cursor_header`: the next cursor arrives in a response header; its absence ends the walk.
- `cursor_body`: the next cursor is at a JSON path; null or "" ends the walk.

A page or cursor that does not advance is refused: a server echoing the same page back would
otherwise loop until `max_pages`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from jobsync.core.errors import UnreachableError, echo
from jobsync.net.http import request_with_retries

AUTH_MODES = ("bearer", "api_key", "basic", "oauth2_client_credentials", "none")
PAGING_STYLES = ("next_page", "page", "offset", "cursor_header", "cursor_body")
# Refresh an OAuth token this long before the server says it expires, so a request never races expiry.
TOKEN_MARGIN_SECONDS = 60.0

Fetch = Callable[[dict[str, Any]], tuple[Any, Mapping[str, str]]]  # query params -> (JSON body, headers)


def lookup(value: Any, path: str) -> Any:
    """Follow a dotted path ("customer.contacts.0.email") into JSON; None where it leads nowhere.

    The empty path is the value itself (an API whose answer is the list of jobs or lines).
    """
    if not path:
        return value
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and _is_index(part) and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


@dataclass(frozen=True)
class RestAuth:
    mode: str = "bearer"
    token: str | None = None  # the bearer token or API key (source.api_key)
    header: str = "X-API-Key"
    username: str | None = None
    password: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None

    def problems(self) -> list[str]:
        if self.mode not in AUTH_MODES:
            return [f"source.rest.auth must be one of {', '.join(AUTH_MODES)} (got {echo(self.mode)})"]
        needed = {
            "bearer": [("token", "source.api_key")],
            "api_key": [("token", "source.api_key")],
            "basic": [("username", "source.rest.username"), ("password", "source.rest.password")],
            "oauth2_client_credentials": [
                ("token_url", "source.rest.token_url"),
                ("client_id", "source.rest.client_id"),
                ("client_secret", "source.rest.client_secret"),
            ],
        }.get(self.mode, [])
        return [
            f"{key} is not set (needed for source.rest.auth {self.mode}): export the variable it names"
            for attr, key in needed
            if not getattr(self, attr)
        ]


class Authenticator:
    """The headers that authenticate a request; fetches and caches the OAuth token when that is the mode."""

    def __init__(
        self,
        auth: RestAuth,
        session: requests.Session,
        platform: str,
        counter: dict[str, int],
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.auth, self._session, self._platform, self._counter = auth, session, platform, counter
        self._timeout, self._clock = timeout, clock
        self._token: str | None = None
        self._expires = 0.0

    def headers(self) -> dict[str, str]:
        auth = self.auth
        if auth.mode == "bearer":
            return {"Authorization": f"Bearer {auth.token}"}
        if auth.mode == "api_key":
            return {auth.header: str(auth.token)}
        if auth.mode == "basic":
            pair = f"{auth.username}:{auth.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        if auth.mode == "oauth2_client_credentials":
            if self._token is None or self._clock() >= self._expires:
                self._fetch_token()
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    def _fetch_token(self) -> None:
        auth = self.auth
        form = {"grant_type": "client_credentials", "client_id": auth.client_id, "client_secret": auth.client_secret}
        if auth.scope:
            form["scope"] = auth.scope
        assert auth.token_url is not None  # RestAuth.problems() refuses the mode without it
        response = request_with_retries(
            self._session,
            "POST",
            auth.token_url,
            data=form,
            timeout=self._timeout,
            counter=self._counter,
            platform=self._platform,
            credentials_setting="source.rest.client_id and source.rest.client_secret",
        )
        try:
            body = response.json()
            token, lifetime = body["access_token"], float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise UnreachableError(
                f"{self._platform}: the token endpoint answered HTTP {response.status_code} without an "
                "access_token: check source.rest.token_url"
            ) from exc
        self._token = str(token)
        self._expires = self._clock() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)


@dataclass(frozen=True)
class Paging:
    style: str = "next_page"
    records_path: str = "jobs"  # where the list of jobs is in each page ("" when the body is the list)
    page_size: int = 100
    page_param: str = "page"
    page_size_param: str | None = None  # sent with `page` paging when the API takes a page size
    next_page_path: str = "next_page"
    total_pages_header: str | None = None
    total_pages_path: str | None = None
    offset_param: str = "offset"
    limit_param: str = "limit"
    cursor_param: str = "cursor"
    first_cursor: str | None = None  # some APIs want a start value (ServiceM8: -1)
    cursor_header: str = "X-Next-Cursor"
    cursor_path: str = "next_cursor"

    def problems(self) -> list[str]:
        if self.style not in PAGING_STYLES:
            return [f"source.rest.paging.style must be one of {', '.join(PAGING_STYLES)} (got {echo(self.style)})"]
        return ["source.rest.paging.page_size must be at least 1"] if self.page_size < 1 else []

    def first_params(self) -> dict[str, Any]:
        if self.style in ("next_page", "page"):
            first: dict[str, Any] = {self.page_param: 1}
            if self.style == "page" and self.page_size_param:
                first[self.page_size_param] = self.page_size
            return first
        if self.style == "offset":
            return {self.offset_param: 0, self.limit_param: self.page_size}
        return {self.cursor_param: self.first_cursor} if self.first_cursor else {}


def walk_pages(paging: Paging, fetch: Fetch, platform: str, max_pages: int) -> Iterator[list[Mapping[str, Any]]]:
    """Yield each page's job records, following `paging` until the API says there are no more."""
    params: dict[str, Any] | None = paging.first_params()
    pages = 0
    while params is not None:
        pages += 1
        if pages > max_pages:
            raise UnreachableError(f"{platform}: more than {max_pages} pages; is paging looping?")
        body, headers = fetch(params)
        records = lookup(body, paging.records_path)
        if not isinstance(records, list):
            raise UnreachableError(
                f"{platform}: no list of jobs at {echo(paging.records_path or 'the top level')} of the list "
                "response: check source.rest.paging.records_path"
            )
        yield [r for r in records if isinstance(r, Mapping)]
        params = _next_params(paging, params, body, headers, len(records), platform)


def _next_params(
    paging: Paging, params: dict[str, Any], body: Any, headers: Mapping[str, str], count: int, platform: str
) -> dict[str, Any] | None:
    style = paging.style
    if style == "next_page":
        return _next_page(paging, params, lookup(body, paging.next_page_path), platform)
    if style == "page":
        page = int(params[paging.page_param])
        total = _total_pages(paging, body, headers, platform)
        done = page >= total if total is not None else count == 0
        return None if done else params | {paging.page_param: page + 1}
    if style == "offset":
        # A short page is the last: asking again would only return an empty one.
        return None if count < paging.page_size else params | {paging.offset_param: params[paging.offset_param] + count}
    cursor = headers.get(paging.cursor_header) if style == "cursor_header" else lookup(body, paging.cursor_path)
    if cursor is None or str(cursor).strip() == "":
        return None
    if str(cursor) == str(params.get(paging.cursor_param)):
        raise UnreachableError(f"{platform}: the next cursor {echo(cursor)} does not advance past the current one")
    return params | {paging.cursor_param: str(cursor)}


def _next_page(paging: Paging, params: dict[str, Any], value: Any, platform: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value != int(value):
        raise UnreachableError(f"{platform}: {paging.next_page_path} must be a page number or null, got {echo(value)}")
    page = params[paging.page_param]
    if int(value) <= page:
        raise UnreachableError(f"{platform}: {paging.next_page_path} {value} does not advance past {page}")
    return params | {paging.page_param: int(value)}


def _total_pages(paging: Paging, body: Any, headers: Mapping[str, str], platform: str) -> int | None:
    if paging.total_pages_header:
        raw: Any = headers.get(paging.total_pages_header)
        where = f"header {paging.total_pages_header}"
    elif paging.total_pages_path:
        raw, where = lookup(body, paging.total_pages_path), paging.total_pages_path
    else:
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        raise UnreachableError(f"{platform}: total pages ({where}) is {echo(raw)}, not a number") from None


def _is_index(part: str) -> bool:
    """A list index in a dotted path ("0", "-1"); ASCII digits only, so int() cannot refuse it."""
    digits = part.removeprefix("-")
    return digits.isascii() and digits.isdigit()
