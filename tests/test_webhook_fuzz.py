"""Hypothesis over webhook bodies and headers: the receivers never raise, and nothing unsigned is kept."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobsync.app import webhooks
from jobsync.config.settings import load_settings
from jobsync.core import webhook_events
from jobsync.samples import csv_source, sandbox_config

SECRET = "p" * 40
RULES = {"lines": [], "default": {"account_code": "200", "tax_type": "OUTPUT"}}
HEADERS = st.dictionaries(
    st.sampled_from(["x-xero-signature", "x-signature", "x-ts", "content-type", "x-other"]),
    st.text(max_size=80),
    max_size=4,
)
BODIES = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(str.encode),
    st.sampled_from([b'{"object":"job","entry":[{"uuid":"u1"}]}', b'{"events":[{"eventCategory":"INVOICE"}]}', b"[]"]),
)


def _settings(tmp_path: Path) -> object:
    serve = {
        "servicem8_secret": SECRET,
        "xero_webhook_key": "k" * 20,
        "signed": {"a": {"secret": "s" * 20, "header": "X-Signature", "timestamp_header": "X-Ts"}},
    }
    text = sandbox_config("http://127.0.0.1:9/api.xro/2.0", "http://127.0.0.1:9", "t", csv_source(), RULES, serve=serve)
    path = tmp_path / "jobsync.yaml"
    path.write_text(text)
    return load_settings(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, headers=HEADERS)
def test_no_body_or_header_crashes_a_receiver_or_keeps_an_unsigned_event(
    tmp_path: Path, body: bytes, headers: dict[str, str]
) -> None:
    config = _settings(tmp_path)
    now = datetime.now(UTC)
    for verdict in (
        webhooks.xero(config, body, headers),  # type: ignore[arg-type]
        webhooks.signed(config, "a", body, headers, now),  # type: ignore[arg-type]
        webhooks.servicem8(config, "wrong-secret", body, headers),  # type: ignore[arg-type]
    ):
        assert verdict.status in (401, 404)
    for parse in (webhook_events.servicem8, webhook_events.xero):
        parse(body)  # never raises, whatever the bytes
    state = tmp_path / "state.db"
    if state.exists():
        with sqlite3.connect(state) as db:
            assert db.execute("SELECT count(*) FROM inbox").fetchone()[0] == 0
