"""Shared pieces of the command modules: consoles, common options, and the error guard."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from typer.exceptions import TyperException

from jobsync.core.errors import ExitCode, JobsyncError
from jobsync.runtime.internal_error import one_line, record_internal_error

out = Console()
err = Console(stderr=True, soft_wrap=True)  # one error, one line: cron logs are grepped

ConfigOpt = Annotated[
    Path | None,
    # readable=False: jobsync reads the file itself and says in one line what is wrong with it.
    typer.Option("--config", "-c", readable=False, help="Config file (default $JOBSYNC_CONFIG, ./jobsync.yaml)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Read jobs changed after this date/time (YYYY-MM-DD or ISO).")
]

# A bookkeeper's control waits this long for a running sync to finish before giving up (exit 4).
DEFAULT_WAIT = 30.0
WaitOpt = Annotated[
    float,
    typer.Option("--wait", min=0, help="Seconds to wait for a running sync to release the lock (then exit 4)."),
]

F = TypeVar("F", bound=Callable[..., Any])


def json_error(code: int, message: str, fix: list[str]) -> str:
    """What a `--json` command prints on stdout when it fails, besides its exit code and its stderr line:
    {"error": {"code", "kind", "message", "fix"}}, so a script never parses an empty stdout."""
    kind = ExitCode(code).name.lower() if code in ExitCode._value2member_map_ else "error"
    return json.dumps({"error": {"code": code, "kind": kind, "message": message, "fix": fix}})


def guarded(fn: F) -> F:
    """The one place errors become a message and an exit code (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = kwargs.get("as_json") is True
        try:
            return fn(*args, **kwargs)
        except JobsyncError as exc:
            if as_json:
                print(json_error(int(exc.exit_code), exc.message, list(exc.problems)))
            if len(exc.problems) == 1:  # one problem, one line: what cron mails and grep see
                err.print(f"jobsync: {exc.message}: {exc.problems[0]}", highlight=False, markup=False, style="red")
            else:
                err.print(f"jobsync: {exc.message}", highlight=False, markup=False, style="red")
                for problem in exc.problems:
                    err.print(f"  - {problem}", highlight=False, markup=False)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            err.print("jobsync: interrupted; nothing unconfirmed was recorded, the next run continues")
            raise typer.Exit(int(ExitCode.STOPPED)) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as exc:  # the last resort: never a traceback on the terminal
            code = report_internal_error(exc)
            if as_json:
                print(json_error(code, f"internal error: {type(exc).__name__}", ["see the error log named on stderr"]))
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


def report_internal_error(exc: BaseException) -> int:
    """One line on stderr, the traceback in the error log; the exit code for an unforeseen error."""
    log = record_internal_error(exc)
    err.print(
        f"jobsync: internal error: {type(exc).__name__}: {one_line(exc)}; please report it; details in {log}",
        highlight=False,
        markup=False,
    )
    return int(ExitCode.INTERNAL)


def say(text: str) -> None:
    """Plain text, unwrapped and unstyled: URLs, paths and names stay whole, to be copied and grepped."""
    out.print(text, highlight=False, markup=False, soft_wrap=True)
