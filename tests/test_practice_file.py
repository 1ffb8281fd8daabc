"""One practice file lists the orgs: `jobsync orgs load` adds them all, or, with any mistake, none."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from jobsync.app import practice
from jobsync.cli.main import app
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import make_workdir
from tests.postgres_server import fresh_database


def load(url: str, path: Path) -> object:
    return CliRunner().invoke(app, ["orgs", "load", str(path)], env={"JOBSYNC_PRACTICE_URL": url})


def test_a_practice_file_adds_every_org_or_none(tmp_path: Path, postgres_server: str) -> None:
    url = fresh_database(postgres_server)
    with XeroSandbox() as sb:
        for name in ("acme", "bolt"):
            (tmp_path / name).mkdir()
            make_workdir(tmp_path / name, sb)
    listing = tmp_path / "practice.yaml"
    listing.write_text(
        "orgs:\n"
        "  - {name: acme, config: acme/jobsync.yaml, every: 30}\n"
        "  - {name: bolt, config: bolt/jobsync.yaml, every: 0, colour: red}\n"
        "  - {name: acme, config: missing.yaml}\n"
        "  - just-a-name\n"
    )
    refused = load(url, listing)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    for said in (
        "nothing was added",
        "orgs[2]: every is 1 to 1440",
        "orgs[2]: unknown key(s) colour",
        "orgs[3]: 'acme' is listed twice",
        "missing.yaml",
        "orgs[4]: each org is a mapping",
    ):
        assert said in refused.output, (said, refused.output)
    assert practice.orgs(url) == []

    listing.write_text(
        "orgs:\n  - {name: acme, config: acme/jobsync.yaml, every: 30}\n  - {name: bolt, config: bolt/jobsync.yaml}\n"
    )
    added = load(url, listing)
    assert added.exit_code == 0, added.output
    found = {o.name: (o.config, o.every_minutes) for o in practice.orgs(url)}
    assert found == {"acme": (tmp_path / "acme" / "jobsync.yaml", 30), "bolt": (tmp_path / "bolt" / "jobsync.yaml", 15)}

    listing.write_text("orgs: [unclosed\n")
    broken = load(url, listing)
    assert broken.exit_code == 2 and "not valid YAML" in broken.output and "Traceback" not in broken.output
