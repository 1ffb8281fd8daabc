"""`jobsync serve`: parse, then hand over to the service (`web.service.serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

from jobsync.app import practice
from jobsync.cli.support import ConfigOpt, guarded
from jobsync.config.settings import load_settings


@guarded
def serve_cmd(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default serve.host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default serve.port, 8750).")] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="A practice's org: queue its runs for the workers, not run them here.")
    ] = None,
    practice_db: Annotated[
        str | None, typer.Option("--practice", help=f"The practice database (default ${practice.PRACTICE_ENV}).")
    ] = None,
) -> None:
    """Take webhooks (ServiceM8, signed, Xero), invoice completed jobs within seconds, and keep polling."""
    # The web stack (uvicorn, Starlette, Jinja2) loads only here: every other command starts faster.
    from jobsync.web.service import PracticeOrg, serve

    settings = load_settings(config)
    member = None
    if org is not None:
        url = practice.practice_url(practice_db)
        practice.config_of(url, org)  # an org the practice does not list is refused here, with its name
        member = PracticeOrg(url, org)
    raise typer.Exit(serve(settings, host, port, member))
