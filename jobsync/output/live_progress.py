"""The terminal's view of `runtime.progress`: one rich progress line on stderr, gone when the work ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from jobsync.runtime import progress


class RichListener:
    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: TaskID | None = None

    def phase(self, name: str, total: int | None) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(name, total=total)
        self.bar.refresh()

    def advance(self, done: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, done)
            self.bar.refresh()

    def waiting(self, seconds: float, reason: str) -> None:
        self.bar.console.print(f"waiting {seconds:.0f} s: {reason}", style="yellow", highlight=False)


@contextmanager
def _shown(console: Console) -> Iterator[None]:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        with progress.listening(RichListener(bar)):
            yield


def live(console: Console, quiet: bool = False) -> AbstractContextManager[None]:
    """Progress on a terminal; nothing at all when piped, under cron, or with -q."""
    if quiet or not console.is_terminal:
        return nullcontext()
    return _shown(console)
