"""Links that open an invoice in Xero, in the right organisation. Pure.

Xero's deep links go through its organisation login with the organisation's ShortCode, so a
bookkeeper with many organisations lands in the one the invoice belongs to, not the last one used.
"""

from __future__ import annotations

from urllib.parse import quote

XERO_LOGIN = "https://go.xero.com/organisationlogin/default.aspx"


def invoice_link(short_code: str | None, invoice_id: str | None) -> str | None:
    """The invoice's page in Xero, or None when the organisation's ShortCode or the invoice id is unknown."""
    if not short_code or not invoice_id:
        return None
    target = f"/AccountsReceivable/View.aspx?InvoiceID={invoice_id}"
    return f"{XERO_LOGIN}?shortcode={quote(short_code, safe='')}&redirecturl={quote(target, safe='/')}"
