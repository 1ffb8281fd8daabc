"""Xero's consent page (`/identity/connect/authorize`) and its authorization codes, as the sandbox runs them.

Like login.xero.com: the client_id must be registered; the redirect_uri must equal one registered
for that client exactly (no wildcards, no prefix match), and a mismatch is shown as an error page,
never redirected to, since an unregistered address may belong to anyone; `state` is required.
Consent is given automatically (tests have no person to click), for every organisation the
sandbox knows, unless `AuthRegistry.consent` is set to refuse it.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit


class AuthRegistry(Protocol):
    """What the consent page and the code exchange need of `xero_auth.AuthRegistry`, which imports
    this module; named here so the two do not import each other."""

    clients: dict[str, Any]
    codes: dict[str, dict[str, Any]]
    orgs: Any
    consent: Any


CODE_SECONDS = 300  # Xero's authorization codes last 5 minutes
KNOWN_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.payments",
        "accounting.payments.read",
        "accounting.banktransactions",
        "accounting.banktransactions.read",
        "accounting.manualjournals",
        "accounting.manualjournals.read",
        "accounting.contacts",
        "accounting.contacts.read",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.attachments",
        "accounting.attachments.read",
        "accounting.reports.read",
        "accounting.journals.read",
    }
)


@dataclass(frozen=True)
class Page:
    """What the authorize endpoint answers: a redirect (302 + Location) or an HTML error page."""

    status: int
    location: str | None = None
    html: str = ""


def authorize(registry: AuthRegistry, query: str, stamp: float) -> Page:
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    client = registry.clients.get(params.get("client_id", ""))
    if client is None:
        return _error_page("unauthorized_client", "Unknown client or client not enabled")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client["redirect_uris"]:
        return _error_page("invalid_request", "Invalid redirect_uri: it must match a registered URI exactly")
    state = params.get("state", "")
    if not state:
        return _error_page("invalid_request", "state is required")
    if params.get("response_type") != "code":
        return _back(redirect_uri, {"error": "unsupported_response_type", "state": state})
    scopes = params.get("scope", "").split()
    if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
        return _back(redirect_uri, {"error": "invalid_scope", "state": state})
    if not registry.consent:
        return _back(redirect_uri, {"error": "access_denied", "state": state})
    code = secrets.token_urlsafe(24)
    registry.codes[code] = {
        "client_id": params["client_id"],
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "expires": stamp + CODE_SECONDS,
        "tenants": list(registry.orgs),
    }
    return _back(redirect_uri, {"code": code, "scope": " ".join(scopes), "state": state})


def redeem(registry: AuthRegistry, client_id: str, form: dict[str, str], stamp: float) -> dict[str, Any] | None:
    """The authorization a code stands for, used up; None when Xero would answer invalid_grant."""
    found = registry.codes.pop(form.get("code", ""), None)  # single use, whatever the outcome
    if found is None or found["client_id"] != client_id or found["expires"] <= stamp:
        return None
    if form.get("redirect_uri", "") != found["redirect_uri"]:
        return None
    return found


def _back(redirect_uri: str, params: dict[str, str]) -> Page:
    parts = urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return Page(302, urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")))


def _error_page(error: str, description: str) -> Page:
    text = (
        f"<!doctype html><title>Xero | Error</title><h1>Sorry, something went wrong</h1>"
        f"<p>Error: {html.escape(error)}</p><p>{html.escape(description)}</p>"
    )
    return Page(400, None, text)
