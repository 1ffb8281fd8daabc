"""Whether an account can take a sales line, and whether it is the kind a sales line belongs in. Pure.

Xero refuses an invoice line coded to a bank account or to one of its system accounts (Accounts
Receivable, GST…), and a revenue line booked to an expense account is accepted but quietly wrong in
the profit and loss. The first is a fault to stop on; the second, a question for the bookkeeper.
"""

from __future__ import annotations

from jobsync.core.models import XeroAccount

# Account types a sales invoice line can never be coded to.
REFUSED_TYPES = {"BANK": "a bank account"}
# Classes where a sales line is accepted but is most likely a mistake.
DOUBTFUL_CLASSES = {"EXPENSE": "an expense account", "ASSET": "an asset account"}


def refusal(account: XeroAccount) -> str | None:
    """Why Xero will not take a sales line on this account, or None."""
    if account.type in REFUSED_TYPES:
        return f"account {label(account)} is {REFUSED_TYPES[account.type]}; a sales line cannot be coded to it"
    if account.system_account:
        return (
            f"account {label(account)} is Xero's system account {account.system_account};"
            " a sales line cannot be coded to it"
        )
    return None


def doubt(account: XeroAccount) -> str | None:
    """Why a sales line on this account is probably a mistake, or None."""
    if account.account_class in DOUBTFUL_CLASSES:
        return (
            f"account {label(account)} is {DOUBTFUL_CLASSES[account.account_class]}"
            " (revenue lines usually go to a REVENUE account)"
        )
    return None


def label(account: XeroAccount) -> str:
    return f"{account.code} {account.name}".strip()
