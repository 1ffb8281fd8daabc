"""The `serve:` section: where `jobsync serve` listens and the secrets its webhook receivers check.

Every secret is meant to come from the environment (`${JOBSYNC_SM8_WEBHOOK_SECRET}` and so on): the
config loader fills `${NAME}` from it, so the file itself holds none.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jobsync.config.fields import minutes


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SignedReceiverSettings(_Section):
    """`/webhooks/signed/{name}`: an HMAC-SHA256 of the raw body with a shared secret."""

    secret: str = Field(min_length=16)
    header: str = "X-Signature"
    encoding: Literal["hex", "base64"] = "hex"
    timestamp_header: str | None = None  # set: the MAC covers "<timestamp>.<body>" and old ones are refused
    tolerance_seconds: int = Field(default=300, ge=1, le=86_400)


class ServeSettings(_Section):
    host: str = "127.0.0.1"  # loopback by default: put a TLS reverse proxy in front
    port: int = Field(default=8750, ge=1, le=65535)
    # The long random secret in /webhooks/servicem8/{secret}; without it the route answers 404.
    servicem8_secret: str | None = Field(default=None, min_length=32)
    servicem8_app_secret: str | None = None  # checks metadata.signature when an event carries one
    xero_webhook_key: str | None = None  # Xero's webhook signing key; without it /webhooks/xero is 404
    signed: dict[str, SignedReceiverSettings] = {}
    poll_minutes: int = minutes(15)  # the reconciliation poll the service keeps running
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=16 * 1_048_576)
    rate_per_minute: int = Field(default=600, ge=1, le=1_000_000)  # per receiver; past it: 429
    metrics_token: str | None = None  # set: /metrics needs `Authorization: Bearer <token>`
