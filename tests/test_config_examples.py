"""The commented examples in config.example.yaml are valid when uncommented, so copying one works."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jobsync.core.billing import load_billing
from jobsync.core.rules import load_rules

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.yaml"
# Commented lines that belong to the rules and billing examples (not prose comments).
_EXAMPLE_LINE = re.compile(
    r"^(\s*)# (\s*- name: |\s+when: |\s+account_code: |\s+tax_type: |\s+tracking:|\s+- \{ category|"
    r"\s+description: \"|\s+unitdp: |\s+exclude: |billing:|\s+stages:|\s+- \{ name: )(.*)$"
)


def _uncommented() -> dict:  # type: ignore[type-arg]
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        m = _EXAMPLE_LINE.match(line)
        lines.append(m.group(1) + m.group(2) + m.group(3) if m else line)
    return yaml.safe_load("\n".join(lines))


def test_rule_language_examples_load() -> None:
    rules = load_rules(_uncommented()["rules"])
    names = [r.name for r in rules.lines]
    assert "commercial HVAC, tracked by region and crew" in names and "no internal notes on invoices" in names
    hvac = next(r for r in rules.lines if r.name.startswith("commercial HVAC"))
    assert len(hvac.tracking) == 2 and hvac.unitdp == 4


def test_staged_billing_example_loads_with_a_final_remainder() -> None:
    policy = load_billing(_uncommented()["billing"])
    assert policy is not None
    assert [s.name for s in policy.stages] == ["deposit", "progress", "final"]
    assert policy.stages[-1].remainder


def test_the_committed_schema_is_the_one_the_settings_model_gives() -> None:
    import json

    from jobsync.app.init_config import settings_schema

    committed = json.loads((EXAMPLE.parent / "docs" / "config.schema.json").read_text())
    assert committed == settings_schema(), "run `jobsync config schema > docs/config.schema.json`"
    assert EXAMPLE.read_text().startswith("# yaml-language-server: $schema=docs/config.schema.json")
