from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobsync.config.settings import config_hash, load_settings, redacted_settings
from jobsync.core.errors import ConfigError, ExitCode

REPO = Path(__file__).resolve().parents[1]
ENV = {"XERO_TENANT_ID": "tenant-1", "XERO_ACCESS_TOKEN": "s3cret-token"}

MINIMAL = """\
xero:
  auth:
    mode: static_token
    token: ${TOKEN}
source:
  type: csv
  path: data/jobs.csv
  columns:
    job_number: Job
    client_name: Client
    description: Desc
    quantity: Qty
    unit_price: Price
rules:
  default:
    account_code: "200"
    tax_type: OUTPUT
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_settings(path, env=env or {})
    assert err.value.exit_code is ExitCode.BAD_CONFIG
    return err.value.problems


def test_example_config_loads() -> None:
    s = load_settings(REPO / "config.example.yaml", env=ENV)
    assert s.xero.tenant_id == "tenant-1"
    assert s.xero.auth.mode == "static_token" and s.xero.auth.token == "s3cret-token"
    assert s.xero.api_url == "https://api.xero.com/api.xro/2.0"
    assert s.xero.payment_terms_days == 14 and s.xero.max_invoices_per_run == 200
    assert s.source.type == "csv" and s.source.name == "csv"
    assert s.source.path == REPO / "jobs.csv"
    # A date means midnight in the source's timezone (AEDT, +11:00, in November).
    assert s.source.start_from == datetime(2026, 10, 31, 13, 0, tzinfo=UTC)
    assert s.source.statuses == ("Completed",)
    assert s.source.columns.discount_percent == "Discount %" and s.source.columns.job_type is None
    assert s.rules["default"]["account_code"] == "200"
    assert s.state.path == REPO / "jobsync-state.db" and s.reports.dir == REPO / "reports"
    assert s.notify is None


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, MINIMAL), env={"TOKEN": "t"})
    with pytest.raises(ValueError):
        s.xero.invoice_status = "AUTHORISED"  # type: ignore[misc]


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, MINIMAL), env={"TOKEN": "t"})
    assert s.source.path == tmp_path / "data" / "jobs.csv"
    assert s.state.path == tmp_path / "jobsync-state.db"
    assert s.reports.dir == tmp_path / "reports"
    assert s.source.timezone == "UTC" and s.source.overlap_minutes == 1440
    assert s.source.start_from is None and s.xero.invoice_status == "DRAFT"
    assert s.xero.identity_url == "https://identity.xero.com"


def test_path_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write(tmp_path, MINIMAL, "a.yaml")
    write(tmp_path, MINIMAL.replace("data/jobs.csv", "b.csv"), "jobsync.yaml")
    env = {"TOKEN": "t", "JOBSYNC_CONFIG": str(a)}
    assert load_settings(None, env=env).config_path == a
    monkeypatch.chdir(tmp_path)
    assert load_settings(None, env={"TOKEN": "t"}).source.path == tmp_path / "b.csv"
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "nope.yaml", env={})
    assert "nope.yaml" in str(err.value) and "JOBSYNC_CONFIG" in str(err.value)


def test_env_interpolation_and_defaults(tmp_path: Path) -> None:
    text = MINIMAL.replace("type: csv", "type: csv\n  name: ${SRC_NAME:-shop}\n  timezone: ${TZ_NAME:-UTC}")
    s = load_settings(write(tmp_path, text), env={"TOKEN": "abc", "TZ_NAME": "Australia/Perth"})
    assert s.xero.auth.token == "abc" and s.source.name == "shop" and s.source.timezone == "Australia/Perth"


def test_every_problem_reported_with_its_line(tmp_path: Path) -> None:
    bad = """\
    xero:
      invoice_status: DRAF
      payment_terms_days: -1
      auth:
        mode: static_token
        token: ${MISSING_TOKEN}
      colour: blue
    source:
      type: csv
      timezone: Mars/Base
      start_from: 2026-13-01
      columns:
        job_number: Job
        jobnumber: Job
    rules:
      lines:
        - name: x
          when: {kind: labour}
    """
    problems = problems_of(write(tmp_path, bad))
    text = "\n".join(problems)
    assert "config.yaml line 2: xero.invoice_status: must be DRAFT or AUTHORISED (got 'DRAF')" in problems
    assert any(p.startswith("config.yaml line 3: xero.payment_terms_days:") for p in problems)
    assert any(p.startswith("config.yaml line 6: xero.auth.token:") and "MISSING_TOKEN" in p for p in problems)
    assert "config.yaml line 7: xero.colour: unknown key" in text
    assert any(p.startswith("config.yaml line 10: source.timezone:") for p in problems)
    assert any(p.startswith("config.yaml line 11: source.start_from:") for p in problems)
    assert "config.yaml line 14: source.columns.jobnumber: unknown key" in text
    assert "source.columns.unit_price: required" in text and "source.path: required" in text
    # rules.py's own problems arrive in the same error, with lines.
    assert any(p.startswith("config.yaml line 17: rules.lines[0].account_code") for p in problems)
    assert "rules.default" in text
    # The unset variable is reported once, not again as a missing token.
    assert sum("xero.auth.token" in p for p in problems) == 1
    lines = [int(p.split(" line ")[1].split(":")[0]) for p in problems if " line " in p]
    assert lines == sorted(lines)


def test_duplicate_keys_and_bad_yaml(tmp_path: Path) -> None:
    dup = MINIMAL.replace("  path: data/jobs.csv", "  path: data/jobs.csv\n  path: other.csv")
    assert any(
        "line 8: source.path: duplicate key (first on line 7)" in p
        for p in problems_of(write(tmp_path, dup), {"TOKEN": "t"})
    )
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "xero: [unclosed\n", "broken.yaml"), env={})


def test_auth_mode_requirements(tmp_path: Path) -> None:
    text = MINIMAL.replace("mode: static_token", "mode: client_credentials").replace("${TOKEN}", "x")
    text = text.replace("    token: x\n", "")
    problems = problems_of(write(tmp_path, text))
    assert any("xero.auth.client_id: required when xero.auth.mode is client_credentials" in p for p in problems)
    assert any("xero.auth.client_secret: required" in p for p in problems)


def test_start_from_forms(tmp_path: Path) -> None:
    base = MINIMAL.replace("type: csv", "type: csv\n  timezone: Australia/Sydney\n  start_from: WHEN")
    for given, want in [
        ("2026-06-01", datetime(2026, 5, 31, 14, 0, tzinfo=UTC)),  # AEST, +10:00
        ("2026-06-01T09:00:00", datetime(2026, 5, 31, 23, 0, tzinfo=UTC)),
        ("2026-06-01T09:00:00Z", datetime(2026, 6, 1, 9, 0, tzinfo=UTC)),
        ("'2026-06-01'", datetime(2026, 5, 31, 14, 0, tzinfo=UTC)),
    ]:
        s = load_settings(write(tmp_path, base.replace("WHEN", given)), env={"TOKEN": "t"})
        assert s.source.start_from == want, given
        assert s.source.start_from.utcoffset() is not None


def test_notify_section(tmp_path: Path) -> None:
    text = MINIMAL + textwrap.dedent("""\
    notify:
      slack_webhook_url: ${SLACK}
      email:
        smtp_host: localhost
        from: jobsync@example.com
        to: books@example.com
        password: ${SMTP_PASSWORD}
      on: [failure]
    """)
    s = load_settings(write(tmp_path, text), env={"TOKEN": "t", "SLACK": "https://hooks/x", "SMTP_PASSWORD": "pw"})
    assert s.notify is not None and s.notify.email is not None
    assert s.notify.email.sender == "jobsync@example.com" and s.notify.email.to == ("books@example.com",)
    assert s.notify.email.smtp_port == 587 and s.notify.on == ("failure",)
    problems = problems_of(
        write(tmp_path, text.replace("[failure]", "[sometimes]")),
        {"TOKEN": "t", "SLACK": "u", "SMTP_PASSWORD": "pw"},
    )
    assert any("notify.on[0]: must be" in p for p in problems)


def test_redaction_and_hash(tmp_path: Path) -> None:
    s = load_settings(REPO / "config.example.yaml", env=ENV)
    dump = redacted_settings(s)
    assert "s3cret-token" not in str(dump) and dump["xero"]["auth"]["token"] == "***"
    assert dump["xero"]["tenant_id"] == "tenant-1"
    h = config_hash(s)
    assert len(h) == 12
    # Rotating a secret does not change the hash; changing behaviour does.
    assert config_hash(load_settings(REPO / "config.example.yaml", env={**ENV, "XERO_ACCESS_TOKEN": "new"})) == h
    changed = s.model_copy(update={"xero": s.xero.model_copy(update={"payment_terms_days": 30})})
    assert config_hash(changed) != h


def test_config_path_is_not_a_key(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, MINIMAL + "config_path: /etc\n"), {"TOKEN": "t"})
    assert any("config_path: unknown key" in p for p in problems)


def test_start_from_is_aware_datetime_type(tmp_path: Path) -> None:
    s = load_settings(
        write(tmp_path, MINIMAL.replace("type: csv", "type: csv\n  start_from: 2026-01-01")),
        env={"TOKEN": "t"},
    )
    assert s.source.start_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert s.source.start_from.utcoffset() == timedelta(0)


def test_env_references_come_from_values_not_comments() -> None:
    from jobsync.config.settings import env_references

    text = "# write ${IN_A_COMMENT} for secrets\nxero:\n  token: ${TOKEN}  # not ${ALSO_COMMENT}\n  x: ${OPT:-}\n"
    assert env_references(text) == [("TOKEN", False), ("OPT", True)]


def test_every_secret_is_redacted_wherever_it_sits(tmp_path: Path) -> None:
    """Secrets under serve: (a receiver per name), ServiceM8's OAuth app and AroFlo's org credential
    are found by their names, so a secret field added later is covered without a list to keep."""
    oauth = "\n  servicem8_oauth:\n    client_id: app\n    client_secret: ${S1}"
    text = MINIMAL.replace("type: csv", "type: csv" + oauth)
    text += textwrap.dedent("""\
    serve:
      servicem8_secret: ${S2}
      servicem8_app_secret: ${S3}
      xero_webhook_key: ${S4}
      signed:
        inhouse:
          secret: ${S5}
          header: X-Sig
    """)
    secrets = {f"S{n}": f"secret-value-number-{n}-0123456789abcdef" for n in range(1, 6)}
    s = load_settings(write(tmp_path, text), env={"TOKEN": "tok-0123456789", **secrets})
    dump = str(redacted_settings(s))
    assert not [v for v in [*secrets.values(), "tok-0123456789"] if v in dump]
    assert "X-Sig" in dump and "'client_id': 'app'" in dump  # names and headers are not secrets
    rotated = load_settings(write(tmp_path, text), env={"TOKEN": "other", **{k: v + "x" for k, v in secrets.items()}})
    assert config_hash(rotated) == config_hash(s)
