"""`jobsync doctor`: every check a scheduled run depends on, each with the fix when it fails.

Checks run in dependency order; a check whose prerequisite failed is reported as skipped rather
than as a second, misleading failure (no Xero check when the token variable is unset). Doctor
changes nothing: it does not create the state file, the reports dir or any Xero object.
"""

from __future__ import annotations

import csv
import os
import socket
import stat
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

# Re-exported: the CLI and tests read check results through this module.
from jobsync.app.doctor_checks import FAIL as FAIL
from jobsync.app.doctor_checks import OK as OK
from jobsync.app.doctor_checks import SKIP as SKIP
from jobsync.app.doctor_checks import WARN as WARN
from jobsync.app.doctor_checks import Check as Check
from jobsync.app.doctor_checks import Report as Report
from jobsync.app.doctor_rules import check_account_purpose, check_line_kinds, check_references, check_tracking
from jobsync.app.servicem8_wiring import servicem8_base, servicem8_session
from jobsync.app.wiring import build_gateway, xero_login
from jobsync.config.settings import Settings, env_references, load_settings, resolve_config_path
from jobsync.core.errors import ConfigError, JobsyncError
from jobsync.core.models import XeroRefs
from jobsync.net.http import make_session
from jobsync.output import notify
from jobsync.state.store import State
from jobsync.xero.token_store import token_status, utc_now

# ---------------------------------------------------------------------------
# Config and secrets
# ---------------------------------------------------------------------------


def unset_variables(text: str, env: Mapping[str, str]) -> list[str]:
    """${VARS} the config needs (no `:-default`) that the environment lacks, in file order."""
    return [name for name, has_default in env_references(text) if not has_default and name not in env]


def check_config(path: Path, env: Mapping[str, str], report: Report) -> tuple[Settings | None, bool]:
    """Config valid (placeholders stand in for missing secrets), then secrets present.

    Returns the settings when the file is valid, and whether every secret is set: local checks
    still run without secrets, network checks do not.
    """
    if not path.is_file():
        report.add(Check("config valid", FAIL, f"{path} not found", "run `jobsync init` or pass --config PATH"))
        return None, False
    missing = unset_variables(path.read_text(encoding="utf-8-sig"), env)
    try:
        settings = load_settings(path, env={**env, **{name: "placeholder" for name in missing}})
    except ConfigError as exc:
        detail = "; ".join(exc.problems[:5]) or exc.message
        report.add(Check("config valid", FAIL, detail, f"edit {path} (all problems: `jobsync preview`)"))
        return None, False
    report.add(Check("config valid", OK, str(path.resolve())))
    if missing:
        fix = f"export {' '.join(missing)} (for cron/systemd: put them in the EnvironmentFile `jobsync schedule` names)"
        report.add(Check("secrets present", FAIL, "not set: " + ", ".join(missing), fix))
        return settings, False
    report.add(Check("secrets present", OK, "every ${VARIABLE} in the config is set"))
    return settings, True


# ---------------------------------------------------------------------------
# Job system
# ---------------------------------------------------------------------------


def check_csv(settings: Settings) -> Check:
    path = settings.source.path
    name = "job system reachable"
    if path is None or not path.is_file():
        return Check(name, FAIL, f"CSV export {path} not found", "fix source.path or drop the export there")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as exc:
        return Check(name, FAIL, f"cannot read {path}: {exc}", "make the file readable by this user (UTF-8 CSV)")
    present = {h.strip() for h in header}
    wanted = {k: v for k, v in settings.source.columns.model_dump().items() if v}
    absent = [f"{key} ({col!r})" for key, col in wanted.items() if col.strip() not in present]
    if absent:
        return Check(
            name,
            FAIL,
            f"{path.name} lacks columns: {', '.join(absent)}",
            "fix source.columns to match the export's header row",
        )
    return Check(name, OK, f"{path} readable, {len(wanted)} configured columns present")


def check_servicem8(settings: Settings, timeout: float = 10) -> Check:
    # The session every run uses: the API key, or an OAuth app whose stored login must still refresh.
    try:
        return servicem8_key_check(servicem8_base(settings), "", timeout, servicem8_session(settings))
    except JobsyncError as exc:
        return Check("job system reachable", FAIL, exc.message, "run `jobsync auth servicem8`")


def servicem8_key_check(base: str, key: str, timeout: float = 10, session: requests.Session | None = None) -> Check:
    """One cheap GET: vendor.json is a single record and proves both reachability and the key."""
    if session is None:
        session = make_session()
        session.headers["X-API-Key"] = key
    name = "job system reachable"
    try:
        response = session.get(f"{base}/vendor.json", timeout=timeout)
    except OSError as exc:
        return Check(name, FAIL, f"cannot reach {base}: {type(exc).__name__}", "check source.base_url and network")
    finally:
        session.close()
    if response.status_code in (401, 403):
        return Check(
            name,
            FAIL,
            f"ServiceM8 refused the API key (HTTP {response.status_code})",
            "check the variable behind source.api_key",
        )
    if response.status_code != 200:
        return Check(name, FAIL, f"ServiceM8 answered HTTP {response.status_code}", "check source.base_url")
    return Check(name, OK, f"ServiceM8 at {base} accepted the API key")


def check_source(settings: Settings) -> Check:
    if settings.source.type == "csv":
        return check_csv(settings)
    if settings.source.type == "servicem8":
        return check_servicem8(settings)
    return Check(
        "job system reachable", FAIL, f"source.type {settings.source.type} is not available yet", "use csv or servicem8"
    )


# ---------------------------------------------------------------------------
# Xero
# ---------------------------------------------------------------------------


class _Scratch(dict[str, str]):
    """A throwaway cache: with one, the client also reads TrackingCategories (doctor writes no state)."""

    def cache_get(self, key: str) -> str | None:
        return self.get(key)

    def cache_put(self, key: str, value: str) -> None:
        self[key] = value


def check_xero(settings: Settings, report: Report) -> XeroRefs | None:
    name = "Xero tenant reachable, token accepted"
    try:
        gateway = build_gateway(settings)
        gateway.use_cache(_Scratch())
        refs = gateway.read_refs()
    except JobsyncError as exc:
        fix = exc.problems[0] if exc.problems else "check xero.api_url, xero.tenant_id and the token"
        report.add(Check(name, FAIL, exc.message, fix))
        return None
    report.add(Check(name, OK, f"organisation {refs.org.name!r} ({refs.org.base_currency})"))
    return refs


def check_token_lapse(settings: Settings, now: datetime, warn_days: float = 14) -> Check | None:
    """oauth only: a refresh token unused for 60 days lapses and every run then fails until a new login."""
    if settings.xero.auth.mode != "oauth":
        return None
    name = "Xero refresh token not near its 60-day lapse"
    status = token_status(xero_login(settings), now)
    if status is None:
        return Check(name, FAIL, "no token store: never logged in", "run `jobsync auth login`")
    days = status.refresh_days_left
    if days is None:
        return Check(name, OK, "the token store records no lapse date")
    if days <= 0:
        return Check(
            name, FAIL, f"the refresh token lapsed on {status.refresh_lapses_at:%Y-%m-%d}", "run `jobsync auth login`"
        )
    if days < warn_days:
        return Check(
            name,
            WARN,
            f"the refresh token lapses in {days:.1f} days unless a run refreshes it",
            "check the schedule runs (`jobsync schedule`), or run `jobsync run` now",
        )
    return Check(name, OK, f"{days:.0f} days left (every run renews it)")


# ---------------------------------------------------------------------------
# Local files
# ---------------------------------------------------------------------------


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _dir_writable(directory: Path) -> bool:
    if not directory.is_dir():
        return os.access(_existing_ancestor(directory), os.W_OK | os.X_OK)
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def check_state(path: Path) -> Check:
    name = "state file writable, lock free, 0600"
    if not path.exists():
        if _dir_writable(path.parent):
            return Check(name, OK, f"{path} will be created on the first run")
        return Check(name, FAIL, f"cannot create {path}", f"make {path.parent} writable or change state.path")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != 0o600:
        return Check(name, FAIL, f"{path} has mode {mode:o} (it holds client names)", f"chmod 600 {path}")
    if not os.access(path, os.R_OK | os.W_OK) or not _dir_writable(path.parent):
        return Check(name, FAIL, f"{path} is not writable", f"fix the ownership of {path} and its directory")
    try:
        with State.open(path) as state, state.lock():
            pass
    except JobsyncError as exc:
        return Check(name, FAIL, exc.message, "wait for the running sync, or find the stuck process holding it")
    except Exception as exc:  # noqa: BLE001 - a corrupt file surfaces as sqlite's many error types
        return Check(name, FAIL, f"{path} cannot be opened: {exc}", "restore it with `jobsync state restore BACKUP`")
    return Check(name, OK, f"{path}, mode 600, lock free")


def check_database(url: str) -> Check:
    """A PostgreSQL state: it connects, its schema is current (migrated if not), and the run lock is free."""
    name = "state database reachable, lock free"
    try:
        with State.open(url) as state, state.lock():
            version = state.schema_version()
    except JobsyncError as exc:
        return Check(name, FAIL, exc.message, "check state.url, the server and the password's variable")
    return Check(name, OK, f"{state.path}, schema {version}, lock free")


def check_reports(directory: Path) -> Check:
    name = "reports dir writable"
    if directory.exists() and not directory.is_dir():
        return Check(name, FAIL, f"{directory} is a file, not a directory", "move it away or change reports.dir")
    if _dir_writable(directory):
        return Check(name, OK, str(directory) + ("" if directory.is_dir() else " (created on the first run)"))
    fix = f"mkdir -p {directory} and make it writable, or change reports.dir"
    return Check(name, FAIL, f"cannot write to {directory}", fix)


# ---------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------


def _endpoints(settings: Settings) -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = []
    n = settings.notify
    if n is None:
        return found
    for channel, url in (("slack", n.slack_webhook_url), ("webhook", n.webhook_url)):
        if url:
            parts = urlsplit(url)
            found.append((channel, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)))
    if n.email is not None:
        found.append(("email", n.email.smtp_host, n.email.smtp_port))
    return found


def _connects(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_notify(settings: Settings, send_test: bool, timeout: float = 5) -> Check:
    name = "notification channels reachable"
    endpoints = _endpoints(settings)
    if not endpoints:
        return Check(
            name,
            WARN,
            "no channel configured: failures are only seen in the reports",
            "add notify.slack_webhook_url, notify.webhook_url or notify.email",
        )
    down = [f"{c} ({h}:{p})" for c, h, p in endpoints if not _connects(h, p, timeout)]
    if down:
        return Check(name, FAIL, "cannot connect to " + ", ".join(down), "check the notify URLs/host and the firewall")
    if send_test and settings.notify is not None:
        sent, problems = notify.deliver(settings.notify, test_message(), timeout)
        if problems:
            return Check(name, FAIL, "; ".join(problems), "check the notify settings and credentials")
        return Check(name, OK, f"test message sent on {sent} channel(s)")
    return Check(name, OK, ", ".join(c for c, _, _ in endpoints) + " reachable (--send-test sends one)")


def test_message() -> notify.Message:
    text = "jobsync doctor: test notification. If you can read this, failure alerts reach you."
    return notify.Message(
        kind="test",
        status="ok",
        subject="jobsync: test notification",
        text=text,
        payload={"kind": "test", "status": "ok", "text": text},
    )


# ---------------------------------------------------------------------------
# All of it
# ---------------------------------------------------------------------------


def run_checks(
    config: Path | None,
    env: Mapping[str, str] | None = None,
    *,
    send_test: bool = False,
    on_check: Callable[[Check], None] | None = None,
) -> Report:
    env = os.environ if env is None else env
    report = Report(listener=on_check)
    settings, secrets_ok = check_config(resolve_config_path(config, env), env, report)
    if settings is None:
        report.add(Check("the other checks", SKIP, "they need a valid config"))
        return report
    needs_secrets = "needs the missing secrets"
    if secrets_ok or settings.source.type == "csv":
        report.add(check_source(settings))
    else:
        report.add(Check("job system reachable", SKIP, needs_secrets))
    refs = check_xero(settings, report) if secrets_ok else None
    if not secrets_ok:
        report.add(Check("Xero tenant reachable, token accepted", SKIP, needs_secrets))
    if refs is not None:
        report.add(check_references(settings, refs))
        report.add(check_account_purpose(settings, refs))
        report.add(check_tracking(settings, refs))
    report.add(check_line_kinds(settings))
    warn_days = settings.notify.token_expiry_days if settings.notify is not None else 14
    lapse = check_token_lapse(settings, utc_now(), warn_days)
    if lapse is not None:
        report.add(lapse)
    report.add(check_state(settings.state.path) if not settings.state.url else check_database(settings.state.url))
    report.add(check_reports(settings.reports.dir))
    report.add(check_notify(settings, send_test) if secrets_ok else Check("notifications", SKIP, needs_secrets))
    return report
