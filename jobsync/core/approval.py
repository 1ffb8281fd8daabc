"""What a bookkeeper approves under `xero.approval: required`: one draft's exact content.

The fingerprint covers everything that would reach Xero on the invoice (who it goes to, its dates,
reference, lines and totals) and nothing that would not (the names shown beside codes, the rule's name).
Approving binds to the fingerprint the bookkeeper saw; if the job changes, the next plan's fingerprint
differs and the draft waits again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from jobsync.core.models import InvoiceDraft

AWAITING_REASON = "awaiting approval: approve it in the console or with `jobsync jobs approve {job}`"


def fingerprint(draft: InvoiceDraft) -> str:
    content = {
        "contact": [draft.contact.kind.value, draft.contact.client_key, draft.contact.contact_id, draft.contact.name],
        "dates": [draft.date.isoformat(), draft.due_date.isoformat()],
        "reference": draft.reference,
        "status": draft.status,
        "amounts": [
            draft.line_amount_types,
            draft.currency,
            str(draft.subtotal),
            str(draft.total_tax),
            str(draft.total),
        ],
        "lines": [
            [
                line.description,
                str(line.quantity),
                str(line.unit_amount),
                line.account_code,
                line.tax_type,
                str(line.line_amount),
                str(line.tax_amount),
                line.item_code,
                str(line.discount_rate),
                str(line.discount_amount),
                list(line.tracking),
            ]
            for line in draft.lines
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:24]


def card(draft: InvoiceDraft) -> str:
    """The draft as the approval queue shows it (JSON): enough to decide, without re-reading the job."""
    shown: dict[str, Any] = {
        "reference": draft.reference,
        "client": draft.contact.name,
        "new_contact": draft.contact.contact_id is None,
        "date": draft.date.isoformat(),
        "total": str(draft.total),
        "tax": str(draft.total_tax),
        "currency": draft.currency or "",
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_amount": str(line.unit_amount),
                "account": line.account_label,
                "tax": line.tax_label,
                "amount": str(line.line_amount),
                "rule": line.rule,
            }
            for line in draft.lines
        ],
    }
    return json.dumps(shown)
