"""`jobsync auth login`: connect jobsync to a Xero organisation and store the tokens.

The authorization-code flow for the user's own Xero app: open Xero's consent page with a random
`state`, catch the redirect on a one-shot server at the fixed `http://localhost:PORT/callback`
(Xero allows no wildcard redirect URIs, so the port is fixed and the user registers that exact
address), check `state`, exchange the code at `{identity_url}/connect/token`, list the
organisations from `/connections`, choose one, and save everything in the token store.
Without a browser (a headless server) the consent URL is printed and the address the browser
was sent to is pasted back. `--custom-connection` uses the client-credentials grant instead.
"""

from __future__ import annotations

import secrets
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from jobsync.core.errors import ConfigError, UnreachableError
from jobsync.net import http
from jobsync.xero.token_store import (
    LOCK_WAIT_SECONDS,
    TokenSet,
    XeroLogin,
    app_credentials,
    post_token,
    save_to,
    token_set,
    utc_now,
)

GRANULAR_SCOPES = ("offline_access", "accounting.invoices", "accounting.contacts", "accounting.settings.read")
# Apps created before March 2026 may still use the broad scope (until Xero retires it in 2027).
BROAD_SCOPES = ("offline_access", "accounting.transactions", "accounting.contacts", "accounting.settings.read")
DEFAULT_PORT = 8749
CALLBACK_PATH = "/callback"
XERO_IDENTITY_URL = "https://identity.xero.com"
XERO_AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
_DONE_PAGE = (
    b"<!doctype html><title>jobsync</title><p>Xero sent jobsync its answer. "
    b"You can close this window and return to the terminal.</p>"
)


@dataclass(frozen=True)
class LoginOptions:
    port: int = DEFAULT_PORT
    browser: bool = True
    broad_scopes: bool = False
    custom_connection: bool = False
    tenant: str | None = None
    wait_seconds: float = 300.0  # Xero's codes last 5 minutes; waiting longer cannot succeed


@dataclass
class LoginIO:
    """The terminal and browser, injected so tests play the user."""

    say: Callable[[str], None]
    read_line: Callable[[str], str]
    open_browser: Callable[[str], bool] = webbrowser.open
    # Given the organisations, the index of the chosen one; None: refuse to guess among several.
    choose: Callable[[list[dict[str, Any]]], int] | None = None
    opened: list[str] = field(default_factory=list)


def redirect_uri(port: int) -> str:
    return f"http://localhost:{port}{CALLBACK_PATH}"


def authorize_endpoint(identity_url: str) -> str:
    """Xero's consent page is on login.xero.com; a stand-in serves it on its own host."""
    base = identity_url.rstrip("/")
    return XERO_AUTHORIZE_URL if base == XERO_IDENTITY_URL else base + "/identity/connect/authorize"


def authorize_url(identity_url: str, client_id: str, redirect: str, scopes: tuple[str, ...], state: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "scope": " ".join(scopes),
            "state": state,
        }
    )
    return f"{authorize_endpoint(identity_url)}?{query}"


def code_from_redirect(url: str, state: str) -> str:
    """The authorization code from the address Xero redirected to, once `state` proves it is ours."""
    params = {k: v[-1] for k, v in parse_qs(urlsplit(url.strip()).query).items()}
    if params.get("state") != state:
        raise UnreachableError(
            "the redirect's state does not match this login (an old or forged redirect); run `jobsync auth login` again"
        )
    if params.get("error"):
        reason = "the consent was refused" if params["error"] == "access_denied" else params["error"]
        raise UnreachableError(f"Xero did not authorise jobsync: {reason}; run `jobsync auth login` again")
    if not params.get("code"):
        raise UnreachableError("the redirect carries no authorization code; paste the whole address")
    return params["code"]


class CallbackServer:
    """A one-shot HTTP server on 127.0.0.1:PORT that catches the redirect to /callback."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url: str | None = None
        self.caught = threading.Event()
        try:
            self._server = HTTPServer(("127.0.0.1", port), _Catcher)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on localhost port {port} for Xero's redirect ({exc.strerror})",
                ["pass --port (or set xero.auth.redirect_port) and register that redirect URI in your Xero app"],
            ) from None
        self._server.catcher = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="jobsync-oauth-callback",
            daemon=True,
        )

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, seconds: float) -> str | None:
        return self.url if self.caught.wait(seconds) else None


class _Catcher(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        catcher: CallbackServer = self.server.catcher  # type: ignore[attr-defined]
        if self.path.partition("?")[0] != CALLBACK_PATH or catcher.caught.is_set():
            self.send_error(404)
            return
        catcher.url = redirect_uri(catcher.port) + self.path[len(CALLBACK_PATH) :]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_DONE_PAGE)))
        self.end_headers()
        self.wfile.write(_DONE_PAGE)
        catcher.caught.set()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return  # the request line carries the authorization code: keep it off stderr


def _redirected_to(consent: str, options: LoginOptions, io: LoginIO) -> str:
    """Where the browser was sent after consent: caught on localhost, or pasted by the user."""
    if options.browser:
        with CallbackServer(options.port) as server:
            io.say(f"Opening Xero in your browser. If nothing opens, visit:\n{consent}")
            if io.open_browser(consent):
                io.opened.append(consent)
                url = server.wait(options.wait_seconds)
                if url is None:
                    raise UnreachableError(
                        f"no answer from Xero within {options.wait_seconds:.0f} s; run `jobsync auth login` again"
                    )
                return url
    io.say(f"Open this address in a browser, sign in to Xero and allow access:\n{consent}")
    io.say("Your browser then goes to a localhost address that may not load; copy that whole address.")
    return io.read_line("Paste the address here")


def connections(api_url: str, access_token: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """`GET /connections` on the API host: the organisations this login may use."""
    parts = urlsplit(api_url)
    url = f"{parts.scheme}://{parts.netloc}/connections"
    try:
        resp = http.send(
            "GET",
            url,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise UnreachableError(f"cannot reach {url}: {exc.__class__.__name__}") from None
    if resp.status_code != 200:
        raise UnreachableError(f"Xero refused to list the connected organisations (HTTP {resp.status_code})")
    rows = resp.json()
    if not isinstance(rows, list):
        raise UnreachableError(f"unexpected answer from {url}")
    return [r for r in rows if isinstance(r, dict) and r.get("tenantId")]


def choose_tenant(
    rows: list[dict[str, Any]], wanted: str | None, choose: Callable[[list[dict[str, Any]]], int] | None
) -> dict[str, Any]:
    orgs = [r for r in rows if r.get("tenantType", "ORGANISATION") == "ORGANISATION"] or rows
    listing = [f"{r['tenantId']}  {r.get('tenantName') or ''}" for r in orgs]
    if not orgs:
        raise UnreachableError("Xero connected no organisation; run `jobsync auth login` and tick one")
    if wanted:
        for row in orgs:
            if str(row["tenantId"]).lower() == wanted.strip().lower():
                return row
        raise ConfigError(f"organisation {wanted} is not connected to this login", listing)
    if len(orgs) == 1:
        return orgs[0]
    if choose is None:
        raise ConfigError("several organisations are connected: pick one with --tenant ID", listing)
    index = choose(orgs)
    if not 0 <= index < len(orgs):
        raise ConfigError("no organisation chosen", listing)
    return orgs[index]


def login(app: XeroLogin, options: LoginOptions, io: LoginIO, clock: Callable[[], datetime] = utc_now) -> TokenSet:
    """Run the flow, store the chosen tenant and tokens (0600, under the token lock), return them."""
    client_id, secret = app_credentials(app)
    identity = app.identity_url
    if options.custom_connection:
        body = post_token(
            identity,
            client_id,
            secret,
            {"grant_type": "client_credentials"},
            invalid_grant="Xero refused the custom connection (invalid_grant)",
        )
        mode = "client_credentials"
    else:
        scopes = BROAD_SCOPES if options.broad_scopes else GRANULAR_SCOPES
        state = secrets.token_urlsafe(24)
        redirect = redirect_uri(options.port)
        landed = _redirected_to(authorize_url(identity, client_id, redirect, scopes, state), options, io)
        code = code_from_redirect(landed, state)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
        body = post_token(
            identity,
            client_id,
            secret,
            form,
            invalid_grant=(
                "Xero refused the authorization code (expired, already used, or for another redirect URI); "
                "run `jobsync auth login` again"
            ),
        )
        mode = "oauth"
    now = clock()
    blank = TokenSet(mode=mode, client_id=client_id, access_token="", expires_at=now)
    tokens = token_set(body, blank, now)
    org = choose_tenant(connections(app.api_url, tokens.access_token), options.tenant, io.choose)
    tokens = replace(tokens, tenant_id=str(org["tenantId"]), tenant_name=org.get("tenantName"))
    vault = app.tokens
    with vault.lock(LOCK_WAIT_SECONDS):
        save_to(vault, tokens)
    return tokens
