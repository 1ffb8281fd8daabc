"""Webhook signatures, checked in constant time: Xero's, ServiceM8's and a generic HMAC-SHA256.

- Xero: `x-xero-signature` is the base64 HMAC-SHA256 of the raw body, keyed with the webhook key.
- ServiceM8: the event's `metadata.signature`, when present. [UNVERIFIED] assumed to be the hex
  HMAC-SHA256 of the raw body keyed with the app secret; ServiceM8's spec names the field, not the
  construction. Its object webhooks carry none, so the long secret in the path is always required too.
- Generic: HMAC-SHA256 of the raw body (or of "<timestamp>.<body>" when a timestamp header is set),
  hex or base64, in a configurable header; a timestamp outside the tolerance is refused (a replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta


def _mac(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode(), message, hashlib.sha256).digest()


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def xero_valid(body: bytes, key: str, header: str | None) -> bool:
    if not header or not key:
        return False
    return same(header.strip(), base64.b64encode(_mac(key, body)).decode())


def hmac_valid(body: bytes, secret: str, given: str | None, encoding: str) -> bool:
    if not given or not secret:
        return False
    digest = _mac(secret, body)
    expected = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    value = given.strip()
    if encoding == "hex" and value.lower().startswith("sha256="):
        value = value[7:]
    return same(value.lower() if encoding == "hex" else value, expected)


def timestamp_fresh(value: str | None, now: datetime, tolerance: timedelta) -> bool:
    """A Unix-seconds timestamp within `tolerance` of now, either way."""
    try:
        sent = float(str(value).strip())
    except ValueError:
        return False
    return abs(now.timestamp() - sent) <= tolerance.total_seconds()
