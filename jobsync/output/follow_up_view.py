"""The pass back as people read it: report sections, alert lines, and what needs a person.

It reads the plain dict the run report keeps under `extra["follow_up"]` (`FollowUpSummary.to_dict`),
so an old report without one renders as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FIRST = 10


def of(extra: Mapping[str, Any]) -> dict[str, Any]:
    found = extra.get("follow_up")
    return found if isinstance(found, dict) else {}


def needs_a_person(follow: Mapping[str, Any]) -> bool:
    """Voids noticed, reversals to make by hand and problems writing back: someone should look."""
    return bool(follow.get("voids") or follow.get("reversals_to_do_by_hand") or follow.get("problems"))


def attention_keys(follow: Mapping[str, Any]) -> list[str]:
    """What makes one alert different from the last (for the alert's fingerprint)."""
    keys = [f"void:{v.get('invoice')}" for v in follow.get("voids") or []]
    keys += [f"reverse:{r.get('payment_id')}" for r in follow.get("reversals_to_do_by_hand") or []]
    return sorted(keys)


def alert_lines(follow: Mapping[str, Any]) -> list[str]:
    lines = [f"Voided in Xero: {v.get('message')}" for v in (follow.get("voids") or [])[:FIRST]]
    for r in (follow.get("reversals_to_do_by_hand") or [])[:FIRST]:
        lines.append(
            f"Payment {r.get('amount')} on {r.get('invoice')} ({r.get('reference')}) was deleted in Xero:"
            f" undo it in {r.get('platform')} by hand"
        )
    written = [(p, "recorded on the job") for p in follow.get("payments_written") or []]
    reported = [(p, "received (record it on the job by hand)") for p in follow.get("payments_reported") or []]
    for p, verb in (written + reported)[:FIRST]:
        lines.append(f"Payment {p.get('amount')} for {p.get('invoice')} ({p.get('reference')}) {verb}")
    lines += [f"Problem writing back: {p}" for p in (follow.get("problems") or [])[:FIRST]]
    return lines


def markdown(follow: Mapping[str, Any]) -> list[str]:
    if not follow or not follow.get("ran"):
        return []
    lines: list[str] = ["## Back from Xero", ""]
    voids = [[v.get("invoice"), v.get("reference"), v.get("status"), v.get("message")] for v in _rows(follow, "voids")]
    lines += _section("Voided or deleted in Xero", ["Invoice", "Reference", "Status", "What it means"], voids)
    lines += _section("Payments received", ["Invoice", "Reference", "Amount", "Paid on", "Done"], _payments(follow))
    paid = [[p.get("invoice"), p.get("reference"), p.get("paid_on")] for p in _rows(follow, "paid_in_full")]
    lines += _section("Paid in full", ["Invoice", "Reference", "Paid on"], paid)
    files = [[a.get("reference"), a.get("file"), "sent", a.get("bytes")] for a in _rows(follow, "attachments_sent")]
    skipped = _rows(follow, "attachments_skipped")
    files += [[a.get("reference"), a.get("file"), "skipped", a.get("why")] for a in skipped]
    lines += _section("Attachments", ["Reference", "File", "Done", "Detail"], files)
    adjustments = [
        [a.get("reference"), a.get("kind"), a.get("amount"), a.get("state")] for a in _rows(follow, "adjustments")
    ]
    lines += _section("Adjustments proposed", ["Reference", "Kind", "Amount", "State"], adjustments)
    if follow.get("problems"):
        lines += ["### Problems (retried next run)", ""] + [f"- {p}" for p in follow["problems"]] + [""]
    if len(lines) == 2:
        lines += ["Nothing changed in Xero since the last pass.", ""]
    return lines


def _rows(follow: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    return list(follow.get(key) or [])


def _payments(follow: Mapping[str, Any]) -> list[list[object]]:
    done = (
        ("payments_written", "written to the job"),
        ("payments_reported", "reported only"),
        ("payments_reversed", "reversed on the job"),
        ("reversals_to_do_by_hand", "deleted in Xero: undo by hand"),
    )
    return [
        [p.get("invoice"), p.get("reference"), p.get("amount"), p.get("paid_on"), what]
        for key, what in done
        for p in _rows(follow, key)
    ]


def _section(title: str, headers: list[str], rows: Sequence[Sequence[object]]) -> list[str]:
    if not rows:
        return []
    out = [f"### {title}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out + [""]


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
