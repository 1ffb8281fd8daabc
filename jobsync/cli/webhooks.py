"""`jobsync webhooks subscribe servicem8` and `jobsync auth servicem8`: parse, call, say what happened."""

from __future__ import annotations

from typing import Annotated

import typer

from jobsync.app import servicem8_commands
from jobsync.cli.support import ConfigOpt, guarded, say
from jobsync.config.settings import load_settings

webhooks_app = typer.Typer(help="Point a job system's webhooks at `jobsync serve`.", no_args_is_help=True)
RedirectOpt = Annotated[str, typer.Option("--redirect-uri", help="The redirect URI registered for your ServiceM8 app.")]


@webhooks_app.command("subscribe")
@guarded
def subscribe(
    platform: Annotated[str, typer.Argument(help="The job system: servicem8.")],
    url: Annotated[str, typer.Option("--url", help="The public HTTPS address of `jobsync serve`.")],
    config: ConfigOpt = None,
) -> None:
    """Subscribe the service's receiver to the platform's job webhooks (the service must be answering)."""
    if platform != "servicem8":
        say(f"jobsync: {platform} webhooks are set up in the platform itself; use /webhooks/signed/NAME")
        raise typer.Exit(2)
    done = servicem8_commands.subscribe(load_settings(config), url)
    for item in done.subscribed:
        say(f"✓ ServiceM8 {item.kind} {item.name} → {done.receiver}")


@guarded
def servicem8_auth(
    redirect_uri: RedirectOpt,
    code: Annotated[str | None, typer.Option("--code", help="The code from the redirect after consent.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Connect jobsync to ServiceM8 as an OAuth app: print the consent address, then trade its --code."""
    settings = load_settings(config)
    if code is None:
        say("Open this address as the ServiceM8 account owner and allow jobsync:")
        say(servicem8_commands.consent_link(settings, redirect_uri))
        say("then run this command again with --code CODE from the address ServiceM8 sends you back to.")
        return
    expires = servicem8_commands.connect(settings, code, redirect_uri)
    say(f"✓ connected to ServiceM8; the access token renews itself (this one lasts until {expires:%H:%M %Z})")
