"""The token store: 0600 atomic saves, refresh under the lock, rotation, lost responses, invalid_grant."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from oauth_support import CLIENT_ID, CLIENT_SECRET, FakeClock, offline_tokens, settings_for

from jobsync.app.wiring import xero_login
from jobsync.config.settings import Settings
from jobsync.core.errors import ExitCode, LockedError, UnreachableError
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.xero import token_store
from jobsync.xero.token_store import TokenSet, fresh_tokens, load, oauth_provider, save, token_lock

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def sb(clock: FakeClock) -> Iterator[XeroSandbox]:
    with XeroSandbox(clock=clock) as sandbox:
        sandbox.add_client(CLIENT_ID, CLIENT_SECRET, ("http://localhost:8749/callback",))
        yield sandbox


def connect(sb: XeroSandbox, settings: Settings, clock: FakeClock) -> TokenSet:
    """What `auth login` leaves behind, made here from a client-side refresh grant on a fresh login."""
    tokens = offline_tokens(sb, clock, sb.tenant_id)
    save(xero_login(settings).store, tokens)
    return tokens


def refreshes(sb: XeroSandbox) -> int:
    return sum(1 for method, path, _ in sb.request_log if (method, path) == ("POST", "/connect/token"))


def works(sb: XeroSandbox, access: str) -> bool:
    answer = requests.get(
        f"{sb.api_url}/Organisation", headers={"Authorization": f"Bearer {access}", "xero-tenant-id": sb.tenant_id}
    )
    return answer.status_code == 200


def test_store_is_toml_0600_atomic_and_keeps_secrets_out_of_repr(
    tmp_path: Path, sb: XeroSandbox, clock: FakeClock
) -> None:
    settings = settings_for(tmp_path, sb)
    path = xero_login(settings).store
    assert path == tmp_path / "state.tokens.toml"  # default: beside the state file
    tokens = connect(sb, settings, clock)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(path) == tokens
    text = path.read_text()
    assert text.startswith("# jobsync Xero token store") and 'mode = "oauth"' in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".state.tokens")] == []  # no temp left
    assert tokens.access_token not in repr(tokens) and str(tokens.refresh_token) not in repr(tokens)
    os.chmod(path, 0o644)
    save(path, replace(tokens, tenant_name="Renamed"))  # a rewrite is private again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and load(path).tenant_name == "Renamed"  # type: ignore[union-attr]
    path.write_text("not = [toml")
    with pytest.raises(UnreachableError, match="auth login"):
        load(path)


def test_fresh_token_is_used_then_refreshed_and_rotated_within_60_s_of_expiry(
    tmp_path: Path, sb: XeroSandbox, clock: FakeClock
) -> None:
    settings = settings_for(tmp_path, sb)
    first = connect(sb, settings, clock)
    before = refreshes(sb)
    provide = oauth_provider(xero_login(settings), clock=clock)
    assert provide() == first.access_token and refreshes(sb) == before
    clock.advance(1800 - 61)
    assert provide() == first.access_token and refreshes(sb) == before
    clock.advance(2)  # now 59 s before expiry
    access = provide()
    stored = load(xero_login(settings).store)
    assert stored is not None and refreshes(sb) == before + 1
    assert access != first.access_token and access == stored.access_token and works(sb, access)
    assert stored.refresh_token != first.refresh_token and stored.refresh_issued_at == clock()
    assert stored.tenant_id == sb.tenant_id and stored.scopes == ("offline_access", "accounting.invoices")
    assert provide() == access and refreshes(sb) == before + 1  # held in memory, no second refresh


def test_lost_rotation_is_recovered_within_the_30_minute_grace(
    tmp_path: Path, sb: XeroSandbox, clock: FakeClock
) -> None:
    """Xero rotated the token but jobsync never saved the new one (crash or lost response)."""
    settings = settings_for(tmp_path, sb)
    first = connect(sb, settings, clock)
    clock.advance(1800)
    sb.faults.fail_next("POST", "/connect/token", status="drop_after")  # rotated, answer lost
    with pytest.raises(UnreachableError, match="cannot reach"):
        oauth_provider(xero_login(settings), clock=clock)()
    assert load(xero_login(settings).store) == first  # nothing half-saved; the spent token is still on disk
    clock.advance(29 * 60)
    access = oauth_provider(xero_login(settings), clock=clock)()  # the next run, 29 minutes later
    assert works(sb, access)
    assert load(xero_login(settings).store).refresh_token != first.refresh_token  # type: ignore[union-attr]


def test_lost_rotation_past_the_grace_asks_for_auth_login(tmp_path: Path, sb: XeroSandbox, clock: FakeClock) -> None:
    settings = settings_for(tmp_path, sb)
    connect(sb, settings, clock)
    clock.advance(1800)
    sb.faults.fail_next("POST", "/connect/token", status="drop_after")
    with pytest.raises(UnreachableError):
        oauth_provider(xero_login(settings), clock=clock)()
    clock.advance(31 * 60)
    with pytest.raises(UnreachableError) as caught:
        oauth_provider(xero_login(settings), clock=clock)()
    assert caught.value.exit_code == ExitCode.UNREACHABLE == 3
    assert "invalid_grant" in caught.value.message and "`jobsync auth login`" in caught.value.message
    assert CLIENT_SECRET not in str(caught.value)


def test_refresh_token_unused_for_60_days_is_invalid_grant_exit_3(
    tmp_path: Path, sb: XeroSandbox, clock: FakeClock
) -> None:
    settings = settings_for(tmp_path, sb)
    connect(sb, settings, clock)
    clock.advance(60 * 86400 + 1)
    with pytest.raises(UnreachableError, match="jobsync auth login") as caught:
        oauth_provider(xero_login(settings), clock=clock)()
    assert int(caught.value.exit_code) == 3


def test_no_store_wrong_app_and_missing_secret_name_their_fix(
    tmp_path: Path, sb: XeroSandbox, clock: FakeClock
) -> None:
    settings = settings_for(tmp_path, sb)
    with pytest.raises(UnreachableError, match="no Xero login is stored .*jobsync auth login"):
        oauth_provider(xero_login(settings), clock=clock)()
    assert token_store.stored_tenant(xero_login(settings)) is None
    connect(sb, settings, clock)
    assert token_store.stored_tenant(xero_login(settings)) == sb.tenant_id
    clock.advance(1800)
    other = settings_for(tmp_path, sb, client_id="another-app")
    with pytest.raises(UnreachableError, match="another app"):
        oauth_provider(xero_login(other), clock=clock)()


def test_token_lock_excludes_and_times_out(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with token_lock(path):
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(5)
    started = time.monotonic()
    with pytest.raises(LockedError), token_lock(path, wait=0.2):
        pass
    assert time.monotonic() - started >= 0.2
    release.set()
    holder.join()
    with token_lock(path, wait=0.2):  # free again once the holder let go
        assert stat.S_IMODE((tmp_path / "t.toml.lock").stat().st_mode) == 0o600


CHILD = textwrap.dedent("""
    import hashlib, sys, time
    from pathlib import Path
    from jobsync.config.settings import load_settings
    from jobsync.app.wiring import xero_login
    from jobsync.xero.token_store import oauth_provider
    config, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    settings = load_settings(config)
    provide = oauth_provider(xero_login(settings))
    ready.touch()
    deadline = time.monotonic() + 10
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    print(hashlib.sha256(provide().encode()).hexdigest())
""")


def test_two_processes_refreshing_at_once_refresh_once(tmp_path: Path) -> None:
    # Real time on both sides: the children use the wall clock.
    with XeroSandbox() as sb:
        sb.add_client(CLIENT_ID, CLIENT_SECRET)
        settings = settings_for(tmp_path, sb)
        tokens = connect(sb, settings, FakeClock())
        path = xero_login(settings).store
        save(path, replace(tokens, expires_at=sb.now() - timedelta(seconds=5)))  # expired: both must renew
        sb.faults.delay_next("POST", "/connect/token", seconds=0.6)  # the first holds the lock a while
        before = refreshes(sb)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XERO_CLIENT_SECRET": CLIENT_SECRET}
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    str(tmp_path / "jobsync.yaml"),
                    str(tmp_path / f"ready{i}"),
                    str(tmp_path / "go"),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                text=True,
            )
            for i in range(2)
        ]
        deadline = time.monotonic() + 20
        while not all((tmp_path / f"ready{i}").exists() for i in range(2)) and time.monotonic() < deadline:
            time.sleep(0.01)
        (tmp_path / "go").touch()
        results = [child.communicate(timeout=30) for child in children]
        assert [child.returncode for child in children] == [0, 0], [r[1] for r in results]
        assert refreshes(sb) == before + 1
        stored = load(path)
        assert stored is not None and stored.refresh_token != tokens.refresh_token
        digest = hashlib.sha256(stored.access_token.encode()).hexdigest()
        assert [r[0].strip() for r in results] == [digest, digest]
        assert works(sb, stored.access_token)


def test_fresh_tokens_keeps_client_credentials_logins_renewed(
    tmp_path: Path, sb: XeroSandbox, clock: FakeClock
) -> None:
    settings = settings_for(tmp_path, sb)
    tokens = connect(sb, settings, clock)
    save(xero_login(settings).store, replace(tokens, mode="client_credentials", refresh_token=None))
    clock.advance(1800)
    renewed = fresh_tokens(xero_login(settings), clock)
    assert renewed.mode == "client_credentials" and renewed.refresh_token is None and works(sb, renewed.access_token)


def test_a_quiet_run_calls_xero_only_to_renew_a_lapsing_refresh_token(tmp_path: Path) -> None:
    """A run with nothing to do makes no Accounting API call and leaves a healthy login alone; within
    `token_refresh_days` of the 60-day lapse it renews the login, so a quiet month never loses it."""
    from jobsync.app.sync_run import sync

    with XeroSandbox() as sb:  # real clocks on both sides, as in a cron run
        sb.add_client(CLIENT_ID, CLIENT_SECRET)
        settings = settings_for(tmp_path, sb)
        tokens = connect(sb, settings, FakeClock())
        path = xero_login(settings).store
        expired = replace(tokens, expires_at=sb.now() - timedelta(minutes=5))
        save(path, replace(expired, refresh_issued_at=sb.now() - timedelta(days=40)))  # 20 days left
        before, logged = refreshes(sb), len(sb.request_log)
        outcome = sync(settings, apply=True)
        assert int(outcome.result.exit_code) == 0 and outcome.result.plan.jobs_seen == 0
        assert refreshes(sb) == before and len(sb.request_log) == logged  # nothing asked of Xero at all

        save(path, replace(expired, refresh_issued_at=sb.now() - timedelta(days=54)))  # 6 days left
        outcome = sync(settings, apply=True)
        stored = load(path)
        assert stored is not None and refreshes(sb) == before + 1
        assert stored.refresh_token != tokens.refresh_token
        assert stored.refresh_lapses_at - sb.now() > timedelta(days=59, hours=23)  # type: ignore[operator]
        assert not any(p.startswith("/api.xro/2.0/") for _, p, _ in sb.request_log[logged:])
