"""Who is signed in to the console: a signed session cookie, its CSRF token, and sign-in throttling.

The cookie holds the user's name and a random CSRF token, signed (itsdangerous) with a key from
`JOBSYNC_CONSOLE_KEY` or, without it, a random key kept beside the state file (mode 0600), so sessions
survive a restart. It is HttpOnly and SameSite=Lax always, and Secure whenever the request came over
HTTPS (the reverse proxy's X-Forwarded-Proto, which uvicorn trusts from loopback). The role is read
from the state on every request, so a removed or downgraded user loses access at once.

Failed sign-ins are throttled per name and per address: after 5 for one name, or 20 from one address
(an office behind one router shares it), in 15 minutes, the next attempts are refused whatever the
password, until the window moves on.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from jobsync.runtime.private_files import write_private

COOKIE = "jobsync_session"
LOGIN_COOKIE = "jobsync_login_csrf"  # double-submit token for the sign-in form (no session yet)
MAX_AGE = 12 * 3600
KEY_ENV = "JOBSYNC_CONSOLE_KEY"
PER_NAME, PER_ADDRESS, WINDOW = 5, 20, 15 * 60


@dataclass(frozen=True)
class Session:
    user: str
    csrf: str


def signing_key(state_path: Path) -> str:
    """The key from the environment, else one made once and kept beside the state file (0600)."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV]
    path = state_path.with_name(state_path.stem + ".console-key")
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(32)
        write_private(path, key + "\n")
        return key


class Sessions:
    def __init__(self, key: str) -> None:
        self._signer = URLSafeTimedSerializer(key, salt="jobsync-console")

    def issue(self, user: str) -> tuple[str, Session]:
        session = Session(user, secrets.token_urlsafe(24))
        return self._signer.dumps({"u": session.user, "c": session.csrf}), session

    def read(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=MAX_AGE)
        except BadSignature:  # also an expired one (SignatureExpired is a BadSignature)
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), str) or not isinstance(data.get("c"), str):
            return None
        return Session(data["u"], data["c"])


def same_token(given: object, expected: str) -> bool:
    return isinstance(given, str) and bool(given) and hmac.compare_digest(given.encode(), expected.encode())


class Throttle:
    """Failed sign-ins per key ("name:..." or "addr:...") in a sliding window."""

    def __init__(self, per_name: int = PER_NAME, per_address: int = PER_ADDRESS, window: float = WINDOW) -> None:
        self.per_name, self.per_address, self.window = per_name, per_address, window
        self._failed: dict[str, deque[float]] = {}

    def _limit(self, key: str) -> int:
        return self.per_address if key.startswith("addr:") else self.per_name

    def _recent(self, key: str) -> deque[float]:
        seen = self._failed.setdefault(key, deque())
        now = time.monotonic()
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        return seen

    def blocked(self, *keys: str) -> bool:
        return any(len(self._recent(k)) >= self._limit(k) for k in keys)

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._recent(key).append(time.monotonic())

    def cleared(self, *keys: str) -> None:
        for key in keys:
            self._failed.pop(key, None)
