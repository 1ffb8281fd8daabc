"""`jobsync auth login|status`: connect to a Xero organisation, and show the stored login."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from jobsync.app import xero_login as oauth_login
from jobsync.app.xero_login import TokenStatus, stored_login
from jobsync.cli.support import ConfigOpt, JsonOpt, err, guarded, say
from jobsync.config.settings import Settings, load_settings

auth_app = typer.Typer(help="Connect jobsync to Xero and check the stored login.", no_args_is_help=True)

PortOpt = Annotated[
    int | None,
    typer.Option(
        "--port",
        help=f"Local port for Xero's redirect (default xero.auth.redirect_port or {oauth_login.DEFAULT_PORT}); "
        "register http://localhost:PORT/callback in your Xero app.",
    ),
]
NoBrowserOpt = Annotated[
    bool,
    typer.Option(
        "--no-browser", help="Print the consent address and read the redirected address back (headless servers)."
    ),
]
BroadOpt = Annotated[
    bool,
    typer.Option(
        "--broad-scopes",
        help="Ask for accounting.transactions instead of accounting.invoices (apps made before March 2026).",
    ),
]
CustomOpt = Annotated[
    bool,
    typer.Option(
        "--custom-connection", help="Use a Xero custom connection (client credentials) instead of the browser flow."
    ),
]
TenantOpt = Annotated[str | None, typer.Option("--tenant", help="The organisation's tenant id, when several connect.")]


def _configured_port(settings: Settings) -> int:
    # xero.auth.redirect_port is read when the config defines it; older configs fall back to the default.
    port = getattr(settings.xero.auth, "redirect_port", None)
    return int(port) if port else oauth_login.DEFAULT_PORT


def _choose(orgs: list[dict[str, Any]]) -> int:
    for number, org in enumerate(orgs, start=1):
        say(f"  {number}. {org.get('tenantName') or '?'}  ({org['tenantId']})")
    picked: int = typer.prompt("Which organisation should jobsync invoice into? Number", type=int)
    return picked - 1


@auth_app.command("login")
@guarded
def login(
    config: ConfigOpt = None,
    port: PortOpt = None,
    no_browser: NoBrowserOpt = False,
    broad_scopes: BroadOpt = False,
    custom_connection: CustomOpt = False,
    tenant: TenantOpt = None,
) -> None:
    """Connect to Xero (client id and secret from the config's ${ENV} values) and store the tokens."""
    settings = load_settings(config)
    options = oauth_login.LoginOptions(
        port=port or _configured_port(settings),
        browser=not no_browser,
        broad_scopes=broad_scopes,
        custom_connection=custom_connection,
        tenant=tenant,
    )
    io = oauth_login.LoginIO(
        say=say,
        read_line=lambda prompt: str(typer.prompt(prompt)),
        choose=_choose,
    )
    tokens, stored_at = oauth_login.login(settings, options, io)
    say(f"Connected to {tokens.tenant_name or 'the organisation'} (tenant {tokens.tenant_id}).")
    say(f"Tokens saved to {stored_at} (mode 0600).")
    if settings.xero.auth.mode != tokens.mode:
        err.print(
            f"Set xero.auth.mode: {tokens.mode} in the config so runs use this login.",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _ago(seconds: float) -> str:
    minutes = abs(seconds) / 60
    span = f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.0f} min"
    return f"in {span}" if seconds >= 0 else f"{span} ago"


def _stamp(when: datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def status_lines(view: TokenStatus) -> list[str]:
    lines = [
        f"Token store:   {view.where}",
        f"Mode:          {view.mode}",
        f"Organisation:  {view.tenant_name or '?'} (tenant {view.tenant_id or 'not chosen'})",
        f"Scopes:        {' '.join(view.scopes) or '(none recorded)'}",
    ]
    state = "valid" if view.access_seconds_left > 0 else "expired; renewed automatically on the next call"
    lines.append(f"Access token:  {state}, expires {_stamp(view.access_expires_at)} ({_ago(view.access_seconds_left)})")
    if view.refresh_lapses_at is not None and view.refresh_days_left is not None:
        days = view.refresh_days_left
        note = "LAPSED: run `jobsync auth login`" if days <= 0 else f"{days:.0f} days left; every run renews it"
        lines.append(f"Refresh token: lapses {_stamp(view.refresh_lapses_at)} if unused ({note})")
    elif view.mode == "oauth":
        lines.append("Refresh token: none stored (offline_access missing): run `jobsync auth login`")
    return lines


@auth_app.command("status")
@guarded
def status(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Show the stored login: organisation, scopes, access-token expiry, days until the refresh token lapses."""
    settings = load_settings(config)
    view = stored_login(settings)
    if as_json:
        doc = {
            "path": view.where,
            "mode": view.mode,
            "tenant_id": view.tenant_id,
            "tenant_name": view.tenant_name,
            "scopes": list(view.scopes),
            "access_expires_at": view.access_expires_at.isoformat(),
            "refresh_lapses_at": view.refresh_lapses_at.isoformat() if view.refresh_lapses_at else None,
            "refresh_days_left": view.refresh_days_left,
        }
        print(json.dumps(doc))
        return
    for line in status_lines(view):
        say(line)
