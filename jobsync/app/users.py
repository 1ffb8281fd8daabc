"""The console's users: `jobsync users add NAME --role bookkeeper|viewer`, and checking a sign-in.

Passwords are hashed with argon2id (argon2-cffi, its default parameters); only the hash is stored.
A sign-in for a name that does not exist still verifies against a fixed hash, so the time taken does
not tell an attacker which names exist.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from jobsync.config.settings import Settings
from jobsync.core.errors import ConfigError
from jobsync.state.console_rows import ROLES
from jobsync.state.store import State

_hasher = PasswordHasher()


@functools.cache
def _nobody() -> str:
    """A hash to verify against when the name is unknown; made once, when first needed (it costs
    as much as a real check, which is the point, so not at import)."""
    return _hasher.hash("no such user: the time a failed check takes must not depend on the name")


MIN_PASSWORD = 12


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_act(self) -> bool:
        return self.role == "bookkeeper"


def add(settings: Settings, name: str, role: str, password: str, by: str) -> User:
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise ConfigError("a user name is 1 to 64 characters, without spaces")
    if role not in ROLES:
        raise ConfigError(f"--role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password must be at least {MIN_PASSWORD} characters")
    with State.open(settings.state.location) as state:
        before = state.user(name)
        state.put_user(name, role, _hasher.hash(password))
        state.audit(by, "user add" if before is None else "user update", f"user:{name}", before and before.role, role)
    return User(name, role)


def remove(settings: Settings, name: str, by: str) -> None:
    """The user can no longer sign in, and any session they hold stops working at its next request."""
    with State.open(settings.state.location) as state:
        before = state.user(name)
        if before is None or not state.remove_user(name):
            raise ConfigError(f"no console user {name!r}", ["see `jobsync users list`"])
        state.audit(by, "user remove", f"user:{name}", before.role, None)


def check(settings: Settings, name: str, password: str) -> User | None:
    """The user, when the password is theirs; None otherwise (never says which part was wrong)."""
    with State.open(settings.state.location) as state:
        row = state.user(name)
    try:
        _hasher.verify(row.password_hash if row else _nobody(), password)
    except (VerificationError, InvalidHashError):
        return None
    return User(row.name, row.role) if row else None


def listed(settings: Settings) -> list[User]:
    with State.open(settings.state.location) as state:
        return [User(n, r) for n, r in state.user_names()]


def find(settings: Settings, name: str) -> User | None:
    """The user as the state holds them now (a removed or downgraded user is seen at once)."""
    with State.open(settings.state.location) as state:
        row = state.user(name)
    return User(row.name, row.role) if row else None


def audit(settings: Settings, who: str, action: str, subject: str | None, before: object, after: object) -> None:
    """One line of the console's audit log: who, when (the state's clock), what, before and after."""
    with State.open(settings.state.location) as state:
        state.audit(who, action, subject, before, after)
