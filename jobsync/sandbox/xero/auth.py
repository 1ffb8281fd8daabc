"""Bearer tokens and the identity token endpoint, with lifetimes read from the sandbox clock.

Grants: client_credentials (custom connections), authorization_code (after the consent page in
`xero_oauth.py`) and refresh_token. Each refresh rotates the refresh token; the used one keeps
working for 30 minutes after its first use (Xero's grace for a lost response), and a refresh token
never used lapses 60 days after it was issued. Refusals are `{"error": "invalid_grant"}`, 400.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobsync.sandbox.xero import oauth as xero_oauth

FIXED_TOKEN = "sandbox"
ACCESS_SECONDS = 1800
REFRESH_GRACE_SECONDS = 1800  # a rotated refresh token stays usable this long after its first use
REFRESH_LIFETIME_SECONDS = 60 * 24 * 3600
# An app `jobsync sandbox serve` registers, so `jobsync auth login` can be rehearsed locally.
DEMO_CLIENT_ID = "sandbox-app"
DEMO_CLIENT_SECRET = "sandbox-secret"  # not a secret: the sandbox is loopback-only test data
DEMO_REDIRECT_URI = "http://localhost:8749/callback"
DEFAULT_SCOPE = "accounting.transactions accounting.contacts accounting.settings offline_access"


def problem(status: int, title: str, detail: str = "AuthenticationUnsuccessful") -> dict[str, Any]:
    """Xero's identity layer answers auth failures in RFC 7807 shape."""
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


@dataclass
class AuthRegistry:
    """Registered apps and issued tokens. Times are epoch seconds on the sandbox clock."""

    tenant_id: str
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Organisations a user can connect on the consent page: tenant id -> name ("" = the sandbox's own).
    orgs: dict[str, str] = field(default_factory=dict)
    consent: bool = True  # False: the consent page answers access_denied, as when a user clicks Cancel

    def __post_init__(self) -> None:
        self.orgs.setdefault(self.tenant_id, "")

    def add_org(self, tenant_id: str, name: str) -> None:
        """Another organisation the consent page grants; `XeroSandbox.add_org` gives it its data."""
        self.orgs[tenant_id.lower()] = name

    def add_client(self, client_id: str, secret: str, redirect_uris: tuple[str, ...] = ()) -> None:
        self.clients[client_id] = {"secret": secret, "redirect_uris": list(redirect_uris)}

    def check(self, headers: dict[str, str], now: datetime, needs_tenant: bool) -> tuple[int, dict[str, Any]] | None:
        """None when the request may proceed, else (status, body) for 401/403."""
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 401, problem(401, "Unauthorized")
        grant = self.grant(token.strip(), now)
        if grant is None:
            return 401, problem(401, "Unauthorized")
        if needs_tenant:
            tenant = headers.get("xero-tenant-id", "").strip().lower()
            if tenant not in grant["tenants"]:
                return 403, problem(403, "Forbidden")
        return None

    def grant(self, token: str, now: datetime) -> dict[str, Any] | None:
        if token == FIXED_TOKEN:  # the app's standing token: connected to every organisation
            return {"tenants": list(self.orgs), "expires": None}
        found = self.access.get(token)
        if found is None or found["expires"] <= now.timestamp():
            return None
        return found

    def token_endpoint(self, form: dict[str, str], basic: str | None, now: datetime) -> tuple[int, dict[str, Any]]:
        client_id, secret = _client_credentials(form, basic)
        client = self.clients.get(client_id or "")
        if client is None or client["secret"] != secret:
            return 400, {"error": "invalid_client"}
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            return 200, self._issue(client_id or "", form.get("scope") or DEFAULT_SCOPE, now, refresh=False)
        if grant_type == "authorization_code":
            found = xero_oauth.redeem(self, client_id or "", form, now.timestamp())
            if found is None:
                return 400, {"error": "invalid_grant"}
            return 200, self._issue(client_id or "", found["scope"], now, refresh=False, tenants=found["tenants"])
        if grant_type == "refresh_token":
            return self._refresh(client_id or "", form.get("refresh_token", ""), now)
        return 400, {"error": "unsupported_grant_type"}

    def _refresh(self, client_id: str, token: str, now: datetime) -> tuple[int, dict[str, Any]]:
        found = self.refresh.get(token)
        stamp = now.timestamp()
        if found is None or found["client_id"] != client_id or found["expires"] <= stamp:
            return 400, {"error": "invalid_grant"}
        used = found.get("used_at")
        if used is not None and stamp - used > REFRESH_GRACE_SECONDS:
            return 400, {"error": "invalid_grant"}
        found.setdefault("used_at", stamp)
        tenants = found.get("tenants") or [self.tenant_id]
        return 200, self._issue(client_id, found["scope"], now, refresh=True, tenants=tenants)

    def _issue(
        self, client_id: str, scope: str, now: datetime, refresh: bool, tenants: list[str] | None = None
    ) -> dict[str, Any]:
        stamp = now.timestamp()
        access = secrets.token_urlsafe(24)
        tenants = list(tenants or [self.tenant_id])
        self.access[access] = {"tenants": tenants, "expires": stamp + ACCESS_SECONDS, "client_id": client_id}
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_SECONDS,
            "token_type": "Bearer",
            "scope": scope,
        }
        if refresh or "offline_access" in scope.split():
            token = secrets.token_urlsafe(24)
            self.refresh[token] = {
                "client_id": client_id,
                "scope": scope,
                "tenants": tenants,
                "expires": stamp + REFRESH_LIFETIME_SECONDS,
            }
            body["refresh_token"] = token
        return body

    def to_json(self) -> dict[str, Any]:
        return {"clients": self.clients, "access": self.access, "refresh": self.refresh, "orgs": self.orgs}

    def load(self, data: dict[str, Any]) -> None:
        self.clients.update(data.get("clients", {}))
        self.access.update(data.get("access", {}))
        self.refresh.update(data.get("refresh", {}))
        self.orgs.update(data.get("orgs", {}))


def _client_credentials(form: dict[str, str], basic: str | None) -> tuple[str | None, str | None]:
    """HTTP Basic wins over form fields, as OAuth servers usually treat them."""
    if basic and basic.lower().startswith("basic "):
        try:
            raw = base64.b64decode(basic[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None, None
        client_id, _, secret = raw.partition(":")
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")
