"""Rules, pricing and billing are parsed once, when the config loads, into frozen values; every consumer
reads those. A bad rule is a config error with its YAML line, like any other key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from jobsync.config import sections
from jobsync.config.settings import config_hash, load_settings
from jobsync.core.errors import ConfigError

CONFIG = """\
xero:
  tenant_id: t-1
  auth: {mode: static_token, token: sandbox}
source:
  type: csv
  path: jobs.csv
  columns: {job_number: Job, client_name: Client, description: Item, quantity: Qty, unit_price: Price}
rules:
  lines:
    - name: labour
      when: {kind: labour}
      account_code: "200"
  default:
    account_code: "260"
  pricing:
    labour_rate: "95.00"
billing:
  stages:
    - {name: deposit, status: booked, percent: "30", account_code: "835"}
    - {name: final, status: completed, remainder: true}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobsync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loading_parses_each_section_once_and_consumers_share_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"rules": 0, "billing": 0}
    real_rules, real_billing = sections.load_rules, sections.load_billing

    def counted_rules(raw: object) -> object:
        calls["rules"] += 1
        return real_rules(raw)

    def counted_billing(raw: object) -> object:
        calls["billing"] += 1
        return real_billing(raw)

    monkeypatch.setattr(sections, "load_rules", counted_rules)
    monkeypatch.setattr(sections, "load_billing", counted_billing)
    settings = load_settings(_write(tmp_path, CONFIG), env={})
    first, again = settings.ruleset, settings.ruleset
    assert first is again
    assert settings.billing_policy is settings.billing_policy
    assert calls == {"rules": 1, "billing": 1}
    assert [r.name for r in first.lines] == ["labour"]
    assert [s.name for s in settings.billing_policy.stages] == ["deposit", "final"]  # type: ignore[union-attr]
    assert str(first.pricing.labour_rate) == "95.00"


def test_the_parsed_forms_are_frozen_and_stay_out_of_dumps_and_the_hash(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, CONFIG), env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.ruleset.default = settings.ruleset.default  # type: ignore[misc]
    dumped = settings.model_dump()
    assert "parsed_rules" not in dumped and "parsed_billing" not in dumped
    assert dumped["rules"]["default"] == {"account_code": "260"}
    other = load_settings(_write(tmp_path, CONFIG.replace('"260"', '"261"')), env={})
    assert config_hash(other) != config_hash(settings)


def test_a_bad_rule_is_a_config_error_with_its_yaml_line(tmp_path: Path) -> None:
    bad = CONFIG.replace("when: {kind: labour}", "when: {kind: labour, colour: red}")
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, bad), env={})
    assert any("line 11" in p and "colour" in p for p in caught.value.problems), caught.value.problems
