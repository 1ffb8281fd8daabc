"""What a held job shows the bookkeeper: its client, an amount and its lines, as far as they were read.

A held job is one a person must look at, so the card carries enough to recognise it without opening
the job system: "Marrickville Dental, about 1,240.00, 3 lines" beside the reason and the fix. The
amount is the lines as the platform gave them (quantity × price, before rules and tax): a guide, not
the invoice total, which is never computed for a job that could not be planned.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from jobsync.core.models import Hold, Job, XeroContact

MAX_LINES = 20  # a card, not the whole job: the rest are counted


def hold_for(
    job: Job, reason: str, fix: str, candidates: tuple[XeroContact, ...] = (), client_key: str | None = None
) -> Hold:
    lines = tuple((ln.description, ln.quantity, ln.unit_price) for ln in job.lines[:MAX_LINES])
    return Hold(
        job.source,
        job.id,
        job.number,
        reason,
        fix,
        candidates,
        client_key,
        client_name=job.client.name if job.client is not None else None,
        amount=_amount(job),
        lines=lines,
        line_count=len(job.lines),
    )


def _amount(job: Job) -> Decimal | None:
    if not job.lines:
        return None
    try:
        total = sum((ln.quantity * ln.unit_price for ln in job.lines), Decimal(0))
        return total.quantize(Decimal("0.01")) if total.is_finite() else None
    except (ArithmeticError, InvalidOperation):  # a value too large to quantise: the card shows no amount
        return None


def card_json(hold: Hold) -> str:
    """The card as the holds table keeps it, so `jobs list` shows it without reading the job system."""
    return json.dumps(
        {
            "client": hold.client_name,
            "amount": None if hold.amount is None else str(hold.amount),
            "lines": [[d, str(q), str(p)] for d, q, p in hold.lines],
            "line_count": hold.line_count,
        }
    )


def card_of(text: str | None) -> dict[str, Any]:
    """`card_json`'s document read back: client, amount, lines and line_count; {} for none or a damaged one."""
    try:
        card = json.loads(text) if text else {}
    except ValueError:  # a card that cannot be read costs the card, never the listing
        return {}
    if not isinstance(card, dict):
        return {}
    return {
        "client": card.get("client"),
        "amount": card.get("amount"),
        "lines": [[str(x) for x in line] for line in card.get("lines") or []],
        "line_count": int(card.get("line_count") or 0),
    }


def card_summary(client: str | None, amount: Decimal | str | None, line_count: int) -> str:
    """One line for a table cell: "Client One · about 198.00 · 2 lines"."""
    parts = [client or "(no client read)"]
    if amount is not None:
        parts.append(f"about {Decimal(amount):,.2f}")
    parts.append(f"{line_count} line{'s' if line_count != 1 else ''}")
    return " · ".join(parts)
