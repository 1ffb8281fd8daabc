"""`jobsync auth login` and `auth status`: connect to a Xero organisation, and read the stored login.

The CLI asks the person (ports, prompts, the browser) through `LoginIO`; this module turns the config
into the token store's `XeroLogin` and runs the flow, so the CLI never touches the store itself.
"""

from __future__ import annotations

from jobsync.app.wiring import xero_login
from jobsync.config.settings import Settings
from jobsync.core.errors import UnreachableError
from jobsync.xero import oauth_login
from jobsync.xero.oauth_login import DEFAULT_PORT, LoginIO, LoginOptions
from jobsync.xero.token_store import TokenSet, TokenStatus, token_status, utc_now

__all__ = ["DEFAULT_PORT", "LoginIO", "LoginOptions", "TokenStatus", "login", "stored_login"]


def login(settings: Settings, options: LoginOptions, io: LoginIO) -> tuple[TokenSet, str]:
    """Run the login flow and store the tokens; returns them and where they were stored."""
    app = xero_login(settings)
    return oauth_login.login(app, options, io), app.tokens.where


def stored_login(settings: Settings) -> TokenStatus:
    """The stored login as `auth status` shows it; reads the store and calls nothing."""
    app = xero_login(settings)
    view = token_status(app, utc_now())
    if view is None:
        raise UnreachableError(f"no Xero login is stored at {app.tokens.where}; run `jobsync auth login`")
    return view
