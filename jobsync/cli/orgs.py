"""`jobsync orgs add|list|status|run` and `jobsync worker`: a practice's organisations and the workers
that run them. Parse, call `app.practice` / `app.queue`, render."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from jobsync.app import practice
from jobsync.cli.support import guarded, say

orgs_app = typer.Typer(help="A practice's organisations, each with its own config.", no_args_is_help=True)
PracticeOpt = Annotated[
    str | None, typer.Option("--practice", help=f"The practice database (default ${practice.PRACTICE_ENV}).")
]


@orgs_app.command("add")
@guarded
def add(
    name: Annotated[str, typer.Argument(help="The org's short name.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="The org's own jobsync config.")],
    every: Annotated[int, typer.Option("--every", help="Minutes between its runs.")] = 15,
    practice_db: PracticeOpt = None,
) -> None:
    """Add an organisation (or change its config or interval)."""
    org = practice.add(practice.practice_url(practice_db), name, config, every)
    say(f"✓ {org.name}: {org.config}, every {org.every_minutes} minutes")


@orgs_app.command("load")
@guarded
def load(
    file: Annotated[Path, typer.Argument(help="A practice file: orgs: [{name, config, every}, ...].")],
    practice_db: PracticeOpt = None,
) -> None:
    """Add (or update) every org a practice file lists; a file with any mistake adds nothing."""
    from jobsync.app import practice_file

    for org in practice_file.load(practice.practice_url(practice_db), file):
        say(f"✓ {org.name}: {org.config}, every {org.every_minutes} minutes")


@orgs_app.command("list")
@guarded
def list_orgs(practice_db: PracticeOpt = None) -> None:
    """The practice's organisations."""
    for org in practice.orgs(practice.practice_url(practice_db)):
        say(f"{org.name}\t{org.config}\tevery {org.every_minutes} min")


@orgs_app.command("status")
@guarded
def status(practice_db: PracticeOpt = None) -> None:
    """Each org's last run, held and failed jobs, login lapse, calls today, and next run; exit 1 on an alert."""
    from jobsync.app import practice_view

    now = datetime.now(UTC)
    shown = practice_view.status(practice.practice_url(practice_db), now)
    for s in shown:
        upcoming = f"{s.org.next_run:%Y-%m-%d %H:%M %Z}" if s.org.next_run else "at the next tick"
        login = f"{s.login_lapses:%Y-%m-%d}" if s.login_lapses else "-"
        calls = "?" if s.calls_today is None else str(s.calls_today)
        say(
            f"{s.org.name}\tlast {s.last_run}\theld {s.held}\tfailed {s.failed}\tlogin lapses {login}"
            f"\tcalls today {calls}/{s.call_budget}\tnext {upcoming}"
        )
    alerts = practice_view.alerts_of(shown, now)
    for text in alerts:
        say(f"ALERT {text}")
    raise typer.Exit(1 if alerts else 0)


@orgs_app.command("run")
@guarded
def run_now(name: Annotated[str, typer.Argument(help="The org.")], practice_db: PracticeOpt = None) -> None:
    """Queue the org's run now; a run already waiting is not queued twice."""
    from jobsync.app import queue  # procrastinate loads only for the commands that use the queue

    queued = queue.queue_now(practice.practice_url(practice_db), name)
    say(f"{name}: {'queued' if queued else 'already queued; not queued twice'}")


@orgs_app.command("new-key")
@guarded
def new_key() -> None:
    """Print a new key for JOBSYNC_TOKEN_KEYS (put it first; keep the old ones until rotate-keys)."""
    from jobsync.app import practice_tokens

    say(practice_tokens.new_key())


@orgs_app.command("rotate-keys")
@guarded
def rotate_keys(practice_db: PracticeOpt = None) -> None:
    """Re-seal every org's Xero tokens with the newest key in JOBSYNC_TOKEN_KEYS."""
    from jobsync.app import practice_tokens

    count = practice_tokens.rotate_keys(practice.practice_url(practice_db))
    say(f"✓ re-sealed the Xero tokens of {count} org(s) with the newest key; older keys may now be dropped")


@orgs_app.command("import-tokens")
@guarded
def import_tokens(
    name: Annotated[str, typer.Argument(help="The org.")],
    token_file: Annotated[Path, typer.Option("--from", help="The org's .tokens.toml file.")],
    practice_db: PracticeOpt = None,
) -> None:
    """Move a business's Xero token file into the practice's vault (sealed), so its login carries over."""
    from jobsync.app import practice_tokens

    config = practice.config_of(practice.practice_url(practice_db), name)
    tokens, where = practice_tokens.import_tokens(config, token_file)
    say(f"✓ {name}: Xero tokens for {tokens.tenant_name or tokens.tenant_id} sealed in {where}")


@guarded
def worker_cmd(
    concurrency: Annotated[int, typer.Option("--concurrency", help="Org runs at once in this worker.")] = 1,
    name: Annotated[str | None, typer.Option("--name", help="The worker's name in the queue.")] = None,
    practice_db: PracticeOpt = None,
) -> None:
    """Take org runs from the practice's queue until stopped (any number of workers, on any hosts)."""
    from jobsync.app import queue

    queue.work(practice.practice_url(practice_db), concurrency, name)
