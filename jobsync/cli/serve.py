"""`jobsync serve`: parse, then hand over to the service (`web.service.serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

from jobsync.cli.support import ConfigOpt, guarded
from jobsync.config.settings import load_settings


@guarded
def serve_cmd(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default serve.host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default serve.port, 8750).")] = None,
) -> None:
    """Take webhooks (ServiceM8, signed, Xero), invoice completed jobs within seconds, and keep polling."""
    # The web stack (uvicorn, Starlette, Jinja2) loads only here: every other command starts faster.
    from jobsync.web.service import serve

    raise typer.Exit(serve(load_settings(config), host, port))
