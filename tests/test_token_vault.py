"""A practice's Xero tokens in PostgreSQL: sealed at rest, refreshed and rotated under a lock per org
(one org's refresh never waits on another's), and re-sealed under a new key with no org logging in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from oauth_support import CLIENT_ID, CLIENT_SECRET, FakeClock, consent, free_port, offline_tokens, settings_for

from jobsync.app import practice, practice_tokens
from jobsync.app.wiring import xero_login
from jobsync.config.settings import load_settings
from jobsync.core.errors import ConfigError, LockedError, UnreachableError
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.token_vault import KEYS_ENV, DatabaseVault, new_key, rotate, sealer
from jobsync.xero import token_store
from jobsync.xero.oauth_login import LoginIO, LoginOptions, login, redirect_uri
from jobsync.xero.token_store import fresh_tokens, load_from
from tests.postgres_server import fresh_database


@pytest.fixture()
def org_sandbox() -> Iterator[tuple[XeroSandbox, FakeClock]]:
    """The sandbox and its clock, with the test app registered."""
    clock = FakeClock()
    with XeroSandbox(clock=clock) as sandbox:
        sandbox.add_client(CLIENT_ID, CLIENT_SECRET, ("http://localhost:8749/callback",))
        yield sandbox, clock


def vault_config(tmp_path: Path, sb: XeroSandbox, url: str, org: str) -> Path:
    """An oauth config (oauth_support's) that keeps its tokens in the practice's vault."""
    settings_for(tmp_path, sb)
    path = tmp_path / "jobsync.yaml"
    text = path.read_text().replace(
        "    mode: oauth\n", f"    mode: oauth\n    token_vault: {{url: '{url}', org: {org}}}\n"
    )
    path.write_text(text)
    return path


def raw_row(url: str, org: str) -> bytes:
    import psycopg

    with psycopg.connect(url) as conn:
        return bytes(conn.execute("SELECT sealed FROM jobsync_tokens WHERE org = %s", (org,)).fetchone()[0])


def test_an_org_joins_with_its_token_file_and_refreshes_sealed_in_the_database(
    tmp_path: Path, org_sandbox: tuple[XeroSandbox, FakeClock], postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, clock = org_sandbox
    url = fresh_database(postgres_server)
    monkeypatch.setenv(KEYS_ENV, new_key())
    monkeypatch.setenv("XERO_CLIENT_SECRET", CLIENT_SECRET)
    config = vault_config(tmp_path, sb, url, "acme")
    practice.add(url, "acme", config, 15)
    token_file = tmp_path / "old.tokens.toml"
    token_store.save(token_file, offline_tokens(sb, clock, sb.tenant_id))
    practice_tokens.import_tokens(config, token_file)

    app = xero_login(load_settings(config))
    assert app.tokens.where == "the practice database (org acme)"
    first = load_from(app.tokens)
    assert first is not None and first.refresh_token
    assert first.refresh_token.encode() not in raw_row(url, "acme")  # sealed, not merely stored
    clock.advance(1800)  # the access token has lapsed: the next call refreshes, and saves the rotation
    renewed = fresh_tokens(app, clock)
    assert renewed.refresh_token != first.refresh_token
    assert load_from(app.tokens) == renewed
    assert str(renewed.refresh_token).encode() not in raw_row(url, "acme")


def test_a_new_key_reseals_every_org_and_the_old_key_can_go(
    org_sandbox: tuple[XeroSandbox, FakeClock], postgres_server: str
) -> None:
    sb, clock = org_sandbox
    url = fresh_database(postgres_server)
    old, new = new_key(), new_key()
    tokens = offline_tokens(sb, clock, sb.tenant_id)
    for org in ("acme", "bolt"):
        token_store.save_to(DatabaseVault(url, org, sealer({KEYS_ENV: old})), tokens)
    assert rotate(url, sealer({KEYS_ENV: f"{new},{old}"})) == 2
    for org in ("acme", "bolt"):
        assert load_from(DatabaseVault(url, org, sealer({KEYS_ENV: new}))) == tokens
    with pytest.raises(UnreachableError, match=f"sealed with a key not in {KEYS_ENV}"):
        load_from(DatabaseVault(url, "acme", sealer({KEYS_ENV: old})))


def test_one_orgs_refresh_lock_never_holds_another(postgres_server: str) -> None:
    url = fresh_database(postgres_server)
    keys = sealer({KEYS_ENV: new_key()})
    acme, bolt = DatabaseVault(url, "acme", keys), DatabaseVault(url, "bolt", keys)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with acme.lock(5):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    try:
        with bolt.lock(0.5):
            pass  # another org: straight in
        with pytest.raises(LockedError, match="org acme's token lock"), acme.lock(0.3):
            pass
    finally:
        release.set()
        holder.join()
    with acme.lock(1):
        pass  # released with its holder's session


def test_keys_missing_or_malformed_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="no key to seal") as missing:
        sealer({})
    assert KEYS_ENV in " ".join(missing.value.problems)
    with pytest.raises(ConfigError, match="not a Fernet key"):
        sealer({KEYS_ENV: "not-a-key"})


def test_auth_login_for_a_vault_org_seals_its_tokens_in_the_database_and_writes_no_file(
    tmp_path: Path, postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, port = fresh_database(postgres_server), free_port()
    monkeypatch.setenv(KEYS_ENV, new_key())
    monkeypatch.setenv("XERO_CLIENT_SECRET", CLIENT_SECRET)
    with XeroSandbox() as sb:
        sb.add_client(CLIENT_ID, CLIENT_SECRET, (redirect_uri(port),))
        app = xero_login(load_settings(vault_config(tmp_path, sb, url, "acme")))

        def browser(address: str) -> bool:  # the user approves on Xero's consent page
            page = consent(address)
            requests.get(page.headers["Location"], timeout=5)
            return True

        io = LoginIO(say=lambda line: None, read_line=lambda prompt: "", open_browser=browser)
        tokens = login(app, LoginOptions(port=port, wait_seconds=5), io)
    assert load_from(app.tokens) == tokens and tokens.tenant_id == sb.tenant_id
    assert str(tokens.refresh_token).encode() not in raw_row(url, "acme")
    assert not app.store.exists()  # nothing beside the state file: the vault is the only copy
