"""`ruff format` at the project's line length is the house style, and nothing opts out of it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ("jobsync", "tests", "scripts", "benchmarks")
# Built from parts so this file does not match itself.
OPT_OUT = re.compile("# fmt: " + "(skip|off|on)")


def test_every_python_file_is_as_ruff_format_writes_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *TREES], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_file_opts_out_of_the_formatter() -> None:
    marked = [
        f"{path.relative_to(ROOT)}:{n}"
        for tree in TREES
        for path in sorted((ROOT / tree).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OPT_OUT.search(line)
    ]
    assert marked == [], marked
