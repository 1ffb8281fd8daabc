"""The Xero token set in its vault, and fresh access tokens from it for `xero.auth.mode: oauth`.

The vault is one TOML file by default (beside the state file, `<state stem>.tokens.toml`), written
atomically with mode 0600; a practice keeps every org's set in its database instead, sealed with
keys from the environment (`jobsync.state.token_vault`). Both are a `TokenVault`.

Every refresh happens under the vault's lock (for the file, `<store>.lock`: an fcntl lock the kernel
drops when its holder dies, so a killed process never leaves it stale), and re-reads the set once
it holds the lock: when two processes both see an expiring token, the second finds the first
one's rotated set and does not refresh again. Xero rotates the refresh token on every refresh, so
the new set is saved before its access token is used; a crash between Xero's answer and the save
leaves the previous refresh token stored, which Xero still accepts for 30 minutes after its use.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import requests
import tomli_w

from jobsync.core.errors import ConfigError, UnreachableError
from jobsync.net import http
from jobsync.runtime import crashpoints, file_lock
from jobsync.runtime.private_files import write_private

EARLY = timedelta(seconds=60)  # refresh this long before expiry, as the SDK's own buffer does
REFRESH_LIFETIME = timedelta(days=60)  # Xero: unused refresh tokens expire after 60 days
LOCK_WAIT_SECONDS = 60.0  # a refresh takes one HTTP call; a holder this slow is stuck
TOKEN_SAVE_POINT = "during_token_save"  # crash point: rotated set received, not yet saved
LOGIN_FIX = "run `jobsync auth login` to connect to Xero again"
_HEADER = "# jobsync Xero token store, written by `jobsync auth login`. Private: keep it mode 0600.\n"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TokenSet:
    """One connection's tokens. The secrets are left out of repr so they never reach a log."""

    mode: str  # "oauth" (authorization code + refresh) or "client_credentials" (custom connection)
    client_id: str
    access_token: str = field(repr=False)
    expires_at: datetime
    scopes: tuple[str, ...] = ()
    refresh_token: str | None = field(default=None, repr=False)
    refresh_issued_at: datetime | None = None
    tenant_id: str | None = None
    tenant_name: str | None = None
    token_type: str = "Bearer"

    def fresh(self, now: datetime) -> bool:
        return now < self.expires_at - EARLY

    @property
    def refresh_lapses_at(self) -> datetime | None:
        if not self.refresh_token or self.refresh_issued_at is None:
            return None
        return self.refresh_issued_at + REFRESH_LIFETIME


class TokenVault(Protocol):
    """Where one login's token set is kept: read and written whole, and locked around a refresh so two
    processes never spend one refresh token. `where` names it in messages (never a secret)."""

    @property
    def where(self) -> str: ...

    def read(self) -> bytes | None: ...

    def write(self, data: bytes) -> None: ...

    def lock(self, wait: float) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class FileVault:
    """The token set as one private file, replaced atomically; locked by `<store>.lock` (fcntl)."""

    path: Path

    @property
    def where(self) -> str:
        return str(self.path)

    def read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def write(self, data: bytes) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(self.path, data.decode("utf-8"))

    def lock(self, wait: float) -> AbstractContextManager[None]:
        return token_lock(self.path, wait)


@dataclass(frozen=True)
class XeroLogin:
    """What the token store needs to know, and no more of the config: where the tokens live, Xero's
    hosts, and the app (client id and secret) that owns the login. The secret is left out of repr.
    `vault` replaces the file at `store` (a practice's database); the file is the default."""

    store: Path
    identity_url: str
    api_url: str
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    vault: TokenVault | None = field(default=None, compare=False)

    @property
    def tokens(self) -> TokenVault:
        return self.vault if self.vault is not None else FileVault(self.store)


# -- the stored form ---------------------------------------------------------------------------


def load(path: Path) -> TokenSet | None:
    """The set stored in the file at `path`, or None when nothing was stored yet."""
    return load_from(FileVault(path))


def save(path: Path, tokens: TokenSet) -> None:
    """Atomic (temp file + rename) and 0600: readers see the old set or the new one, never half."""
    save_to(FileVault(path), tokens)


def load_from(vault: TokenVault) -> TokenSet | None:
    raw = vault.read()
    if raw is None:
        return None
    try:
        return _from_toml(tomllib.loads(raw.decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UnreachableError(
            f"the token store {vault.where} cannot be read ({exc.__class__.__name__}); {LOGIN_FIX}"
        ) from None


def save_to(vault: TokenVault, tokens: TokenSet) -> None:
    vault.write((_HEADER + tomli_w.dumps(_to_toml(tokens))).encode("utf-8"))


def _to_toml(tokens: TokenSet) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "mode": tokens.mode,
        "client_id": tokens.client_id,
        "tenant_id": tokens.tenant_id,
        "tenant_name": tokens.tenant_name,
        "token_type": tokens.token_type,
        "scopes": list(tokens.scopes),
        "access_token": tokens.access_token,
        "expires_at": tokens.expires_at,
        "refresh_token": tokens.refresh_token,
        "refresh_issued_at": tokens.refresh_issued_at,
    }
    return {k: v for k, v in data.items() if v is not None}  # TOML has no null


def _from_toml(data: Mapping[str, Any]) -> TokenSet:
    def when(key: str) -> datetime | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"{key} must be a date-time with an offset")
        return value

    expires_at = when("expires_at")
    if expires_at is None:
        raise KeyError("expires_at")
    return TokenSet(
        mode=str(data.get("mode", "oauth")),
        client_id=str(data["client_id"]),
        access_token=str(data["access_token"]),
        expires_at=expires_at,
        scopes=tuple(str(s) for s in data.get("scopes", ())),
        refresh_token=data.get("refresh_token"),
        refresh_issued_at=when("refresh_issued_at"),
        tenant_id=data.get("tenant_id"),
        tenant_name=data.get("tenant_name"),
        token_type=str(data.get("token_type", "Bearer")),
    )


def token_lock(path: Path, wait: float = LOCK_WAIT_SECONDS) -> AbstractContextManager[None]:
    """Hold `<store>.lock`. A separate file: the store itself is replaced on every save."""
    lock_path = path.with_name(path.name + ".lock")
    busy = f"another jobsync process has held the token lock {lock_path} for {wait:.0f} s; try again when it finishes"
    return file_lock.held(lock_path, wait, busy)


# -- the token endpoint ------------------------------------------------------------------------


def post_token(
    identity_url: str,
    client_id: str,
    client_secret: str,
    form: Mapping[str, str],
    *,
    invalid_grant: str,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """POST `{identity_url}/connect/token`; errors name the fix and never echo a secret."""
    url = identity_url.rstrip("/") + "/connect/token"
    try:
        resp = http.send(
            "POST",
            url,
            data=dict(form),
            auth=(client_id, client_secret),
            timeout=timeout,
            headers={"Accept": "application/json"},
        )
    except requests.RequestException as exc:
        raise UnreachableError(f"cannot reach Xero's token endpoint {url}: {exc.__class__.__name__}") from None
    error = _error_code(resp)
    if resp.status_code == 200 and not error:
        body = resp.json()
        if isinstance(body, dict) and body.get("access_token"):
            return body
        raise UnreachableError(f"Xero's token endpoint {url} answered without an access token")
    if error == "invalid_grant":
        raise UnreachableError(invalid_grant)
    if error in ("invalid_client", "unauthorized_client"):
        raise UnreachableError(
            f"Xero refused the app's credentials ({error}): check xero.auth.client_id and client_secret"
        )
    detail = f" ({error})" if error else ""
    raise UnreachableError(f"Xero's token endpoint {url} answered HTTP {resp.status_code}{detail}; try again later")


def _error_code(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    return str(body.get("error") or "") if isinstance(body, dict) else ""


def token_set(body: Mapping[str, Any], previous: TokenSet, now: datetime) -> TokenSet:
    """A token endpoint answer as the next TokenSet; tenant and anything unsent carry over."""
    scope = body.get("scope")
    # A custom connection renews with its client credentials; a stray refresh token is not kept.
    new_refresh = body.get("refresh_token") if previous.mode == "oauth" else None
    return replace(
        previous,
        access_token=str(body["access_token"]),
        expires_at=now + timedelta(seconds=float(body.get("expires_in", 1800))),
        scopes=tuple(str(scope).split()) if scope else previous.scopes,
        refresh_token=str(new_refresh) if new_refresh else previous.refresh_token,
        refresh_issued_at=now if new_refresh else previous.refresh_issued_at,
        token_type=str(body.get("token_type", "Bearer")),
    )


# -- fresh access tokens -----------------------------------------------------------------------


def app_credentials(app: XeroLogin) -> tuple[str, str]:
    if not app.client_id or not app.client_secret:
        raise ConfigError(
            "Xero OAuth needs the app's client id and secret",
            ["set xero.auth.client_id and xero.auth.client_secret (e.g. ${XERO_CLIENT_ID}, ${XERO_CLIENT_SECRET})"],
        )
    return app.client_id, app.client_secret


def _renew(app: XeroLogin, tokens: TokenSet, now: datetime, timeout: float) -> TokenSet:
    client_id, secret = app_credentials(app)
    if tokens.client_id != client_id:
        raise UnreachableError(f"the stored Xero login belongs to another app (client id differs); {LOGIN_FIX}")
    if tokens.mode == "client_credentials":
        form = {"grant_type": "client_credentials"}
    elif tokens.refresh_token:
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    else:
        raise UnreachableError(f"the stored Xero login has no refresh token (offline_access); {LOGIN_FIX}")
    lapsed = (
        "Xero refused the stored refresh token (invalid_grant): it lapsed after 60 days unused, was revoked, "
        f"or another copy of the token store used it; {LOGIN_FIX}"
    )
    body = post_token(app.identity_url, client_id, secret, form, invalid_grant=lapsed, timeout=timeout)
    return token_set(body, tokens, now)


def fresh_tokens(app: XeroLogin, clock: Clock = utc_now, timeout: float = 30.0) -> TokenSet:
    """The stored set, refreshed and saved first (under the token lock) when within 60 s of expiry."""
    vault = app.tokens
    with vault.lock(LOCK_WAIT_SECONDS):
        tokens = load_from(vault)  # read under the lock: another process may just have rotated it
        if tokens is None:
            raise UnreachableError(f"no Xero login is stored at {vault.where}; run `jobsync auth login`")
        if tokens.fresh(clock()):
            return tokens
        renewed = _renew(app, tokens, clock(), timeout)
        crashpoints.reach(TOKEN_SAVE_POINT)
        save_to(vault, renewed)  # before the new access token is used: the old refresh token is spent
        return renewed


def renew_if_lapsing(app: XeroLogin, within: timedelta, clock: Clock = utc_now, timeout: float = 30.0) -> bool:
    """Renew the stored login when its refresh token lapses within `within`; True when it did.

    Runs only refresh when they call Xero, so a quiet month would otherwise let the token lapse at 60
    days. Under the token lock, like every refresh; a login without a refresh token is left alone.
    """
    vault = app.tokens
    with vault.lock(LOCK_WAIT_SECONDS):
        tokens = load_from(vault)
        lapses = tokens.refresh_lapses_at if tokens is not None else None
        if tokens is None or lapses is None or lapses - clock() > within:
            return False
        renewed = _renew(app, tokens, clock(), timeout)
        crashpoints.reach(TOKEN_SAVE_POINT)
        save_to(vault, renewed)
        return True


def oauth_provider(app: XeroLogin, clock: Clock = utc_now, timeout: float = 30.0) -> Callable[[], str]:
    """`() -> access token` for the Xero client; the SDK asks before every request."""
    app_credentials(app)  # a missing client id/secret is a config error before any request
    held: list[TokenSet] = []

    def provide() -> str:
        # Only touch the disk and the lock when the token held in memory is about to expire.
        if not held or not held[0].fresh(clock()):
            held[:] = [fresh_tokens(app, clock, timeout)]
        return held[0].access_token

    return provide


def stored_tenant(app: XeroLogin) -> str | None:
    """The organisation chosen at `jobsync auth login`, if any."""
    tokens = load_from(app.tokens)
    return tokens.tenant_id if tokens else None


# -- status ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenStatus:
    where: str  # the vault: a file's path, or the practice database and the org's key
    mode: str
    tenant_id: str | None
    tenant_name: str | None
    scopes: tuple[str, ...]
    access_expires_at: datetime
    access_seconds_left: float
    refresh_lapses_at: datetime | None
    refresh_days_left: float | None


def token_status(app: XeroLogin, now: datetime) -> TokenStatus | None:
    """What `jobsync auth status` and `doctor` show; reads the store, calls nothing."""
    tokens = load_from(app.tokens)
    if tokens is None:
        return None
    lapses = tokens.refresh_lapses_at
    return TokenStatus(
        where=app.tokens.where,
        mode=tokens.mode,
        tenant_id=tokens.tenant_id,
        tenant_name=tokens.tenant_name,
        scopes=tokens.scopes,
        access_expires_at=tokens.expires_at,
        access_seconds_left=(tokens.expires_at - now).total_seconds(),
        refresh_lapses_at=lapses,
        refresh_days_left=None if lapses is None else (lapses - now).total_seconds() / 86400,
    )
