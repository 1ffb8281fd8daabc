"""Shared pieces of the command modules: consoles, common options, and the error guard."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from jobsync.errors import ExitCode, JobsyncError

out = Console()
err = Console(stderr=True, soft_wrap=True)  # one error, one line: cron logs are grepped

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default $JOBSYNC_CONFIG, ./jobsync.yaml).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Read jobs changed after this date/time (YYYY-MM-DD or ISO).")
]

F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """The one place errors become a message and an exit code (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JobsyncError as exc:
            err.print(f"[red]jobsync: {exc.message}[/red]", highlight=False)
            for problem in exc.problems:
                err.print(f"  - {problem}", highlight=False, markup=False)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            err.print("jobsync: interrupted; nothing unconfirmed was recorded, the next run continues")
            raise typer.Exit(int(ExitCode.STOPPED)) from None

    return wrapper  # type: ignore[return-value]


