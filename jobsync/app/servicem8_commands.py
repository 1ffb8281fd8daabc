"""`jobsync auth servicem8` and `jobsync webhooks subscribe servicem8`: connect jobsync to ServiceM8 as a
public (OAuth) app, then point ServiceM8's job webhooks at `jobsync serve`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from jobsync.app.servicem8_wiring import require_oauth, servicem8_base, servicem8_session
from jobsync.config.settings import Settings
from jobsync.core.errors import ConfigError
from jobsync.sources import servicem8_oauth, servicem8_webhooks
from jobsync.sources.servicem8_webhooks import Subscribed


def consent_link(settings: Settings, redirect_uri: str) -> str:
    """Where the ServiceM8 account owner lets jobsync in; the redirect brings back `?code=`."""
    return servicem8_oauth.authorize_link(require_oauth(settings), redirect_uri, secrets.token_urlsafe(16))


def connect(settings: Settings, code: str, redirect_uri: str) -> datetime:
    """Trade the code for tokens (kept in the 0600 store); returns when the access token expires."""
    return servicem8_oauth.exchange_code(require_oauth(settings), code, redirect_uri)


@dataclass(frozen=True)
class Subscription:
    receiver: str  # the URL with its secret path part masked, safe to show
    subscribed: list[Subscribed]


def subscribe(settings: Settings, public_url: str) -> Subscription:
    """Subscribe `<public_url>/webhooks/servicem8/<secret>` to job changes and job.completed."""
    require_oauth(settings)
    secret = settings.serve.servicem8_secret
    if not secret:
        raise ConfigError(
            "serve.servicem8_secret is not set, so /webhooks/servicem8/... answers 404",
            ["set serve.servicem8_secret to ${JOBSYNC_SM8_WEBHOOK_SECRET} (32+ random characters)"],
        )
    if not public_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(
            f"{public_url} is not an HTTPS address", ["give the address your reverse proxy serves, https://..."]
        )
    base = public_url.rstrip("/") + "/webhooks/servicem8/"
    done = servicem8_webhooks.subscribe(servicem8_session(settings), servicem8_base(settings), base + secret)
    return Subscription(base + "<serve.servicem8_secret>", done)
