"""Settings → how jobsync reaches ServiceM8: its API base, and a session that signs in with the API key
or, for a public (OAuth) app, with a bearer token kept fresh from the ServiceM8 token store."""

from __future__ import annotations

from pathlib import Path

import requests

from jobsync.config.settings import Settings
from jobsync.core.errors import ConfigError
from jobsync.net.http import make_session
from jobsync.sources.servicem8 import DEFAULT_BASE_URL
from jobsync.sources.servicem8_oauth import Bearer, ServiceM8App


def servicem8_base(settings: Settings) -> str:
    return str(settings.source.base_url or DEFAULT_BASE_URL).rstrip("/")


def servicem8_app(settings: Settings) -> ServiceM8App | None:
    """The OAuth app, when the config connects as one; its tokens sit beside the state file by default."""
    oauth = settings.source.servicem8_oauth
    if oauth is None:
        return None
    state = Path(settings.state.path)
    store = oauth.token_store or state.with_name(state.stem + ".servicem8-tokens.json")
    return ServiceM8App(oauth.client_id, oauth.client_secret, store, str(oauth.token_url), str(oauth.authorize_url))


def servicem8_session(settings: Settings) -> requests.Session:
    """A session that carries the API key, or a fresh bearer token on every request."""
    session = make_session()
    app = servicem8_app(settings)
    if app is not None:
        session.auth = Bearer(app)
    elif settings.source.api_key:
        session.headers["X-API-Key"] = settings.source.api_key
    else:
        raise ConfigError(
            "source.type is servicem8 but neither an API key nor an OAuth app is set",
            ["set source.api_key, or source.servicem8_oauth (client_id, client_secret) for webhooks"],
        )
    return session


def require_oauth(settings: Settings) -> ServiceM8App:
    app = servicem8_app(settings) if settings.source.type == "servicem8" else None
    if app is None:
        raise ConfigError(
            "ServiceM8 webhooks need jobsync connected as a ServiceM8 OAuth app (ServiceM8 lets only public apps "
            "subscribe); with an API key, polling stays the path",
            ["set source.servicem8_oauth.client_id and client_secret, then run `jobsync auth servicem8`"],
        )
    return app
