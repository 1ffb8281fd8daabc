"""A config value of any length is quoted cut short: each problem stays one readable line
(found by `make fuzz`: a 700-character xero.reference_template was echoed whole)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobsync.config.settings import load_settings
from jobsync.core.errors import ConfigError

BASE = """\
xero:
  tenant_id: t-1
  auth: {mode: static_token, token: sandbox}
  reference_template: "%s"
  date_format: "%s"
source:
  type: csv
  path: jobs.csv
  columns: {job_number: Job, client_name: Client, description: Item, quantity: Qty, unit_price: Price}
rules:
  lines:
    - name: "%s"
      when: {kind: "%s", description: "%s"}
      account_code: "200"
    - name: "%s"
      account_code: "200"
  default: {account_code: "200"}
"""


def test_every_problem_quoting_a_huge_value_stays_one_short_line(tmp_path: Path) -> None:
    huge = "A" * 700
    text = BASE % (huge, huge, huge, huge, "(" + huge, huge)
    path = tmp_path / "jobsync.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    problems = caught.value.problems
    assert len(problems) >= 5, problems
    assert all(len(p) <= 300 for p in problems), [len(p) for p in problems]
    assert any("reference_template" in p for p in problems)
    assert any("already used" in p for p in problems) and any("bad regex" in p for p in problems)
