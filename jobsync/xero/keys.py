"""Idempotency keys: the same request body always carries the same key."""

from __future__ import annotations

import hashlib


def idempotency_key(tenant_id: str, body: bytes) -> str:
    """Hash of tenant + exact body (ARCHITECTURE.md), so a retry resends the same key.

    64 hex characters, well inside Xero's 128-character limit.
    """
    digest = hashlib.sha256()
    digest.update(tenant_id.encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()
