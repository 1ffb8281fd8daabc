"""Reading an export whatever program wrote it: its text encoding and its delimiter are detected.

Encodings: a byte-order mark decides (UTF-8, UTF-16 LE/BE, as Excel's "Unicode text" writes);
without one, UTF-8 if the bytes decode as UTF-8, else cp1252 (Windows Excel's "CSV" in
English locales), which decodes any byte, so an odd export is read rather than refused.

Delimiters: `,`, `;` (Excel in locales with a decimal comma) or tab, chosen by csv.Sniffer on the
first lines; a header with none of them (a one-column file) is read as comma-separated.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping
from pathlib import Path

from jobsync.core.errors import ConfigError, echo

DELIMITERS = ",;\t"
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_SNIFF_CHARS = 64 * 1024

Row = tuple[str, dict[str, str]]  # (where, e.g. "row 7"; logical name -> cell text)


# A byte that is not UTF-8 is kept as a lone surrogate (surrogateescape), so its row can be named.
_ESCAPED = range(0xDC80, 0xDD00)
UNDECODABLE = "_undecodable"  # the cell key under which a row carries what could not be decoded


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding name) of an export's bytes.

    A file that is UTF-8 apart from a few bad bytes stays UTF-8: decoding it all as cp1252 would turn
    every "Café" into "CafÃ©". Its bad bytes are kept escaped, so `undecodable` names their rows.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw.decode(encoding, errors="surrogateescape" if encoding == "utf-8-sig" else "replace"), encoding
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        escaped = raw.decode("utf-8", errors="surrogateescape")
        if any(ord(ch) > 0x7F and ord(ch) not in _ESCAPED for ch in escaped):
            return escaped, "utf-8"  # real UTF-8 text is in here: only some rows are damaged
        return raw.decode("cp1252", errors="replace"), "cp1252"


def undecodable(cells: list[str]) -> tuple[list[str], str | None]:
    """Cells with escaped bytes replaced by U+FFFD, and a note naming the first such byte."""
    note = None
    cleaned = []
    for cell in cells:
        bad = [ch for ch in cell if ord(ch) in _ESCAPED]
        if bad and note is None:
            note = f"byte 0x{ord(bad[0]) - 0xDC00:02x} is not UTF-8; fix that character and save the export as UTF-8"
        cleaned.append("".join("\ufffd" if ord(ch) in _ESCAPED else ch for ch in cell) if bad else cell)
    return cleaned, note


def sniff_delimiter(text: str) -> str:
    sample = text[:_SNIFF_CHARS]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # Sniffer gives up on short or ragged samples; the header line alone still tells.
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def read_table(path: Path) -> list[list[str]]:
    """Every record of the CSV at `path` (header first), decoded and split on its own delimiter."""
    text, _ = decode(path.read_bytes())
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text)))


def normalise_name(text: str) -> str:
    """Casefold and collapse whitespace: the default client id and header comparison key."""
    return " ".join(text.split()).casefold()


def column_index(
    path: Path, header: list[str], columns: Mapping[str, str], setting: str, required: tuple[str, ...] = ()
) -> dict[str, int]:
    """Logical name -> position in `header`; every mapped header missing is reported, naming `setting`."""
    positions: dict[str, int] = {}
    for i, title in enumerate(header):
        positions.setdefault(normalise_name(title), i)
    index: dict[str, int] = {}
    problems = []
    for key, title in columns.items():
        if normalise_name(title) in positions:
            index[key] = positions[normalise_name(title)]
            continue
        fix = "" if key in required else ", or remove the key if the export has no such column"
        problems.append(f"no column {echo(title)} for {setting}.{key}: set it to the export's header{fix}")
    if problems:
        found = ", ".join(repr(title) for title in header)
        raise ConfigError(f"{path.name}: the header lacks mapped columns (it has {found})", problems)
    return index


def join_lines(groups: dict[str, list[Row]], lines: list[Row]) -> dict[str, list[Row]]:
    """Each job's rows become its job row merged with each of its line rows (joined on job number)."""
    by_number: dict[str, list[Row]] = {}
    for where, cells in lines:
        by_number.setdefault(normalise_name(cells.get("job_number", "")), []).append((where, cells))
    joined: dict[str, list[Row]] = {}
    for job_id, rows in groups.items():
        job_where, job_cells = rows[0]
        number = normalise_name(next((c["job_number"] for _, c in rows if c.get("job_number")), ""))
        matched = by_number.get(number, []) if number else []
        # The jobs file's own values win: a lines file repeating the client name must not override it.
        joined[job_id] = [(where, cells | job_cells) for where, cells in matched] or [(job_where, job_cells)]
    return joined
