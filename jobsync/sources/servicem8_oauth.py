"""ServiceM8 as a public (OAuth) app: the token store, refreshes, and the bearer header on every call.

ServiceM8 lets only public apps subscribe to webhooks, so a business that wants `jobsync serve` to hear
about completed jobs connects jobsync as an OAuth app instead of with an API key. The tokens live in
their own store (JSON, mode 0600, written atomically), apart from Xero's: the two logins lapse and
are renewed on their own. A refresh happens under `<store>.lock` and re-reads the store once it holds
the lock, so two processes that both see an expiring token refresh once. The new set is saved before
its access token is used.

Endpoints from ServiceM8's spec: authorize `https://api.servicem8.com/oauth/authorize`, token
`https://api.servicem8.com/oauth/access_token` (form-encoded grants; client id and secret in the form).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from jobsync.core.errors import UnreachableError
from jobsync.net import http
from jobsync.runtime import file_lock
from jobsync.runtime.private_files import write_private

AUTHORIZE_URL = "https://api.servicem8.com/oauth/authorize"
TOKEN_URL = "https://api.servicem8.com/oauth/access_token"
# Reading jobs and their parts, writing payments, notes and attachments back, and vendor for the timezone.
SCOPES = (
    "vendor read_jobs manage_jobs read_job_materials read_customers read_customer_contacts "
    "read_job_contacts read_job_notes publish_job_notes read_attachments manage_attachments"
)
EARLY = timedelta(seconds=60)  # refresh this long before the access token expires
LOGIN_FIX = "run `jobsync auth servicem8` to connect jobsync to ServiceM8 again"


@dataclass(frozen=True)
class ServiceM8App:
    """The public app's credentials and where its tokens are kept. Secrets stay out of repr."""

    client_id: str
    client_secret: str = field(repr=False)
    store: Path
    token_url: str = TOKEN_URL
    authorize_url: str = AUTHORIZE_URL


def authorize_link(app: ServiceM8App, redirect_uri: str, state: str) -> str:
    """The page the account owner opens to let jobsync in; ServiceM8 sends them back with `?code=`."""
    query = {"response_type": "code", "client_id": app.client_id, "scope": SCOPES, "redirect_uri": redirect_uri}
    return f"{app.authorize_url}?{urlencode({**query, 'state': state})}"


def exchange_code(app: ServiceM8App, code: str, redirect_uri: str, now: datetime | None = None) -> datetime:
    """Trade the code from the redirect for a token set, save it, and return when it expires."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    tokens = _post(
        app, form, "ServiceM8 refused the authorisation code (it is used once and lapses quickly); try again"
    )
    stamped = _stamped(tokens, now or datetime.now(UTC))
    with _lock(app.store):
        _save(app.store, stamped)
    return datetime.fromisoformat(stamped["expires_at"])


def access_token(app: ServiceM8App, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> str:
    """A fresh access token, refreshed (once, across processes) when it is about to expire."""
    stored = _load(app.store)
    if _fresh(stored, clock()):
        return str(stored["access_token"])
    with _lock(app.store):
        stored = _load(app.store)  # another process may have refreshed while we waited
        if _fresh(stored, clock()):
            return str(stored["access_token"])
        refresh = stored.get("refresh_token")
        if not refresh:
            raise UnreachableError(f"the ServiceM8 login has no refresh token; {LOGIN_FIX}")
        form = {"grant_type": "refresh_token", "refresh_token": str(refresh)}
        renewed = {**stored, **_stamped(_post(app, form, f"ServiceM8 refused the refresh token; {LOGIN_FIX}"), clock())}
        _save(app.store, renewed)
        return str(renewed["access_token"])


class Bearer(requests.auth.AuthBase):
    """requests' hook: every call to ServiceM8 carries a current access token."""

    def __init__(self, app: ServiceM8App) -> None:
        self.app = app

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {access_token(self.app)}"
        return request


# -- the token endpoint and the store ----------------------------------------------------------


def _post(app: ServiceM8App, form: Mapping[str, str], refused: str) -> dict[str, Any]:
    body = {**form, "client_id": app.client_id, "client_secret": app.client_secret}
    try:
        resp = http.send("POST", app.token_url, data=body, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise UnreachableError(
            f"cannot reach ServiceM8's token endpoint {app.token_url}: {type(exc).__name__}"
        ) from None
    try:
        answer = resp.json()
    except ValueError:
        answer = {}
    if resp.status_code == 200 and isinstance(answer, dict) and answer.get("access_token"):
        return answer
    if resp.status_code in (400, 401):
        error = answer.get("error") if isinstance(answer, dict) else None
        if error in ("invalid_client", "unauthorized_client"):
            raise UnreachableError(
                "ServiceM8 refused the app's credentials: check source.servicem8_oauth.client_id and client_secret"
            )
        raise UnreachableError(refused)
    raise UnreachableError(f"ServiceM8's token endpoint answered HTTP {resp.status_code}; try again later")


def _stamped(answer: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    kept = {"access_token": str(answer["access_token"])}
    if answer.get("refresh_token"):
        kept["refresh_token"] = str(answer["refresh_token"])
    kept["expires_at"] = (now + timedelta(seconds=float(answer.get("expires_in", 3600)))).isoformat()
    return kept


def _fresh(stored: Mapping[str, Any], now: datetime) -> bool:
    expires = datetime.fromisoformat(str(stored["expires_at"]))
    return now < expires - EARLY


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnreachableError(f"jobsync is not connected to ServiceM8 yet (no {path}); {LOGIN_FIX}") from None
    except (ValueError, UnicodeDecodeError):
        raise UnreachableError(f"the ServiceM8 token store {path} cannot be read; {LOGIN_FIX}") from None
    if not isinstance(data, dict) or not data.get("access_token") or not data.get("expires_at"):
        raise UnreachableError(f"the ServiceM8 token store {path} is incomplete; {LOGIN_FIX}")
    return data


def _save(path: Path, tokens: Mapping[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, json.dumps(dict(tokens), indent=2) + "\n")


def _lock(path: Path, wait: float = 60.0) -> AbstractContextManager[None]:
    lock_path = path.with_name(path.name + ".lock")
    return file_lock.held(lock_path, wait, f"another jobsync process has held {lock_path} for {wait:.0f} s")
