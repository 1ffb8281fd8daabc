"""One error root for everything a user can cause or fix, and the exit codes cron sees."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in the README and relied on by cron/systemd."""

    OK = 0
    HELD_OR_FAILED = 1  # some jobs held or failed; also a failed check in doctor/rehearse
    BAD_CONFIG = 2  # bad config or usage; also a first run without a start date
    UNREACHABLE = 3  # cannot reach or authenticate to Xero or the job system
    LOCKED = 4  # another run holds the lock
    STOPPED = 5  # stopped early by a safety brake or call budget; the next run continues
    STATE = 6  # the state file cannot be used (damaged, newer, read-only, disk full); nothing was sent
    INTERNAL = 70  # an unforeseen error (a bug): one line on stderr, the traceback in the error log


class JobsyncError(Exception):
    """Base of every error a user sees as a message rather than a traceback.

    `problems` lists every individual problem (e.g. each bad config key), so
    a user can fix them all in one pass.
    """

    exit_code: ExitCode = ExitCode.HELD_OR_FAILED

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class ConfigError(JobsyncError):
    """The config file or command line is wrong; nothing was attempted."""

    exit_code = ExitCode.BAD_CONFIG


class UnreachableError(JobsyncError):
    """Xero or the job system cannot be reached or refused our credentials."""

    exit_code = ExitCode.UNREACHABLE


class UnconfirmedError(UnreachableError):
    """Xero went away while a create was in flight: it may or may not have landed. Never "not sent":
    the next run reconciles it (by Reference for invoices, by ContactNumber for contacts)."""


class LockedError(JobsyncError):
    """Another jobsync run holds the state file's lock."""

    exit_code = ExitCode.LOCKED


class StoppedError(JobsyncError):
    """A safety brake or the call budget stopped the run; nothing was lost."""

    exit_code = ExitCode.STOPPED


class RetriableError(JobsyncError):
    """A transient failure (timeout, 5xx, 429) for one request; safe to retry later."""

    exit_code = ExitCode.UNREACHABLE


class RejectedError(JobsyncError):
    """Xero refused one element (a validation error): that job fails, the rest go on."""

    exit_code = ExitCode.HELD_OR_FAILED


# A value quoted in a message is cut to this many characters: a message is read, not scrolled.
ECHO_LIMIT = 60


def echo(value: object) -> str:
    """A value as a message quotes it: repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= ECHO_LIMIT else text[: ECHO_LIMIT - 1] + "…"
