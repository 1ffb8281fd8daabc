"""A config value of any length is quoted cut short: each problem stays one readable line
(found by `make fuzz`: a 700-character xero.reference_template was echoed whole)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jobsync.config.settings import load_settings
from jobsync.core.errors import ConfigError


def _config(huge: str) -> str:
    source = {"type": "csv", "path": "jobs.csv", "columns": {"job_number": "Job", "client_name": "Client"}}
    source["columns"].update({"description": "Item", "quantity": "Qty", "unit_price": "Price"})
    xero = {"tenant_id": "t-1", "auth": {"mode": "static_token", "token": "sandbox"}}
    xero.update({"reference_template": huge, "date_format": huge})
    when = {"kind": huge, "description": "(" + huge}
    lines = [{"name": huge, "when": when, "account_code": "200"}, {"name": huge, "account_code": "200"}]
    return yaml.safe_dump(
        {"xero": xero, "source": source, "rules": {"lines": lines, "default": {"account_code": "200"}}}
    )


def test_every_problem_quoting_a_huge_value_stays_one_short_line(tmp_path: Path) -> None:
    path = tmp_path / "jobsync.yaml"
    path.write_text(_config("A" * 700), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    problems = caught.value.problems
    assert len(problems) >= 5, problems
    assert all(len(p) <= 300 for p in problems), [len(p) for p in problems]
    assert any("reference_template" in p for p in problems)
    assert any("already used" in p for p in problems) and any("bad regex" in p for p in problems)
