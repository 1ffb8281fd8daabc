"""One cp1252 byte in a UTF-8 export holds only its row's job; every UTF-8 name arrives intact."""

from __future__ import annotations

from pathlib import Path

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import HEADER, make_workdir


def _row(n: int, name: str) -> str:
    return f"J{n},{n},Completed,20/11/2026 10:00,C{n},{name},c{n}@example.com,,labour,,Labour,1,10.00,,,"


def test_a_bad_byte_holds_its_row_and_the_rest_keep_their_utf8_names(tmp_path: Path) -> None:
    good = [_row(1, "Café Nöel Pty Ltd"), _row(2, "Zoë's Plumbing"), _row(4, "Ångström Electrical")]
    text = "\n".join([HEADER, good[0], good[1], _row(3, "Caf\x00 Latin"), good[2]]) + "\n"
    data = text.encode("utf-8").replace(b"Caf\x00", b"Caf\xe9")  # one cp1252 é in row 4
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        (tmp_path / "jobs.csv").write_bytes(data)
        result = work.cli("run")
        assert result.exit_code == 1, result.output
        names = {c["Name"] for c in sandbox.contacts()}
        assert {"Café Nöel Pty Ltd", "Zoë's Plumbing", "Ångström Electrical"} <= names
        assert not any("Ã" in c["Name"] for c in sandbox.contacts())
        held = [r for r in work.last_report()["results"] if r["outcome"] == "held"]
        assert [r["job_number"] for r in held] == ["3"]
        assert "row 4" in held[0]["reason"] and "0xe9" in held[0]["reason"]


def test_a_file_wholly_in_cp1252_is_still_read_as_cp1252(tmp_path: Path) -> None:
    text = "\n".join([HEADER, _row(1, "Café Nöel Pty Ltd")]) + "\n"
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        (tmp_path / "jobs.csv").write_bytes(text.encode("cp1252"))
        assert work.cli("run").exit_code == 0
        assert "Café Nöel Pty Ltd" in {c["Name"] for c in sandbox.contacts()}
