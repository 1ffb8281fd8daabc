"""Every org's Xero token set in the practice's PostgreSQL, sealed at rest with Fernet.

The keys come from `JOBSYNC_TOKEN_KEYS` (comma-separated, newest first): the newest seals, any of them
unseals, so a new key is put in front, `jobsync orgs rotate-keys` re-seals every row with it, and the
old key is then dropped, with no org authorising again (cryptography's MultiFernet does exactly this).
The database alone never holds enough to use a token.

A refresh holds a session advisory lock keyed by the org, so two workers never spend one refresh token
and one org's refresh never waits on another's. A connection that dies releases its lock with it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from jobsync.core.errors import ConfigError, LockedError, UnreachableError
from jobsync.state.postgres import server_said

KEYS_ENV = "JOBSYNC_TOKEN_KEYS"
_TABLE = """
CREATE TABLE IF NOT EXISTS jobsync_tokens (
    org TEXT PRIMARY KEY, sealed BYTEA NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


def new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def sealer(env: Mapping[str, str] | None = None) -> Any:
    """The MultiFernet made from `JOBSYNC_TOKEN_KEYS`; a missing or malformed key names the fix."""
    from cryptography.fernet import Fernet, MultiFernet

    raw = (os.environ if env is None else env).get(KEYS_ENV, "")
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    fix = f"set {KEYS_ENV} to one or more Fernet keys, newest first (`jobsync orgs new-key` makes one)"
    if not keys:
        raise ConfigError("no key to seal the practice's Xero tokens with", [fix])
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError:
        raise ConfigError(f"a key in {KEYS_ENV} is not a Fernet key (32 url-safe base64 bytes)", [fix]) from None


def _connect(url: str) -> Any:
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        conn.execute(_TABLE)
    except psycopg.Error as exc:
        raise UnreachableError(
            f"the practice database holding the Xero tokens did not answer: {server_said(exc)}"
        ) from None
    return conn


@dataclass(frozen=True)
class DatabaseVault:
    """One org's sealed token set (a `jobsync.xero.token_store.TokenVault`)."""

    url: str = field(repr=False)  # may carry a password
    org: str
    keys: Any = field(repr=False, compare=False)

    @property
    def where(self) -> str:
        return f"the practice database (org {self.org})"

    def read(self) -> bytes | None:
        from cryptography.fernet import InvalidToken

        with _connect(self.url) as conn:
            found = conn.execute("SELECT sealed FROM jobsync_tokens WHERE org = %s", (self.org,)).fetchone()
        if found is None:
            return None
        try:
            return bytes(self.keys.decrypt(bytes(found[0])))
        except InvalidToken:
            raise UnreachableError(
                f"the Xero tokens of org {self.org} were sealed with a key not in {KEYS_ENV}: "
                "put that key back in the list (after the newest)"
            ) from None

    def write(self, data: bytes) -> None:
        with _connect(self.url) as conn:
            conn.execute(
                "INSERT INTO jobsync_tokens (org, sealed) VALUES (%s, %s) ON CONFLICT (org) DO UPDATE"
                " SET sealed = excluded.sealed, updated_at = now()",
                (self.org, self.keys.encrypt(data)),
            )

    def lock(self, wait: float) -> AbstractContextManager[None]:
        return _org_lock(self.url, self.org, wait)


@contextmanager
def _org_lock(url: str, org: str, wait: float) -> Iterator[None]:
    conn = _connect(url)
    try:
        deadline = time.monotonic() + wait
        key = f"jobsync-token:{org}"
        while not conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise LockedError(f"another worker has held org {org}'s token lock for {wait:.0f} s; try again")
            time.sleep(0.05)
        yield
    finally:
        conn.close()  # closing the session releases its advisory lock


def rotate(url: str, keys: Any) -> int:
    """Re-seal every org's tokens with the newest key; returns how many were re-sealed."""
    from cryptography.fernet import InvalidToken

    done = 0
    with _connect(url) as conn:
        for (org,) in conn.execute("SELECT org FROM jobsync_tokens ORDER BY org").fetchall():
            with _org_lock(url, str(org), 60):  # read again under the lock: a refresh may just have saved
                sealed = conn.execute("SELECT sealed FROM jobsync_tokens WHERE org = %s", (org,)).fetchone()[0]
                try:
                    fresh = keys.rotate(bytes(sealed))
                except InvalidToken:
                    raise UnreachableError(
                        f"org {org}'s tokens were sealed with a key not in {KEYS_ENV}; nothing after it was re-sealed"
                    ) from None
                conn.execute("UPDATE jobsync_tokens SET sealed = %s, updated_at = now() WHERE org = %s", (fresh, org))
            done += 1
    return done
