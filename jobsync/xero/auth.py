"""Bearer tokens for the Xero client, by `xero.auth.mode`.

- `static_token`: a fixed token from the config (the sandbox accepts `sandbox`).
- `client_credentials`: a Xero custom connection; tokens fetched from
  `{identity_url}/connect/token` and reused until shortly before they expire.
- `oauth`: tokens from the token store written by `jobsync auth login`, refreshed
  under the token lock (see `token_store.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from jobsync.core.errors import ConfigError, UnreachableError
from jobsync.net import http

# Refresh a little before Xero's 30 minutes run out, so a long batch never starts stale.
_EARLY = 60.0


@dataclass
class _Cached:
    token: str = ""
    expires_at: float = 0.0


def static_token_provider(token: str | None) -> Callable[[], str]:
    if not token:
        raise ConfigError(
            "xero.auth.mode is static_token but no token is set",
            ["set xero.auth.token (e.g. ${XERO_ACCESS_TOKEN}; the sandbox accepts `sandbox`)"],
        )
    return lambda: token


def client_credentials_provider(
    identity_url: str,
    client_id: str | None,
    client_secret: str | None,
    clock: Callable[[], float] = time.time,
    timeout: float = 30.0,
) -> Callable[[], str]:
    if not client_id or not client_secret:
        raise ConfigError(
            "xero.auth.mode is client_credentials but the client id or secret is missing",
            ["set xero.auth.client_id and xero.auth.client_secret from environment variables"],
        )
    cached = _Cached()
    url = identity_url.rstrip("/") + "/connect/token"

    def provide() -> str:
        if cached.token and clock() < cached.expires_at - _EARLY:
            return cached.token
        try:
            resp = http.send(
                "POST", url, data={"grant_type": "client_credentials"}, auth=(client_id, client_secret), timeout=timeout
            )
        except requests.RequestException as exc:
            raise UnreachableError(f"cannot reach Xero's token endpoint {url}: {exc.__class__.__name__}") from exc
        if resp.status_code != 200:
            raise UnreachableError(
                f"Xero refused the custom connection credentials (HTTP {resp.status_code}): "
                "check xero.auth.client_id / client_secret"
            )
        body = resp.json()
        cached.token = body["access_token"]
        cached.expires_at = clock() + float(body.get("expires_in", 1800))
        return cached.token

    return provide
